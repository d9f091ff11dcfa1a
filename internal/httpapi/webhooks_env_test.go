package httpapi_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/payment/sqlitestore"
)

// hookSecret is the webhook secret of the tests: a test secret, searched
// for in every answer and page.
const hookSecret = "whsec_TEST_ONLY_7c1e9a4b2d8f5e3a6b0c9d2e4f7a1b3c"

// hookWait bounds a wait for a webhook request or attempt.
const hookWait = 30 * time.Second

// hookReceiver is the merchant's webhook endpoint: an httptest server
// that checks each request's signature and answers 500 while failing is
// set, 200 otherwise.
type hookReceiver struct {
	t       testing.TB
	srv     *httptest.Server
	failing atomic.Bool

	mu       sync.Mutex
	received map[string]int // requests by event id
}

// newHookReceiver starts a receiver, failing or not, closed when t ends.
func newHookReceiver(t testing.TB, failing bool) *hookReceiver {
	r := &hookReceiver{t: t, received: map[string]int{}}
	r.failing.Store(failing)
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *hookReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := payment.VerifyWebhookSignature(hookSecret, req.Header.Get(payment.WebhookSignatureHeader), body, time.Now(), 0); err != nil {
		r.t.Errorf("a webhook whose signature does not verify: %v", err)
	}
	r.mu.Lock()
	r.received[req.Header.Get(payment.WebhookEventIDHeader)]++
	r.mu.Unlock()
	if r.failing.Load() {
		http.Error(w, "the shop is down", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, "ok")
}

// count returns how many requests of the event arrived.
func (r *hookReceiver) count(eventID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.received[eventID]
}

// hookRig is the webhooks of a test's Service: the Webhooks posting to a
// receiver, and the wiring of its Jobs.
type hookRig struct {
	rcv *hookReceiver
	w   *payment.Webhooks
	// attempts receives the result of every attempt once it is recorded.
	attempts chan string
}

// newHookRig makes the Webhooks on the store, posting to rcv: one
// automatic attempt, so that an event whose first attempt fails is given
// up and waits for a resend.
func newHookRig(t testing.TB, store payment.Store, rcv *hookReceiver, log *slog.Logger) *hookRig {
	t.Helper()
	h := &hookRig{rcv: rcv, attempts: make(chan string, 100)}
	ws, ok := store.(payment.WebhookStore)
	if !ok {
		t.Fatalf("the store %T keeps no webhooks", store)
	}
	w, err := payment.NewWebhooks(payment.WebhooksConfig{
		URL: rcv.srv.URL + "/hooks/zhifu", Secret: hookSecret, Store: ws, Logger: log, MaxAttempts: 1,
		Observe: func(result string) { h.attempts <- result },
	})
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	return h
}

// wire makes cfg's Service record the webhooks of its changes and
// deliver them with Jobs on the store; start starts those jobs.
func (h *hookRig) wire(t testing.TB, store payment.Store, cfg *payment.Config) {
	t.Helper()
	prev := cfg.OnChange
	cfg.OnChange = func(ctx context.Context, c payment.Change) {
		if prev != nil {
			prev(ctx, c)
		}
		h.w.OnChange(ctx, c)
	}
	cfg.Jobs = func(r payment.JobRunner) (*payment.Jobs, error) {
		jc := payment.JobsConfig{Runner: r, Store: store, Webhooks: h.w, PollInterval: 20 * time.Millisecond, SweepInterval: -1, Logger: cfg.Logger}
		switch s := store.(type) {
		case *sqlitestore.Store:
			return payment.NewJobs(context.Background(), s.RiverDriver(), jc)
		case *postgresstore.Store:
			return payment.NewJobs(context.Background(), s.RiverDriver(), jc)
		}
		t.Fatalf("no River driver for the store %T", store)
		return nil, nil
	}
}

// start starts the Service's jobs, stopped when t ends.
func (h *hookRig) start(t testing.TB, svc *payment.Service) {
	t.Helper()
	j := svc.Jobs()
	if err := j.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := j.Stop(context.Background()); err != nil {
			t.Error(err)
		}
	})
}

// nextAttempt waits until an attempt is recorded and returns its
// result.
func (h *hookRig) nextAttempt(t testing.TB) string {
	t.Helper()
	select {
	case r := <-h.attempts:
		return r
	case <-time.After(hookWait):
		t.Fatalf("no webhook attempt recorded within %v", hookWait)
		return ""
	}
}
