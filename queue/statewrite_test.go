package queue

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// flakyStore is a Store whose writes of chosen states fail a number of times first, as a full
// disk makes them (fault injection at the Store seam).
type flakyStore struct {
	Store
	mu    sync.Mutex
	fails map[job.State]int // state -> how many more writes into it fail
}

func (f *flakyStore) Transition(ctx context.Context, id int64, to job.State, c job.Change) error {
	f.mu.Lock()
	if f.fails[to] > 0 {
		f.fails[to]--
		f.mu.Unlock()
		return fmt.Errorf("spool: job %d -> %s: %w", id, to, job.ErrDiskFull)
	}
	f.mu.Unlock()
	return f.Store.Transition(ctx, id, to, c)
}

func newFlakyRig(t *testing.T, fails map[job.State]int, p *holdPrinter) (*flakyStore, *Scheduler) {
	t.Helper()
	var flaky *flakyStore
	r := newSchedRigOver(t, func(s Store) Store {
		flaky = &flakyStore{Store: s, fails: fails}
		return flaky
	}, 2, PrinterSpec{Name: p.name, Printer: p})
	return flaky, r.sched
}

func submitOne(t *testing.T, s *Scheduler) *job.Job {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader([]byte("%PDF-1.4 letter pages=1")), "letter", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(context.Background(), job.NewJob{Name: "letter", Origin: "test"}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestFailedStateWriteIsRetried: the printer finished the job but the spool refused the
// "completed" write three times (disk full): the job still ends completed in the spool, not
// "printing" until a restart.
func TestFailedStateWriteIsRetried(t *testing.T) {
	t.Parallel()
	p := newHoldPrinter("p1", 60)
	store, sched := newFlakyRig(t, map[job.State]int{job.StateCompleted: 3}, p)
	j := submitOne(t, sched)
	p.release(p.waitSend(t))
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, err := store.Job(context.Background(), j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == job.StateCompleted {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d is %s in the spool after the printer finished it; want completed", j.ID, got.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCancelOfPrintingJobIsRecordedOrRefused: an operator cancels a job at a printer while the
// spool refuses the "canceled" write twice: CancelJob returns only once the cancel is in the
// spool (never a success for a cancel that was lost).
func TestCancelOfPrintingJobIsRecordedOrRefused(t *testing.T) {
	t.Parallel()
	p := newHoldPrinter("p1", 60)
	store, sched := newFlakyRig(t, map[job.State]int{job.StateCanceled: 2}, p)
	j := submitOne(t, sched)
	p.waitSend(t)
	// Wait for the flight to say printing, so the cancel goes through it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, _ := store.Job(context.Background(), j.ID)
		if got != nil && got.State == job.StatePrinting {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("job never printing")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := sched.CancelJob(ctx, j.ID, "operator"); err != nil {
		t.Fatalf("CancelJob: %v", err)
	}
	got, err := store.Job(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.StateCanceled {
		t.Fatalf("CancelJob returned but the spool says %s", got.State)
	}
}
