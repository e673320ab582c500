package spool

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/printgate/printgate/job"
)

// allStates is every persisted state, plus one the machine does not know.
var allStates = []job.State{job.StateReceived, job.StatePending, job.StateHeld, job.StateAssigned, job.StateSending, job.StatePrinting,
	job.StateCompleted, job.StateCanceled, job.StateAborted, job.State("bogus")}

// legal is the job state machine of shared/DESIGN.md, written out here independently of
// job.go's table so that a change to either is noticed. Beyond the diagram: received may be
// held (Create-Job with job-hold-until), canceled or aborted (recovery); assigned may be held
// (operator); sending may complete directly (backends whose acceptance is completion); every
// unfinished state may be canceled or aborted; pending -> pending and held -> held are an
// operator's move to another printer; canceled/aborted -> pending is an operator's retry.
// completed is final for good.
var legal = map[job.State][]job.State{
	job.StateReceived: {job.StatePending, job.StateHeld, job.StateCanceled, job.StateAborted},
	job.StatePending:  {job.StatePending, job.StateAssigned, job.StateHeld, job.StateCanceled, job.StateAborted},
	job.StateHeld:     {job.StateHeld, job.StatePending, job.StateCanceled, job.StateAborted},
	job.StateAssigned: {job.StatePending, job.StateSending, job.StateHeld, job.StateCanceled, job.StateAborted},
	job.StateSending:  {job.StatePending, job.StatePrinting, job.StateCompleted, job.StateCanceled, job.StateAborted},
	job.StatePrinting: {job.StatePending, job.StateCompleted, job.StateCanceled, job.StateAborted},
	job.StateCanceled: {job.StatePending},
	job.StateAborted:  {job.StatePending},
}

func isLegal(from, to job.State) bool {
	for _, s := range legal[from] {
		if s == to {
			return true
		}
	}
	return false
}

// TestTransitions tries every move from every state: a legal one writes exactly one event
// naming it; an illegal one is a *TransitionError and changes neither the row nor the events.
func TestTransitions(t *testing.T) {
	t.Parallel()
	doc := letter(t, 1)
	for _, from := range allStates[:9] {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			s := openStore(t, Options{})
			ctx := context.Background()
			for _, to := range allStates {
				j := jobIn(t, s, from, doc)
				before := jobEvents(t, s, j.ID)
				err := s.Transition(ctx, j.ID, to, job.Change{Reason: "test", Message: "move " + string(to)})
				after, gerr := s.Job(ctx, j.ID)
				if gerr != nil {
					t.Fatalf("Job(%d): %v", j.ID, gerr)
				}
				evs := jobEvents(t, s, j.ID)
				if isLegal(from, to) {
					if err != nil {
						t.Errorf("%s -> %s refused: %v", from, to, err)
						continue
					}
					if after.State != to {
						t.Errorf("%s -> %s: row says %s", from, to, after.State)
					}
					if len(evs) != len(before)+1 {
						t.Errorf("%s -> %s wrote %d events, want 1", from, to, len(evs)-len(before))
						continue
					}
					e := evs[len(evs)-1]
					if e.Kind != job.EventJobState || e.From != string(from) || e.To != string(to) || e.JobID != j.ID || e.Message != "move "+string(to) {
						t.Errorf("%s -> %s: event %+v", from, to, e)
					}
					if to.Final() && !after.Finished.After(j.Updated) && !after.Finished.Equal(after.Updated) {
						t.Errorf("%s -> %s: finished time not set", from, to)
					}
					continue
				}
				var te *job.TransitionError
				if !errors.As(err, &te) || te.JobID != j.ID || te.From != from || te.To != to {
					t.Errorf("%s -> %s: err %v, want *TransitionError{%d %s %s}", from, to, err, j.ID, from, to)
				}
				if !errors.Is(err, job.ErrIllegalTransition) {
					t.Errorf("%s -> %s: errors.Is(ErrIllegalTransition) false for %v", from, to, err)
				}
				if fmt.Sprint(*after) != fmt.Sprint(*j) {
					t.Errorf("%s -> %s refused but the row changed:\n before %+v\n after  %+v", from, to, *j, *after)
				}
				if len(evs) != len(before) {
					t.Errorf("%s -> %s refused but %d events were written", from, to, len(evs)-len(before))
				}
			}
		})
	}
}

// TestTransitionGuards: Change.From refuses a job that moved on (ErrStateChanged), an unknown
// job is ErrNotFound; neither writes anything.
func TestTransitionGuards(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := context.Background()
	j := jobIn(t, s, job.StateAssigned, letter(t, 1))
	err := s.Transition(ctx, j.ID, job.StatePending, job.Change{From: []job.State{job.StateSending}})
	if !errors.Is(err, job.ErrStateChanged) {
		t.Fatalf("guarded transition: err %v, want ErrStateChanged", err)
	}
	if got, _ := s.Job(ctx, j.ID); got.State != job.StateAssigned || len(jobEvents(t, s, j.ID)) != 2 {
		t.Fatalf("refused guarded transition wrote: state %s, %d events", got.State, len(jobEvents(t, s, j.ID)))
	}
	if err := s.Transition(ctx, 9999, job.StatePending, job.Change{}); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("unknown job: err %v, want ErrNotFound", err)
	}
	if evs, _ := s.Events(ctx, job.EventFilter{JobID: 9999}); len(evs) != 0 {
		t.Fatalf("events written for an unknown job: %+v", evs)
	}
}

// TestTransitionSideEffects: printer, attempts, possible-duplicate and upstream id are written
// with the state, in the same commit.
func TestTransitionSideEffects(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := context.Background()
	j := jobIn(t, s, job.StatePrinting, letter(t, 1))
	empty, up := "", "ipp://printer/jobs/7"
	if err := s.Transition(ctx, j.ID, job.StatePending, job.Change{Printer: &empty, Attempt: true, PossibleDuplicate: true,
		UpstreamID: &up, Kind: job.EventFailover, Reason: "possible-duplicate"}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Job(ctx, j.ID)
	if got.State != job.StatePending || got.Printer != "" || got.Attempts != 1 || !got.PossibleDuplicate ||
		got.UpstreamID != up || got.StateReason != "possible-duplicate" {
		t.Fatalf("after failover: %+v", got)
	}
	evs := jobEvents(t, s, j.ID)
	if e := evs[len(evs)-1]; e.Kind != job.EventFailover || e.Printer != "p1" {
		t.Fatalf("failover event %+v: want kind failover naming the printer it left", e)
	}
}

// TestAddDocumentOnlyToReceived: a document for a job that is no longer receiving is refused
// with a *TransitionError, the job keeps its documents and the staged file can be discarded.
func TestAddDocumentOnlyToReceived(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{InlineMaxBytes: -1}) // the refused document is a file to clean up
	ctx := context.Background()
	j := jobIn(t, s, job.StatePending, letter(t, 1))
	st := stage(t, s, letter(t, 2))
	_, err := s.AddDocument(ctx, j.ID, st, true)
	var te *job.TransitionError
	if !errors.As(err, &te) || te.From != job.StatePending {
		t.Fatalf("AddDocument to a pending job: err %v, want *TransitionError from pending", err)
	}
	got, _ := s.Job(ctx, j.ID)
	if len(got.Documents) != 1 || got.Pages != j.Pages {
		t.Fatalf("refused AddDocument changed the job: %+v", got)
	}
	path := heldOf(st).abs
	st.Discard()
	if names := dirNames(t, s.docsDir); len(names) != 1 {
		t.Fatalf("docs/ after discard: %v (want only the pending job's document, not %s)", names, path)
	}

	// The legal path: Create, two documents, the last one makes it pending.
	c := jobIn(t, s, job.StateReceived, nil)
	if _, err := s.AddDocument(ctx, c.ID, stage(t, s, letter(t, 1)), false); err != nil {
		t.Fatal(err)
	}
	done, err := s.AddDocument(ctx, c.ID, stage(t, s, letter(t, 3)), true)
	if err != nil {
		t.Fatal(err)
	}
	if done.State != job.StatePending || len(done.Documents) != 2 {
		t.Fatalf("after the last document: state %s, %d documents", done.State, len(done.Documents))
	}
}
