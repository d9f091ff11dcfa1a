package sandbox

import (
	"container/heap"
	"sync"
	"sync/atomic"
	"time"
)

// clock is the sandbox's trade clock: the wall clock plus an offset that
// only grows (Sandbox.Advance), with timers on that clock (notify retries,
// trade expiry).
//
// A timer fires when the trade clock reaches its time, whichever way the
// clock gets there: by the wall clock moving (the run loop sleeps in real
// time until the next timer is due) or by advance, which fires the timers
// it makes due before returning. With a Config.Now that stands still, only
// advance moves the clock: that is the fake clock of the tests, where
// nothing happens unless the test says so.
type clock struct {
	wall   func() time.Time
	offset atomic.Int64 // nanoseconds added by advance

	mu     sync.Mutex
	timers timerHeap
	seq    uint64        // of the last timer, to fire timers due together in the order they were set
	firing chan struct{} // non-nil while a goroutine fires timers; closed when it is done
	wake   chan struct{} // tells run to look at the timers again (capacity 1)
}

func newClock(wall func() time.Time) *clock {
	return &clock{wall: wall, wake: make(chan struct{}, 1)}
}

func (c *clock) now() time.Time {
	return c.wall().Add(time.Duration(c.offset.Load()))
}

// advance moves the clock forward by d (never back) and fires the timers
// that came due, unless another goroutine is firing them already (it then
// fires these too).
func (c *clock) advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
	c.fireDue()
	c.poke()
}

// clockTimer is a function to run at a time of the trade clock.
type clockTimer struct {
	at    time.Time
	seq   uint64
	f     func()
	index int // in the heap; -1 once fired or stopped
}

// afterFunc arranges for f to run, in a goroutine of the clock's (never
// the caller's), once the clock reaches at. f must not block for long: it
// delays the timers after it.
func (c *clock) afterFunc(at time.Time, f func()) *clockTimer {
	c.mu.Lock()
	c.seq++
	t := &clockTimer{at: at, seq: c.seq, f: f}
	heap.Push(&c.timers, t)
	first := c.timers[0] == t
	c.mu.Unlock()
	if first {
		c.poke()
	}
	return t
}

// stop keeps t from firing; it reports whether t was still waiting.
func (c *clock) stop(t *clockTimer) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&c.timers, t.index)
	return true
}

// poke wakes the run loop to look at the timers again.
func (c *clock) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// fireDue runs every timer due now, in the order of their times, one at a
// time. If another goroutine is firing timers it returns at once, leaving
// them to it (that goroutine looks again before it stops), with a channel
// closed when that goroutine is done.
func (c *clock) fireDue() <-chan struct{} {
	c.mu.Lock()
	if c.firing != nil {
		ch := c.firing
		c.mu.Unlock()
		return ch
	}
	done := make(chan struct{})
	c.firing = done
	for {
		if len(c.timers) == 0 || c.timers[0].at.After(c.now()) {
			break
		}
		t := heap.Pop(&c.timers).(*clockTimer)
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.firing = nil
	c.mu.Unlock()
	close(done)
	return done
}

// hasDue reports whether a timer is due and not fired yet.
func (c *clock) hasDue() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers) > 0 && !c.timers[0].at.After(c.now())
}

// run fires timers as the wall clock reaches them, until stop is closed.
func (c *clock) run(stop <-chan struct{}) {
	rt := time.NewTimer(time.Hour)
	defer rt.Stop()
	for {
		c.mu.Lock()
		wait := time.Duration(-1)
		if len(c.timers) > 0 {
			wait = max(c.timers[0].at.Sub(c.now()), 0)
		}
		c.mu.Unlock()
		var due <-chan time.Time
		if wait >= 0 {
			rt.Reset(wait)
			due = rt.C
		}
		select {
		case <-stop:
			return
		case <-c.wake:
		case <-due:
			c.fireDue()
		}
	}
}

// timerHeap orders timers by time, then by the order they were set.
type timerHeap []*clockTimer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if c := h[i].at.Compare(h[j].at); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *timerHeap) Push(x any) {
	t := x.(*clockTimer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
