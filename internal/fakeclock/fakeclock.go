// Package fakeclock is a settable clock for tests. The gateway's packages take the time from a
// Now func (spool.Options.Now, queue and ui options, printers.NewFile); tests pass a Clock's Now
// and move time on with Set or Advance.
package fakeclock

import (
	"sync"
	"time"
)

// Clock is safe for concurrent use: the code under test reads it from its own goroutines.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// New returns a clock standing at t.
func New(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
