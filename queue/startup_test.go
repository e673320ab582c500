package queue

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/job"
)

// startFailStore fails the start's first reads, as a PostgreSQL spool does when the database
// restarts just as the gateway starts.
type startFailStore struct {
	Store
	fails atomic.Int32 // Controls calls still to fail
	calls atomic.Int32
}

func (s *startFailStore) Controls(ctx context.Context) ([]job.Control, error) {
	s.calls.Add(1)
	if s.fails.Add(-1) >= 0 {
		return nil, errors.New("FATAL: terminating connection due to unexpected postmaster exit (SQLSTATE 57P01)")
	}
	return s.Store.Controls(ctx)
}

// TestStartRetriesAFailingStore: a store that fails while the scheduler starts delays the start
// instead of ending Run (which stopped the whole gateway); once it answers, jobs print.
func TestStartRetriesAFailingStore(t *testing.T) {
	t.Parallel()
	var fs *startFailStore
	p := newHoldPrinter("only", 60)
	r := newSchedRigOver(t, func(s Store) Store {
		fs = &startFailStore{Store: s}
		fs.fails.Store(2)
		return fs
	}, 2, PrinterSpec{Name: "only", Printer: p, PPM: 60})
	if got := fs.calls.Load(); got != 3 {
		t.Fatalf("controls read %d times before the start, want 3 (two failures, then success)", got)
	}
	if err := r.sched.Health(); err != nil {
		t.Fatalf("health after the start: %v", err)
	}
	j := r.submit(t, 1, job.LaneInteractive)
	if got := p.waitSend(t); got != j.ID {
		t.Fatalf("printer got job %d, want %d", got, j.ID)
	}
}
