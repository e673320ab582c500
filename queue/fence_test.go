// A gateway whose printer lease was taken over behind its back (paused, cut off: its own
// clock has not seen the lapse yet) cannot record what its flight still learns: every write a
// flight makes carries the lease epoch it runs under, the store refuses a stale one, and the
// flight drops the refused write instead of retrying it. The store here fences as the
// PostgreSQL driver does (pgspool/fence_test.go runs the real one against cluster_lease_valid).
package queue

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// fencedWrite is one Transition a fencedStore was asked for.
type fencedWrite struct {
	id      int64
	to      job.State
	fence   *job.Fence
	refused bool
}

// fencedStore is a Store whose "database" holds printer leases: a write under an active fence
// goes through only at the epoch the lease has now, as cluster_lease_valid decides.
type fencedStore struct {
	Store
	mu     sync.Mutex
	epochs map[string]int64 // printer -> the lease's epoch in the database
	writes []fencedWrite
}

func (f *fencedStore) valid(fc *job.Fence) bool {
	return !fc.Active() || f.epochs[fc.Printer] == fc.Epoch
}

func (f *fencedStore) Transition(ctx context.Context, id int64, to job.State, c job.Change) error {
	f.mu.Lock()
	ok := f.valid(c.Fence)
	f.writes = append(f.writes, fencedWrite{id: id, to: to, fence: c.Fence, refused: !ok})
	f.mu.Unlock()
	if !ok {
		return fmt.Errorf("test: job %d -> %s: %w", id, to, job.ErrFenced)
	}
	return f.Store.Transition(ctx, id, to, c)
}

func (f *fencedStore) SetProgress(ctx context.Context, id int64, n int, fc *job.Fence) error {
	f.mu.Lock()
	ok := f.valid(fc)
	f.mu.Unlock()
	if !ok {
		return job.ErrFenced
	}
	return f.Store.SetProgress(ctx, id, n, fc)
}

func (f *fencedStore) takeOver(printer string, epoch int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.epochs[printer] = epoch
}

func (f *fencedStore) writesOf(id int64) []fencedWrite {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fencedWrite
	for _, w := range f.writes {
		if w.id == id {
			out = append(out, w)
		}
	}
	return out
}

// waitLanded waits (bounded) until printer p has no flight left.
func waitLanded(t *testing.T, s *Scheduler, p string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.mu.Lock()
		n := len(s.members[p].flights)
		s.mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("printer %s still has %d flights", p, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestTakenOverGatewayCannotRecord: every write of the flight carries the epoch its printer's
// lease had when it started; after another gateway took the lease over (a new epoch in the
// database) the completion this gateway's flight still sees is refused once, dropped, not
// retried, and the job stays as the new holder has it; the new holder's write goes through.
func TestTakenOverGatewayCannotRecord(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	lease := Lease{Held: true, Epoch: 4, Gateway: "gw-test"}
	coord.set("a", lease)
	fs := &fencedStore{epochs: map[string]int64{"a": 4}}
	p := newHoldPrinter("a", 60)
	r := newCoordRig(t, coord, func(s Store) Store { fs.Store = s; return fs }, nil, PrinterSpec{Name: "a", Printer: p})
	j := r.submit(t)
	p.waitSend(t)
	r.waitJob(t, j.ID, "printing", func(j *job.Job) bool { return j.State == job.StatePrinting })
	for _, w := range fs.writesOf(j.ID) {
		if w.fence == nil || *w.fence != (job.Fence{Printer: "a", Epoch: 4}) {
			t.Fatalf("write to %s carried fence %+v, want printer a at epoch 4", w.to, w.fence)
		}
	}

	// Another gateway takes the printer over; this one has not noticed (its lease still reads
	// held at epoch 4). The new holder watches the printing job: the row stays printing.
	fs.takeOver("a", 5)
	p.release(j.ID) // the printer reports the job completed to the old holder's flight
	waitLanded(t, r.sched, "a")

	var completes, refused int
	for _, w := range fs.writesOf(j.ID) {
		if w.to == job.StateCompleted {
			completes++
			if w.refused {
				refused++
			}
		}
	}
	if completes != 1 || refused != 1 {
		t.Fatalf("the stale completion was tried %d times, refused %d; want once, refused (not retried)", completes, refused)
	}
	if got := r.job(t, j.ID); got.State != job.StatePrinting {
		t.Fatalf("job after the fenced write: %s, want printing (the new holder's state)", got.State)
	}
	// The new holder, at the new epoch, records the outcome.
	if err := fs.Transition(context.Background(), j.ID, job.StateCompleted, job.Change{From: []job.State{job.StatePrinting},
		Fence: &job.Fence{Printer: "a", Epoch: 5}}); err != nil {
		t.Fatalf("new holder's write: %v", err)
	}
}

// TestSingleWritesCarryNoFence: a gateway alone (queue.Single, epoch 0) fences nothing, so a
// driver has nothing to check and the SQLite spool behaves as before leases.
func TestSingleWritesCarryNoFence(t *testing.T) {
	t.Parallel()
	fs := &fencedStore{epochs: map[string]int64{}}
	p := newHoldPrinter("a", 60)
	r := newCoordRig(t, Single{Name: "solo"}, func(s Store) Store { fs.Store = s; return fs }, nil, PrinterSpec{Name: "a", Printer: p})
	j := r.submit(t)
	p.waitSend(t)
	p.release(j.ID)
	r.waitJob(t, j.ID, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	for _, w := range fs.writesOf(j.ID) {
		if w.fence.Active() {
			t.Fatalf("write to %s carried fence %+v under Single", w.to, w.fence)
		}
	}
}
