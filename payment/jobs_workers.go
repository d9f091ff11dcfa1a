package payment

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// workers returns the River workers of the jobs, which hand the work to
// the JobRunner.
func (j *Jobs) workers() *river.Workers {
	ws := river.NewWorkers()
	r := j.cfg.Runner
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[reconcileArgs]) error {
		return jobResult(r.Reconcile(ctx, job.Args.OrderID))
	}))
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[expireArgs]) error {
		return jobResult(r.Expire(ctx, job.Args.OrderID))
	}))
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[settleRefundArgs]) error {
		return jobResult(r.SettleRefund(ctx, job.Args.RefundID))
	}))
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[refundPaidAfterCloseArgs]) error {
		return jobResult(r.RefundPaidAfterClose(ctx, job.Args.OrderID))
	}))
	river.AddWorker(ws, river.WorkFunc(func(ctx context.Context, job *river.Job[sweepArgs]) error {
		_, err := j.Sweep(ctx)
		return err
	}))
	if j.cfg.Webhooks != nil {
		river.AddWorker(ws, &webhookWorker{j: j, w: j.cfg.Webhooks})
	}
	if j.cfg.Bills.Reconciler != nil {
		river.AddWorker(ws, &billWorker{cfg: j.cfg.Bills, log: j.log})
	}
	return ws
}

// jobResult returns what a worker returns to River for the runner's
// error: nil completes the job, ErrNotFound cancels it (no retry can make
// the order or refund exist), anything else has it retried.
func jobResult(err error) error {
	if errors.Is(err, ErrNotFound) {
		return river.JobCancel(err)
	}
	return err
}

// jobErrorHandler logs the failures of jobs; River then retries them.
type jobErrorHandler struct {
	log *slog.Logger
}

// HandleError logs a job's failure.
func (h *jobErrorHandler) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.log.WarnContext(ctx, "payment: job failed",
		"kind", job.Kind, "job_id", job.ID, "args", string(job.EncodedArgs),
		"attempt", job.Attempt, "max_attempts", job.MaxAttempts, "error", err)
	return nil
}

// HandlePanic logs a job's panic.
func (h *jobErrorHandler) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.log.ErrorContext(ctx, "payment: job panicked",
		"kind", job.Kind, "job_id", job.ID, "args", string(job.EncodedArgs),
		"attempt", job.Attempt, "panic", panicVal, "trace", trace)
	return nil
}

// backoffPolicy is a River retry policy of JobsConfig.Backoff.
type backoffPolicy struct {
	now     func() time.Time
	backoff func(attempt int) time.Duration
}

// NextRetry returns when a job that failed its latest attempt runs again.
func (p *backoffPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return p.now().Add(p.backoff(job.Attempt))
}

// clock is River's time generator of JobsConfig.Now.
type clock struct{ now func() time.Time }

// Now returns the time.
func (c clock) Now() time.Time { return c.now() }

// NowOrNil returns the time: it is always "stubbed".
func (c clock) NowOrNil() *time.Time {
	t := c.now()
	return &t
}

// minLevel is a slog handler that passes on the records of level min and
// above: River's info logs (every scheduler pass) stay out of the
// service's.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled reports whether the level is min or above and the handler
// takes it.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs returns the handler with the attributes.
func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

// WithGroup returns the handler with the group.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.min}
}
