package storetest

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"zhifu/payment"
)

// RunWebhooks runs the conformance suite of [payment.WebhookStore]
// against the stores open returns, which must implement it. Each subtest
// opens its own store; the subtests run in parallel.
func RunWebhooks(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s payment.Store, w payment.WebhookStore)
	}{
		{"RecordAndGet", testWebhookRecordAndGet},
		{"RecordInvalid", testWebhookRecordInvalid},
		{"ConcurrentRecord", testWebhookConcurrentRecord},
		{"Attempts", testWebhookAttempts},
		{"ConcurrentAttempts", testWebhookConcurrentAttempts},
		{"ListUndelivered", testWebhookListUndelivered},
		{"StateChangesWithoutWebhook", testWebhookStateChangesWithout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			w, ok := s.(payment.WebhookStore)
			if !ok {
				t.Fatalf("%T does not implement payment.WebhookStore", s)
			}
			tt.fn(t, s, w)
		})
	}
}

// paidWithChange creates order i, pays it and returns it with its
// state_changed event.
func paidWithChange(t *testing.T, s payment.Store, i int) (*payment.Order, payment.OrderEvent) {
	t.Helper()
	o := pay(t, s, create(t, s, newOrder(i)))
	evs, err := s.ListEvents(context.Background(), o.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == payment.EventStateChanged {
			return o, e
		}
	}
	t.Fatalf("order %s has no state_changed event: %+v", o.ID, evs)
	return nil, payment.OrderEvent{}
}

// webhookEvent returns a webhook event of the change of o, created at
// the time.
func webhookEvent(o *payment.Order, seq int64, at time.Time) *payment.WebhookEvent {
	return &payment.WebhookEvent{
		ID: payment.WebhookEventID(o.ID, seq), OrderID: o.ID, OutTradeNo: o.OutTradeNo, Seq: seq,
		Type:      payment.WebhookEventPaid,
		Payload:   []byte(fmt.Sprintf(`{"id":%q,"type":"payment.paid","data":{"amount":"100.00","subject":"订单 ✓"}}`, payment.WebhookEventID(o.ID, seq))),
		CreatedAt: at,
	}
}

// record records e and fails the test unless created is as wanted.
func record(t *testing.T, w payment.WebhookStore, e *payment.WebhookEvent, want bool) {
	t.Helper()
	created, err := w.RecordWebhookEvent(context.Background(), e)
	if err != nil || created != want {
		t.Fatalf("RecordWebhookEvent(%s) = %v, %v; want %v", e.ID, created, err, want)
	}
}

func testWebhookRecordAndGet(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	o, ch := paidWithChange(t, s, 1)
	e := webhookEvent(o, ch.Seq, baseTime().Add(time.Minute))
	record(t, w, e, true)
	if e.Status != payment.WebhookStatusPending || e.Attempts != 0 || !e.CreatedAt.Equal(micro(baseTime().Add(time.Minute))) {
		t.Fatalf("recorded event %+v: want pending, 0 attempts, CreatedAt stored", e)
	}
	// The same id again, and the same change under another id, store nothing.
	record(t, w, webhookEvent(o, ch.Seq, time.Time{}), false)
	other := webhookEvent(o, ch.Seq, time.Time{})
	other.ID = "evt_other"
	record(t, w, other, false)
	wantErr(t, "GetWebhookEvent(other)", errOf(w.GetWebhookEvent(ctx, "evt_other")), payment.ErrNotFound)

	got, err := w.GetWebhookEvent(ctx, e.ID)
	if err != nil {
		t.Fatalf("GetWebhookEvent: %v", err)
	}
	if got.ID != e.ID || got.OrderID != o.ID || got.OutTradeNo != o.OutTradeNo || got.Seq != ch.Seq || got.Type != e.Type ||
		!bytes.Equal(got.Payload, e.Payload) || got.Status != payment.WebhookStatusPending || got.Attempts != 0 ||
		!got.CreatedAt.Equal(e.CreatedAt) || got.CreatedAt.Location() != time.UTC ||
		!got.LastAttemptAt.IsZero() || !got.DeliveredAt.IsZero() {
		t.Fatalf("GetWebhookEvent = %+v\nwant %+v", got, e)
	}
	// A second event of the order, of a later change, lists after it.
	e2 := webhookEvent(o, ch.Seq+5, time.Time{})
	e2.Type = payment.WebhookEventRefunded
	record(t, w, e2, true)
	if e2.CreatedAt.IsZero() {
		t.Fatal("a zero CreatedAt was not stamped")
	}
	list, err := w.ListWebhookEvents(ctx, o.ID)
	if err != nil || len(list) != 2 || list[0].ID != e.ID || list[1].ID != e2.ID || list[1].Type != payment.WebhookEventRefunded {
		t.Fatalf("ListWebhookEvents = %+v, %v; want the two in Seq order", list, err)
	}
	if list, err := w.ListWebhookEvents(ctx, "ord_unknown"); err != nil || len(list) != 0 {
		t.Fatalf("ListWebhookEvents(unknown) = %+v, %v; want none", list, err)
	}
	wantErr(t, "GetWebhookEvent(unknown)", errOf(w.GetWebhookEvent(ctx, "evt_unknown")), payment.ErrNotFound)
}

// errOf returns the error of a getter.
func errOf[T any](_ T, err error) error { return err }

func testWebhookRecordInvalid(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	o, ch := paidWithChange(t, s, 1)
	for name, change := range map[string]func(e *payment.WebhookEvent){
		"no id":       func(e *payment.WebhookEvent) { e.ID = "" },
		"no order":    func(e *payment.WebhookEvent) { e.OrderID = "" },
		"zero seq":    func(e *payment.WebhookEvent) { e.Seq = 0 },
		"no type":     func(e *payment.WebhookEvent) { e.Type = "" },
		"not JSON":    func(e *payment.WebhookEvent) { e.Payload = []byte("{") },
		"bad UTF-8":   func(e *payment.WebhookEvent) { e.OutTradeNo = "\xff" },
		"unknown ord": nil,
	} {
		e := webhookEvent(o, ch.Seq, time.Time{})
		want := payment.ErrInvalid
		if change == nil {
			e.OrderID, want = "ord_unknown", payment.ErrNotFound
		} else {
			change(e)
		}
		_, err := w.RecordWebhookEvent(ctx, e)
		wantErr(t, "RecordWebhookEvent("+name+")", err, want)
	}
	if list, err := w.ListWebhookEvents(ctx, o.ID); err != nil || len(list) != 0 {
		t.Fatalf("after invalid records: %+v, %v; want none stored", list, err)
	}
	a := &payment.WebhookAttempt{EventID: "evt_unknown", Result: payment.WebhookStatusRetrying}
	wantErr(t, "RecordWebhookAttempt(unknown event)", w.RecordWebhookAttempt(ctx, a), payment.ErrNotFound)
	e := webhookEvent(o, ch.Seq, time.Time{})
	record(t, w, e, true)
	for name, a := range map[string]*payment.WebhookAttempt{
		"no event":       {Result: payment.WebhookStatusRetrying},
		"bad result":     {EventID: e.ID, Result: "lost"},
		"pending, auto":  {EventID: e.ID, Result: payment.WebhookStatusPending},
		"bad response":   {EventID: e.ID, Result: payment.WebhookStatusRetrying, Response: "a\x00b"},
		"negative dur":   {EventID: e.ID, Result: payment.WebhookStatusRetrying, Duration: -time.Second},
		"bad error text": {EventID: e.ID, Result: payment.WebhookStatusRetrying, Error: "\xff"},
	} {
		wantErr(t, "RecordWebhookAttempt("+name+")", w.RecordWebhookAttempt(ctx, a), payment.ErrInvalid)
	}
	if got, err := w.GetWebhookEvent(ctx, e.ID); err != nil || got.Attempts != 0 || got.Status != payment.WebhookStatusPending {
		t.Fatalf("after invalid attempts: %+v, %v; want untouched", got, err)
	}
}

func testWebhookConcurrentRecord(t *testing.T, s payment.Store, w payment.WebhookStore) {
	o, ch := paidWithChange(t, s, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 20 {
		wg.Go(func() {
			ok, err := w.RecordWebhookEvent(context.Background(), webhookEvent(o, ch.Seq, time.Time{}))
			if err != nil {
				t.Errorf("RecordWebhookEvent: %v", err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if created != 1 {
		t.Fatalf("20 concurrent records created %d events, want 1", created)
	}
}

func testWebhookAttempts(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	o, ch := paidWithChange(t, s, 1)
	e := webhookEvent(o, ch.Seq, baseTime())
	record(t, w, e, true)
	at := baseTime().Add(time.Minute)
	attempts := []*payment.WebhookAttempt{
		{EventID: e.ID, At: at, Duration: 1500 * time.Microsecond, Error: "POST failed: connection refused", Result: payment.WebhookStatusRetrying},
		{EventID: e.ID, At: at.Add(time.Minute), Duration: time.Second, StatusCode: 500, Response: "内部错误 oops",
			Error: "answered 500 Internal Server Error, not 2xx", Result: payment.WebhookStatusRetrying},
		{EventID: e.ID, At: at.Add(2 * time.Minute), Duration: 20 * time.Millisecond, StatusCode: 200, Response: "ok", Result: payment.WebhookStatusDelivered},
		{EventID: e.ID, At: at.Add(3 * time.Minute), Manual: true, StatusCode: 204, Result: payment.WebhookStatusDelivered},
	}
	for i, a := range attempts {
		if err := w.RecordWebhookAttempt(ctx, a); err != nil {
			t.Fatalf("RecordWebhookAttempt %d: %v", i+1, err)
		}
		if a.ID == 0 || a.Number != i+1 {
			t.Fatalf("attempt %d: ID %d, Number %d; want an id and number %d", i+1, a.ID, a.Number, i+1)
		}
		got, err := w.GetWebhookEvent(ctx, e.ID)
		if err != nil || got.Attempts != i+1 || got.Status != a.Result || !got.LastAttemptAt.Equal(micro(a.At)) {
			t.Fatalf("after attempt %d: %+v, %v; want %d attempts, status %s", i+1, got, err, i+1, a.Result)
		}
		// DeliveredAt is the first delivery's time, kept by later ones.
		wantDelivered := time.Time{}
		if i >= 2 {
			wantDelivered = micro(attempts[2].At)
		}
		if !got.DeliveredAt.Equal(wantDelivered) {
			t.Fatalf("after attempt %d: DeliveredAt %v, want %v", i+1, got.DeliveredAt, wantDelivered)
		}
	}
	// A later attempt that failed (a resend, or a job that raced one) is
	// recorded, but the event stays delivered: it is never offered for
	// delivery again.
	late := &payment.WebhookAttempt{EventID: e.ID, At: at.Add(4 * time.Minute), StatusCode: 502,
		Error: "answered 502 Bad Gateway, not 2xx", Result: payment.WebhookStatusRetrying}
	if err := w.RecordWebhookAttempt(ctx, late); err != nil {
		t.Fatalf("RecordWebhookAttempt after delivery: %v", err)
	}
	if got, err := w.GetWebhookEvent(ctx, e.ID); err != nil || got.Status != payment.WebhookStatusDelivered ||
		got.Attempts != len(attempts)+1 || !got.DeliveredAt.Equal(micro(attempts[2].At)) {
		t.Fatalf("after a failed attempt of a delivered event: %+v, %v; want it delivered, %d attempts", got, err, len(attempts)+1)
	}
	attempts = append(attempts, late)
	list, err := w.ListWebhookAttempts(ctx, e.ID)
	if err != nil || len(list) != len(attempts) {
		t.Fatalf("ListWebhookAttempts = %d, %v; want %d", len(list), err, len(attempts))
	}
	for i, got := range list {
		want := attempts[i]
		if got.ID != want.ID || got.EventID != e.ID || got.Number != i+1 || got.Manual != want.Manual ||
			!got.At.Equal(micro(want.At)) || got.At.Location() != time.UTC || got.Duration != want.Duration ||
			got.StatusCode != want.StatusCode || got.Response != want.Response || got.Error != want.Error || got.Result != want.Result {
			t.Fatalf("attempt %d = %+v\nwant %+v", i+1, got, *want)
		}
	}
	if list, err := w.ListWebhookAttempts(ctx, "evt_unknown"); err != nil || len(list) != 0 {
		t.Fatalf("ListWebhookAttempts(unknown) = %+v, %v; want none", list, err)
	}
}

func testWebhookConcurrentAttempts(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	o, ch := paidWithChange(t, s, 1)
	e := webhookEvent(o, ch.Seq, time.Time{})
	record(t, w, e, true)
	const n = 10
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if err := w.RecordWebhookAttempt(ctx, &payment.WebhookAttempt{EventID: e.ID, Result: payment.WebhookStatusRetrying}); err != nil {
				t.Errorf("RecordWebhookAttempt: %v", err)
			}
		})
	}
	wg.Wait()
	list, err := w.ListWebhookAttempts(ctx, e.ID)
	if err != nil || len(list) != n {
		t.Fatalf("ListWebhookAttempts = %d, %v; want %d", len(list), err, n)
	}
	for i, a := range list {
		if a.Number != i+1 {
			t.Fatalf("numbers %v: want 1 to %d without gaps or repeats", numbers(list), n)
		}
	}
	if got, err := w.GetWebhookEvent(ctx, e.ID); err != nil || got.Attempts != n {
		t.Fatalf("event after %d attempts: %+v, %v", n, got, err)
	}
}

// numbers returns the attempts' numbers.
func numbers(as []payment.WebhookAttempt) []int {
	var ns []int
	for _, a := range as {
		ns = append(ns, a.Number)
	}
	return ns
}

func testWebhookListUndelivered(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	var events []*payment.WebhookEvent
	for i := range 5 {
		o, ch := paidWithChange(t, s, i)
		e := webhookEvent(o, ch.Seq, baseTime().Add(time.Duration(i)*time.Hour))
		record(t, w, e, true)
		events = append(events, e)
	}
	// 0: pending, older than since; 1: retrying; 2: delivered; 3: failed;
	// 4: pending.
	for i, r := range map[int]payment.WebhookStatus{1: payment.WebhookStatusRetrying, 2: payment.WebhookStatusDelivered, 3: payment.WebhookStatusFailed} {
		if err := w.RecordWebhookAttempt(ctx, &payment.WebhookAttempt{EventID: events[i].ID, Result: r}); err != nil {
			t.Fatal(err)
		}
	}
	since := baseTime().Add(30 * time.Minute)
	list, err := w.ListUndeliveredWebhookEvents(ctx, since, 10)
	if got, want := eventIDs(list), []string{events[1].ID, events[4].ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListUndeliveredWebhookEvents = %v, %v; want %v (retrying and pending, oldest first)", got, err, want)
	}
	list, err = w.ListUndeliveredWebhookEvents(ctx, time.Time{}, 1)
	if got, want := eventIDs(list), []string{events[0].ID}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("ListUndeliveredWebhookEvents(all, 1) = %v, %v; want %v", got, err, want)
	}
}

// eventIDs returns the events' ids.
func eventIDs(es []payment.WebhookEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testWebhookStateChangesWithout(t *testing.T, s payment.Store, w payment.WebhookStore) {
	ctx := context.Background()
	// Three paid orders, their state_changed events stamped now by the
	// store; one of them has its webhook event.
	var changes []payment.OrderEvent
	for i := range 3 {
		_, ch := paidWithChange(t, s, i)
		changes = append(changes, ch)
	}
	o, err := s.GetOrder(ctx, changes[1].OrderID)
	if err != nil {
		t.Fatal(err)
	}
	record(t, w, webhookEvent(o, changes[1].Seq, time.Time{}), true)
	// A pending order has events, none of them a state change.
	create(t, s, newOrder(9), payment.OrderEvent{Kind: payment.EventCreated, Source: payment.SourceMerchant})

	since := changes[0].CreatedAt.Add(-time.Second)
	list, err := w.ListStateChangesWithoutWebhook(ctx, since, 10)
	if err != nil {
		t.Fatalf("ListStateChangesWithoutWebhook: %v", err)
	}
	var got []string
	for _, e := range list {
		if e.Kind != payment.EventStateChanged || e.From != payment.StatusPending || e.To != payment.StatusPaid {
			t.Fatalf("listed %+v: want state_changed pending → paid", e)
		}
		got = append(got, fmt.Sprint(e.OrderID, "/", e.Seq))
	}
	want := []string{fmt.Sprint(changes[0].OrderID, "/", changes[0].Seq), fmt.Sprint(changes[2].OrderID, "/", changes[2].Seq)}
	if !slices.Equal(got, want) {
		t.Fatalf("ListStateChangesWithoutWebhook = %v, want %v (oldest first, without the recorded one)", got, want)
	}
	if list, err := w.ListStateChangesWithoutWebhook(ctx, since, 1); err != nil || len(list) != 1 || list[0].OrderID != changes[0].OrderID {
		t.Fatalf("with limit 1: %+v, %v", list, err)
	}
	later := changes[2].CreatedAt.Add(time.Hour)
	if list, err := w.ListStateChangesWithoutWebhook(ctx, later, 10); err != nil || len(list) != 0 {
		t.Fatalf("since after them all: %+v, %v; want none", list, err)
	}
}
