package payment_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
	"zhifu/sandbox"
)

var _ payment.JobRunner = (*payment.Service)(nil).JobRunner()

// TestDroppedNotifyMadeGoodByJob: every notify of a paid order is lost,
// and the reconcile job that creating the order scheduled finds the
// payment through the Service, on River and a real SQLite file.
func TestDroppedNotifyMadeGoodByJob(t *testing.T) {
	paid := make(chan *payment.Order, 1)
	e := newEnv(t, openSQLite, options{onChange: func(_ context.Context, c payment.Change) {
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

	jobs, err := payment.NewJobs(e.ctx(), e.store.(*sqlitestore.Store).RiverDriver(), payment.JobsConfig{
		Runner:         e.svc.JobRunner(),
		Store:          e.store,
		ReconcileAfter: []time.Duration{time.Millisecond},
		PollInterval:   50 * time.Millisecond,
		Logger:         slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Start(e.ctx()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := jobs.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	if err := jobs.ScheduleOrder(e.ctx(), p.Order); err != nil {
		t.Fatal(err)
	}
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
