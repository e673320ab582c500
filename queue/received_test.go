package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// newSweepRig is a store and a scheduler (not running: the test calls the sweep's pass) on one
// injected clock.
func newSweepRig(t *testing.T, clock *fakeclock.Clock) (*spool.Store, *Scheduler) {
	t.Helper()
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := spool.Open(context.Background(), spool.Options{Dir: dir, Now: clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	p, err := printers.NewFile("a", filepath.Join(dir, "out"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := New(Options{Store: store, Printers: []PrinterSpec{{Name: "a", Printer: p}},
		Virtual: []VirtualSpec{{Name: "letters", Pool: []string{"a"}, Default: true}}, Now: clock.Now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return store, sched
}

func stage(t *testing.T, store *spool.Store, body string) *job.Staged {
	t.Helper()
	st, err := store.Stage(context.Background(), strings.NewReader(body), "doc.txt", "text/plain")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReceivedSweepAbortsOnlyJobsPastTheTimeout(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := fakeclock.New(t0)
	store, sched := newSweepRig(t, clock)
	changes, stop := sched.Subscribe()
	defer stop()

	nj := job.NewJob{VirtualPrinter: "letters", Name: "created", Owner: "alice", Origin: "ipp"}
	// empty: Create-Job and nothing since.
	empty, err := store.Create(ctx, nj)
	if err != nil {
		t.Fatal(err)
	}
	// partial: Create-Job, then a Send-Document without last-document one minute later.
	partial, err := store.Create(ctx, nj)
	if err != nil {
		t.Fatal(err)
	}
	// closed: Create-Job, then its last document: pending, never the sweep's business.
	closed, err := store.Create(ctx, nj)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.AddDocument(ctx, closed.ID, stage(t, store, "last"), true); err != nil {
		t.Fatal(err)
	}
	clock.Set(t0.Add(time.Minute))
	if _, err := store.AddDocument(ctx, partial.ID, stage(t, store, "first of two"), false); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		at          time.Time
		wantAborted int
		wantState   map[int64]job.State
	}{
		// Just inside the time-out: nothing moves.
		{t0.Add(ReceivedTimeout - time.Second), 0,
			map[int64]job.State{empty.ID: job.StateReceived, partial.ID: job.StateReceived, closed.ID: job.StatePending}},
		// Past it for the job created at t0; the partial job's clock restarted with its document.
		{t0.Add(ReceivedTimeout + time.Second), 1,
			map[int64]job.State{empty.ID: job.StateAborted, partial.ID: job.StateReceived, closed.ID: job.StatePending}},
		{t0.Add(time.Minute + ReceivedTimeout + time.Second), 1,
			map[int64]job.State{empty.ID: job.StateAborted, partial.ID: job.StateAborted, closed.ID: job.StatePending}},
		// Much later: nothing left to abort, the pending job untouched.
		{t0.Add(24 * time.Hour), 0,
			map[int64]job.State{empty.ID: job.StateAborted, partial.ID: job.StateAborted, closed.ID: job.StatePending}},
	}
	for i, st := range steps {
		clock.Set(st.at)
		// Drain a signal left from setup or an earlier step.
		select {
		case <-changes:
		default:
		}
		n, err := sched.abortStaleReceived(ctx)
		if err != nil {
			t.Fatalf("step %d: sweep: %v", i, err)
		}
		if n != st.wantAborted {
			t.Errorf("step %d (%v after t0): aborted %d, want %d", i, st.at.Sub(t0), n, st.wantAborted)
		}
		signalled := false
		select {
		case <-changes:
			signalled = true
		default:
		}
		if signalled != (st.wantAborted > 0) {
			t.Errorf("step %d: change signalled %v, want %v", i, signalled, st.wantAborted > 0)
		}
		for id, want := range st.wantState {
			j, err := store.Job(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if j.State != want {
				t.Errorf("step %d: job %d is %s, want %s", i, id, j.State, want)
			}
			if want == job.StateAborted && j.StateReason != "document-not-received" {
				t.Errorf("step %d: job %d aborted with reason %q, want document-not-received", i, id, j.StateReason)
			}
		}
	}

	// The client that comes back after the time-out is refused, and its document is not attached.
	doc := stage(t, store, "too late")
	defer doc.Discard()
	if _, err := store.AddDocument(ctx, partial.ID, doc, true); !errors.Is(err, job.ErrIllegalTransition) {
		t.Errorf("Send-Document after the sweep: err %v, want ErrIllegalTransition", err)
	}
	j, err := store.Job(ctx, partial.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Documents) != 1 {
		t.Errorf("aborted job has %d documents, want the 1 sent in time", len(j.Documents))
	}
}
