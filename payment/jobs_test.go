package payment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/sqlitestore"
)

// The JobRunner of these tests is a recorder, not the payment Service,
// which is being written on another branch: they check the jobs layer —
// when each job runs, retries, uniqueness, the sweep, sharing, shutdown —
// and leave what a job does to the Service's own tests.

// forEachBackend runs test on every backend, in parallel.
func forEachBackend(t *testing.T, test func(t *testing.T, b *backend)) {
	for name, mk := range backends() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			test(t, mk(t))
		})
	}
}

// TestJobsScheduleOrder moves a stubbed clock through an order's life:
// each reconcile and the expiry run once their time has come, in order,
// and not before.
func TestJobsScheduleOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		clk := newTestClock()
		t0 := clk.Now()
		rec := newRecorder(clk.Now, nil)
		cfg := testConfig(t, rec)
		cfg.Now = clk.Now
		j := b.newJobs(t, cfg)
		o := newOrder(t, b.store, t0, t0.Add(30*time.Minute))
		if err := j.ScheduleOrder(ctx, o); err != nil {
			t.Fatal(err)
		}

		rows := b.jobRows(t, payment.JobKindReconcileOrder)
		if len(rows) != 3 {
			t.Fatalf("%d reconcile jobs, want 3: %+v", len(rows), rows)
		}
		for i, d := range []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute} {
			want := fmt.Sprintf(`{"order_id": %q, "round": %d}`, o.ID, i+1)
			if !rows[i].ScheduledAt.Equal(t0.Add(d)) || rows[i].State != "scheduled" || !sameJSON(rows[i].Args, want) {
				t.Errorf("reconcile job %d: %+v, want %s scheduled at %v", i, rows[i], want, t0.Add(d))
			}
		}
		if rows := b.jobRows(t, payment.JobKindExpireOrder); len(rows) != 1 || !rows[0].ScheduledAt.Equal(o.ExpiresAt) {
			t.Errorf("expire jobs %+v, want one at %v", rows, o.ExpiresAt)
		}

		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			after  time.Duration
			method string
		}{
			{time.Minute, "Reconcile"},
			{5 * time.Minute, "Reconcile"},
			{15 * time.Minute, "Reconcile"},
			{30 * time.Minute, "Expire"},
		} {
			// Only the job whose time has come can run: had a later one
			// run early, it would be the call received here.
			due := t0.Add(step.after)
			clk.Set(due)
			c := rec.next(t)
			if c.Method != step.method || c.ID != o.ID || c.At.Before(due) {
				t.Fatalf("at +%v: call %+v, want %s of %s", step.after, c, step.method, o.ID)
			}
		}
	})
}

// sameJSON reports whether two JSON texts hold the same value (SQLite
// and PostgreSQL print them differently).
func sameJSON(a, b string) bool {
	var va, vb any
	return json.Unmarshal([]byte(a), &va) == nil && json.Unmarshal([]byte(b), &vb) == nil && reflect.DeepEqual(va, vb)
}

// TestJobsReconcileRoundsBeforeExpiry checks that no reconcile is
// scheduled at or after the order's expiry.
func TestJobsReconcileRoundsBeforeExpiry(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	clk := newTestClock()
	t0 := clk.Now()
	cfg := testConfig(t, newRecorder(clk.Now, nil))
	cfg.Now = clk.Now
	j := b.newJobs(t, cfg)
	o := newOrder(t, b.store, t0, t0.Add(5*time.Minute))
	if err := j.ScheduleOrder(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if rows := b.jobRows(t, payment.JobKindReconcileOrder); len(rows) != 1 || !rows[0].ScheduledAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("reconcile jobs %+v, want one at +1m (+5m is the expiry)", rows)
	}
}

// TestJobsRetry has the runner fail twice: River runs the job again
// until it succeeds.
func TestJobsRetry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		var mu sync.Mutex
		failures := 2
		rec := newRecorder(time.Now, func(ctx context.Context, c call) error {
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return errors.New("alipay: gateway unavailable")
			}
			return nil
		})
		cfg := testConfig(t, rec)
		cfg.Backoff = func(attempt int) time.Duration { return time.Millisecond }
		j := b.newJobs(t, cfg)
		if err := j.ScheduleRefundSettlement(ctx, "rfd_RETRIED", 0); err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if c := rec.next(t); c.Method != "SettleRefund" || c.ID != "rfd_RETRIED" {
				t.Fatalf("call %+v, want SettleRefund of rfd_RETRIED", c)
			}
		}
		if err := j.Stop(ctx); err != nil { // records the last outcome
			t.Fatal(err)
		}
		if rows := b.jobRows(t, payment.JobKindSettleRefund); len(rows) != 1 || rows[0].State != "completed" {
			t.Errorf("settle jobs %+v, want one completed", rows)
		}
		if n := len(rec.Calls()); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})
}

// TestJobsNotFoundIsNotRetried: a runner answering ErrNotFound ends the
// job at once.
func TestJobsNotFoundIsNotRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := sqliteBackend(t)
	rec := newRecorder(time.Now, func(ctx context.Context, c call) error {
		return fmt.Errorf("service: refund %s: %w", c.ID, payment.ErrNotFound)
	})
	cfg := testConfig(t, rec)
	cfg.Backoff = func(int) time.Duration { return time.Millisecond }
	j := b.newJobs(t, cfg)
	if err := j.ScheduleRefundSettlement(ctx, "rfd_MISSING", 0); err != nil {
		t.Fatal(err)
	}
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rec.next(t)
	if err := j.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if rows := b.jobRows(t, payment.JobKindSettleRefund); len(rows) != 1 || rows[0].State != "cancelled" {
		t.Errorf("settle jobs %+v, want one cancelled", rows)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

// TestJobsUnique schedules the same work twice: nothing is stacked.
func TestJobsUnique(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		clk := newTestClock()
		t0 := clk.Now()
		cfg := testConfig(t, newRecorder(clk.Now, nil))
		cfg.Now = clk.Now
		j := b.newJobs(t, cfg)
		o := newOrder(t, b.store, t0, t0.Add(time.Hour))
		for range 2 {
			if err := j.ScheduleOrder(ctx, o); err != nil {
				t.Fatal(err)
			}
			if err := j.ScheduleRefundSettlement(ctx, "rfd_ONCE", time.Minute); err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(t0.Add(2 * time.Minute))
		res, err := j.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if res.Orders != 1 || res.Scheduled != 0 {
			t.Errorf("sweep %+v, want 1 order seen and nothing scheduled", res)
		}
		for kind, want := range map[string]int{
			payment.JobKindReconcileOrder: 3,
			payment.JobKindExpireOrder:    1,
			payment.JobKindSettleRefund:   1,
		} {
			if rows := b.jobRows(t, kind); len(rows) != want {
				t.Errorf("%d %s jobs, want %d: %+v", len(rows), kind, want, rows)
			}
		}
	})
}

// TestJobsSweep stores orders and refunds without scheduling their jobs,
// as a crash right after the commit would leave them: the sweep
// schedules what is missing, and only that.
func TestJobsSweep(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		clk := newTestClock()
		t0 := clk.Now()
		rec := newRecorder(clk.Now, nil)
		cfg := testConfig(t, rec)
		cfg.Now = clk.Now
		j := b.newJobs(t, cfg)

		recent := newOrder(t, b.store, t0.Add(-2*time.Minute), t0.Add(28*time.Minute))
		expired := newOrder(t, b.store, t0.Add(-48*time.Hour), t0.Add(-47*time.Hour)) // beyond the lookback, but expired
		newOrder(t, b.store, t0.Add(-30*time.Second), t0.Add(time.Hour))              // too new: its first reconcile is not due
		newOrder(t, b.store, t0.Add(-25*time.Hour), time.Time{})                      // beyond the lookback, never expires
		refund := newUnsettledRefund(t, b.store, t0.Add(-2*time.Minute))
		newUnsettledRefund(t, b.store, t0.Add(-10*time.Second)) // too new
		// Paid after their close: one to refund, one finished (nothing to
		// refund), one long ago (beyond the lookback and MaxExpiry).
		lateRefund := flagPaid(t, b.store, newOrder(t, b.store, t0.Add(-3*24*time.Hour), time.Time{}), payment.FlagPaidAfterClose)
		flagPaid(t, b.store, newOrder(t, b.store, t0.Add(-time.Hour), time.Time{}), payment.FlagPaidAfterClose|payment.FlagFinished)
		flagPaid(t, b.store, newOrder(t, b.store, t0.Add(-20*24*time.Hour), time.Time{}), payment.FlagPaidAfterClose)
		// Idempotency records of the JSON API: one expired, one not.
		for i, at := range []time.Time{t0.Add(-payment.IdempotencyTTL - time.Minute), t0.Add(-time.Hour)} {
			rec := &payment.IdempotencyRecord{APIKeyID: "key1", Key: fmt.Sprint("k", i), RequestHash: make([]byte, 32), CreatedAt: at}
			if _, err := b.store.(payment.IdempotencyStore).ClaimIdempotencyKey(ctx, payment.IdempotencyClaim{Record: rec}); err != nil {
				t.Fatal(err)
			}
		}
		// Logged-out admin sessions: one ended over an hour ago (purged),
		// one a minute ago (kept for clocks running behind), one still on.
		for i, exp := range []time.Time{t0.Add(-61 * time.Minute), t0.Add(-time.Minute), t0.Add(time.Hour)} {
			if err := b.store.RevokeAdminSession(ctx, bytes.Repeat([]byte{byte(i + 1)}, payment.AdminSessionHashLen), exp); err != nil {
				t.Fatal(err)
			}
		}

		res, err := j.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (payment.SweepResult{Orders: 2, Refunds: 1, PaidAfterClose: 2, Scheduled: 7, IdempotencyKeysPurged: 1, AdminSessionsPurged: 1}); res != want {
			t.Errorf("sweep %+v, want %+v", res, want)
		}
		rows := b.jobRows(t, payment.JobKindReconcileOrder)
		if len(rows) != 3 || rows[0].State != "available" || !rows[1].ScheduledAt.Equal(recent.CreatedAt.Add(5*time.Minute)) {
			t.Errorf("reconcile jobs %+v, want round 1 available now and rounds 2, 3 scheduled", rows)
		}

		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for range 4 {
			c := rec.next(t)
			got = append(got, c.Method+" "+c.ID)
		}
		slices.Sort(got)
		want := []string{"Expire " + expired.ID, "Reconcile " + recent.ID, "SettleRefund " + refund.ID,
			"RefundPaidAfterClose " + lateRefund.ID}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("calls %q, want %q", got, want)
		}
		if err := j.Stop(ctx); err != nil {
			t.Fatal(err)
		}

		// The recorder changed nothing in the store: the expired order is
		// still pending and the refund unsettled, so they are offered again;
		// the reconcile round and the refund after close that completed are
		// not (until River's cleaner removes them, a day later).
		res, err = j.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (payment.SweepResult{Orders: 2, Refunds: 1, PaidAfterClose: 2, Scheduled: 2}); res != want {
			t.Errorf("second sweep %+v, want %+v", res, want)
		}
		if rows := b.jobRows(t, payment.JobKindReconcileOrder); len(rows) != 3 {
			t.Errorf("%d reconcile jobs after the second sweep, want 3", len(rows))
		}
	})
}

// TestJobsPeriodicSweep starts the jobs with the periodic sweep on: it
// runs at start and schedules the jobs of an order that has none.
func TestJobsPeriodicSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := sqliteBackend(t)
	rec := newRecorder(time.Now, nil)
	cfg := testConfig(t, rec)
	cfg.SweepInterval = time.Hour // the run at start is the one tested
	j := b.newJobs(t, cfg)
	o := newOrder(t, b.store, time.Now().Add(-2*time.Minute), time.Time{})
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if c := rec.next(t); c.Method != "Reconcile" || c.ID != o.ID {
		t.Errorf("call %+v, want Reconcile of %s", c, o.ID)
	}
}

// TestJobsStopIsGraceful stops the jobs while one runs: Stop waits for
// it to finish, with its context intact, and its success is recorded.
func TestJobsStopIsGraceful(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		started, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		var events []string
		logEvent := func(e string) {
			mu.Lock()
			defer mu.Unlock()
			events = append(events, e)
		}
		rec := newRecorder(time.Now, func(ctx context.Context, c call) error {
			close(started)
			<-release
			logEvent(fmt.Sprintf("job done, context error %v", ctx.Err()))
			return nil
		})
		j := b.newJobs(t, testConfig(t, rec))
		if err := j.ScheduleRefundSettlement(ctx, "rfd_INFLIGHT", 0); err != nil {
			t.Fatal(err)
		}
		if err := j.Start(ctx); err != nil {
			t.Fatal(err)
		}
		<-started
		stopped := make(chan error)
		go func() {
			err := j.Stop(ctx)
			logEvent("stop returned")
			stopped <- err
		}()
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if want := []string{"job done, context error <nil>", "stop returned"}; !slices.Equal(events, want) {
			t.Errorf("events %q, want %q", events, want)
		}
		if rows := b.jobRows(t, payment.JobKindSettleRefund); len(rows) != 1 || rows[0].State != "completed" {
			t.Errorf("settle jobs %+v, want one completed", rows)
		}
	})
}

// TestJobsStopDeadline stops the jobs with a context already done while
// a job runs: the job's context is cancelled, Stop waits for it to
// return and reports the deadline.
func TestJobsStopDeadline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := sqliteBackend(t)
	started := make(chan struct{})
	jobErr := make(chan error, 1)
	rec := newRecorder(time.Now, func(ctx context.Context, c call) error {
		close(started)
		<-ctx.Done()
		jobErr <- ctx.Err()
		return ctx.Err()
	})
	j := b.newJobs(t, testConfig(t, rec))
	if err := j.ScheduleRefundSettlement(ctx, "rfd_STUCK", 0); err != nil {
		t.Fatal(err)
	}
	if err := j.Start(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	done, cancel := context.WithCancel(ctx)
	cancel()
	if err := j.Stop(done); !errors.Is(err, context.Canceled) {
		t.Errorf("Stop: %v, want context.Canceled", err)
	}
	select {
	case err := <-jobErr:
		if err == nil {
			t.Error("the job's context was not cancelled")
		}
	default:
		t.Error("Stop returned before the cancelled job did")
	}
}

// TestJobsMigrationsIdempotent makes jobs twice on one database: the
// second finds River's tables migrated and changes nothing.
func TestJobsMigrationsIdempotent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		first := b.newJobs(t, testConfig(t, newRecorder(time.Now, nil)))
		if err := first.ScheduleRefundSettlement(ctx, "rfd_KEPT", time.Hour); err != nil {
			t.Fatal(err)
		}
		second := b.newJobs(t, testConfig(t, newRecorder(time.Now, nil)))
		if err := second.ScheduleRefundSettlement(ctx, "rfd_KEPT", time.Hour); err != nil {
			t.Fatal(err)
		}
		if rows := b.jobRows(t, payment.JobKindSettleRefund); len(rows) != 1 {
			t.Errorf("%d settle jobs, want the one kept", len(rows))
		}
	})
}

// TestJobsConfigValidate checks that NewJobs refuses what it cannot run.
func TestJobsConfigValidate(t *testing.T) {
	t.Parallel()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "zhifu.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := newRecorder(time.Now, nil)
	for name, cfg := range map[string]payment.JobsConfig{
		"no runner":           {Store: s},
		"no store":            {Runner: rec},
		"offsets not rising":  {Runner: rec, Store: s, ReconcileAfter: []time.Duration{time.Minute, time.Minute}},
		"offset not positive": {Runner: rec, Store: s, ReconcileAfter: []time.Duration{0}},
	} {
		t.Run(name, func(t *testing.T) {
			if j, err := payment.NewJobs(context.Background(), s.RiverDriver(), cfg); err == nil {
				j.Stop(context.Background())
				t.Error("NewJobs succeeded")
			}
		})
	}
}
