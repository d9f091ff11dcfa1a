package sandbox

import (
	"sync/atomic"
	"time"
)

// clock is the sandbox's trade clock: the wall clock plus an offset that
// only grows (Sandbox.Advance). Phase 2's time scale plugs in here.
type clock struct {
	wall   func() time.Time
	offset atomic.Int64 // nanoseconds added by advance
}

func (c *clock) now() time.Time {
	return c.wall().Add(time.Duration(c.offset.Load()))
}

func (c *clock) advance(d time.Duration) {
	if d > 0 {
		c.offset.Add(int64(d))
	}
}
