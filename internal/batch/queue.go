// Package batch gathers work that concurrent callers submit into batches,
// for a few workers to run together: the queue behind the stores' group
// commits.
//
// A worker takes the first item waiting, then every other item waiting
// behind it, up to a maximum, and runs them as one batch. While a batch
// runs, new items queue up for the next one: the more callers, the larger
// the batches, with no delay added when there is a single caller.
package batch

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is the error of Put after Close.
var ErrClosed = errors.New("batch: queue closed")

// Queue hands batches of the items put in it to its workers' run function.
type Queue[T any] struct {
	run   func(batch []T)
	items chan T
	max   int

	mu     sync.RWMutex // held for reading while sending to items, for writing by Close
	closed bool
	quit   chan struct{}
	done   sync.WaitGroup
}

// New starts workers goroutines that call run with batches of at most max
// items, in the order they were put. With no workers, batches run only
// when RunWaiting is called (for tests).
func New[T any](workers, max int, run func(batch []T)) *Queue[T] {
	q := &Queue[T]{run: run, items: make(chan T, max), max: max, quit: make(chan struct{})}
	for range workers {
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

// runBatch runs first and the items waiting behind it.
func (q *Queue[T]) runBatch(first T) {
	batch := []T{first}
take:
	for len(batch) < q.max {
		select {
		case item := <-q.items:
			batch = append(batch, item)
		default:
			break take
		}
	}
	q.run(batch)
}
