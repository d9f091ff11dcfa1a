package batch

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestBatchesGatherWhileBusy holds the one worker in a batch while items
// are put: they run together in the next batch, in the order they were
// put, split at max.
func TestBatchesGatherWhileBusy(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	release := make(chan struct{})
	running := make(chan struct{})
	q := New(Config{Workers: 1, Max: 4}, func(b []int) {
		if b[0] == 0 {
			close(running)
			<-release
		}
		mu.Lock()
		batches = append(batches, slices.Clone(b))
		mu.Unlock()
	})
	ctx := context.Background()
	if err := q.Put(ctx, 0); err != nil {
		t.Fatal(err)
	}
	<-running
	for i := 1; i <= 4; i++ {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	// The queue holds max items: a fifth waits until the worker takes them.
	put5 := make(chan error)
	go func() { put5 <- q.Put(ctx, 5) }()
	select {
	case err := <-put5:
		t.Fatalf("Put on a full queue returned %v at once; want it to wait", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-put5; err != nil {
		t.Fatal(err)
	}
	q.Close()
	want := [][]int{{0}, {1, 2, 3, 4}, {5}}
	if !slices.EqualFunc(batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", batches, want)
	}
}

// TestCloseRunsWhatIsQueued checks that Close runs every item put before
// it, and that Put fails after it.
func TestCloseRunsWhatIsQueued(t *testing.T) {
	var mu sync.Mutex
	ran := 0
	q := New(Config{Workers: 2, Max: 8}, func(b []int) {
		time.Sleep(time.Millisecond)
		mu.Lock()
		ran += len(b)
		mu.Unlock()
	})
	var wg sync.WaitGroup
	const n = 100
	for i := range n {
		wg.Go(func() {
			if err := q.Put(context.Background(), i); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	q.Close()
	q.Close() // twice is fine
	if ran != n {
		t.Fatalf("%d items ran, want %d", ran, n)
	}
	if err := q.Put(context.Background(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v, want ErrClosed", err)
	}
}

// TestPutGivesUpWithItsContext checks that a Put waiting on a full queue
// returns when its context ends, and that its item never runs.
func TestPutGivesUpWithItsContext(t *testing.T) {
	var got []int
	q := New(Config{Max: 1}, func(b []int) { got = append(got, b...) })
	defer q.Close()
	if err := q.Put(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Put(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put on a full queue: %v, want context.DeadlineExceeded", err)
	}
	if q.Len() != 1 || !q.RunWaiting() || q.RunWaiting() {
		t.Fatal("want exactly one batch waiting")
	}
	if !slices.Equal(got, []int{1}) {
		t.Fatalf("ran %v, want [1]", got)
	}
}

// TestDelayNeverForALoneCaller puts items one after the other, each once
// the previous ran: batches of one, so the queue never waits for more,
// though its delay is an hour.
func TestDelayNeverForALoneCaller(t *testing.T) {
	ran := make(chan int)
	q := New(Config{Workers: 1, Max: 8, Delay: time.Hour, MinBatch: 4}, func(b []int) {
		for _, i := range b {
			ran <- i
		}
	})
	defer q.Close()
	for i := range 50 {
		if err := q.Put(context.Background(), i); err != nil {
			t.Fatal(err)
		}
		if got := <-ran; got != i {
			t.Fatalf("ran %d, want %d", got, i)
		}
	}
}

// TestDelayGathersConcurrentItems: after batches of several items (callers
// putting concurrently), a worker that took one item waits for more
// before it runs the batch, and runs them together.
func TestDelayGathersConcurrentItems(t *testing.T) {
	batches := make(chan []int, 4)
	q := New(Config{Workers: 1, Max: 8, Delay: time.Hour, MinBatch: 4}, func(b []int) { batches <- slices.Clone(b) })
	q.avg.Store(4 * avgScale) // recent batches of four
	ctx := context.Background()
	if err := q.Put(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for q.Len() > 0 { // the worker took it, and waits
		time.Sleep(time.Millisecond)
	}
	for _, i := range []int{2, 3} {
		if err := q.Put(ctx, i); err != nil {
			t.Fatal(err)
		}
	}
	q.Close() // ends the wait
	if got := <-batches; !slices.Equal(got, []int{1, 2, 3}) {
		t.Fatalf("first batch %v, want [1 2 3]: the worker did not wait for the items on their way", got)
	}
}

// TestDelayEnds: a worker waiting for more items runs what it has once
// the delay is over.
func TestDelayEnds(t *testing.T) {
	batches := make(chan []int, 4)
	q := New(Config{Workers: 1, Max: 8, Delay: time.Millisecond, MinBatch: 4}, func(b []int) { batches <- slices.Clone(b) })
	defer q.Close()
	q.avg.Store(4 * avgScale)
	if err := q.Put(context.Background(), 7); err != nil {
		t.Fatal(err)
	}
	if got := <-batches; !slices.Equal(got, []int{7}) {
		t.Fatalf("batch %v, want [7]", got)
	}
}
