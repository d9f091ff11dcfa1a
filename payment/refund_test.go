package payment_test

import (
	"errors"
	"testing"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

func TestRefund(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"PartialThenFull", testRefundPartialThenFull},
		{"OverRefund", testRefundOver},
		{"LostAnswer", testRefundLostAnswer},
		{"FundChangeN", testRefundFundChangeN},
		{"Refused", testRefundRefused},
		{"Finished", testRefundFinished},
		{"OldNotifyReplayed", testRefundOldNotifyReplayed},
		{"SameOutRequestNo", testRefundSameOutRequestNo},
	})
}

// paid creates a page payment of amount and pays it.
func paid(t *testing.T, e *env, amount alipay.Amount) *payment.Order {
	t.Helper()
	p := e.create(payment.ChannelPage, amount)
	e.pay(p)
	return e.wantStatus(p.Order.ID, payment.StatusPaid)
}

// refund refunds, failing the test on error.
func (e *env) refund(req payment.RefundRequest) *payment.Refund {
	e.t.Helper()
	r, err := e.svc.Refund(e.ctx(), req)
	if err != nil {
		e.t.Fatalf("Refund %+v: %v", req, err)
	}
	return r
}

// testRefundPartialThenFull: a partial refund makes the order partially
// refunded; the rest makes it refunded. Alipay's refund notifies, arriving
// meanwhile, change nothing more.
func testRefundPartialThenFull(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	r := e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 300, Reason: "one item back"})
	if r.Status != payment.RefundSucceeded || r.FundChange != "Y" {
		t.Fatalf("refund %+v", r)
	}
	e.deliver()
	o = e.wantStatus(o.ID, payment.StatusPartiallyRefunded)
	if o.RefundedAmount != 300 {
		t.Errorf("refunded %s", o.RefundedAmount)
	}
	r2 := e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 700})
	if r2.Status != payment.RefundSucceeded || r2.OutRequestNo == r.OutRequestNo {
		t.Fatalf("second refund %+v", r2)
	}
	e.deliver()
	o = e.wantStatus(o.ID, payment.StatusRefunded)
	if tr := e.trade(o); o.RefundedAmount != 1000 || tr.RefundFee != 1000 || len(tr.Refunds) != 2 {
		t.Errorf("order refunded %s, sandbox %s in %d refunds", o.RefundedAmount, tr.RefundFee, len(tr.Refunds))
	}
	if n := e.count(o.ID, payment.EventStateChanged, ""); n != 3 {
		t.Errorf("%d state changes, want 3 (paid, partially refunded, refunded):\n%s", n, e.dumpEvents(o.ID))
	}
}

// testRefundOver: refunds never exceed what was paid.
func testRefundOver(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: 1001}); !errors.Is(err, payment.ErrRefundExceeds) {
		t.Errorf("1001 of 1000: %v", err)
	}
	e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 600})
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: 500}); !errors.Is(err, payment.ErrRefundExceeds) {
		t.Errorf("500 after 600 of 1000: %v", err)
	}
	if tr := e.trade(o); tr.RefundFee != 600 {
		t.Errorf("the sandbox refunded %s", tr.RefundFee)
	}
	pending := e.create(payment.ChannelPage, 100)
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: pending.Order.ID, Amount: 100}); !errors.Is(err, payment.ErrNotRefundable) {
		t.Errorf("refund of a pending order: %v", err)
	}
}

// testRefundLostAnswer: the refund went through but its answer was lost:
// the refund is unknown, SettleRefund finds REFUND_SUCCESS, and calling
// Refund again with the same out_request_no refunds nothing twice.
func testRefundLostAnswer(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	e.fault(sandbox.Fault{Kind: sandbox.FaultLoseAnswer, Method: "alipay.trade.refund", Count: 1})
	req := payment.RefundRequest{OrderID: o.ID, Amount: 1000, OutRequestNo: "SHOP_REFUND_1"}
	r := e.refund(req)
	if r.Status != payment.RefundUnknown {
		t.Fatalf("refund %+v: want unknown", r)
	}
	// A new refund cannot be made meanwhile: the unknown one holds its
	// amount.
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: 1000}); !errors.Is(err, payment.ErrRefundExceeds) {
		t.Errorf("a second refund while the first is unknown: %v", err)
	}
	settled, err := e.svc.SettleRefund(e.ctx(), r.ID)
	if err != nil || settled.Status != payment.RefundSucceeded {
		t.Fatalf("SettleRefund: %+v, %v", settled, err)
	}
	e.deliver()
	e.wantStatus(o.ID, payment.StatusRefunded)
	again := e.refund(req)
	if again.ID != r.ID || again.Status != payment.RefundSucceeded {
		t.Errorf("Refund again: %+v", again)
	}
	if tr := e.trade(o); len(tr.Refunds) != 1 || tr.RefundFee != 1000 {
		t.Errorf("the sandbox made %d refunds, %s in all; want one", len(tr.Refunds), tr.RefundFee)
	}
}

// testRefundFundChangeN: a refund that moved money but answered
// fund_change N is settled by the refund query.
func testRefundFundChangeN(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	e.fault(sandbox.Fault{Kind: sandbox.FaultFundChangeN, Method: "alipay.trade.refund", Count: 1})
	r := e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 400})
	if r.Status != payment.RefundUnknown || r.FundChange != "N" {
		t.Fatalf("refund %+v: want unknown, fund_change N", r)
	}
	settled, err := e.svc.SettleRefund(e.ctx(), r.ID)
	if err != nil || settled.Status != payment.RefundSucceeded {
		t.Fatalf("SettleRefund: %+v, %v", settled, err)
	}
	e.deliver()
	o = e.wantStatus(o.ID, payment.StatusPartiallyRefunded)
	if o.RefundedAmount != 400 || len(e.trade(o).Refunds) != 1 {
		t.Errorf("refunded %s, %d refunds at the sandbox", o.RefundedAmount, len(e.trade(o).Refunds))
	}
	// Settling a settled refund asks nothing.
	if again, err := e.svc.SettleRefund(e.ctx(), r.ID); err != nil || again.Status != payment.RefundSucceeded {
		t.Errorf("SettleRefund again: %+v, %v", again, err)
	}
}

// testRefundRefused: Alipay refuses (the trade finished without our
// knowing): the refund fails, its reservation is released.
func testRefundRefused(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	if err := e.sb.Finish(e.ts.AppID, o.OutTradeNo); err != nil { // page pay does not notify it
		t.Fatal(err)
	}
	r, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: 1000})
	if !errors.Is(err, payment.ErrRefundRefused) || r == nil || r.Status != payment.RefundFailed {
		t.Fatalf("Refund: %+v, %v", r, err)
	}
	e.wantStatus(o.ID, payment.StatusPaid)
	rs, _ := e.svc.ListRefunds(e.ctx(), o.ID)
	if len(rs) != 1 || rs[0].Status != payment.RefundFailed {
		t.Errorf("refunds %+v", rs)
	}
}

// testRefundFinished: TRADE_FINISHED (notified for wap) ends refunds.
func testRefundFinished(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := e.create(payment.ChannelWAP, 1000)
	e.pay(p)
	if err := e.sb.Finish(e.ts.AppID, p.Order.OutTradeNo); err != nil {
		t.Fatal(err)
	}
	e.deliver()
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	if !o.Flags.Has(payment.FlagFinished) {
		t.Fatalf("flags %s: want finished", o.Flags)
	}
	if _, err := e.svc.Refund(e.ctx(), payment.RefundRequest{OrderID: o.ID, Amount: 1}); !errors.Is(err, payment.ErrNotRefundable) {
		t.Errorf("Refund of a finished order: %v", err)
	}
}

// testRefundOldNotifyReplayed: the payment's notify, replayed after a
// refund, never moves the order backwards.
func testRefundOldNotifyReplayed(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	old := e.attempts(o)[0].Form
	e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 250})
	e.deliver()
	before := e.wantStatus(o.ID, payment.StatusPartiallyRefunded)
	status, body := e.postNotify(old)
	if status != 200 || body != "success" {
		t.Fatalf("old notify: %d %q; want success (it is genuine, just old)", status, body)
	}
	after := e.wantStatus(o.ID, payment.StatusPartiallyRefunded)
	if after.RefundedAmount != 250 || after.Version != before.Version {
		t.Errorf("the old notify changed the order: %+v", after)
	}
	// And after the full refund, too.
	e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 750})
	e.deliver()
	e.postNotify(old)
	e.wantStatus(o.ID, payment.StatusRefunded)
}

// testRefundSameOutRequestNo: the caller's out_request_no makes Refund
// idempotent; the same number for another amount is refused.
func testRefundSameOutRequestNo(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	o := paid(t, e, 1000)
	req := payment.RefundRequest{OrderID: o.ID, Amount: 100, OutRequestNo: "R_1"}
	r1 := e.refund(req)
	r2 := e.refund(req)
	if r1.ID != r2.ID || r2.Status != payment.RefundSucceeded {
		t.Errorf("two calls: %+v, %+v", r1, r2)
	}
	req.Amount = 200
	if _, err := e.svc.Refund(e.ctx(), req); !errors.Is(err, payment.ErrDuplicate) {
		t.Errorf("same out_request_no, other amount: %v", err)
	}
	if tr := e.trade(o); len(tr.Refunds) != 1 {
		t.Errorf("%d refunds at the sandbox", len(tr.Refunds))
	}
}
