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
	// PaidAfterClose is how many orders paid after their close it looked
	// at.
	PaidAfterClose int
	// Scheduled is how many jobs it added: the ones that were missing.
	Scheduled int
	// Webhooks is how many webhook events it recorded or scheduled again
	// (see JobsConfig.Webhooks).
	Webhooks int
	// IdempotencyKeysPurged is how many expired idempotency records it
	// deleted (when the store is an IdempotencyStore).
	IdempotencyKeysPurged int64
	// AdminSessionsPurged is how many revocations of admin sessions
	// long expired it deleted.
	AdminSessionsPurged int64
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
//     that is older than JobsConfig.RefundSettleAfter;
//   - the automatic refund (JobKindRefundPaidAfterClose) of every order
//     paid after its close, not refunded, created within SweepLookback
//     plus MaxExpiry: the runner starts it if the policy wants it and it
//     was never started;
//   - with JobsConfig.Webhooks, the webhook event of every state change
//     within JobsConfig.SweepLookback that has none (recorded with the
//     order as it is now), and the delivery of every event of that window
//     still pending or retrying.
//
// It also deletes the idempotency records of the JSON API older than
// IdempotencyTTL, when the store keeps them (an IdempotencyStore):
// housekeeping, since expired records are ignored anyway; and likewise
// the revocations of admin sessions that ended over an hour ago.
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

	errs = append(errs, j.sweepRefunds(ctx, now, &res))
	errs = append(errs, j.sweepPaidAfterClose(ctx, now, &res))

	if w := j.cfg.Webhooks; w != nil {
		n, err := w.sweep(ctx, now.Add(-j.cfg.SweepLookback), j.cfg.SweepLimit)
		res.Webhooks = n
		errs = append(errs, err)
	}

	if is, ok := j.cfg.Store.(IdempotencyStore); ok {
		n, err := is.PurgeIdempotencyKeys(ctx, now.Add(-IdempotencyTTL))
		res.IdempotencyKeysPurged = n
		errs = append(errs, err)
	}
	n, err := j.cfg.Store.PurgeAdminSessionRevocations(ctx, now.Add(-adminSessionPurgeGrace))
	res.AdminSessionsPurged = n
	errs = append(errs, err)

	if res.Scheduled > 0 || res.Webhooks > 0 {
		j.log.InfoContext(ctx, "payment: sweep scheduled missing jobs",
			"orders", res.Orders, "refunds", res.Refunds, "paid_after_close", res.PaidAfterClose,
			"scheduled", res.Scheduled, "webhooks", res.Webhooks)
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
	return sweepPages(ctx, j, res, &res.Orders, f.Cursor, func(cursor string) ([]Order, string, error) {
		f.Cursor = cursor
		page, err := j.cfg.Store.ListPendingOrders(ctx, f)
		return page.Orders, page.Next, err
	}, jobs)
}

// sweepRefunds offers a settling, due now, for every refund still pending
// or unknown that is older than RefundSettleAfter, a page at a time, up to
// SweepLimit refunds.
func (j *Jobs) sweepRefunds(ctx context.Context, now time.Time, res *SweepResult) error {
	f := UnsettledFilter{CreatedBefore: now.Add(-j.cfg.RefundSettleAfter), Limit: sweepPage}
	return sweepPages(ctx, j, res, &res.Refunds, "", func(cursor string) ([]Refund, string, error) {
		f.Cursor = cursor
		page, err := j.cfg.Store.ListUnsettledRefunds(ctx, f)
		return page.Refunds, page.Next, err
	}, func(r *Refund) []river.InsertManyParams {
		return []river.InsertManyParams{{Args: settleRefundArgs{RefundID: r.ID}}}
	})
}

// sweepPaidAfterClose offers the automatic refund of every order paid after
// its close and not refunded, created within SweepLookback plus MaxExpiry
// (the longest an order waits for its payment), up to SweepLimit orders.
func (j *Jobs) sweepPaidAfterClose(ctx context.Context, now time.Time, res *SweepResult) error {
	f := OrderFilter{
		Statuses:    []Status{StatusPaid, StatusPartiallyRefunded},
		Flags:       FlagPaidAfterClose,
		CreatedFrom: now.Add(-j.cfg.SweepLookback - MaxExpiry),
		Limit:       sweepPage,
	}
	return sweepPages(ctx, j, res, &res.PaidAfterClose, "", func(cursor string) ([]Order, string, error) {
		f.Cursor = cursor
		page, err := j.cfg.Store.ListOrders(ctx, f)
		return page.Orders, page.Next, err
	}, func(o *Order) []river.InsertManyParams {
		if o.Flags.Has(FlagFinished) {
			return nil
		}
		return []river.InsertManyParams{{Args: refundPaidAfterCloseArgs{OrderID: o.ID}}}
	})
}

// sweepPages schedules jobs(item) for the items of every page that list
// returns (given the cursor of the page, starting with cursor; it returns
// the next cursor, "" after the last page), up to JobsConfig.SweepLimit
// items, counting the items in *seen and the jobs added in res.
func sweepPages[T any](ctx context.Context, j *Jobs, res *SweepResult, seen *int, cursor string, list func(cursor string) ([]T, string, error), jobs func(*T) []river.InsertManyParams) error {
	for n := 0; n < j.cfg.SweepLimit; {
		items, next, err := list(cursor)
		if err != nil {
			return err
		}
		var ps []river.InsertManyParams
		for i := range items {
			ps = append(ps, jobs(&items[i])...)
		}
		added, err := j.insert(ctx, ps)
		n += len(items)
		*seen += len(items)
		res.Scheduled += added
		if err != nil || next == "" {
			return err
		}
		cursor = next
	}
	return nil
}

// sweepInsertOpts are the insert options of the periodic sweep: unique
// within its period (River's shortest is a second), so that a new
// leader's first sweep does not double the last one's.
func sweepInsertOpts(interval time.Duration) *river.InsertOpts {
	return &river.InsertOpts{UniqueOpts: river.UniqueOpts{ByPeriod: max(interval, time.Second)}}
}
