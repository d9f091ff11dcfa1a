package payment_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
	"zhifu/payment/sqlitestore"
)

// billCall is one call of a signalingReconciler.
type billCall struct {
	date payment.BillDate
	err  error
}

// signalingReconciler is a BillReconciler that reports each of its runs
// on ch once done, for tests to wait on.
type signalingReconciler struct {
	r  *payment.BillReconciler
	ch chan billCall
}

func (s signalingReconciler) ReconcileBill(ctx context.Context, date payment.BillDate) (*payment.BillRun, error) {
	run, err := s.r.ReconcileBill(ctx, date)
	s.ch <- billCall{date, err}
	return run, err
}

// next waits for the next run.
func (s signalingReconciler) next(t *testing.T) billCall {
	t.Helper()
	select {
	case c := <-s.ch:
		return c
	case <-time.After(waitTimeout):
		t.Fatal("no bill reconciliation ran")
		return billCall{}
	}
}

// TestJobsBillReconcile runs the daily reconciliation through River on a
// stubbed clock: yesterday's bill when the jobs start after 10:00, a bill
// not ready snoozed and reconciled once the clock passes the next
// morning, one job per date.
func TestJobsBillReconcile(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		day := billTestDay()
		sbx := newBillSandbox(t, day.Start().Add(23*time.Hour))
		store, ok := b.store.(payment.BillStore)
		if !ok {
			t.Fatal("the store is not a BillStore")
		}
		// A payment at Alipay that the database does not know.
		no := alipay.NewOutTradeNo()
		if _, err := sbx.ali.TradePrecreate(ctx, alipay.TradePrecreateRequest{OutTradeNo: no, TotalAmount: 1_00, Subject: "x"}); err != nil {
			t.Fatal(err)
		}
		if err := sbx.sb.Pay(sbx.appID, no); err != nil {
			t.Fatal(err)
		}

		r, err := payment.NewBillReconciler(payment.BillReconcilerConfig{Store: store, Alipay: sbx.ali, Now: sbx.clock.Now, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		sig := signalingReconciler{r: r, ch: make(chan billCall, 10)}
		cfg := testConfig(t, newRecorder(sbx.clock.Now, nil))
		cfg.Now = sbx.clock.Now
		cfg.Bills = payment.BillJobConfig{Reconciler: sig, NotReadyRetry: time.Hour}
		j := b.newJobs(t, cfg)
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}

		// Started at 23:00: the day before is reconciled at once.
		if c := sig.next(t); c.date != day.AddDays(-1) || c.err != nil {
			t.Fatalf("first run: %s, %v; want %s without error", c.date, c.err, day.AddDays(-1))
		}

		// A day that has not begun is refused: its job would wait for it,
		// and block the corrected date's.
		if added, err := j.ScheduleBillReconcile(ctx, day.AddDays(1)); added || !errors.Is(err, payment.ErrInvalid) {
			t.Fatalf("ScheduleBillReconcile of tomorrow: %v, %v; want not added, ErrInvalid", added, err)
		}

		// The day itself is not over: its job is snoozed, not failed.
		if added, err := j.ScheduleBillReconcile(ctx, day); !added || err != nil {
			t.Fatalf("ScheduleBillReconcile: %v, %v", added, err)
		}
		if c := sig.next(t); c.date != day || !errors.Is(c.err, payment.ErrBillNotReady) {
			t.Fatalf("run of today: %s, %v; want %s, ErrBillNotReady", c.date, c.err, day)
		}
		if added, err := j.ScheduleBillReconcile(ctx, day); added || err != nil {
			t.Fatalf("ScheduleBillReconcile of a date waiting: %v, %v; want not added", added, err)
		}
		if _, err := store.GetBillRun(ctx, day); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("a run stored for a bill not ready: %v", err)
		}

		// The next morning the snoozed job runs again, and the bill is
		// there.
		sbx.clock.Set(day.End().Add(10 * time.Hour))
		if c := sig.next(t); c.date != day || c.err != nil {
			t.Fatalf("run after the snooze: %s, %v; want %s without error", c.date, c.err, day)
		}
		run, err := store.GetBillRun(ctx, day)
		if err != nil || run.Differences[payment.BillDiffMissingInDB] != 1 || run.Count() != 1 {
			t.Fatalf("stored run: %+v, %v; want one missing_in_db", run, err)
		}
		n := 0
		for _, row := range b.jobRows(t, payment.JobKindBillReconcile) {
			if strings.Contains(row.Args, day.String()) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d jobs of %s, want 1", n, day)
		}
		if added, err := j.ScheduleBillReconcile(ctx, day); added || err != nil {
			t.Fatalf("ScheduleBillReconcile of a date done: %v, %v; want not added", added, err)
		}
	})
}

func TestBillJobConfigValidate(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	for _, at := range []time.Duration{-time.Minute, 24 * time.Hour} {
		cfg := testConfig(t, newRecorder(time.Now, nil))
		cfg.Store = b.store
		cfg.Bills = payment.BillJobConfig{Reconciler: signalingReconciler{}, At: at}
		if _, err := payment.NewJobs(context.Background(), b.store.(*sqlitestore.Store).RiverDriver(), cfg); err == nil {
			t.Errorf("NewJobs with Bills.At %v succeeded", at)
		}
	}
}
