package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"zhifu/payment"
)

// testConcurrentManyOrders writes to many orders at once, as a burst of
// notifies does, so that a store that groups concurrent writes into
// shared transactions (group commit) gets batches holding several writers
// of the same order, in any order, beside creations that must fail alone:
//
//   - 8 writers race on one version of each of 30 orders: exactly one wins
//     per order, the others get ErrConflict, and only the winner's events
//     are stored, numbered from 2;
//   - at the same time 30 new orders are created, 10 of them reusing the
//     out_trade_no of another new order: exactly one of each pair is
//     stored, the other gets ErrDuplicate and leaves nothing behind.
func testConcurrentManyOrders(t *testing.T, s payment.Store) {
	ctx := context.Background()
	const orders, writers, creations, reused = 30, 8, 30, 10
	var read []*payment.Order
	for i := range orders {
		o := create(t, s, newOrder(i), payment.OrderEvent{Kind: payment.EventCreated})
		read = append(read, get(t, s, o.ID))
	}
	news := make([]*payment.Order, creations)
	for i := range news {
		news[i] = newOrder(100 + i)
	}
	for i := range reused {
		news[creations-1-i].OutTradeNo = news[i].OutTradeNo
	}

	werrs := make([][]error, orders)
	cerrs := make([]error, creations)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range orders {
		werrs[i] = make([]error, writers)
		for w := range writers {
			wg.Go(func() {
				n := read[i].Clone()
				n.Metadata = map[string]string{"writer": fmt.Sprint(w)}
				<-start
				werrs[i][w] = s.ApplyTransition(ctx, payment.Transition{Order: n, Events: []payment.OrderEvent{
					{Kind: payment.EventNote, Reason: fmt.Sprintf("writer %d", w)},
					{Kind: payment.EventNote, Reason: fmt.Sprintf("writer %d again", w)},
				}})
			})
		}
	}
	for i := range news {
		wg.Go(func() {
			<-start
			cerrs[i] = s.CreateOrder(ctx, news[i], payment.OrderEvent{Kind: payment.EventCreated})
		})
	}
	close(start)
	wg.Wait()

	for i, o := range read {
		winner := -1
		for w, err := range werrs[i] {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("order %d: writers %d and %d both won version %d", i, winner, w, o.Version)
			case err == nil:
				winner = w
			case !errors.Is(err, payment.ErrConflict):
				t.Fatalf("order %d writer %d: %v, want nil or ErrConflict", i, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("order %d: no writer won", i)
		}
		got := get(t, s, o.ID)
		if got.Version != o.Version+1 || got.Metadata["writer"] != fmt.Sprint(winner) {
			t.Fatalf("order %d: version %d metadata %v; want %d, writer %d", i, got.Version, got.Metadata, o.Version+1, winner)
		}
		events, err := s.ListEvents(ctx, o.ID)
		if err != nil || len(events) != 3 {
			t.Fatalf("order %d: %d events, %v; want created and the winner's two", i, len(events), err)
		}
		for k, want := range []string{"", fmt.Sprintf("writer %d", winner), fmt.Sprintf("writer %d again", winner)} {
			if events[k].Seq != int64(k+1) || (k > 0 && events[k].Reason != want) {
				t.Fatalf("order %d event %d: seq %d reason %q; want seq %d reason %q", i, k, events[k].Seq, events[k].Reason, k+1, want)
			}
		}
	}

	for i := range reused {
		a, b := i, creations-1-i
		ea, eb := cerrs[a], cerrs[b]
		if (ea == nil) == (eb == nil) {
			t.Fatalf("creations %d and %d share out_trade_no %s: errors %v and %v; want exactly one ErrDuplicate", a, b, news[a].OutTradeNo, ea, eb)
		}
		loser, lerr := news[b], eb
		if ea != nil {
			loser, lerr = news[a], ea
		}
		if !errors.Is(lerr, payment.ErrDuplicate) {
			t.Fatalf("the second creation of out_trade_no %s: %v, want ErrDuplicate", loser.OutTradeNo, lerr)
		}
		if _, err := s.GetOrder(ctx, loser.ID); !errors.Is(err, payment.ErrNotFound) {
			t.Fatalf("the refused order %s: GetOrder = %v, want ErrNotFound", loser.ID, err)
		}
	}
	for i := reused; i < creations-reused; i++ {
		if cerrs[i] != nil {
			t.Fatalf("creation %d: %v", i, cerrs[i])
		}
		got := get(t, s, news[i].ID)
		if got.OutTradeNo != news[i].OutTradeNo || got.Status != payment.StatusPending {
			t.Fatalf("creation %d stored as %+v", i, got)
		}
	}
}
