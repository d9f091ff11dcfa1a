package payment_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"zhifu/payment"
	"zhifu/payment/postgresstore"
	"zhifu/sandbox"
)

// serviceWithWebhooks is an env whose Service has Jobs delivering its
// Webhooks to a receiver (SQLite: the env's jobs are).
type serviceWithWebhooks struct {
	*env
	w    *payment.Webhooks
	logs *syncBuffer // the webhooks' and the jobs' logs
	// lose, while set, makes OnChange do nothing: the process died
	// between the commit and OnChange.
	lose atomic.Bool
}

// newServiceWithWebhooks wires the webhooks as the service does:
// Config.OnChange = w.OnChange and JobsConfig.Webhooks = w.
func newServiceWithWebhooks(t *testing.T, rcv *receiver) *serviceWithWebhooks {
	t.Helper()
	s := &serviceWithWebhooks{logs: new(syncBuffer)}
	jc := testConfig(t, nil) // newEnv fills in Runner, Store and Now
	jc.Logger = slog.New(failOnError{t, slog.NewTextHandler(io.MultiWriter(s.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelWarn})})
	opts := options{jobs: &jc}
	// The webhooks need the store that newEnv opens: made when it is.
	opts.store = func(store payment.Store) payment.Store {
		w, err := payment.NewWebhooks(payment.WebhooksConfig{
			URL: rcv.srv.URL + "/hooks", Secret: testWebhookSecret, Store: store.(payment.WebhookStore),
			Logger:  slog.New(slog.NewTextHandler(io.MultiWriter(s.logs, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug})),
			Backoff: func(int) time.Duration { return 0 },
		})
		if err != nil {
			t.Fatal(err)
		}
		s.w, jc.Webhooks = w, w
		return store
	}
	opts.onChange = func(ctx context.Context, c payment.Change) {
		if !s.lose.Load() {
			s.w.OnChange(ctx, c)
		}
	}
	s.env = newEnv(t, openSQLite, opts)
	return s
}

// stopJobs stops the Service's jobs, waiting for the running ones.
func (s *serviceWithWebhooks) stopJobs(t *testing.T) {
	t.Helper()
	if err := s.svc.Jobs().Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestWebhooksServicePaidAndRefunded: an order paid through the sandbox
// and refunded in full produces one delivered payment.paid and one
// payment.refunded event, signed; the secret appears in no log.
func TestWebhooksServicePaidAndRefunded(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	s := newServiceWithWebhooks(t, rcv)
	p := s.create(payment.ChannelPage, 12_34)
	s.pay(p)
	paid := rcv.next(t)
	if paid.Type != string(payment.WebhookEventPaid) {
		t.Fatalf("first event %s %s, want payment.paid", paid.Type, paid.Body)
	}
	if _, err := s.svc.Refund(s.ctx(), payment.RefundRequest{OrderID: p.Order.ID, Amount: 12_34, Reason: "returned"}); err != nil {
		t.Fatalf("Refund: %v", err)
	}
	refunded := rcv.next(t)
	s.stopJobs(t)

	o := s.wantStatus(p.Order.ID, payment.StatusRefunded)
	var body webhookPayload
	for _, q := range []received{paid, refunded} {
		if err := payment.VerifyWebhookSignature(testWebhookSecret, q.Signature, q.Body, time.Now(), 0); err != nil {
			t.Errorf("event %s: %v", q.EventID, err)
		}
	}
	if err := json.Unmarshal(refunded.Body, &body); err != nil || body.Type != string(payment.WebhookEventRefunded) ||
		body.PreviousStatus != "paid" || body.Data.RefundedAmount != "12.34" || body.Data.Amount != "12.34" ||
		body.Data.OutTradeNo != o.OutTradeNo || body.Data.Status != "refunded" {
		t.Errorf("refund event %s (%v): want payment.refunded of 12.34 from paid", refunded.Body, err)
	}
	evs, err := s.w.ListWebhookEvents(s.ctx(), o.ID)
	if err != nil || len(evs) != 2 || evs[0].ID != paid.EventID || evs[1].ID != refunded.EventID {
		t.Fatalf("webhook events %+v, %v: want the two delivered, in order", evs, err)
	}
	for _, e := range evs {
		if e.Status != payment.WebhookStatusDelivered || e.Attempts != 1 {
			t.Errorf("event %s: %s after %d attempts, want delivered after 1", e.ID, e.Status, e.Attempts)
		}
	}
	if n := len(rcv.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
	checkNoSecret(t, s)
}

// checkNoSecret fails the test if the webhook secret appears in the
// service's, the webhooks' or the jobs' logs, or in a recorded attempt.
func checkNoSecret(t *testing.T, s *serviceWithWebhooks) {
	t.Helper()
	if strings.Contains(s.logs.String(), testWebhookSecret) || s.env.logs.has(testWebhookSecret) {
		t.Error("the webhook secret appears in the logs")
	}
	if !strings.Contains(s.logs.String(), "webhook delivered") {
		t.Error("the logs searched hold no delivery: the search proves nothing")
	}
}

// TestWebhooksServiceConcurrentNotifies: 50 copies of the notify at once
// change the order once: one event, one delivery.
func TestWebhooksServiceConcurrentNotifies(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	s := newServiceWithWebhooks(t, rcv)
	p := s.create(payment.ChannelPage, 100)
	s.notifyFault(p.Order, sandbox.NotifyFault{Duplicate: 49, Concurrent: true})
	s.pay(p)
	q := rcv.next(t)
	s.stopJobs(t)
	o := s.wantStatus(p.Order.ID, payment.StatusPaid)
	evs, err := s.w.ListWebhookEvents(s.ctx(), o.ID)
	if err != nil || len(evs) != 1 || evs[0].ID != q.EventID || evs[0].Attempts != 1 {
		t.Fatalf("webhook events %+v, %v: want one, delivered once", evs, err)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d requests for 50 notifies, want 1", n)
	}
	checkNoSecret(t, s)
}

// TestWebhooksServiceKilledAfterCommit: the order's change commits but
// the process dies before OnChange (simulated: OnChange does nothing for
// that change); the jobs' sweep records the event and it is delivered.
func TestWebhooksServiceKilledAfterCommit(t *testing.T) {
	t.Parallel()
	rcv := newReceiver(t, nil)
	s := newServiceWithWebhooks(t, rcv)
	p := s.create(payment.ChannelPage, 100)
	s.lose.Store(true)
	s.pay(p)
	s.lose.Store(false)
	o := s.wantStatus(p.Order.ID, payment.StatusPaid)
	if evs, err := s.w.ListWebhookEvents(s.ctx(), o.ID); err != nil || len(evs) != 0 {
		t.Fatalf("before the sweep: %+v, %v; want no event (the change's OnChange was lost)", evs, err)
	}
	res, err := s.svc.Jobs().Sweep(s.ctx())
	if err != nil || res.Webhooks != 1 {
		t.Fatalf("Sweep = %+v, %v; want 1 webhook recorded", res, err)
	}
	q := rcv.next(t)
	s.stopJobs(t)
	var body webhookPayload
	if err := json.Unmarshal(q.Body, &body); err != nil || body.Type != string(payment.WebhookEventPaid) || body.Data.ID != o.ID {
		t.Fatalf("recovered event %s (%v): want payment.paid of %s", q.Body, err, o.ID)
	}
	if err := payment.VerifyWebhookSignature(testWebhookSecret, q.Signature, q.Body, time.Now(), 0); err != nil {
		t.Error(err)
	}
	if n := len(rcv.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// TestWebhooksInstancesShareDeliveries: two instances (two River clients
// on one PostgreSQL schema), each with its Webhooks, both handed every
// change: each event is recorded once and delivered once.
func TestWebhooksInstancesShareDeliveries(t *testing.T) {
	t.Parallel()
	schema, dsn := pgSchema(t)
	rcv := newReceiver(t, nil)
	b1 := pgBackendOn(t, openPostgresAt(t, dsn), schema)
	r := newWebhookRig(t, b1, rcv, nil)
	// The second instance has its own store (pool) on the same schema.
	b2 := pgBackendOn(t, openPostgresAt(t, dsn), schema)
	r2 := &webhookRig{b: b2, store: b2.store.(*postgresstore.Store), rcv: rcv, clock: r.clock, logs: r.logs}
	w2, jobs2 := r2.newInstance(t, "instance-2", nil)
	r.start(t)
	if err := jobs2.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	const orders = 20
	var changes []payment.Change
	for range orders {
		changes = append(changes, paidChange(t, b1.store, r.clock.Now()))
	}
	// Both instances see every change, at once.
	var wg sync.WaitGroup
	for _, c := range changes {
		wg.Go(func() { r.w.OnChange(context.Background(), c) })
		wg.Go(func() { w2.OnChange(context.Background(), c) })
	}
	wg.Wait()
	for range orders {
		rcv.next(t)
	}
	r.stop(t)
	if err := jobs2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, q := range rcv.requests() {
		got[q.EventID]++
	}
	for _, c := range changes {
		id := payment.WebhookEventID(c.Order.ID, stateChange(t, c).Seq)
		if got[id] != 1 {
			t.Errorf("event %s received %d times, want once", id, got[id])
		}
		if e := r.oneEvent(t, c.Order.ID); e.Status != payment.WebhookStatusDelivered || e.Attempts != 1 {
			t.Errorf("event %s: %s after %d attempts", e.ID, e.Status, e.Attempts)
		}
	}
	if len(got) != orders {
		t.Errorf("%d distinct events received, want %d", len(got), orders)
	}
}
