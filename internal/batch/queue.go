// Package batch gathers work that concurrent callers submit into batches,
// for a few workers to run together: the queue behind the stores' group
// commits.
//
// A worker takes the first item waiting, then every other item waiting
// behind it, up to a maximum, and runs them as one batch. While a batch
// runs, new items queue up for the next one: the more callers, the larger
// the batches, with no delay added when there is a single caller.
//
// A queue may also wait a little for more items before it runs a small
// batch (Config.Delay), but only while its callers are putting items
// concurrently: see Config.
package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is the error of Put after Close.
var ErrClosed = errors.New("batch: queue closed")

// Config is the shape of a Queue.
type Config struct {
	// Workers is the number of goroutines running batches. With none,
	// batches run only when RunWaiting is called (for tests).
	Workers int
	// Max is the most items in one batch.
	Max int
	// Delay, when positive, is how long a worker waits for more items
	// before it runs a batch of fewer than MinBatch, when the recent
	// batches held more than one item on average — callers are putting
	// items concurrently, and more are likely on their way. It is the
	// commit_delay and commit_siblings of PostgreSQL's group commit: a
	// batch's fixed cost (an fsync) is then shared by more items, at the
	// cost of at most Delay of latency for them. A caller alone (batches
	// of one) is never delayed.
	Delay time.Duration
	// MinBatch is the batch size from which no worker waits.
	MinBatch int
}

// Queue hands batches of the items put in it to its workers' run function.
type Queue[T any] struct {
	run   func(batch []T)
	items chan T
	cfg   Config

	// avg is the moving average of the batch sizes, in 1/avgScale items,
	// updated by the workers: above 1.5 items, callers are concurrent.
	avg atomic.Int64

	mu     sync.RWMutex // held for reading while sending to items, for writing by Close
	closed bool
	quit   chan struct{}
	done   sync.WaitGroup
}

// avgScale is the fixed-point scale of Queue.avg.
const avgScale = 1024

// New starts cfg.Workers goroutines that call run with batches of at most
// cfg.Max items, in the order they were put.
func New[T any](cfg Config, run func(batch []T)) *Queue[T] {
	q := &Queue[T]{run: run, items: make(chan T, cfg.Max), cfg: cfg, quit: make(chan struct{})}
	q.avg.Store(avgScale)
	for range cfg.Workers {
		q.done.Go(q.loop)
	}
	return q
}

// Put queues item for a batch. It waits while the queue is full, and fails
// with ctx's error when ctx is done first, or ErrClosed after Close. Once
// Put returns nil the item will run, even if Close is called meanwhile.
func (q *Queue[T]) Put(ctx context.Context, item T) error {
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.closed {
		return ErrClosed
	}
	select {
	case q.items <- item:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Len returns the number of items waiting.
func (q *Queue[T]) Len() int { return len(q.items) }

// RunWaiting runs one batch of the items waiting, in the caller's
// goroutine, and reports whether there was one.
func (q *Queue[T]) RunWaiting() bool {
	select {
	case first := <-q.items:
		q.runBatch(first)
		return true
	default:
		return false
	}
}

// Close stops taking items, waits for the workers to run the ones queued
// and stops them. It may be called more than once.
func (q *Queue[T]) Close() {
	q.mu.Lock()
	if !q.closed {
		q.closed = true
		close(q.quit)
	}
	q.mu.Unlock()
	q.done.Wait()
}

// loop runs batches until Close, then the items still queued.
func (q *Queue[T]) loop() {
	for {
		select {
		case first := <-q.items:
			q.runBatch(first)
		case <-q.quit:
			for q.RunWaiting() {
			}
			return
		}
	}
}

// runBatch runs first and the items waiting behind it, after waiting for
// more when Config.Delay says so.
func (q *Queue[T]) runBatch(first T) {
	batch := q.drain([]T{first})
	if q.cfg.Delay > 0 && len(batch) < q.cfg.MinBatch && q.avg.Load() > avgScale*3/2 {
		// One wait, not a wake-up per item: a worker woken by each Put
		// would take the CPU from the callers it waits for.
		select {
		case <-time.After(q.cfg.Delay):
		case <-q.quit:
		}
		batch = q.drain(batch)
	}
	// avg += (size - avg) / 8
	a := q.avg.Load()
	q.avg.Store(a + (int64(len(batch))*avgScale-a)/8)
	q.run(batch)
}

// drain adds the items waiting to batch, up to the maximum.
func (q *Queue[T]) drain(batch []T) []T {
	for len(batch) < q.cfg.Max {
		select {
		case item := <-q.items:
			batch = append(batch, item)
		default:
			return batch
		}
	}
	return batch
}
