package payment

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
)

// webhookArgs are the arguments of a JobKindWebhookDeliver job.
type webhookArgs struct {
	EventID string `json:"event_id"`
}

// Kind returns JobKindWebhookDeliver.
func (webhookArgs) Kind() string { return JobKindWebhookDeliver }

// InsertOpts makes the delivery of an event unique while it waits and
// once it has completed (until River's cleaner removes it, after a day):
// two instances that both schedule an event, or a sweep that offers it
// again, add no second delivery.
func (webhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: JobQueue, UniqueOpts: river.UniqueOpts{ByArgs: true}} // default ByState includes completed
}

// webhookWorker runs JobKindWebhookDeliver jobs: one attempt of the
// Webhooks per run, retried after WebhooksConfig.Backoff.
type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	j *Jobs
	w *Webhooks
}

// Work makes one attempt. The last failed attempt cancels the job: the
// event is given up (recorded as failed), and River need not count it.
func (k *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	err := k.w.deliver(ctx, job.Args.EventID, job.Attempt, job.MaxAttempts)
	if errors.Is(err, errGaveUp) {
		return river.JobCancel(err)
	}
	return jobResult(err)
}

// NextRetry returns when the job runs again after a failed attempt, by
// WebhooksConfig.Backoff on the jobs' clock.
func (k *webhookWorker) NextRetry(job *river.Job[webhookArgs]) time.Time {
	return k.j.now().Add(k.w.cfg.Backoff(job.Attempt))
}

// Timeout returns how long one run may take: an attempt's timeout, with
// room to read and record it.
func (k *webhookWorker) Timeout(*river.Job[webhookArgs]) time.Duration {
	return k.w.cfg.Timeout + 30*time.Second
}

// ScheduleWebhook schedules the delivery of the recorded webhook event
// (JobKindWebhookDeliver), due now, with WebhooksConfig.MaxAttempts
// attempts. A delivery of the event that is waiting or completed makes
// it a no-op. It needs JobsConfig.Webhooks; [Webhooks.OnChange] calls
// it.
func (j *Jobs) ScheduleWebhook(ctx context.Context, eventID string) error {
	if j.cfg.Webhooks == nil {
		return fmt.Errorf("payment: schedule webhook %s: JobsConfig.Webhooks is not set", eventID)
	}
	if _, err := j.insert(ctx, []river.InsertManyParams{j.webhookJob(eventID)}); err != nil {
		return fmt.Errorf("payment: schedule webhook %s: %w", eventID, err)
	}
	return nil
}

// webhookJob returns the job that delivers the event.
func (j *Jobs) webhookJob(eventID string) river.InsertManyParams {
	return river.InsertManyParams{Args: webhookArgs{EventID: eventID},
		InsertOpts: &river.InsertOpts{MaxAttempts: j.cfg.Webhooks.cfg.MaxAttempts}}
}

// sweep records the webhook events of the state changes since the time
// that have none (a crash between the order's commit and OnChange), and
// schedules the delivery of every event since then that is still pending
// or retrying (a crash between recording and scheduling; the jobs'
// uniqueness makes it a no-op for the others). It returns how many events
// it recorded or scheduled.
func (w *Webhooks) sweep(ctx context.Context, since time.Time, limit int) (int, error) {
	j := w.jobs.Load()
	if j == nil {
		return 0, errors.New("payment: webhook sweep: no Jobs")
	}
	var errs []error
	n := 0
	changes, err := w.cfg.Store.ListStateChangesWithoutWebhook(ctx, since, limit)
	if err != nil {
		errs = append(errs, err)
	}
	for _, ch := range changes {
		o, err := w.cfg.Store.GetOrder(ctx, ch.OrderID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		log := w.log.With("out_trade_no", o.OutTradeNo, "order_id", o.ID)
		created, err := w.record(ctx, log, ch, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if created {
			log.Warn("payment: webhook sweep recorded the event of a change that had none", "seq", ch.Seq, "to", ch.To)
			n++
		}
	}
	pending, err := w.cfg.Store.ListUndeliveredWebhookEvents(ctx, since, limit)
	if err != nil {
		errs = append(errs, err)
	}
	for len(pending) > 0 {
		batch := pending[:min(sweepPage, len(pending))]
		pending = pending[len(batch):]
		ps := make([]river.InsertManyParams, len(batch))
		for i := range batch {
			ps[i] = j.webhookJob(batch[i].ID)
		}
		added, err := j.insert(ctx, ps)
		n += added
		if err != nil {
			errs = append(errs, err)
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return n, fmt.Errorf("payment: webhook sweep: %w", err)
	}
	return n, nil
}
