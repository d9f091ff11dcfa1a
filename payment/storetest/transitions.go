package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhifu/payment"
)

func testApplyTransition(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1), payment.OrderEvent{Kind: payment.EventCreated})
	n, eff, err := payment.Next(get(t, s, o.ID), paidFact(o))
	if err != nil {
		t.Fatal(err)
	}
	n.Metadata = map[string]string{"shipped": "no"}
	raw := []byte("trade_status=TRADE_SUCCESS&sign=\x00\xff")
	tr := payment.Transition{Order: n, Events: []payment.OrderEvent{
		{Kind: payment.EventNotifyReceived, Source: payment.SourceNotify, Raw: raw, Verified: true, Effect: eff},
		{Kind: payment.EventStateChanged, Source: payment.SourceNotify, From: payment.StatusPending, To: payment.StatusPaid, Effect: eff, Reason: "paid"},
	}, At: baseTime().Add(time.Hour)}
	if err := s.ApplyTransition(ctx, tr); err != nil {
		t.Fatalf("ApplyTransition: %v", err)
	}
	if n.Version != 2 || !n.UpdatedAt.Equal(micro(tr.At)) {
		t.Fatalf("after ApplyTransition: version %d updated %v; want 2, %v", n.Version, n.UpdatedAt, micro(tr.At))
	}
	if tr.Events[0].Seq != 2 || tr.Events[1].Seq != 3 || tr.Events[1].ID <= tr.Events[0].ID {
		t.Fatalf("events not filled in: %+v", tr.Events)
	}
	got := get(t, s, o.ID)
	checkOrder(t, got, n)
	if got.Status != payment.StatusPaid || got.PaidAmount != o.Amount || got.TradeNo == "" || got.PaidAt.IsZero() {
		t.Fatalf("stored order not paid: %+v", got)
	}
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != 3 {
		t.Fatalf("ListEvents = %d events, %v; want 3", len(events), err)
	}
	e := events[1]
	if e.Kind != payment.EventNotifyReceived || !bytes.Equal(e.Raw, raw) || !e.Verified || e.Effect != eff || e.OrderID != o.ID {
		t.Fatalf("stored event = %+v, want %+v", e, tr.Events[0])
	}
	if e := events[2]; e.From != payment.StatusPending || e.To != payment.StatusPaid || e.Reason != "paid" || e.Verified {
		t.Fatalf("stored event = %+v, want %+v", e, tr.Events[1])
	}
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
	}

	// Fields fixed at creation are not written.
	m := got.Clone()
	m.Subject, m.OutTradeNo, m.Channel = "changed", "CHANGED", payment.ChannelApp
	m.Flags |= payment.FlagFinished
	if err := s.ApplyTransition(ctx, payment.Transition{Order: m}); err != nil {
		t.Fatalf("ApplyTransition(flag): %v", err)
	}
	after := get(t, s, o.ID)
	if after.Subject != o.Subject || after.OutTradeNo != o.OutTradeNo || after.Channel != o.Channel || !after.Flags.Has(payment.FlagFinished) || after.Version != 3 {
		t.Fatalf("after a transition that touched fixed fields: %+v", after)
	}

	// A state that breaks the amounts' order is refused before storing.
	bad := after.Clone()
	bad.RefundedAmount = bad.PaidAmount + 1
	wantErr(t, "ApplyTransition(refunded > paid)", s.ApplyTransition(ctx, payment.Transition{Order: bad}), payment.ErrInvalid)
	checkOrder(t, get(t, s, o.ID), after)
}

func testApplyTransitionConflict(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	stale := get(t, s, o.ID)
	paid := pay(t, s, o)
	n, _, err := payment.Next(stale, payment.Fact{Source: payment.SourceExpiry, TradeNotExist: true, At: baseTime()})
	if err != nil {
		t.Fatal(err)
	}
	err = s.ApplyTransition(ctx, payment.Transition{Order: n, Events: []payment.OrderEvent{{Kind: payment.EventStateChanged}}})
	wantErr(t, "ApplyTransition(stale version)", err, payment.ErrConflict)
	if n.Version != stale.Version {
		t.Fatalf("a failed ApplyTransition changed Version to %d", n.Version)
	}
	checkOrder(t, get(t, s, o.ID), paid)
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != 1 {
		t.Fatalf("after a lost compare-and-set: %d events, %v; want only the payment's", len(events), err)
	}
}

// testConcurrentCAS starts 20 writers on one version of an order: exactly
// one wins, the others get ErrConflict, and only the winner's events are
// stored.
func testConcurrentCAS(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	const writers = 20
	for round := range 3 {
		read := get(t, s, o.ID)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				n := read.Clone()
				n.Metadata = map[string]string{"writer": fmt.Sprint(w)}
				errs[w] = s.ApplyTransition(ctx, payment.Transition{Order: n, Events: []payment.OrderEvent{
					{Kind: payment.EventNote, Reason: fmt.Sprintf("round %d writer %d", round, w)},
				}})
			})
		}
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both won version %d", round, winner, w, read.Version)
			case err == nil:
				winner = w
			case !errors.Is(err, payment.ErrConflict):
				t.Fatalf("round %d writer %d: %v, want nil or ErrConflict", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer won", round)
		}
		got := get(t, s, o.ID)
		if got.Version != read.Version+1 || got.Metadata["writer"] != fmt.Sprint(winner) {
			t.Fatalf("round %d: version %d metadata %v; want %d, writer %d", round, got.Version, got.Metadata, read.Version+1, winner)
		}
		events, err := s.ListEvents(ctx, o.ID)
		if err != nil || len(events) != round+1 || events[round].Reason != fmt.Sprintf("round %d writer %d", round, winner) {
			t.Fatalf("round %d: events %+v, %v; want one per round, the winner's", round, events, err)
		}
	}
}

// testConcurrentCASRetry runs 20 writers that retry on conflict, as the
// service does: every change lands once, versions and event numbers have
// no gaps.
func testConcurrentCASRetry(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	const writers = 20
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			key := fmt.Sprintf("w%02d", w)
			for {
				cur, err := s.GetOrder(ctx, o.ID)
				if err != nil {
					errs[w] = err
					return
				}
				n := cur.Clone()
				if n.Metadata == nil {
					n.Metadata = map[string]string{}
				}
				n.Metadata[key] = "done"
				err = s.ApplyTransition(ctx, payment.Transition{Order: n, Events: []payment.OrderEvent{{Kind: payment.EventNote, Reason: key}}})
				if !errors.Is(err, payment.ErrConflict) {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	got := get(t, s, o.ID)
	if got.Version != 1+writers || len(got.Metadata) != writers {
		t.Fatalf("version %d with %d metadata keys, want %d and %d", got.Version, len(got.Metadata), 1+writers, writers)
	}
	events, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(events) != writers {
		t.Fatalf("%d events, %v; want %d", len(events), err, writers)
	}
	seen := map[string]bool{}
	for i, e := range events {
		if e.Seq != int64(i+1) || seen[e.Reason] {
			t.Fatalf("event %d: Seq %d reason %s (seen before: %v)", i, e.Seq, e.Reason, seen[e.Reason])
		}
		seen[e.Reason] = true
	}
}

func testAppendEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	at := baseTime().Add(42 * time.Second)
	events := []payment.OrderEvent{
		{Kind: payment.EventNotifyReceived, Source: payment.SourceNotify, Raw: []byte("a=1&b=%E4%B8%AD"), Verified: true, Effect: payment.EffectNone, Reason: "duplicate", CreatedAt: at},
		{Kind: payment.EventQuery, Source: payment.SourceQuery, Raw: []byte(`{"code":"10000"}`)},
	}
	if err := s.AppendEvents(ctx, o.ID, events...); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	if events[0].Seq != 1 || events[1].Seq != 2 || events[0].ID == 0 || !events[0].CreatedAt.Equal(micro(at)) || events[1].CreatedAt.IsZero() {
		t.Fatalf("events not filled in: %+v", events)
	}
	if err := s.AppendEvents(ctx, o.ID, payment.OrderEvent{Kind: payment.EventNote}); err != nil {
		t.Fatalf("AppendEvents: %v", err)
	}
	list, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListEvents = %d, %v; want 3", len(list), err)
	}
	if e := list[0]; !bytes.Equal(e.Raw, events[0].Raw) || e.Reason != "duplicate" || !e.CreatedAt.Equal(micro(at)) || e.CreatedAt.Location() != time.UTC {
		t.Fatalf("stored event %+v, want %+v", e, events[0])
	}
	if got := get(t, s, o.ID); got.Version != 1 {
		t.Fatalf("AppendEvents changed the version to %d", got.Version)
	}
	wantErr(t, "AppendEvents(invalid)", s.AppendEvents(ctx, o.ID, payment.OrderEvent{Kind: payment.EventNote, Reason: "\xff"}), payment.ErrInvalid)
}

// testConcurrentAppendEvents appends from 20 goroutines at once: Seq
// stays dense and unique.
func testConcurrentAppendEvents(t *testing.T, s payment.Store) {
	ctx := context.Background()
	o := create(t, s, newOrder(1))
	const writers, each = 20, 5
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for range each {
				if err := s.AppendEvents(ctx, o.ID, payment.OrderEvent{Kind: payment.EventNotifyReceived}, payment.OrderEvent{Kind: payment.EventNote}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListEvents(ctx, o.ID)
	if err != nil || len(list) != writers*each*2 {
		t.Fatalf("ListEvents = %d, %v; want %d", len(list), err, writers*each*2)
	}
	for i, e := range list {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has Seq %d", i, e.Seq)
		}
		// The two events of one call are adjacent.
		if i%2 == 1 && (e.Kind != payment.EventNote || list[i-1].Kind != payment.EventNotifyReceived) {
			t.Fatalf("events %d and %d are not one call's pair: %s, %s", i-1, i, list[i-1].Kind, e.Kind)
		}
	}
}
