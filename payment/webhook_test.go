package payment_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/sqlitestore"
)

// stateChange returns the change's state_changed event.
func stateChange(t *testing.T, c payment.Change) payment.OrderEvent {
	t.Helper()
	for _, e := range c.Events {
		if e.Kind == payment.EventStateChanged {
			return e
		}
	}
	t.Fatalf("the change has no state_changed event: %+v", c.Events)
	return payment.OrderEvent{}
}

// webhookPayload is the body of a webhook request, as a receiver reads it.
type webhookPayload struct {
	ID             string `json:"id"`
	Type           string `json:"type"`
	CreatedAt      string `json:"created_at"`
	PreviousStatus string `json:"previous_status"`
	Data           struct {
		ID             string            `json:"id"`
		OutTradeNo     string            `json:"out_trade_no"`
		Status         string            `json:"status"`
		Amount         string            `json:"amount"`
		PaidAmount     string            `json:"paid_amount"`
		RefundedAmount string            `json:"refunded_amount"`
		TradeNo        string            `json:"trade_no"`
		Flags          []string          `json:"flags"`
		Metadata       map[string]string `json:"metadata"`
		CreatedAt      string            `json:"created_at"`
		UpdatedAt      string            `json:"updated_at"`
		PaidAt         *string           `json:"paid_at"`
		ClosedAt       *string           `json:"closed_at"`
	} `json:"data"`
}

// checkRequest checks a received webhook request of the change c: its
// headers, its signature (by the Go verifier) and its body.
func checkRequest(t *testing.T, q received, c payment.Change, now time.Time) webhookPayload {
	t.Helper()
	sc := stateChange(t, c)
	wantID := payment.WebhookEventID(c.Order.ID, sc.Seq)
	if q.EventID != wantID || q.UserAgent != "zhifu-webhooks/1" || q.ContentType != "application/json" {
		t.Errorf("request headers: event %q (want %q), User-Agent %q, Content-Type %q", q.EventID, wantID, q.UserAgent, q.ContentType)
	}
	if err := payment.VerifyWebhookSignature(testWebhookSecret, q.Signature, q.Body, now, 0); err != nil {
		t.Errorf("the signature does not verify: %v", err)
	}
	var p webhookPayload
	if err := json.Unmarshal(q.Body, &p); err != nil {
		t.Fatalf("body %s: %v", q.Body, err)
	}
	o := c.Order
	d := p.Data
	if p.ID != wantID || p.Type != q.Type || p.PreviousStatus != string(sc.From) || d.ID != o.ID || d.OutTradeNo != o.OutTradeNo ||
		d.Status != string(o.Status) || d.Amount != o.Amount.String() || d.PaidAmount != o.PaidAmount.String() ||
		d.RefundedAmount != o.RefundedAmount.String() || d.TradeNo != o.TradeNo || d.Metadata == nil || d.Flags == nil {
		t.Errorf("body %s\ndoes not describe the change of order %+v", q.Body, o)
	}
	for _, ts := range []string{p.CreatedAt, d.CreatedAt, d.UpdatedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			t.Errorf("time %q is not RFC 3339: %v", ts, err)
		}
	}
	return p
}

// TestWebhooksDelivered: a paid order's change becomes one signed
// payment.paid request, recorded as one delivered attempt.
func TestWebhooksDelivered(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		rcv := newReceiver(t, nil)
		r := newWebhookRig(t, b, rcv, nil)
		r.start(t)
		c := paidChange(t, b.store, r.clock.Now())
		r.w.OnChange(context.Background(), c)
		q := rcv.next(t)
		r.stop(t)
		p := checkRequest(t, q, c, r.clock.Now())
		if p.Type != string(payment.WebhookEventPaid) || p.Data.Amount != "10.00" || p.Data.RefundedAmount != "0.00" ||
			p.Data.PaidAt == nil || p.Data.ClosedAt != nil {
			t.Errorf("body %s: want payment.paid of 10.00, paid_at set, closed_at null", q.Body)
		}
		// Another secret, another body, another time do not verify.
		for name, err := range map[string]error{
			"other secret": payment.VerifyWebhookSignature(strings.ToUpper(testWebhookSecret), q.Signature, q.Body, r.clock.Now(), 0),
			"other body":   payment.VerifyWebhookSignature(testWebhookSecret, q.Signature, append(q.Body, ' '), r.clock.Now(), 0),
			"stale":        payment.VerifyWebhookSignature(testWebhookSecret, q.Signature, q.Body, r.clock.Now().Add(6*time.Minute), 0),
		} {
			if !errors.Is(err, payment.ErrWebhookSignature) {
				t.Errorf("%s: %v, want ErrWebhookSignature", name, err)
			}
		}
		e := r.oneEvent(t, c.Order.ID)
		if e.Status != payment.WebhookStatusDelivered || e.Attempts != 1 || e.DeliveredAt.IsZero() || string(e.Payload) != string(q.Body) {
			t.Errorf("event %+v: want delivered after 1 attempt, with the body sent", e)
		}
		as := r.attempts(t, e.ID)
		if len(as) != 1 || as[0].StatusCode != 200 || as[0].Response != "OK" || as[0].Error != "" ||
			as[0].Result != payment.WebhookStatusDelivered || as[0].Manual {
			t.Errorf("attempts %+v: want one answered 200", as)
		}
		if n := len(rcv.requests()); n != 1 {
			t.Errorf("the receiver got %d requests, want 1", n)
		}
	})
}

// TestWebhooksDuplicateOnChange: the same change handed to OnChange many
// times, at once, is one event and one delivery.
func TestWebhooksDuplicateOnChange(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		rcv := newReceiver(t, nil)
		r := newWebhookRig(t, b, rcv, nil)
		c := paidChange(t, b.store, r.clock.Now())
		r.w.OnChange(context.Background(), c)
		r.start(t)
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() { r.w.OnChange(context.Background(), c) })
		}
		wg.Wait()
		rcv.next(t)
		r.stop(t) // any second delivery would have been made by now
		e := r.oneEvent(t, c.Order.ID)
		if n := len(rcv.requests()); n != 1 || e.Attempts != 1 {
			t.Errorf("%d requests, %d attempts; want 1 of each", n, e.Attempts)
		}
		if rows := b.jobRows(t, payment.JobKindWebhookDeliver); len(rows) != 1 || rows[0].State != "completed" {
			t.Errorf("delivery jobs %+v, want one completed", rows)
		}
	})
}

// TestWebhooksRetry: a receiver failing twice is retried after the
// backoff, on the jobs' clock: three attempts recorded, one delivery.
func TestWebhooksRetry(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		rcv := newReceiver(t, func(_ string, n int) int {
			if n <= 2 {
				return http.StatusInternalServerError
			}
			return http.StatusOK
		})
		r := newWebhookRig(t, b, rcv, func(c *payment.WebhooksConfig) {
			c.Backoff = func(attempt int) time.Duration { return time.Duration(attempt) * time.Hour }
		})
		r.start(t)
		c := paidChange(t, b.store, r.clock.Now())
		r.w.OnChange(context.Background(), c)
		first := rcv.next(t)
		for attempt := 1; attempt <= 2; attempt++ {
			// The failed attempt is retried after attempt hours.
			want := r.clock.Now().Add(time.Duration(attempt) * time.Hour)
			waitJob(t, b, func(j jobRow) bool { return j.State == "retryable" && j.ScheduledAt.Equal(want) })
			r.clock.Set(want)
			q := rcv.next(t)
			if q.EventID != first.EventID || string(q.Body) != string(first.Body) {
				t.Errorf("retry %d sent event %s %s, want the same event and body", attempt, q.EventID, q.Body)
			}
			checkRequest(t, q, c, r.clock.Now())
		}
		r.stop(t)
		e := r.oneEvent(t, c.Order.ID)
		as := r.attempts(t, e.ID)
		var codes []int
		var results []payment.WebhookStatus
		for _, a := range as {
			codes, results = append(codes, a.StatusCode), append(results, a.Result)
		}
		if len(as) != 3 || codes[0] != 500 || codes[1] != 500 || codes[2] != 200 ||
			results[0] != payment.WebhookStatusRetrying || results[2] != payment.WebhookStatusDelivered ||
			!strings.Contains(as[0].Error, "500") {
			t.Errorf("attempts: codes %v, results %v; want 500, 500, 200: retrying, retrying, delivered", codes, results)
		}
		if e.Status != payment.WebhookStatusDelivered || e.Attempts != 3 || len(rcv.requests()) != 3 {
			t.Errorf("event %+v, %d requests; want delivered after 3", e, len(rcv.requests()))
		}
	})
}

// waitJob waits until the webhook delivery job satisfies ok.
func waitJob(t *testing.T, b *backend, ok func(jobRow) bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		rows := b.jobRows(t, payment.JobKindWebhookDeliver)
		if len(rows) == 1 && ok(rows[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery jobs %+v: not in the state awaited", rows)
		}
		time.Sleep(10 * time.Millisecond) // polling the database: River gives no signal
	}
}

// TestWebhooksGiveUpAndResend: a receiver that always fails is given up
// after MaxAttempts; Resend delivers it once the receiver is fixed, and a
// failed resend leaves a delivered event delivered.
func TestWebhooksGiveUpAndResend(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		var fixed atomic.Bool
		rcv := newReceiver(t, func(string, int) int {
			if fixed.Load() {
				return http.StatusNoContent
			}
			return http.StatusBadGateway
		})
		r := newWebhookRig(t, b, rcv, func(c *payment.WebhooksConfig) { c.MaxAttempts = 3 })
		r.start(t)
		c := paidChange(t, b.store, r.clock.Now())
		r.w.OnChange(ctx, c)
		for range 3 {
			rcv.next(t)
		}
		r.stop(t)
		e := r.oneEvent(t, c.Order.ID)
		as := r.attempts(t, e.ID)
		if e.Status != payment.WebhookStatusFailed || e.Attempts != 3 || len(as) != 3 || as[2].Result != payment.WebhookStatusFailed ||
			as[1].Result != payment.WebhookStatusRetrying || len(rcv.requests()) != 3 {
			t.Fatalf("event %+v, attempts %+v, %d requests: want given up after 3", e, as, len(rcv.requests()))
		}
		if rows := b.jobRows(t, payment.JobKindWebhookDeliver); len(rows) != 1 || rows[0].State != "cancelled" {
			t.Errorf("delivery jobs %+v, want one cancelled (given up)", rows)
		}
		if !strings.Contains(r.logs.String(), "webhook given up") {
			t.Error("giving up was not logged")
		}

		// A resend while the receiver still fails: an error, recorded.
		a, err := r.w.Resend(ctx, e.ID)
		if !errors.Is(err, payment.ErrWebhookNotDelivered) || a == nil || a.Number != 4 || !a.Manual || a.StatusCode != 502 {
			t.Fatalf("Resend to a failing receiver: %+v, %v", a, err)
		}
		fixed.Store(true)
		a, err = r.w.Resend(ctx, e.ID)
		if err != nil || a.Number != 5 || !a.Manual || a.StatusCode != 204 || a.Result != payment.WebhookStatusDelivered {
			t.Fatalf("Resend: %+v, %v", a, err)
		}
		q := rcv.requests()[4]
		checkRequest(t, q, c, r.clock.Now())
		fixed.Store(false)
		if _, err := r.w.Resend(ctx, e.ID); !errors.Is(err, payment.ErrWebhookNotDelivered) {
			t.Fatalf("Resend to a failing receiver again: %v", err)
		}
		e = r.oneEvent(t, c.Order.ID)
		if e.Status != payment.WebhookStatusDelivered || e.Attempts != 6 || e.DeliveredAt.IsZero() {
			t.Errorf("event %+v: want delivered, 6 attempts", e)
		}
		if _, err := r.w.Resend(ctx, "evt_UNKNOWN_1"); !errors.Is(err, payment.ErrNotFound) {
			t.Errorf("Resend(unknown) = %v, want ErrNotFound", err)
		}
	})
}

// TestWebhooksSweep: a change whose OnChange never ran (the process died
// after the commit), and an event recorded without Jobs to schedule it,
// are recorded and scheduled by the jobs' sweep, and delivered once.
func TestWebhooksSweep(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b *backend) {
		ctx := context.Background()
		rcv := newReceiver(t, nil)
		r := newWebhookRig(t, b, rcv, nil)
		lost := paidChange(t, b.store, r.clock.Now()) // committed, OnChange not called
		unscheduled := paidChange(t, b.store, r.clock.Now())
		alone, err := payment.NewWebhooks(payment.WebhooksConfig{URL: rcv.srv.URL, Secret: testWebhookSecret, Store: r.store,
			Logger: r.logger(t)})
		if err != nil {
			t.Fatal(err)
		}
		alone.OnChange(ctx, unscheduled) // records, cannot schedule
		if len(r.events(t, unscheduled.Order.ID)) != 1 || len(r.events(t, lost.Order.ID)) != 0 {
			t.Fatal("before the sweep: want the unscheduled event recorded, the lost one not")
		}
		res, err := r.jobs.Sweep(ctx)
		if err != nil || res.Webhooks != 2 {
			t.Fatalf("Sweep = %+v, %v; want 2 webhooks recorded or scheduled", res, err)
		}
		r.start(t)
		got := map[string]bool{rcv.next(t).EventID: true, rcv.next(t).EventID: true}
		r.stop(t)
		for _, c := range []payment.Change{lost, unscheduled} {
			e := r.oneEvent(t, c.Order.ID)
			if !got[e.ID] || e.Status != payment.WebhookStatusDelivered || e.Attempts != 1 {
				t.Errorf("event %+v: want delivered once (received %v)", e, got)
			}
		}
		// A second sweep finds nothing to do, and nothing is sent again.
		if res, err := r.jobs.Sweep(ctx); err != nil || res.Webhooks != 0 {
			t.Errorf("second Sweep = %+v, %v; want nothing", res, err)
		}
		if n := len(rcv.requests()); n != 2 {
			t.Errorf("%d requests, want 2", n)
		}
		if !strings.Contains(r.logs.String(), "webhook sweep recorded the event of a change that had none") {
			t.Error("the recovery was not logged")
		}
	})
}

// logger returns a logger into the rig's logs and the test's.
func (r *webhookRig) logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(r.logs, testWriter{t}), nil))
}

// TestWebhooksRedirectNotFollowed: a redirect is a failed attempt; the
// signed event is not sent to the redirect's target.
func TestWebhooksRedirectNotFollowed(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	rcv := newReceiver(t, func(string, int) int { return http.StatusFound })
	r := newWebhookRig(t, b, rcv, func(c *payment.WebhooksConfig) { c.MaxAttempts = 1 })
	r.start(t)
	c := paidChange(t, b.store, r.clock.Now())
	r.w.OnChange(context.Background(), c)
	rcv.next(t)
	r.stop(t)
	e := r.oneEvent(t, c.Order.ID)
	as := r.attempts(t, e.ID)
	if len(rcv.requests()) != 1 || len(as) != 1 || as[0].StatusCode != 302 || !strings.Contains(as[0].Error, "redirects are not followed") ||
		e.Status != payment.WebhookStatusFailed {
		t.Errorf("requests %d, attempts %+v, event %s: want one failed attempt, not followed", len(rcv.requests()), as, e.Status)
	}
}

// TestWebhooksTimeout: an endpoint that does not answer within Timeout
// is a failed attempt with an error that says so.
func TestWebhooksTimeout(t *testing.T) {
	t.Parallel()
	b := sqliteBackend(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	rcv := newReceiver(t, nil)
	r := newWebhookRig(t, b, rcv, func(c *payment.WebhooksConfig) { c.URL, c.Timeout = slow.URL, 50*time.Millisecond })
	c := paidChange(t, b.store, r.clock.Now())
	r.w.OnChange(context.Background(), c)
	e := r.oneEvent(t, c.Order.ID)
	a, err := r.w.Resend(context.Background(), e.ID)
	if !errors.Is(err, payment.ErrWebhookNotDelivered) || a.StatusCode != 0 || !strings.Contains(a.Error, "deadline exceeded") ||
		strings.Contains(a.Error, slow.URL) {
		t.Errorf("attempt %+v, %v: want a timeout, without the URL", a, err)
	}
}

// TestWebhooksConfig: a bad configuration is refused with what to fix,
// and never quotes the secret.
func TestWebhooksConfig(t *testing.T) {
	t.Parallel()
	store := openSQLite(t).(payment.WebhookStore)
	short := "short-secret-DO-NOT-LOG"
	for name, cfg := range map[string]payment.WebhooksConfig{
		"no URL":       {Secret: testWebhookSecret, Store: store},
		"relative URL": {URL: "/hooks", Secret: testWebhookSecret, Store: store},
		"ftp URL":      {URL: "ftp://example.com/hooks", Secret: testWebhookSecret, Store: store},
		"short secret": {URL: "https://example.com/hooks", Secret: short, Store: store},
		"no store":     {URL: "https://example.com/hooks", Secret: testWebhookSecret},
		"negative":     {URL: "https://example.com/hooks", Secret: testWebhookSecret, Store: store, Timeout: -1},
	} {
		_, err := payment.NewWebhooks(cfg)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), short) || strings.Contains(err.Error(), testWebhookSecret) {
			t.Errorf("%s: the error quotes the secret: %v", name, err)
		}
	}
	// A Webhooks belongs to one Jobs.
	w, err := payment.NewWebhooks(payment.WebhooksConfig{URL: "https://example.com/hooks", Secret: testWebhookSecret, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	b := sqliteBackend(t)
	cfg := testConfig(t, newRecorder(time.Now, nil))
	cfg.Webhooks = w
	b.newJobs(t, cfg)
	cfg.Store = b.store
	if _, err := payment.NewJobs(context.Background(), b.store.(*sqlitestore.Store).RiverDriver(), cfg); err == nil {
		t.Error("a second Jobs with the same Webhooks was accepted")
	}
}

// TestWebhooksConfigRedacted: printing or logging the configuration does
// not show the secret.
func TestWebhooksConfigRedacted(t *testing.T) {
	t.Parallel()
	cfg := payment.WebhooksConfig{URL: "https://example.com/hooks", Secret: testWebhookSecret}
	var logs syncBuffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("config", "webhooks", cfg)
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%v", &cfg), logs.String()} {
		if strings.Contains(s, testWebhookSecret) || !strings.Contains(s, "REDACTED") {
			t.Errorf("%s: shows the secret, or does not say it is redacted", s)
		}
	}
}
