package payment

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// Defaults of [WebhooksConfig].
const (
	DefaultWebhookTimeout     = 10 * time.Second
	DefaultWebhookMaxAttempts = 10
	// MinWebhookSecretLen is the shortest secret accepted: 32 characters,
	// such as 16 random bytes in hex.
	MinWebhookSecretLen = 32
	// webhookResponseExcerpt is how much of an answer's body an attempt
	// keeps.
	webhookResponseExcerpt = 512
	// webhookUserAgent is the User-Agent of every webhook request.
	webhookUserAgent = "zhifu-webhooks/1"
)

// DefaultWebhookBackoff returns how long to wait after a webhook's
// attempt'th failed attempt: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h,
// then 24 h. With DefaultWebhookMaxAttempts (10) an endpoint that stays
// down is given up after about 3 days (70 hours).
func DefaultWebhookBackoff(attempt int) time.Duration {
	steps := []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute, 30 * time.Minute,
		2 * time.Hour, 6 * time.Hour, 12 * time.Hour}
	if attempt >= 1 && attempt <= len(steps) {
		return steps[attempt-1]
	}
	return 24 * time.Hour
}

// ErrWebhookNotDelivered: an attempt of a webhook was not answered 2xx
// (see the attempt's StatusCode and Error).
var ErrWebhookNotDelivered = errors.New("payment: webhook not delivered")

// WebhooksConfig configures [NewWebhooks]. Fields without a default are
// required.
type WebhooksConfig struct {
	// URL is the merchant's endpoint, an absolute http(s) URL: every
	// event is POSTed there.
	URL string
	// Secret signs every request (see SignWebhook): at least
	// MinWebhookSecretLen characters, shared with the receiver only. It
	// never appears in logs or errors.
	Secret string
	// Store records the events and attempts: both stores implement it.
	Store WebhookStore
	// HTTPClient sends the requests. Its redirect policy is replaced: a
	// redirect is answered as a failed attempt, never followed (it would
	// send the signed event elsewhere). Default: a client of its own.
	HTTPClient *http.Client
	// Logger receives a line for every event recorded and every attempt,
	// with the order's out_trade_no. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock of the signatures' timestamps and the attempts.
	// Default time.Now.
	Now func() time.Time
	// Timeout bounds one attempt, from connecting to the end of the
	// answer. Default DefaultWebhookTimeout (10 s).
	Timeout time.Duration
	// MaxAttempts is how many automatic attempts are made before the event
	// is given up (status failed). Default DefaultWebhookMaxAttempts (10).
	MaxAttempts int
	// Backoff returns how long to wait after the attempt'th failed
	// attempt (1, 2, …). Default DefaultWebhookBackoff.
	Backoff func(attempt int) time.Duration
	// Observe, when set, is told the result of every attempt, recorded:
	// its WebhookStatus (delivered, retrying, failed) — for metrics.
	Observe func(result string)
}

// validate checks c and fills in its defaults. Its errors never quote
// the secret.
func (c *WebhooksConfig) validate() error {
	var errs []error
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, errors.New("URL is not an absolute http(s) URL"))
	}
	if len(c.Secret) < MinWebhookSecretLen {
		errs = append(errs, fmt.Errorf("Secret has %d characters, want at least %d (e.g. 16 random bytes in hex)", len(c.Secret), MinWebhookSecretLen))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("Store is required"))
	}
	if c.Timeout < 0 || c.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("Timeout %v and MaxAttempts %d must not be negative", c.Timeout, c.MaxAttempts))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("payment: WebhooksConfig: %w", err)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultWebhookTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultWebhookMaxAttempts
	}
	if c.Backoff == nil {
		c.Backoff = DefaultWebhookBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	client := &http.Client{}
	if c.HTTPClient != nil {
		cc := *c.HTTPClient
		client = &cc
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.HTTPClient = client
	return nil
}

// Webhooks tells the merchant's own systems about every committed state
// change of an order: a signed JSON POST to WebhooksConfig.URL, retried
// with backoff as River jobs (JobKindWebhookDeliver) until answered 2xx
// or given up, every attempt recorded in the store.
//
// Wire it in three places: NewWebhooks; [JobsConfig].Webhooks, so that
// the jobs deliver the events and their sweep records the ones a crash
// lost; and [Config].OnChange = w.OnChange (composed with other hooks as
// needed). A Webhooks belongs to one Jobs. It is safe for concurrent use.
type Webhooks struct {
	cfg  WebhooksConfig
	log  *slog.Logger
	jobs atomic.Pointer[Jobs]
}

// NewWebhooks checks cfg and returns the webhooks, which deliver nothing
// until given to NewJobs in JobsConfig.Webhooks.
func NewWebhooks(cfg WebhooksConfig) (*Webhooks, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Webhooks{cfg: cfg, log: cfg.Logger}, nil
}

// attach makes j the jobs that deliver w's events.
func (w *Webhooks) attach(j *Jobs) error {
	if !w.jobs.CompareAndSwap(nil, j) {
		return errors.New("payment: jobs: JobsConfig.Webhooks already belongs to other Jobs: make a Webhooks per Jobs")
	}
	return nil
}

// OnChange records the webhook event of a committed change of an order
// and schedules its delivery: it is meant for [Config].OnChange. The
// event's id is derived from the order and the Seq of the change's
// state_changed event, so that a second call for the same change (or a
// call on another instance, or the sweep) records nothing more and
// schedules nothing more. Failures are logged, not returned: the jobs'
// sweep records and schedules what is missing. It runs apart from ctx's
// cancellation, so that a notify whose sender hung up still records.
func (w *Webhooks) OnChange(ctx context.Context, c Change) {
	if c.Order == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	log := w.log.With("out_trade_no", c.Order.OutTradeNo, "order_id", c.Order.ID)
	for _, ev := range c.Events {
		if ev.Kind != EventStateChanged {
			continue
		}
		if ev.Seq <= 0 {
			log.Error("payment: webhook: the change's state_changed event has no Seq; the sweep will record it")
			return
		}
		if _, err := w.record(ctx, log, ev, c.Order); err != nil {
			log.Warn("payment: webhook: recording the event failed; the sweep will record it", "error", err)
		}
		return
	}
}

// record records the webhook event of change, the order's state_changed
// event, with o as the snapshot, and schedules its delivery if it is new.
// It reports whether the event is new.
func (w *Webhooks) record(ctx context.Context, log *slog.Logger, change OrderEvent, o *Order) (bool, error) {
	e, err := newWebhookEvent(change, o)
	if err != nil {
		return false, err
	}
	created, err := w.cfg.Store.RecordWebhookEvent(ctx, e)
	if err != nil {
		return false, fmt.Errorf("payment: webhook: record event %s: %w", e.ID, err)
	}
	if !created {
		log.Debug("payment: webhook: event already recorded", "event_id", e.ID)
		return false, nil
	}
	log.Info("payment: webhook event recorded", "event_id", e.ID, "type", e.Type)
	w.schedule(ctx, log, e.ID)
	return true, nil
}

// schedule schedules the delivery of the event; a failure is logged and
// left to the sweep.
func (w *Webhooks) schedule(ctx context.Context, log *slog.Logger, eventID string) {
	j := w.jobs.Load()
	if j == nil {
		log.Warn("payment: webhook: no Jobs deliver the webhooks (JobsConfig.Webhooks unset); the event waits", "event_id", eventID)
		return
	}
	if err := j.ScheduleWebhook(ctx, eventID); err != nil {
		log.Warn("payment: webhook: scheduling the delivery failed; the sweep will schedule it", "event_id", eventID, "error", err)
	}
}

// ListWebhookEvents returns the webhook events of the order, in the
// order of its changes (for the admin pages).
func (w *Webhooks) ListWebhookEvents(ctx context.Context, orderID string) ([]WebhookEvent, error) {
	evs, err := w.cfg.Store.ListWebhookEvents(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("payment: webhook events of order %s: %w", orderID, err)
	}
	return evs, nil
}

// ListWebhookAttempts returns the attempts of the event, oldest first
// (for the admin pages).
func (w *Webhooks) ListWebhookAttempts(ctx context.Context, eventID string) ([]WebhookAttempt, error) {
	as, err := w.cfg.Store.ListWebhookAttempts(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("payment: webhook attempts of event %s: %w", eventID, err)
	}
	return as, nil
}

// Resend delivers the event again now, whatever its status: one attempt,
// with the same event id and body and a fresh signature, recorded as
// manual. It returns the attempt; when the attempt was not answered 2xx
// the error wraps ErrWebhookNotDelivered and the event keeps its status
// (a pending or retrying event keeps its scheduled attempts). An unknown
// event is ErrNotFound.
func (w *Webhooks) Resend(ctx context.Context, eventID string) (*WebhookAttempt, error) {
	e, err := w.cfg.Store.GetWebhookEvent(ctx, eventID)
	if err != nil {
		return nil, fmt.Errorf("payment: webhook resend %s: %w", eventID, err)
	}
	return w.attempt(ctx, e, true, e.Status)
}

// deliver makes the automatic attempt'th attempt (of maxAttempts) of the event,
// for its job. It returns nil when the event is delivered (or was, or was
// given up), an error wrapping ErrWebhookNotDelivered to have the job
// retried, and errGaveUp after the last attempt.
func (w *Webhooks) deliver(ctx context.Context, eventID string, attempt, maxAttempts int) error {
	e, err := w.cfg.Store.GetWebhookEvent(ctx, eventID)
	if err != nil {
		return fmt.Errorf("payment: webhook deliver %s: %w", eventID, err)
	}
	if e.Status == WebhookStatusDelivered || e.Status == WebhookStatusFailed {
		return nil // delivered by a resend meanwhile, or given up before a crash
	}
	failed := WebhookStatusRetrying
	if attempt >= maxAttempts {
		failed = WebhookStatusFailed
	}
	a, err := w.attempt(ctx, e, false, failed)
	if err != nil && a != nil && a.Result == WebhookStatusFailed {
		return fmt.Errorf("%w: %w", errGaveUp, err)
	}
	return err
}

// errGaveUp marks the failure of an event's last automatic attempt.
var errGaveUp = errors.New("payment: webhook given up after its last attempt")

// attempt POSTs e once, records the attempt with the result delivered,
// or failed (the status to store when not delivered), and returns it.
func (w *Webhooks) attempt(ctx context.Context, e *WebhookEvent, manual bool, failed WebhookStatus) (*WebhookAttempt, error) {
	log := w.log.With("out_trade_no", e.OutTradeNo, "order_id", e.OrderID, "event_id", e.ID)
	a := w.post(ctx, e)
	delivered := a.Error == ""
	a.Manual, a.Result = manual, failed
	if delivered {
		a.Result = WebhookStatusDelivered
	}
	if err := w.cfg.Store.RecordWebhookAttempt(context.WithoutCancel(ctx), a); err != nil {
		log.Error("payment: webhook: recording the attempt failed", "status_code", a.StatusCode, "error", err)
		return a, fmt.Errorf("payment: webhook %s: record attempt: %w", e.ID, err)
	}
	if w.cfg.Observe != nil {
		w.cfg.Observe(string(a.Result))
	}
	attrs := []any{"type", e.Type, "attempt", a.Number, "manual", manual, "status_code", a.StatusCode,
		"duration", a.Duration.Round(time.Millisecond)}
	switch {
	case delivered:
		log.Info("payment: webhook delivered", attrs...)
		return a, nil
	case a.Result == WebhookStatusFailed && !manual:
		log.Error("payment: webhook given up: the endpoint failed every attempt; resend it once it is fixed", append(attrs, "error", a.Error)...)
	default:
		log.Warn("payment: webhook attempt failed", append(attrs, "error", a.Error)...)
	}
	return a, fmt.Errorf("%w: event %s attempt %d: %s", ErrWebhookNotDelivered, e.ID, a.Number, a.Error)
}

// post sends e once and describes the attempt; Error is "" only for a
// 2xx answer.
func (w *Webhooks) post(ctx context.Context, e *WebhookEvent) *WebhookAttempt {
	start, began := w.cfg.Now(), time.Now()
	a := &WebhookAttempt{EventID: e.ID, At: start}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(e.Payload))
	if err != nil {
		a.Error = "bad webhook URL"
		return a
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	req.Header.Set(WebhookEventIDHeader, e.ID)
	req.Header.Set(WebhookEventTypeHeader, string(e.Type))
	req.Header.Set(WebhookSignatureHeader, SignWebhook(w.cfg.Secret, start, e.Payload))
	resp, err := w.cfg.HTTPClient.Do(req)
	if err != nil {
		a.Duration = time.Since(began)
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL, which may hold a token of the merchant's
		}
		a.Error = safeText("POST failed: " + err.Error())
		return a
	}
	defer resp.Body.Close()
	// A 2xx whose body breaks off still says the event was received:
	// read errors are ignored.
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, webhookResponseExcerpt))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // let the connection be reused
	a.Duration = time.Since(began)
	a.StatusCode = resp.StatusCode
	a.Response = safeText(string(excerpt))
	switch {
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		a.Error = fmt.Sprintf("answered %s, not 2xx", resp.Status)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			a.Error += " (redirects are not followed)"
		}
	}
	return a
}

// String describes the configuration with its secret redacted, so that
// printing it (%v, a panic's message) does not leak the secret.
func (c WebhooksConfig) String() string {
	return fmt.Sprintf("WebhooksConfig{URL: %q, Secret: %s, Timeout: %v, MaxAttempts: %d}", c.URL, redacted(c.Secret), c.Timeout, c.MaxAttempts)
}

// LogValue is the configuration in logs, with its secret redacted.
func (c WebhooksConfig) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("secret", redacted(c.Secret)),
		slog.Duration("timeout", c.Timeout), slog.Int("max_attempts", c.MaxAttempts))
}

// redacted stands for a secret: whether it is set, never what it is.
func redacted(secret string) string {
	if secret == "" {
		return "(none)"
	}
	return "[REDACTED]"
}
