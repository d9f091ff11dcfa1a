package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"zhifu/alipay"
	"zhifu/payment"
)

// blockQueue makes s's commit queue hold units back: it queues a unit that
// waits, and returns once that unit runs. Closing the returned channel
// lets the queue go on. s.q.enqueued must be set.
func blockQueue(t *testing.T, s *Store) (release chan struct{}, done <-chan error) {
	t.Helper()
	release = make(chan struct{})
	running := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.write(context.Background(), func(context.Context, *sql.Tx) error {
			close(running)
			<-release
			return nil
		})
	}()
	<-s.q.enqueued
	<-running
	return release, errc
}

// TestGroupCommit queues 20 transitions of 20 orders and a stale one
// while the queue is busy: they share one commit, each caller returns only
// once it is committed, and the stale one fails alone.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := open(t)
	const n = 20
	var next []*payment.Order
	for i := range n + 1 {
		o := &payment.Order{ID: payment.NewOrderID(), OutTradeNo: alipay.NewOutTradeNo(), Subject: fmt.Sprint(i), Amount: 1_00, Channel: payment.ChannelWAP}
		if err := s.CreateOrder(ctx, o); err != nil {
			t.Fatal(err)
		}
		p, _, err := payment.Next(o, payment.Fact{Source: payment.SourceNotify, TradeStatus: alipay.TradeStatusSuccess,
			TradeNo: fmt.Sprintf("T%d", i), TotalAmount: o.Amount, At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		next = append(next, p)
	}
	next[n].Version = 7 // stale

	s.q.enqueued = make(chan struct{}, 2*n)
	release, blockerDone := blockQueue(t, s)
	before := s.q.commits.Load()

	errs := make([]error, n+1)
	seen := make([]int64, n+1) // commits counted when each caller returned
	var wg sync.WaitGroup
	for i := range n + 1 {
		wg.Go(func() {
			errs[i] = s.ApplyTransition(ctx, payment.Transition{Order: next[i], Events: []payment.OrderEvent{{Kind: payment.EventNotifyReceived}}})
			seen[i] = s.q.commits.Load()
		})
	}
	for range n + 1 {
		<-s.q.enqueued
	}
	// A unit whose context ends while it waits does not run.
	cctx, cancel := context.WithCancel(ctx)
	cancelled := make(chan error, 1)
	go func() { cancelled <- s.AppendEvents(cctx, next[0].ID, payment.OrderEvent{Kind: payment.EventNote}) }()
	<-s.q.enqueued
	cancel()

	close(release)
	wg.Wait()
	if err := <-blockerDone; err != nil {
		t.Fatal(err)
	}
	if err := <-cancelled; !errors.Is(err, context.Canceled) {
		t.Fatalf("AppendEvents with a cancelled context = %v, want context.Canceled", err)
	}
	// The blocker's batch commits once, then all the transitions together.
	if got := s.q.commits.Load() - before; got != 2 {
		t.Fatalf("the blocker and %d transitions took %d commits, want 2", n, got)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("transition %d: %v", i, errs[i])
		}
		if seen[i] != before+2 {
			t.Fatalf("transition %d returned when %d commits were done, want %d", i, seen[i], before+2)
		}
		o, err := s.GetOrder(ctx, next[i].ID)
		if err != nil || o.Status != payment.StatusPaid || o.Version != 2 {
			t.Fatalf("order %d after the batch: %+v, %v", i, o, err)
		}
		if ev, err := s.ListEvents(ctx, next[i].ID); err != nil || len(ev) != 1 {
			t.Fatalf("order %d has %d events, %v; want 1", i, len(ev), err)
		}
	}
	if !errors.Is(errs[n], payment.ErrConflict) {
		t.Fatalf("stale transition: %v, want ErrConflict", errs[n])
	}
	if ev, err := s.ListEvents(ctx, next[n].ID); err != nil || len(ev) != 0 {
		t.Fatalf("the stale transition stored %d events, %v", len(ev), err)
	}
	if ev, err := s.ListEvents(ctx, next[0].ID); err != nil || len(ev) != 1 {
		t.Fatalf("the cancelled AppendEvents stored events: %d, %v", len(ev), err)
	}
}

// TestCloseWaitsForQueuedWrites closes the store while writes wait in the
// queue: they all finish, and writes after Close fail.
func TestCloseWaitsForQueuedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir()+"/zhifu.db")
	if err != nil {
		t.Fatal(err)
	}
	s.q.enqueued = make(chan struct{}, 16)
	release, blockerDone := blockQueue(t, s)
	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			errs <- s.QuarantineNotify(ctx, &payment.QuarantinedNotify{Raw: []byte("x"), Reason: fmt.Sprint(i)})
		}()
	}
	for range n {
		<-s.q.enqueued
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	close(release)
	for range n {
		if err := <-errs; err != nil {
			t.Fatalf("queued write: %v", err)
		}
	}
	if err := <-blockerDone; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.QuarantineNotify(ctx, &payment.QuarantinedNotify{Reason: "late"}); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close = %v, want errClosed", err)
	}
}
