package payment_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/internal/testclock"
	"zhifu/payment"
)

// testWebhookSecret is the webhook secret of the tests: a test secret,
// searched for in the logs.
const testWebhookSecret = "whsec_TEST_ONLY_3f9c2a7d5e8b1c4f6a0d9e2b7c5a8f1e"

// received is one request the receiver got.
type received struct {
	EventID, Type, Signature, UserAgent, ContentType string
	Body                                             []byte
}

// receiver is the merchant's webhook endpoint: an httptest server that
// keeps every request and answers with the status answer gives for the
// n'th request of an event id (200 when answer is nil).
type receiver struct {
	srv    *httptest.Server
	answer func(eventID string, n int) int

	mu   sync.Mutex
	reqs []received
	ch   chan received
}

// newReceiver starts a receiver, closed when t ends.
func newReceiver(t *testing.T, answer func(eventID string, n int) int) *receiver {
	r := &receiver{answer: answer, ch: make(chan received, 10_000)}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	got := received{
		EventID: req.Header.Get(payment.WebhookEventIDHeader), Type: req.Header.Get(payment.WebhookEventTypeHeader),
		Signature: req.Header.Get(payment.WebhookSignatureHeader), UserAgent: req.UserAgent(),
		ContentType: req.Header.Get("Content-Type"), Body: body,
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, got)
	n := 0
	for _, q := range r.reqs {
		if q.EventID == got.EventID {
			n++
		}
	}
	r.mu.Unlock()
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(got.EventID, n)
	}
	if status >= 300 && status < 400 {
		w.Header().Set("Location", r.srv.URL+"/elsewhere")
	}
	w.WriteHeader(status)
	io.WriteString(w, http.StatusText(status))
	r.ch <- got
}

// requests returns the requests so far.
func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

// next waits for the next request.
func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case q := <-r.ch:
		return q
	case <-time.After(waitTimeout):
		t.Fatalf("no webhook request within %v; got %d so far", waitTimeout, len(r.requests()))
		return received{}
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes: the logs of
// a test, searched afterwards.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// webhookRig is Webhooks with their Jobs on a backend, posting to a
// receiver, with a clock that moves only when the test moves it.
type webhookRig struct {
	b     *backend
	store payment.WebhookStore
	rcv   *receiver
	w     *payment.Webhooks
	jobs  *payment.Jobs
	clock *testclock.Clock
	logs  *syncBuffer // the webhooks' and the jobs' logs
}

// newWebhookRig makes the rig; tweak, if not nil, changes the webhooks'
// configuration. The jobs are not started.
func newWebhookRig(t *testing.T, b *backend, rcv *receiver, tweak func(*payment.WebhooksConfig)) *webhookRig {
	t.Helper()
	r := &webhookRig{b: b, store: b.store.(payment.WebhookStore), rcv: rcv, clock: newTestClock(), logs: new(syncBuffer)}
	r.w, r.jobs = r.newInstance(t, "", tweak)
	return r
}

// newInstance makes another Webhooks with its Jobs on the rig's
// database, as another instance of the service would.
func (r *webhookRig) newInstance(t *testing.T, id string, tweak func(*payment.WebhooksConfig)) (*payment.Webhooks, *payment.Jobs) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.MultiWriter(r.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	wc := payment.WebhooksConfig{
		URL: r.rcv.srv.URL + "/hooks/zhifu", Secret: testWebhookSecret, Store: r.store, Logger: log,
		Now: r.clock.Now, MaxAttempts: 5, Backoff: func(int) time.Duration { return 0 },
	}
	if tweak != nil {
		tweak(&wc)
	}
	w, err := payment.NewWebhooks(wc)
	if err != nil {
		t.Fatal(err)
	}
	jc := testConfig(t, newRecorder(r.clock.Now, nil))
	jc.Logger = slog.New(failOnError{t, slog.NewTextHandler(io.MultiWriter(r.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelWarn})})
	jc.Webhooks, jc.Now, jc.ID = w, r.clock.Now, id
	return w, r.b.newJobs(t, jc)
}

// start starts the rig's jobs.
func (r *webhookRig) start(t *testing.T) {
	t.Helper()
	if err := r.jobs.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stop stops the rig's jobs, waiting for the running ones: after it the
// store holds every attempt made.
func (r *webhookRig) stop(t *testing.T) {
	t.Helper()
	if err := r.jobs.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// paidChange stores a new order, pays it as the Service would (a
// compare-and-set with a state_changed event) and returns the change the
// Service hands to OnChange.
func paidChange(t *testing.T, s payment.Store, at time.Time) payment.Change {
	t.Helper()
	o := newOrder(t, s, at, time.Time{})
	n, eff, err := payment.Next(o, payment.Fact{
		Source: payment.SourceNotify, TradeStatus: alipay.TradeStatusSuccess,
		TotalAmount: o.Amount, TradeNo: "2026" + o.OutTradeNo, PaidAt: at, At: at,
	})
	if err != nil {
		t.Fatal(err)
	}
	events := []payment.OrderEvent{
		{Kind: payment.EventNotifyReceived, Source: payment.SourceNotify, Verified: true, From: o.Status, To: n.Status, Effect: eff},
		{Kind: payment.EventStateChanged, Source: payment.SourceNotify, From: o.Status, To: n.Status, Effect: eff},
	}
	if err := s.ApplyTransition(context.Background(), payment.Transition{Order: n, Events: events, At: at}); err != nil {
		t.Fatal(err)
	}
	return payment.Change{Order: n.Clone(), Effect: eff, Events: events}
}

// webhookEvents returns the order's webhook events.
func (r *webhookRig) events(t *testing.T, orderID string) []payment.WebhookEvent {
	t.Helper()
	evs, err := r.w.ListWebhookEvents(context.Background(), orderID)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// attempts returns the event's attempts.
func (r *webhookRig) attempts(t *testing.T, eventID string) []payment.WebhookAttempt {
	t.Helper()
	as, err := r.w.ListWebhookAttempts(context.Background(), eventID)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// oneEvent returns the order's only webhook event, failing the test if
// there is not exactly one.
func (r *webhookRig) oneEvent(t *testing.T, orderID string) payment.WebhookEvent {
	t.Helper()
	evs := r.events(t, orderID)
	if len(evs) != 1 {
		t.Fatalf("order %s has %d webhook events, want 1: %+v", orderID, len(evs), evs)
	}
	return evs[0]
}
