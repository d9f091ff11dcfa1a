package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// sweepPage is how many orders the sweep lists, and schedules in one
// transaction, at a time.
const sweepPage = 100

// SweepResult is what one [Jobs.Sweep] did.
type SweepResult struct {
	// Orders is how many pending orders it looked at.
	Orders int
	// Refunds is how many unsettled refunds it looked at.
	Refunds int
	// Scheduled is how many jobs it added: the ones that were missing.
	Scheduled int
	// Webhooks is how many webhook events it recorded or scheduled again
	// (see JobsConfig.Webhooks).
	Webhooks int
}

// Sweep schedules the jobs that are missing, so that nothing is lost
// when a process dies between storing an order or a refund and
// scheduling its jobs, or when a job was given up. It is the periodic
// JobKindSweep job, run every JobsConfig.SweepInterval on one instance,
// and can be called directly (tests, an operator's command). It offers
// again, with the uniqueness of the jobs making it a no-op for what is
// already there:
//
//   - the jobs of every order still pending that was created within
//     JobsConfig.SweepLookback and at least the first ReconcileAfter
//     offset ago, as [Jobs.ScheduleOrder] would schedule them (a reconcile
//     round that already completed is not run again);
//   - an expiry, due now, for every pending order past its ExpiresAt,
//     however old;
//   - a settling, due now, for every refund still pending or unknown
//     that is older than JobsConfig.RefundSettleAfter (the oldest 1,000:
//     the store lists no more at once);
//   - with JobsConfig.Webhooks, the webhook event of every state change
//     within JobsConfig.SweepLookback that has none (recorded with the
//     order as it is now), and the delivery of every event of that window
//     still pending or retrying.
//
// Each listing stops after JobsConfig.SweepLimit entries. A failing
// listing does not stop the others; the error joins them all.
func (j *Jobs) Sweep(ctx context.Context) (SweepResult, error) {
	now := j.now()
	var res SweepResult
	var errs []error

	recent := PendingFilter{
		CreatedBefore: now,
		// Start after every order created before the lookback: a
		// position made with EncodeCursor, as a page's Next is. "!"
		// sorts before every id.
		Cursor: EncodeCursor(CursorPending, now.Add(-j.cfg.SweepLookback), "!"),
	}
	if len(j.cfg.ReconcileAfter) > 0 {
		recent.CreatedBefore = now.Add(-j.cfg.ReconcileAfter[0])
	}
	errs = append(errs, j.sweepOrders(ctx, recent, &res, func(o *Order) []river.InsertManyParams {
		return j.orderJobs(o, now)
	}))
	errs = append(errs, j.sweepOrders(ctx, PendingFilter{ExpiresBefore: now}, &res, func(o *Order) []river.InsertManyParams {
		return []river.InsertManyParams{{Args: expireArgs{OrderID: o.ID}}}
	}))

	refunds, err := j.cfg.Store.ListUnsettledRefunds(ctx, now.Add(-j.cfg.RefundSettleAfter), j.cfg.SweepLimit)
	if err != nil {
		errs = append(errs, err)
	}
	for len(refunds) > 0 {
		batch := refunds[:min(sweepPage, len(refunds))]
		refunds = refunds[len(batch):]
		ps := make([]river.InsertManyParams, len(batch))
		for i := range batch {
			ps[i] = river.InsertManyParams{Args: settleRefundArgs{RefundID: batch[i].ID}}
		}
		n, err := j.insert(ctx, ps)
		res.Refunds += len(batch)
		res.Scheduled += n
		if err != nil {
			errs = append(errs, err)
			break
		}
	}

	if w := j.cfg.Webhooks; w != nil {
		n, err := w.sweep(ctx, now.Add(-j.cfg.SweepLookback), j.cfg.SweepLimit)
		res.Webhooks = n
		errs = append(errs, err)
	}

	if res.Scheduled > 0 || res.Webhooks > 0 {
		j.log.InfoContext(ctx, "payment: sweep scheduled missing jobs",
			"orders", res.Orders, "refunds", res.Refunds, "scheduled", res.Scheduled, "webhooks", res.Webhooks)
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("payment: sweep: %w", err)
	}
	return res, nil
}

// sweepOrders schedules jobs(o) for every pending order of the filter, a
// page at a time, up to JobsConfig.SweepLimit orders.
func (j *Jobs) sweepOrders(ctx context.Context, f PendingFilter, res *SweepResult, jobs func(o *Order) []river.InsertManyParams) error {
	f.Limit = sweepPage
	for seen := 0; seen < j.cfg.SweepLimit; {
		page, err := j.cfg.Store.ListPendingOrders(ctx, f)
		if err != nil {
			return err
		}
		var ps []river.InsertManyParams
		for i := range page.Orders {
			ps = append(ps, jobs(&page.Orders[i])...)
		}
		n, err := j.insert(ctx, ps)
		seen += len(page.Orders)
		res.Orders += len(page.Orders)
		res.Scheduled += n
		if err != nil || page.Next == "" {
			return err
		}
		f.Cursor = page.Next
	}
	return nil
}

// sweepInsertOpts are the insert options of the periodic sweep: unique
// within its period (River's shortest is a second), so that a new
// leader's first sweep does not double the last one's.
func sweepInsertOpts(interval time.Duration) *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: max(interval, time.Second)}}
}
