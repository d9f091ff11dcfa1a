package sandbox

import (
	"cmp"
	"fmt"
	"slices"

	"zhifu/alipay"
)

// The programmatic API: what a test, the control API and the dashboard do
// to trades without a browser or a signed request. Its refusals wrap the
// alipay.SubCode Alipay would answer, for errors.Is.

// Trade returns the trade of appID's outTradeNo, with its expiry applied.
func (s *Sandbox) Trade(appID, outTradeNo string) (TradeSnapshot, bool) {
	var snap TradeSnapshot
	var ok bool
	s.store.run(s.clock.now(), func(x *tx) {
		if t := x.find(appID, outTradeNo, ""); t != nil {
			snap, ok = t.snapshot(), true
		}
	})
	return snap, ok
}

// Trades returns appID's trades in the order they were made.
func (s *Sandbox) Trades(appID string) []TradeSnapshot {
	var snaps []TradeSnapshot
	s.store.run(s.clock.now(), func(x *tx) {
		for _, t := range x.all(appID) {
			snaps = append(snaps, t.snapshot())
		}
	})
	slices.SortFunc(snaps, func(a, b TradeSnapshot) int {
		return cmp.Or(a.GmtCreate.Compare(b.GmtCreate), cmp.Compare(a.TradeNo, b.TradeNo))
	})
	return snaps
}

// Pay completes the payment of appID's outTradeNo as the sandbox buyer,
// as if the buyer had paid on the cashier: a page, wap or precreate
// payment not opened yet is opened first. It fails for a trade that is not
// waiting (ACQ.TRADE_HAS_SUCCESS, ACQ.TRADE_HAS_CLOSE) or unknown
// (ACQ.TRADE_NOT_EXIST).
func (s *Sandbox) Pay(appID, outTradeNo string) error {
	return s.change("pay", appID, outTradeNo, true, func(x *tx, t *trade) *reply { return x.pay(t) })
}

// Close closes the unpaid trade of appID's outTradeNo, as
// alipay.trade.close does: a checkout not opened yet is not a trade
// (ACQ.TRADE_NOT_EXIST).
func (s *Sandbox) Close(appID, outTradeNo string) error {
	return s.change("close", appID, outTradeNo, false, func(x *tx, t *trade) *reply { return x.close(t) })
}

// Finish ends the refund period of the paid trade of appID's outTradeNo:
// TRADE_SUCCESS becomes TRADE_FINISHED, and refunds are refused from then
// on.
func (s *Sandbox) Finish(appID, outTradeNo string) error {
	return s.change("finish", appID, outTradeNo, false, func(x *tx, t *trade) *reply { return x.finish(t) })
}

// change runs fn on the trade of appID's outTradeNo; with open, a
// checkout without a trade yet is opened first.
func (s *Sandbox) change(op, appID, outTradeNo string, open bool, fn func(*tx, *trade) *reply) error {
	app := s.apps.get(appID)
	if app == nil {
		return fmt.Errorf("%w: %q", errNoApp, appID)
	}
	var fail *reply
	s.store.run(s.clock.now(), func(x *tx) {
		t := x.find(appID, outTradeNo, "")
		if t == nil {
			ck := x.st.checkoutOf[tradeKey{appID, outTradeNo}]
			if ck == nil || !open {
				fail = bizError(alipay.SubCodeTradeNotExist, "交易不存在")
				return
			}
			if t, fail = x.open(ck, app.SellerID, s.buyer); fail != nil {
				return
			}
		}
		fail = fn(x, t)
	})
	if fail != nil {
		return fmt.Errorf("sandbox: %s %s of app %s: %w", op, outTradeNo, appID, alipay.SubCode(fail.subCode))
	}
	return nil
}
