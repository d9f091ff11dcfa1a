package payment_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/postgresstore"
)

// instanceRunner is the JobRunner of one service instance: it counts its
// calls and hands them to the recorder that all instances share.
type instanceRunner struct {
	rec *recorder
	n   atomic.Int64
}

func (r *instanceRunner) Reconcile(ctx context.Context, id string) error {
	r.n.Add(1)
	return r.rec.Reconcile(ctx, id)
}

func (r *instanceRunner) Expire(ctx context.Context, id string) error {
	r.n.Add(1)
	return r.rec.Expire(ctx, id)
}

func (r *instanceRunner) SettleRefund(ctx context.Context, id string) error {
	r.n.Add(1)
	return r.rec.SettleRefund(ctx, id)
}

func (r *instanceRunner) RefundPaidAfterClose(ctx context.Context, id string) error {
	r.n.Add(1)
	return r.rec.RefundPaidAfterClose(ctx, id)
}

// TestJobsInstancesShareWork runs two service instances, each with its
// own store and jobs, on one PostgreSQL schema, starting together: they
// migrate once between them, and every job scheduled by either runs
// exactly once on one of them.
func TestJobsInstancesShareWork(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema, dsn := pgSchema(t)
	rec := newRecorder(time.Now, nil)

	type instance struct {
		b      *backend
		runner *instanceRunner
		jobs   *payment.Jobs
	}
	instances := make([]*instance, 2)
	for i := range instances {
		s := openPostgresAt(t, dsn)
		instances[i] = &instance{b: pgBackendOn(t, s, schema), runner: &instanceRunner{rec: rec}}
	}
	// Both make their jobs (and migrate River's tables) at once.
	var wg sync.WaitGroup
	errs := make([]error, len(instances))
	for i, in := range instances {
		wg.Go(func() {
			cfg := testConfig(t, in.runner)
			cfg.Store = in.b.store
			cfg.Schema = schema
			cfg.ID = fmt.Sprint("instance-", i)
			s := in.b.store.(*postgresstore.Store)
			cfg.MigrationLock = s.LockMigrations
			in.jobs, errs[i] = payment.NewJobs(ctx, s.RiverDriver(), cfg)
		})
	}
	wg.Wait()
	for i, in := range instances {
		startable(t, in.jobs, errs[i])
	}
	for _, in := range instances {
		if err := in.jobs.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Ten orders past all their reconcile rounds (3 jobs each) and forty
	// refunds to settle, scheduled half by each instance.
	want := map[string]int{}
	created := time.Now().Add(-time.Hour)
	for i := range 10 {
		o := newOrder(t, instances[0].b.store, created, time.Time{})
		if err := instances[i%2].jobs.ScheduleOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		want["Reconcile "+o.ID] = 3
	}
	for i := range 40 {
		id := fmt.Sprintf("rfd_SHARED%02d", i)
		if err := instances[i%2].jobs.ScheduleRefundSettlement(ctx, id, 0); err != nil {
			t.Fatal(err)
		}
		want["SettleRefund "+id] = 1
	}
	for range 70 {
		rec.next(t)
	}
	// Once both have stopped nothing else can run: any duplicate would
	// be among the calls by now.
	for _, in := range instances {
		if err := in.jobs.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	for _, c := range rec.Calls() {
		got[c.Method+" "+c.ID]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("calls %v\nwant %v", got, want)
	}
	t.Logf("jobs run by instance: %d and %d", instances[0].runner.n.Load(), instances[1].runner.n.Load())
}
