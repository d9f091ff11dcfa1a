package sandbox

import (
	"sync"
	"time"

	"zhifu/alipay"
)

// tradeKey names a trade by the merchant's number, within its app.
type tradeKey struct{ appID, outTradeNo string }

// checkout is a payment request the buyer has not opened yet: a page or
// wap payment redirected to the cashier, or a precreate QR code not
// scanned. It becomes a trade when opened.
type checkout struct {
	token     string
	order     *order
	expiresAt time.Time
}

// tradeStore holds the trades and checkouts in memory. Every read and
// change runs in a transaction (run) under one lock, which makes each
// operation on a trade atomic: two refunds can never both take the last
// refundable fen.
type tradeStore struct {
	mu         sync.Mutex
	trades     map[tradeKey]*trade
	byTradeNo  map[string]*trade
	checkouts  map[string]*checkout // by token
	checkoutOf map[tradeKey]*checkout

	seq      uint64  // of the last event
	queue    []Event // events not yet handed to onEvent
	draining bool    // a goroutine is handing out the queue
	onEvent  func(Event)

	changed  bool   // a transaction changed the state
	onChange func() // called after such a transaction; must not block

	// latePay, when set, may let the buyer pay a closed, unpaid trade
	// (FaultPayAfterClose). It runs under the lock.
	latePay func(t *trade) bool
}

func newTradeStore(onEvent func(Event)) *tradeStore {
	return &tradeStore{
		trades:     make(map[tradeKey]*trade),
		byTradeNo:  make(map[string]*trade),
		checkouts:  make(map[string]*checkout),
		checkoutOf: make(map[tradeKey]*checkout),
		onEvent:    onEvent,
	}
}

// tx is one transaction on the store, at one instant of the trade clock.
type tx struct {
	st  *tradeStore
	now time.Time
}

// run runs fn under the store's lock, then hands the events it caused to
// onEvent, in order, outside the lock.
func (st *tradeStore) run(now time.Time, fn func(*tx)) {
	st.mu.Lock()
	fn(&tx{st: st, now: now})
	changed := st.changed
	st.changed = false
	st.mu.Unlock()
	if changed && st.onChange != nil {
		st.onChange()
	}
	st.flush()
}

// flush hands queued events to onEvent. One goroutine at a time drains
// the queue, so events arrive in the order of the changes; a caller that
// finds another draining leaves its events to it.
func (st *tradeStore) flush() {
	if st.onEvent == nil {
		return
	}
	st.mu.Lock()
	if st.draining {
		st.mu.Unlock()
		return
	}
	st.draining = true
	defer func() {
		st.draining = false
		st.mu.Unlock()
	}()
	for len(st.queue) > 0 {
		ev := st.queue[0]
		st.queue[0] = Event{}
		st.queue = st.queue[1:]
		st.mu.Unlock()
		func() {
			defer st.mu.Lock()
			st.onEvent(ev)
		}()
	}
}

// emit records an event about t.
func (x *tx) emit(kind EventKind, at time.Time, t *trade, r *refund) {
	x.st.changed = true
	if x.st.onEvent == nil {
		return
	}
	x.st.seq++
	ev := Event{Seq: x.st.seq, Kind: kind, Time: at, Trade: t.snapshot()}
	if r != nil {
		e := r.export()
		ev.Refund = &e
	}
	x.st.queue = append(x.st.queue, ev)
}

// find returns the trade named by tradeNo (which wins, as at Alipay) or
// outTradeNo within appID, with its expiry applied; nil if none.
func (x *tx) find(appID, outTradeNo, tradeNo string) *trade {
	var t *trade
	if tradeNo != "" {
		if t = x.st.byTradeNo[tradeNo]; t != nil && t.order.appID != appID {
			t = nil
		}
	} else if outTradeNo != "" {
		t = x.st.trades[tradeKey{appID, outTradeNo}]
	}
	if t != nil {
		x.expire(t)
	}
	return t
}

// all returns appID's trades, expiry applied, in the order they were made.
func (x *tx) all(appID string) []*trade {
	var ts []*trade
	for k, t := range x.st.trades {
		if k.appID == appID {
			x.expire(t)
			ts = append(ts, t)
		}
	}
	return ts
}

// expire closes t if it is unpaid and its time to pay has run out. The
// close is dated at the deadline, however late it is noticed.
func (x *tx) expire(t *trade) {
	if t.status == alipay.TradeStatusWaitBuyerPay && !x.now.Before(t.expiresAt) {
		t.status = alipay.TradeStatusClosed
		t.gmtClose = t.expiresAt
		x.emit(EventClosed, t.expiresAt, t, nil)
	}
}

// conflict returns the answer to a payment request o for an out_trade_no
// that already has trade t: none (nil) when o repeats t's request and t is
// still waiting, so that the request is idempotent.
func conflict(t *trade, o *order) *reply {
	if fail := t.statusError(); fail != nil {
		return fail
	}
	if !o.sameAs(t.order) {
		// Alipay answers ACQ.CONTEXT_INCONSISTENT ("交易信息被篡改") for a
		// changed repeat; ACQ.DUP_OUT_ORDER is also reported in the field
		// for some products (UNCONFIRMED which): the sandbox uses one.
		return bizError(alipay.SubCodeContextInconsistent, "交易信息被篡改")
	}
	return nil
}

// create makes the trade of o in WAIT_BUYER_PAY, or returns the existing
// trade of a repeated request.
func (x *tx) create(o *order, seller string, b buyer, expiresAt time.Time) (*trade, *reply) {
	if t := x.find(o.appID, o.outTradeNo, ""); t != nil {
		if fail := conflict(t, o); fail != nil {
			return nil, fail
		}
		return t, nil
	}
	tradeNo, err := x.newTradeNo()
	if err != nil {
		return nil, newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙")
	}
	t := &trade{
		order:       o,
		tradeNo:     tradeNo,
		sellerID:    seller,
		status:      alipay.TradeStatusWaitBuyerPay,
		buyerID:     o.buyerID,
		buyerOpenID: o.buyerOpenID,
		gmtCreate:   x.now,
		expiresAt:   expiresAt,
	}
	if o.buyerID == "" && o.buyerOpenID == "" {
		t.buyerID, t.buyerLogonID = b.id, b.logonID
	}
	x.st.trades[tradeKey{o.appID, o.outTradeNo}] = t
	x.st.byTradeNo[tradeNo] = t
	x.emit(EventCreated, x.now, t, nil)
	return t, nil
}

// newTradeNo returns a trade_no no trade has.
func (x *tx) newTradeNo() (string, error) {
	for {
		no, err := newTradeNo(x.now)
		if err != nil {
			return "", err
		}
		if x.st.byTradeNo[no] == nil {
			return no, nil
		}
	}
}

// checkout returns the checkout of o: a new one, or the existing one of a
// repeated request (a trade already made of it must still be waiting).
func (x *tx) checkout(o *order) (*checkout, *reply) {
	key := tradeKey{o.appID, o.outTradeNo}
	ck := x.st.checkoutOf[key]
	if t := x.find(o.appID, o.outTradeNo, ""); t != nil {
		if fail := conflict(t, o); fail != nil {
			return nil, fail
		}
		if ck != nil {
			return ck, nil
		}
	} else if ck != nil && x.now.Before(ck.expiresAt) {
		if !o.sameAs(ck.order) {
			return nil, bizError(alipay.SubCodeContextInconsistent, "交易信息被篡改")
		}
		return ck, nil
	}
	token, err := newToken()
	if err != nil {
		return nil, newGatewayError(alipay.CodeUnknownError, "isp.unknow-error", "系统繁忙")
	}
	if ck != nil {
		delete(x.st.checkouts, ck.token)
	}
	ck = &checkout{token: token, order: o, expiresAt: o.deadline(x.now)}
	x.st.checkouts[token] = ck
	x.st.checkoutOf[key] = ck
	x.st.changed = true
	return ck, nil
}

// open makes the trade of a checkout, the buyer having opened the cashier
// or scanned the code; the trade is returned as it is if it exists. A
// checkout past its deadline makes no trade.
func (x *tx) open(ck *checkout, seller string, b buyer) (*trade, *reply) {
	if t := x.find(ck.order.appID, ck.order.outTradeNo, ""); t != nil {
		return t, nil
	}
	if !x.now.Before(ck.expiresAt) {
		return nil, bizError(alipay.SubCodeTradeHasClose, "交易已经关闭")
	}
	return x.create(ck.order, seller, b, ck.expiresAt)
}

// pay completes the payment of a waiting trade (or, with a
// FaultPayAfterClose, of a closed unpaid one).
func (x *tx) pay(t *trade) *reply {
	if t.status != alipay.TradeStatusWaitBuyerPay {
		if x.st.latePay == nil || !x.st.latePay(t) {
			return t.statusError()
		}
		t.gmtClose = time.Time{}
	}
	t.status = alipay.TradeStatusSuccess
	t.gmtPayment = x.now
	x.emit(EventPaid, x.now, t, nil)
	return nil
}

// close closes a waiting trade.
func (x *tx) close(t *trade) *reply {
	if t.status != alipay.TradeStatusWaitBuyerPay {
		return bizError(alipay.SubCodeTradeStatusError, "交易状态不合法")
	}
	t.status = alipay.TradeStatusClosed
	t.gmtClose = x.now
	x.emit(EventClosed, x.now, t, nil)
	return nil
}

// finish ends the refund period of a paid trade.
func (x *tx) finish(t *trade) *reply {
	if t.status != alipay.TradeStatusSuccess {
		return bizError(alipay.SubCodeTradeStatusError, "交易状态不合法")
	}
	t.status = alipay.TradeStatusFinished
	x.emit(EventFinished, x.now, t, nil)
	return nil
}

// refund refunds amount of t under outRequestNo. A repeat of an earlier
// refund returns it with moved false and changes nothing; the same
// outRequestNo with another amount is refused.
func (x *tx) refund(t *trade, outRequestNo string, amount alipay.Amount, reason string) (r *refund, moved bool, fail *reply) {
	if r := t.findRefund(outRequestNo); r != nil {
		if r.amount != amount {
			return nil, false, bizError(alipay.SubCodeDiscordantRepeatRequest, "请求信息不一致: 同一退款请求号的退款金额不同")
		}
		return r, false, nil
	}
	switch t.status {
	case alipay.TradeStatusFinished:
		return nil, false, bizError(alipay.SubCodeTradeHasFinished, "交易已完结")
	case alipay.TradeStatusSuccess:
	default:
		// Unpaid, or closed (unpaid, or already fully refunded).
		return nil, false, bizError(alipay.SubCodeTradeStatusError, "交易状态不合法")
	}
	if amount > t.refundable() {
		return nil, false, bizError(alipay.SubCodeRefundAmountExceeded, "退款金额超限")
	}
	r = &refund{outRequestNo: outRequestNo, amount: amount, reason: reason, gmt: x.now}
	t.refunds = append(t.refunds, r)
	t.refundFee += amount
	if t.refundFee == t.order.totalAmount {
		t.status = alipay.TradeStatusClosed
		t.gmtClose = x.now
	}
	x.emit(EventRefunded, x.now, t, r)
	return r, true, nil
}
