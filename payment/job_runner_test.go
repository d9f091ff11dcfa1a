package payment_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/sandbox"
)

var _ payment.JobRunner = (*payment.Service)(nil).JobRunner()

// jobsOptions are the Jobs of a test of the wiring: no periodic sweep, so
// that only what the Service scheduled runs, and a quick poll.
func jobsOptions() *payment.JobsConfig {
	return &payment.JobsConfig{
		SweepInterval: -1,
		PollInterval:  20 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
	}
}

// TestDroppedNotifyMadeGoodByJob: every notify of a paid order is lost,
// and the reconcile job that creating the order scheduled finds the
// payment through the Service, on River and a real SQLite file.
func TestDroppedNotifyMadeGoodByJob(t *testing.T) {
	paid := make(chan *payment.Order, 1)
	e := newEnv(t, openSQLite, options{jobs: jobsOptions(), onChange: func(_ context.Context, c payment.Change) {
		if c.Order.Status == payment.StatusPaid {
			paid <- c.Order
		}
	}})
	p := e.create(payment.ChannelPage, 1234)
	e.notifyFault(p.Order, sandbox.NotifyFault{DropFirst: 8})
	e.pay(p)
	if o := e.order(p.Order.ID); o.Status != payment.StatusPending {
		t.Fatalf("a dropped notify changed the order: %s", o.Status)
	}

	// The first reconcile, scheduled by CreatePayment, is due a minute
	// after the order's creation.
	e.clock.Advance(payment.DefaultReconcileAfter()[0])
	select {
	case o := <-paid:
		if o.ID != p.Order.ID || o.PaidAmount != alipay.Amount(1234) {
			t.Fatalf("paid %+v", o)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("no job reconciled the order: %s", e.dumpEvents(p.Order.ID))
	}
	if n := e.count(p.Order.ID, payment.EventStateChanged, payment.EffectTransitioned); n != 1 {
		t.Fatalf("%d state changes: %s", n, e.dumpEvents(p.Order.ID))
	}
}

// TestUnknownRefundSettledByJob: the answer of alipay.trade.refund is
// lost, so the refund is unknown; the settling job that Refund scheduled
// finds the refund made, without anyone calling SettleRefund. (Alipay's
// refund notify may make the order refunded first, but only the refund
// query settles the refund itself.)
func TestUnknownRefundSettledByJob(t *testing.T) {
	e := newEnv(t, openSQLite, options{jobs: jobsOptions()})
	o := paid(t, e, 1000)
	e.fault(sandbox.Fault{Kind: sandbox.FaultLoseAnswer, Method: "alipay.trade.refund", Count: 1})
	r := e.refund(payment.RefundRequest{OrderID: o.ID, Amount: 1000, OutRequestNo: "SHOP_REFUND_1"})
	if r.Status != payment.RefundUnknown {
		t.Fatalf("refund %+v: want unknown", r)
	}

	// The settling is due RefundSettleAfter (by default a minute) later.
	e.clock.Advance(payment.DefaultRefundSettleAfter)
	deadline := time.Now().Add(waitTimeout)
	for {
		rs, err := e.svc.ListRefunds(e.ctx(), o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || rs[0].ID != r.ID {
			t.Fatalf("refunds %+v: want %s alone", rs, r.ID)
		}
		if rs[0].Status == payment.RefundSucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no job settled the refund: %+v: %s", rs[0], e.dumpEvents(o.ID))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := e.count(o.ID, payment.EventRefundSettled, ""); n != 2 {
		t.Errorf("%d refund settlements, want unknown then succeeded: %s", n, e.dumpEvents(o.ID))
	}
	e.wantStatus(o.ID, payment.StatusRefunded)
	if tr := e.trade(o); len(tr.Refunds) != 1 || tr.RefundFee != 1000 {
		t.Errorf("the sandbox made %d refunds, %s in all; want one", len(tr.Refunds), tr.RefundFee)
	}
}
