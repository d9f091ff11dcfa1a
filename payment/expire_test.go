package payment_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

func TestExpire(t *testing.T) {
	t.Parallel()
	runScenarios(t, []scenario{
		{"NeverOpened", testExpireNeverOpened},
		{"Opened", testExpireOpened},
		{"RacedPayment", testExpireRacedPayment},
		{"CloseAnswerLost", testExpireCloseAnswerLost},
		{"PaidAfterCloseFlagged", testPaidAfterCloseFlagged},
		{"PaidAfterCloseAutoRefund", testPaidAfterCloseAutoRefund},
		{"PaidAfterCloseRefundNeverStarted", testPaidAfterCloseRefundNeverStarted},
	})
}

// expired creates a page payment and moves the service's clock past its
// expiry.
func expired(t *testing.T, e *env) *payment.Payment {
	t.Helper()
	p := e.create(payment.ChannelPage, 500)
	if _, err := e.svc.Expire(e.ctx(), p.Order.ID); !errors.Is(err, payment.ErrNotExpired) {
		t.Fatalf("Expire before the expiry: %v", err)
	}
	e.clock.Advance(payment.DefaultExpiry + time.Second)
	return p
}

// testExpireNeverOpened: Alipay has no trade to close (the cashier was
// never opened): the order is closed locally.
func testExpireNeverOpened(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := expired(t, e)
	o, err := e.svc.Expire(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusClosed || o.ClosedAt.IsZero() {
		t.Fatalf("Expire: %+v, %v", o, err)
	}
	if e.count(o.ID, payment.EventCloseRequested, "") != 1 || e.count(o.ID, payment.EventCloseAnswered, payment.EffectTransitioned) != 1 {
		t.Errorf("events:\n%s", e.dumpEvents(o.ID))
	}
	// Expiring again does nothing.
	if o2, err := e.svc.Expire(e.ctx(), o.ID); err != nil || o2.Version != o.Version {
		t.Errorf("second Expire: %+v, %v", o2, err)
	}
}

// testExpireOpened: the trade exists and is closed at Alipay, then locally.
func testExpireOpened(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := expired(t, e)
	e.open(p)
	o, err := e.svc.Expire(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusClosed {
		t.Fatalf("Expire: %+v, %v", o, err)
	}
	if tr := e.trade(o); tr.Status != alipay.TradeStatusClosed || o.TradeNo != tr.TradeNo {
		t.Errorf("sandbox trade %s, order trade_no %q", tr.Status, o.TradeNo)
	}
}

// testExpireRacedPayment: the buyer paid just before the close (its notify
// lost): the close is refused, and the query finds the payment.
func testExpireRacedPayment(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := expired(t, e)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	e.pay(p)
	e.wantStatus(p.Order.ID, payment.StatusPending)
	o, err := e.svc.Expire(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusPaid || o.Flags.Has(payment.FlagPaidAfterClose) {
		t.Fatalf("Expire: %+v, %v", o, err)
	}
	if !e.logs.has("the close raced a payment", o.OutTradeNo) {
		t.Error("the race is not logged")
	}
}

// testExpireCloseAnswerLost: the close happened but its answer was lost:
// nothing changes until the next attempt settles it.
func testExpireCloseAnswerLost(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := expired(t, e)
	e.open(p)
	e.fault(sandbox.Fault{Kind: sandbox.FaultLoseAnswer, Method: "alipay.trade.close", Count: 1})
	if _, err := e.svc.Expire(e.ctx(), p.Order.ID); !alipay.IsUnknown(err) {
		t.Fatalf("Expire: %v, want an unknown outcome", err)
	}
	e.wantStatus(p.Order.ID, payment.StatusPending)
	o, err := e.svc.Expire(e.ctx(), p.Order.ID)
	if err != nil || o.Status != payment.StatusClosed {
		t.Fatalf("Expire again: %+v, %v", o, err)
	}
}

// testPaidAfterCloseFlagged: the order was closed locally (the cashier
// never opened), then the buyer paid on the stale page: the payment is
// kept, the order paid and flagged, raised at error level.
func testPaidAfterCloseFlagged(t *testing.T, open func(*testing.T) payment.Store) {
	e := newEnv(t, open, options{})
	p := expired(t, e)
	if o, err := e.svc.Expire(e.ctx(), p.Order.ID); err != nil || o.Status != payment.StatusClosed {
		t.Fatalf("Expire: %+v, %v", o, err)
	}
	e.pay(p) // the signed URL is still valid at Alipay: the buyer opens it and pays
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	if !o.Flags.Has(payment.FlagPaidAfterClose) || o.PaidAmount != 500 || o.ClosedAt.IsZero() {
		t.Errorf("order %+v: want paid, flagged, ClosedAt kept", o)
	}
	if e.count(o.ID, payment.EventPaidAfterClose, payment.EffectPaidAfterClose) != 1 {
		t.Errorf("events:\n%s", e.dumpEvents(o.ID))
	}
	if !e.logs.has("ERROR", "PAID AFTER CLOSE", o.OutTradeNo) {
		t.Error("not raised at error level")
	}
	if rs, _ := e.svc.ListRefunds(e.ctx(), o.ID); len(rs) != 0 {
		t.Errorf("refunds under accept_and_flag: %+v", rs)
	}
}

// testPaidAfterCloseAutoRefund: closed at Alipay, paid anyway (the
// sandbox's pay_after_close fault): refunded automatically, once.
func testPaidAfterCloseAutoRefund(t *testing.T, open func(*testing.T) payment.Store) {
	var mu sync.Mutex
	var effects []payment.Effect
	e := newEnv(t, open, options{policy: payment.PaidAfterCloseAutoRefund, onChange: func(_ context.Context, c payment.Change) {
		mu.Lock()
		effects = append(effects, c.Effect)
		mu.Unlock()
	}})
	p := payAfterClose(t, e)
	e.deliver() // the refund's notify
	o := e.wantStatus(p.Order.ID, payment.StatusRefunded)
	if !o.Flags.Has(payment.FlagPaidAfterClose) || o.RefundedAmount != 500 {
		t.Errorf("order %+v", o)
	}
	rs, _ := e.svc.ListRefunds(e.ctx(), o.ID)
	if len(rs) != 1 || rs[0].OutRequestNo != payment.AutoRefundOutRequestNo || rs[0].Status != payment.RefundSucceeded {
		t.Fatalf("refunds %+v", rs)
	}
	if _, err := e.svc.Reconcile(e.ctx(), o.ID); err != nil {
		t.Fatal(err)
	}
	if tr := e.trade(o); len(tr.Refunds) != 1 || tr.RefundFee != 500 {
		t.Errorf("the sandbox made %d refunds, %s", len(tr.Refunds), tr.RefundFee)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []payment.Effect{payment.EffectTransitioned, payment.EffectPaidAfterClose, payment.EffectTransitioned}
	if !slices.Equal(effects, want) {
		t.Errorf("OnChange saw %v, want %v (closed, paid after close, refunded)", effects, want)
	}
}

// testPaidAfterCloseRefundNeverStarted: the process dies after storing a
// payment after close and before reserving its automatic refund. The
// order stays paid and flagged, with no refund; the job the sweep offers
// for it (JobRunner.RefundPaidAfterClose) starts the refund, once.
func testPaidAfterCloseRefundNeverStarted(t *testing.T, open func(*testing.T) payment.Store) {
	var fs *failingStore
	e := newEnv(t, open, options{policy: payment.PaidAfterCloseAutoRefund, store: func(s payment.Store) payment.Store {
		fs = &failingStore{Store: s, fail: true, failRefunds: true}
		return fs
	}})
	p := payAfterClose(t, e)
	o := e.wantStatus(p.Order.ID, payment.StatusPaid)
	if rs, _ := e.svc.ListRefunds(e.ctx(), o.ID); !o.Flags.Has(payment.FlagPaidAfterClose) || len(rs) != 0 {
		t.Fatalf("order %+v, refunds %+v: want paid, flagged, no refund", o, rs)
	}

	run := e.svc.JobRunner()
	if err := run.RefundPaidAfterClose(e.ctx(), o.ID); !errors.Is(err, errKilled) {
		t.Fatalf("RefundPaidAfterClose with the store still failing: %v, want its error (the job retries)", err)
	}
	fs.set(false)
	for range 2 {
		if err := run.RefundPaidAfterClose(e.ctx(), o.ID); err != nil {
			t.Fatal(err)
		}
	}
	e.deliver()
	o = e.wantStatus(p.Order.ID, payment.StatusRefunded)
	rs, _ := e.svc.ListRefunds(e.ctx(), o.ID)
	if len(rs) != 1 || rs[0].OutRequestNo != payment.AutoRefundOutRequestNo || rs[0].Status != payment.RefundSucceeded {
		t.Fatalf("refunds %+v", rs)
	}
	if tr := e.trade(o); len(tr.Refunds) != 1 || tr.RefundFee != o.Amount {
		t.Errorf("the sandbox made %d refunds, %s", len(tr.Refunds), tr.RefundFee)
	}
}

// payAfterClose creates a page payment, opens its cashier, expires it
// (closed at Alipay and locally) and has the buyer pay it anyway (the
// sandbox's pay_after_close fault).
func payAfterClose(t *testing.T, e *env) *payment.Payment {
	t.Helper()
	p := expired(t, e)
	e.open(p)
	if o, err := e.svc.Expire(e.ctx(), p.Order.ID); err != nil || o.Status != payment.StatusClosed {
		t.Fatalf("Expire: %+v, %v", o, err)
	}
	e.fault(sandbox.Fault{Kind: sandbox.FaultPayAfterClose, Count: 1})
	e.pay(p)
	return p
}
