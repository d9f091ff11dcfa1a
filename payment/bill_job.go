package payment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
)

// JobKindBillReconcile reconciles the trade bill of one day: args
// {"date": "2006-01-02"}. It calls BillJobConfig.Reconciler. It is part
// of the database's contents: never rename it.
const JobKindBillReconcile = "bill_reconcile"

// Defaults of [BillJobConfig].
const (
	// DefaultBillReconcileAt is the time of day, Beijing time, of the
	// daily reconciliation: Alipay has the day before's bill ready by
	// about 09:00–10:00.
	DefaultBillReconcileAt = 10 * time.Hour
	// DefaultBillNotReadyRetry is how long the job waits before asking
	// again for a bill that is not ready.
	DefaultBillNotReadyRetry = 30 * time.Minute
	// DefaultBillJobTimeout bounds one run of the job: a download, a day
	// of orders and the storing of the differences.
	DefaultBillJobTimeout = 10 * time.Minute
)

// BillReconcileRunner reconciles the trade bill of a day and stores the
// run: [BillReconciler] implements it.
type BillReconcileRunner interface {
	ReconcileBill(ctx context.Context, date BillDate) (*BillRun, error)
}

// BillJobConfig configures the daily reconciliation of Alipay's trade
// bill by [Jobs] (JobsConfig.Bills).
//
// Every day at At (Beijing time) River's periodic job inserts a job of
// kind JobKindBillReconcile for the day before, unique per date: a date
// already waiting, running or completed (River keeps completed jobs a
// day) is not inserted again, so instances and restarts do not reconcile
// a day twice. The job also runs when the jobs start after At (River's
// RunOnStart), so that a day missed while no instance ran is done then.
// A bill that is not ready (ErrBillNotReady) snoozes the job for
// NotReadyRetry, without using up an attempt, for as long as the
// reconciler calls the bill not ready (BillReconcilerConfig.ReadyWithin);
// other failures are retried with the jobs' backoff up to MaxAttempts.
// Every instance sharing the database must have the same BillJobConfig.
type BillJobConfig struct {
	// Reconciler runs the reconciliation. Nil (the default) schedules no
	// daily job.
	Reconciler BillReconcileRunner
	// At is the time of day, from midnight Beijing time, of the daily
	// run, under 24 hours. Default DefaultBillReconcileAt (10:00).
	At time.Duration
	// NotReadyRetry is how long a job whose bill is not ready waits
	// before it asks again. Default DefaultBillNotReadyRetry (30 minutes).
	NotReadyRetry time.Duration
	// Timeout bounds one run. Default DefaultBillJobTimeout (10 minutes),
	// instead of JobsConfig.JobTimeout.
	Timeout time.Duration
}

// validate fills in the defaults of c and checks it.
func (c *BillJobConfig) validate() error {
	if c.At < 0 || c.At >= 24*time.Hour {
		return fmt.Errorf("payment: jobs: Bills.At %v is not a time of day (0 to 24h)", c.At)
	}
	if c.At == 0 {
		c.At = DefaultBillReconcileAt
	}
	if c.NotReadyRetry <= 0 {
		c.NotReadyRetry = DefaultBillNotReadyRetry
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultBillJobTimeout
	}
	return nil
}

// billReconcileArgs are the arguments of a JobKindBillReconcile job.
type billReconcileArgs struct {
	Date BillDate `json:"date"`
}

// Kind returns JobKindBillReconcile.
func (billReconcileArgs) Kind() string { return JobKindBillReconcile }

// InsertOpts makes the reconciliation of a date unique while it waits
// and once it has completed (until River's cleaner removes it, after a
// day).
func (billReconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// dailySchedule is River's schedule of the daily run: every day at a
// time of day, Beijing time (which has no daylight saving).
type dailySchedule struct{ at time.Duration }

// Next returns the first time of day at after t.
func (s dailySchedule) Next(t time.Time) time.Time {
	d := BillDateOf(t)
	next := d.Start().Add(s.at)
	if !next.After(t) {
		next = d.AddDays(1).Start().Add(s.at)
	}
	return next
}

// billPeriodicJob returns River's periodic job of the daily run.
func (j *Jobs) billPeriodicJob() *river.PeriodicJob {
	at := j.cfg.Bills.At
	return river.NewPeriodicJob(dailySchedule{at}, func() (river.JobArgs, *river.InsertOpts) {
		now := j.now()
		today := BillDateOf(now)
		// Started before the time of day (RunOnStart): the schedule
		// runs it at the time. A minute's margin keeps a scheduler that
		// fires a little early from skipping the day.
		if now.Sub(today.Start()) < at-time.Minute {
			return nil, nil
		}
		return billReconcileArgs{Date: today.AddDays(-1)}, nil
	}, &river.PeriodicJobOpts{ID: JobKindBillReconcile, RunOnStart: true})
}

// ScheduleBillReconcile has the trade bill of date reconciled by a job
// now (JobKindBillReconcile), retried as the daily one is. It reports
// whether a job was added: false when one of the date is waiting,
// running or completed within River's retention (a day) — call
// BillReconciler.ReconcileBill directly to reconcile a day again at once.
// It needs JobsConfig.Bills.Reconciler, which runs the job.
func (j *Jobs) ScheduleBillReconcile(ctx context.Context, date BillDate) (bool, error) {
	if j.cfg.Bills.Reconciler == nil {
		return false, errors.New("payment: schedule bill reconciliation: JobsConfig.Bills.Reconciler is not set")
	}
	if date.IsZero() {
		return false, errors.New("payment: schedule bill reconciliation: no date")
	}
	if !date.Start().Before(j.now()) {
		// Its job would wait for the day, and block the corrected date's.
		return false, fmt.Errorf("%w: schedule bill reconciliation: the day %s has not begun: give a past day", ErrInvalid, date)
	}
	n, err := j.insert(ctx, []river.InsertManyParams{{Args: billReconcileArgs{Date: date}}})
	if err != nil {
		return false, fmt.Errorf("payment: schedule bill reconciliation of %s: %w", date, err)
	}
	return n == 1, nil
}

// billWorker works JobKindBillReconcile jobs.
type billWorker struct {
	river.WorkerDefaults[billReconcileArgs]
	cfg BillJobConfig
	log *slog.Logger
}

// Timeout returns BillJobConfig.Timeout.
func (w *billWorker) Timeout(*river.Job[billReconcileArgs]) time.Duration { return w.cfg.Timeout }

// Work reconciles the job's date; a bill not ready snoozes the job.
func (w *billWorker) Work(ctx context.Context, job *river.Job[billReconcileArgs]) error {
	_, err := w.cfg.Reconciler.ReconcileBill(ctx, job.Args.Date)
	if errors.Is(err, ErrBillNotReady) {
		w.log.InfoContext(ctx, "payment: bill not ready; asking again later",
			"bill_date", job.Args.Date.String(), "retry_in", w.cfg.NotReadyRetry, "error", err)
		return river.JobSnooze(w.cfg.NotReadyRetry)
	}
	return err
}
