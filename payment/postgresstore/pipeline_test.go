package postgresstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"zhifu/payment"
)

// newOrderForTest returns a valid new order.
func newOrderForTest() *payment.Order {
	return &payment.Order{ID: payment.NewOrderID(), OutTradeNo: payment.NewOrderID(), Subject: "group commit",
		Amount: 1234, Channel: payment.ChannelPage}
}

// manualPipeline replaces s's pipeline by one without workers: the test
// runs its batches by hand.
func manualPipeline(s *Store) *pipeline {
	s.q.close()
	s.q = newPipeline(s.pool, 0, defaultMaxBatch)
	return s.q
}

// waitQueued waits until n units are queued on c.
func waitQueued(t *testing.T, c *pipeline, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.q.Len() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d units queued after 10s, want %d", c.q.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitBatches checks that concurrent creations share
// transactions, and that each is stored with its event.
func TestGroupCommitBatches(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	const n = 300
	orders := make([]*payment.Order, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		orders[i] = newOrderForTest()
		wg.Go(func() { errs[i] = s.CreateOrder(ctx, orders[i], payment.OrderEvent{Kind: payment.EventCreated}) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if b, c := s.q.batches.Load(), s.Commits(); b == 0 || c >= n {
		t.Fatalf("%d creations at once ran in %d transactions, %d of them batches; want fewer transactions than creations", n, c, b)
	}
	for _, o := range orders {
		got, err := s.GetOrder(ctx, o.ID)
		if err != nil || got.OutTradeNo != o.OutTradeNo || got.Version != 1 {
			t.Fatalf("order %s: %+v, %v", o.ID, got, err)
		}
		events, err := s.ListEvents(ctx, o.ID)
		if err != nil || len(events) != 1 || events[0].Seq != 1 {
			t.Fatalf("order %s: events %+v, %v; want its created event", o.ID, events, err)
		}
	}
}

// TestGroupCommitOneBadStatementFailsAlone runs a batch in which the
// server refuses one statement (an out_trade_no already used): the batch
// rolls back, each statement runs again alone, and only the bad one fails.
func TestGroupCommitOneBadStatementFailsAlone(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	taken := newOrderForTest()
	if err := s.CreateOrder(ctx, taken); err != nil {
		t.Fatal(err)
	}
	c := manualPipeline(s)
	a, dup, b := newOrderForTest(), newOrderForTest(), newOrderForTest()
	dup.OutTradeNo = taken.OutTradeNo
	// The bad statement runs last in the batch (statements run in key
	// order): had a and b committed before it failed, running them again
	// alone would fail them as duplicates.
	for dup.ID < a.ID || dup.ID < b.ID {
		dup.ID = payment.NewOrderID()
	}
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i, o := range []*payment.Order{a, dup, b} {
		wg.Go(func() { errs[i] = s.CreateOrder(ctx, o, payment.OrderEvent{Kind: payment.EventCreated}) })
		waitQueued(t, c, i+1) // queued in this order
	}
	c.q.RunWaiting()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || !errors.Is(errs[1], payment.ErrDuplicate) {
		t.Fatalf("errors %v; want nil, ErrDuplicate, nil", errs)
	}
	if c.batches.Load() != 0 || c.commits.Load() != 3 {
		t.Fatalf("%d batches committed, %d transactions; want none, and 3 statements alone", c.batches.Load(), c.commits.Load())
	}
	for _, o := range []*payment.Order{a, b} {
		if _, err := s.GetOrder(ctx, o.ID); err != nil {
			t.Fatalf("order %s of the batch: %v", o.ID, err)
		}
	}
	if _, err := s.GetOrder(ctx, dup.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the duplicate: GetOrder = %v, want ErrNotFound", err)
	}
}

// TestGroupCommitCallerGoneBeforeSend checks that a statement whose
// caller went away while it waited in the queue is not sent.
func TestGroupCommitCallerGoneBeforeSend(t *testing.T) {
	t.Parallel()
	s := open(t)
	c := manualPipeline(s)
	gone, stay := newOrderForTest(), newOrderForTest()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 2)
	go func() { errs <- s.CreateOrder(ctx, gone) }()
	waitQueued(t, c, 1)
	go func() { errs <- s.CreateOrder(context.Background(), stay) }()
	waitQueued(t, c, 2)
	cancel()
	if err := <-errs; !errors.Is(err, context.Canceled) {
		t.Fatalf("the cancelled creation: %v, want context.Canceled", err)
	}
	c.q.RunWaiting()
	if err := <-errs; err != nil {
		t.Fatalf("the other creation: %v", err)
	}
	if _, err := s.GetOrder(context.Background(), gone.ID); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the cancelled order: GetOrder = %v, want ErrNotFound: it was sent", err)
	}
	if _, err := s.GetOrder(context.Background(), stay.ID); err != nil {
		t.Fatalf("the other order: %v", err)
	}
}

// TestGroupCommitClosed checks that a write after Close fails.
func TestGroupCommitClosed(t *testing.T) {
	t.Parallel()
	s := open(t)
	s.Close()
	if err := s.CreateOrder(context.Background(), newOrderForTest()); !errors.Is(err, errClosed) {
		t.Fatalf("CreateOrder after Close: %v, want errClosed", err)
	}
}

// TestReadPipeline reads orders at once, some of them missing: the reads
// share round trips, and each caller gets its own order or ErrNotFound.
func TestReadPipeline(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	const n = 200
	orders := make([]*payment.Order, n)
	for i := range orders {
		orders[i] = newOrderForTest()
		if i%4 != 0 { // every fourth is never stored
			if err := s.CreateOrder(ctx, orders[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	errs := make([]error, 2*n)
	var wg sync.WaitGroup
	for i, o := range orders {
		wg.Go(func() {
			got, err := s.GetOrderByOutTradeNo(ctx, o.OutTradeNo)
			errs[2*i] = checkRead(i, o, got, err)
		})
		wg.Go(func() {
			got, err := s.GetOrder(ctx, o.ID)
			errs[2*i+1] = checkRead(i, o, got, err)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if s.r.batches.Load() == 0 {
		t.Fatalf("%d reads at once ran in %d round trips, none of them shared", 2*n, s.r.commits.Load())
	}
}

// checkRead checks the read of order i, o: stored unless i%4 == 0.
func checkRead(i int, o, got *payment.Order, err error) error {
	if i%4 == 0 {
		if !errors.Is(err, payment.ErrNotFound) {
			return fmt.Errorf("order %d, never stored: %+v, %v; want ErrNotFound", i, got, err)
		}
		return nil
	}
	if err != nil || got.ID != o.ID || got.OutTradeNo != o.OutTradeNo {
		return fmt.Errorf("order %d: %+v, %v; want %s", i, got, err, o.ID)
	}
	return nil
}

// TestRefusedStatement checks which errors rerun a batch statement by
// statement: only a statement's ERROR, which rolled the batch back, not a
// FATAL (it may follow the commit) nor a lost connection.
func TestRefusedStatement(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Severity: "ERROR", SeverityUnlocalized: "ERROR", Code: "23505"}, true},
		{fmt.Errorf("a pipelined batch of 3 statements: %w", &pgconn.PgError{Severity: "ERREUR", SeverityUnlocalized: "ERROR"}), true},
		{&pgconn.PgError{Severity: "ERROR"}, true},
		{&pgconn.PgError{Severity: "FATAL", SeverityUnlocalized: "FATAL", Code: "57P01"}, false},
		{&pgconn.PgError{Severity: "PANIC", SeverityUnlocalized: "PANIC"}, false},
		{io.ErrUnexpectedEOF, false},
		{context.DeadlineExceeded, false},
		{nil, false},
	} {
		if got := refusedStatement(tc.err); got != tc.want {
			t.Errorf("refusedStatement(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestBatchOfATerminatedBackend terminates the server process running a
// batch: every statement of it fails, none runs again alone, and nothing
// of it is stored.
func TestBatchOfATerminatedBackend(t *testing.T) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	c := manualPipeline(s)
	errs := make(chan error, 2)
	go func() {
		errs <- c.do(ctx, "a", `INSERT INTO payment_api_keys (id, name, hash, created_at) VALUES ('terminated', 'x', $1, now()) RETURNING 1`,
			[]any{make([]byte, 32)}, scanOneRow)
	}()
	waitQueued(t, c, 1)
	go func() { errs <- c.do(ctx, "b", `SELECT pg_sleep(9.876)`, nil, scanOneRow) }()
	waitQueued(t, c, 2)
	ran := make(chan bool)
	go func() { ran <- c.q.RunWaiting() }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE query LIKE '%pg_sleep(9.876)%' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the batch's backend never showed in pg_stat_activity")
		}
		time.Sleep(10 * time.Millisecond)
	}
	<-ran
	for range 2 {
		if err := <-errs; err == nil || errors.Is(err, pgx.ErrNoRows) || refusedStatement(err) {
			t.Fatalf("a statement of the terminated batch: %v; want the connection's failure", err)
		}
	}
	if got := c.commits.Load(); got != 0 {
		t.Fatalf("%d transactions after the terminated batch; want none (no statement ran again alone)", got)
	}
	if _, err := s.GetAPIKey(ctx, "terminated"); !errors.Is(err, payment.ErrNotFound) {
		t.Fatalf("the terminated batch's insert: GetAPIKey = %v, want ErrNotFound", err)
	}
}
