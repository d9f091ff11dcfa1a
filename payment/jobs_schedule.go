package payment

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Kinds of the jobs of [Jobs], as River stores them. They are part of the
// database's contents: never rename one.
const (
	// JobKindReconcileOrder queries a pending order: args {"order_id",
	// "round"}, round counting the offsets of JobsConfig.ReconcileAfter
	// from 1. It calls JobRunner.Reconcile.
	JobKindReconcileOrder = "reconcile_order"
	// JobKindExpireOrder closes an expired pending order: args
	// {"order_id"}. It calls JobRunner.Expire.
	JobKindExpireOrder = "expire_order"
	// JobKindSettleRefund settles a refund: args {"refund_id"}. It calls
	// JobRunner.SettleRefund.
	JobKindSettleRefund = "settle_refund"
	// JobKindRefundPaidAfterClose starts the automatic refund of an order
	// paid after its close if it was never started: args {"order_id"}.
	// It calls JobRunner.RefundPaidAfterClose.
	JobKindRefundPaidAfterClose = "refund_paid_after_close"
	// JobKindSweep is the periodic sweep: Jobs.Sweep.
	JobKindSweep = "payment_sweep"
)

// waitingStates are the states of a job that has not finished: a job in
// one of them makes the insertion of an equal one a no-op. River requires
// available, pending, running and scheduled; retryable is the one that
// makes a failing job absorb its duplicates instead of running beside them.
var waitingStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRetryable,
	rivertype.JobStateRunning,
	rivertype.JobStateScheduled,
}

// reconcileArgs are the arguments of a JobKindReconcileOrder job.
type reconcileArgs struct {
	OrderID string `json:"order_id"`
	Round   int    `json:"round"`
}

// Kind returns JobKindReconcileOrder.
func (reconcileArgs) Kind() string { return JobKindReconcileOrder }

// InsertOpts makes each round of an order unique while it waits and once
// it has completed (until River's cleaner removes it, after a day): the
// sweep can offer every round again and only the missing ones are added.
func (reconcileArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}} // default ByState includes completed
}

// expireArgs are the arguments of a JobKindExpireOrder job.
type expireArgs struct {
	OrderID string `json:"order_id"`
}

// Kind returns JobKindExpireOrder.
func (expireArgs) Kind() string { return JobKindExpireOrder }

// InsertOpts makes the expiry of an order unique while it waits. A
// completed expiry does not count: an order still pending after it is
// expired again by the next sweep.
func (expireArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// settleRefundArgs are the arguments of a JobKindSettleRefund job.
type settleRefundArgs struct {
	RefundID string `json:"refund_id"`
}

// Kind returns JobKindSettleRefund.
func (settleRefundArgs) Kind() string { return JobKindSettleRefund }

// InsertOpts makes the settling of a refund unique while it waits; a
// refund still unsettled after a completed job is settled again by the
// next sweep.
func (settleRefundArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: waitingStates}}
}

// refundPaidAfterCloseArgs are the arguments of a
// JobKindRefundPaidAfterClose job.
type refundPaidAfterCloseArgs struct {
	OrderID string `json:"order_id"`
}

// Kind returns JobKindRefundPaidAfterClose.
func (refundPaidAfterCloseArgs) Kind() string { return JobKindRefundPaidAfterClose }

// InsertOpts makes the job of an order unique while it waits and once it
// has completed (until River's cleaner removes it, after a day), so that
// the sweep, which offers it every period for every flagged order, has
// it run about once a day at most: with the policy that keeps payments
// after close, it finds nothing to do.
func (refundPaidAfterCloseArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// sweepArgs are the (empty) arguments of the JobKindSweep job.
type sweepArgs struct{}

// Kind returns JobKindSweep.
func (sweepArgs) Kind() string { return JobKindSweep }

// InsertOpts runs a sweep once: the next period's sweep replaces a failed
// one.
func (sweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, MaxAttempts: 1}
}

// ScheduleOrder schedules the jobs of a new pending order: a reconcile at
// each offset of JobsConfig.ReconcileAfter after o.CreatedAt that comes
// before o.ExpiresAt, and the expiry at o.ExpiresAt when it is set. Jobs
// already scheduled are not added twice, so calling it again is harmless;
// an order that is not pending has nothing to schedule.
//
// The Service calls it after the order is stored. A crash in between
// loses nothing: the sweep schedules the jobs of pending orders that lack
// them (see [Jobs.Sweep]).
func (j *Jobs) ScheduleOrder(ctx context.Context, o *Order) error {
	if o.Status != StatusPending && o.Status != "" {
		return nil
	}
	if _, err := j.insert(ctx, j.orderJobs(o, j.now())); err != nil {
		return fmt.Errorf("payment: schedule jobs of order %s: %w", o.ID, err)
	}
	return nil
}

// ScheduleRefundSettlement schedules the settling of a refund after
// delay: JobRunner.SettleRefund, retried until it succeeds. The Service
// calls it for a refund whose answer did not say that money moved (a
// timeout, fund_change N). A settling already waiting for the refund
// makes it a no-op.
func (j *Jobs) ScheduleRefundSettlement(ctx context.Context, refundID string, delay time.Duration) error {
	now := j.now()
	p := river.InsertManyParams{Args: settleRefundArgs{RefundID: refundID}, InsertOpts: j.at(now.Add(delay), now)}
	if _, err := j.insert(ctx, []river.InsertManyParams{p}); err != nil {
		return fmt.Errorf("payment: schedule settling of refund %s: %w", refundID, err)
	}
	return nil
}

// orderJobs returns the jobs of a pending order, as of now.
func (j *Jobs) orderJobs(o *Order, now time.Time) []river.InsertManyParams {
	var ps []river.InsertManyParams
	for i, d := range j.cfg.ReconcileAfter {
		at := o.CreatedAt.Add(d)
		if !o.ExpiresAt.IsZero() && !at.Before(o.ExpiresAt) {
			break
		}
		ps = append(ps, river.InsertManyParams{Args: reconcileArgs{OrderID: o.ID, Round: i + 1}, InsertOpts: j.at(at, now)})
	}
	if !o.ExpiresAt.IsZero() {
		ps = append(ps, river.InsertManyParams{Args: expireArgs{OrderID: o.ID}, InsertOpts: j.at(o.ExpiresAt, now)})
	}
	return ps
}

// at returns the insert options of a job due at t: scheduled for t if it
// is after now, available at once otherwise (River would otherwise leave
// a job scheduled in the past for its scheduler, up to 5 seconds).
func (j *Jobs) at(t, now time.Time) *river.InsertOpts {
	if t.After(now) {
		return &river.InsertOpts{ScheduledAt: t}
	}
	return nil
}

// insert inserts the jobs in one transaction and returns how many were
// added (the others were already waiting).
func (j *Jobs) insert(ctx context.Context, ps []river.InsertManyParams) (int, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	res, err := j.client.InsertMany(ctx, ps)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range res {
		if !r.UniqueSkippedAsDuplicate {
			n++
		}
	}
	return n, nil
}
