// Package testclock is a clock that moves only when a test moves it, for
// the tests of code that takes its time from a function (a Config.Now, a
// sandbox clock): the tests of several packages share it.
package testclock

import (
	"sync"
	"time"
)

// Clock is a clock that moves only when Advance or Set moves it. It is
// safe for concurrent use; its Now is the func() time.Time to hand over.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}
