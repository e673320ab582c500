// The scheduler's wake-up timers, owned so that none outlives Run.
package queue

import (
	"sync"
	"time"
)

// wakeTimers holds the scheduler's named one-shot timers (a handed-over job's expected end, a
// printer's circuit breaker closing, a retry after a failed pass). Setting a name again moves
// its deadline; stop cancels every timer and refuses new ones, so a stopped scheduler leaves no
// timer behind to fire into it.
type wakeTimers struct {
	mu      sync.Mutex
	stopped bool
	timers  map[string]*time.Timer
}

// set arms the timer called name to run f after d, replacing that name's earlier deadline.
func (w *wakeTimers) set(name string, d time.Duration, f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	if t, ok := w.timers[name]; ok {
		t.Reset(d)
		return
	}
	if w.timers == nil {
		w.timers = map[string]*time.Timer{}
	}
	w.timers[name] = time.AfterFunc(d, f)
}

// stop cancels every timer; set does nothing afterwards. A callback already running finishes.
func (w *wakeTimers) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stopped = true
	for name, t := range w.timers {
		t.Stop()
		delete(w.timers, name)
	}
}
