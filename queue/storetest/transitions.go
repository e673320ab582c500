// Job states: every legal and illegal move from every state, the guards that make claiming a
// job safe, and what a move writes beside the state.
package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// allStates is every persisted state, plus one the machine does not know.
var allStates = []job.State{job.StateReceived, job.StatePending, job.StateHeld, job.StateAssigned, job.StateSending, job.StatePrinting,
	job.StateCompleted, job.StateCanceled, job.StateAborted, job.State("bogus")}

// legal is the job state machine of docs/ARCHITECTURE.md, written out here independently of
// package job's table so that a change to either is noticed. Beyond the diagram: received may be
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

// testTransitions tries every move from every state: a legal one writes exactly one event
// naming it; an illegal one is a *TransitionError and changes neither the row nor the events.
func testTransitions(t *testing.T, d Driver) {
	doc := letter(1)
	for _, from := range allStates[:9] {
		t.Run(string(from), func(t *testing.T) {
			t.Parallel()
			f := open(t, d, Options{})
			for _, to := range allStates {
				j := f.jobIn(from, doc)
				before := f.jobEvents(j.ID)
				err := f.s.Transition(f.ctx, j.ID, to, job.Change{Reason: "test", Message: "move " + string(to)})
				after := f.job(j.ID)
				evs := f.jobEvents(j.ID)
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

// testTransitionGuards: Change.From refuses a job that moved on (ErrStateChanged), an unknown
// job is ErrNotFound; neither writes anything. A guard the job satisfies lets the move through.
func testTransitionGuards(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	j := f.jobIn(job.StateAssigned, letter(1))
	err := f.s.Transition(ctx, j.ID, job.StatePending, job.Change{From: []job.State{job.StateSending}})
	if !errors.Is(err, job.ErrStateChanged) {
		t.Fatalf("guarded transition: err %v, want ErrStateChanged", err)
	}
	if got := f.job(j.ID); got.State != job.StateAssigned || len(f.jobEvents(j.ID)) != 2 {
		t.Fatalf("refused guarded transition wrote: state %s, %d events", got.State, len(f.jobEvents(j.ID)))
	}
	// The guard is checked before the move's legality: a job that moved on is "changed", not
	// "illegal", whatever the move.
	if err := f.s.Transition(ctx, j.ID, job.StatePrinting, job.Change{From: []job.State{job.StatePending}}); !errors.Is(err, job.ErrStateChanged) {
		t.Fatalf("guarded illegal transition: err %v, want ErrStateChanged", err)
	}
	if err := f.s.Transition(ctx, j.ID, job.StateSending, job.Change{From: []job.State{job.StatePending, job.StateAssigned}}); err != nil {
		t.Fatalf("transition whose guard holds: %v", err)
	}
	if got := f.job(j.ID); got.State != job.StateSending || len(f.jobEvents(j.ID)) != 3 {
		t.Fatalf("after the guarded move: state %s, %d events", got.State, len(f.jobEvents(j.ID)))
	}
	if err := f.s.Transition(ctx, 9999, job.StatePending, job.Change{}); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("unknown job: err %v, want ErrNotFound", err)
	}
	if evs, _ := f.s.Events(ctx, job.EventFilter{JobID: 9999}); len(evs) != 0 {
		t.Fatalf("events written for an unknown job: %+v", evs)
	}
	if _, err := f.s.Job(ctx, 9999); !errors.Is(err, job.ErrNotFound) {
		t.Fatalf("Job(unknown): err %v, want ErrNotFound", err)
	}
}

// testTransitionSideEffects: printer, attempts, possible-duplicate, upstream id, reason and the
// event's fields are written with the state, in the same commit.
func testTransitionSideEffects(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	j := f.jobIn(job.StatePrinting, letter(1))
	empty, up := "", "ipp://printer/jobs/7"
	if err := f.s.Transition(ctx, j.ID, job.StatePending, job.Change{Printer: &empty, Attempt: true, PossibleDuplicate: true,
		UpstreamID: &up, Kind: job.EventFailover, Reason: "possible-duplicate"}); err != nil {
		t.Fatal(err)
	}
	got := f.job(j.ID)
	if got.State != job.StatePending || got.Printer != "" || got.Attempts != 1 || !got.PossibleDuplicate ||
		got.UpstreamID != up || got.StateReason != "possible-duplicate" {
		t.Fatalf("after failover: %+v", got)
	}
	evs := f.jobEvents(j.ID)
	if e := evs[len(evs)-1]; e.Kind != job.EventFailover || e.Printer != "p1" {
		t.Fatalf("failover event %+v: want kind failover naming the printer it left", e)
	}

	// Assigned to another printer: the printer is set and the event names it; the reason is the
	// move's (none); possible-duplicate and attempts stay.
	p2 := "p2"
	if err := f.s.Transition(ctx, j.ID, job.StateAssigned, job.Change{Printer: &p2, Actor: "scheduler", Message: "assigned to p2"}); err != nil {
		t.Fatal(err)
	}
	got = f.job(j.ID)
	if got.Printer != "p2" || got.StateReason != "" || got.Attempts != 1 || !got.PossibleDuplicate || got.UpstreamID != up {
		t.Fatalf("after assigning to p2: %+v", got)
	}
	evs = f.jobEvents(j.ID)
	if e := evs[len(evs)-1]; e.Kind != job.EventJobState || e.Printer != "p2" || e.Actor != "scheduler" || e.Message != "assigned to p2" ||
		e.From != string(job.StatePending) || e.To != string(job.StateAssigned) {
		t.Fatalf("assign event %+v", e)
	}

	// A nil Printer leaves the printer; Attempt counts again; without a Message the event says
	// the reason.
	if err := f.s.Transition(ctx, j.ID, job.StateSending, job.Change{Attempt: true, Reason: "sending-to-p2"}); err != nil {
		t.Fatal(err)
	}
	got = f.job(j.ID)
	if got.Printer != "p2" || got.Attempts != 2 || !got.PossibleDuplicate || got.StateReason != "sending-to-p2" {
		t.Fatalf("after sending: %+v", got)
	}
	evs = f.jobEvents(j.ID)
	if e := evs[len(evs)-1]; e.Printer != "p2" || e.Message != "sending-to-p2" {
		t.Fatalf("sending event %+v: want it to name p2 and say the reason", e)
	}
	// possible-duplicate is never cleared by a move that does not set it.
	if err := f.s.Transition(ctx, j.ID, job.StateCompleted, job.Change{}); err != nil {
		t.Fatal(err)
	}
	if got = f.job(j.ID); !got.PossibleDuplicate || got.Printer != "p2" || got.Attempts != 2 || got.UpstreamID != up {
		t.Fatalf("after completion: %+v", got)
	}
}

// testTransitionTimes: every time a move writes comes from the store's clock: created and
// updated at submission; updated at every move; started when the job first goes to a printer
// (kept when it is sent again); finished when it ends; each event at its move.
func testTransitionTimes(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	t0 := f.clock.Now()
	j := f.submit(letter(1))
	got := f.job(j.ID)
	if !got.Created.Equal(t0) || !got.Updated.Equal(t0) || !got.Started.IsZero() || !got.Finished.IsZero() {
		t.Fatalf("new job: created %v updated %v started %v finished %v; want %v, %v, zero, zero",
			got.Created, got.Updated, got.Started, got.Finished, t0, t0)
	}
	at := []time.Time{t0}
	step := func(to job.State, printer *string) time.Time {
		t.Helper()
		f.clock.Advance(time.Minute)
		if err := f.s.Transition(ctx, j.ID, to, job.Change{Printer: printer}); err != nil {
			t.Fatalf("-> %s: %v", to, err)
		}
		now := f.clock.Now()
		at = append(at, now)
		if got := f.job(j.ID); !got.Updated.Equal(now) || !got.Created.Equal(t0) {
			t.Fatalf("after -> %s: updated %v created %v, want %v and %v", to, got.Updated, got.Created, now, t0)
		}
		return now
	}
	p1, p2, empty := "p1", "p2", ""
	step(job.StateAssigned, &p1)
	if got := f.job(j.ID); !got.Started.IsZero() {
		t.Fatalf("assigned job has a start time %v", got.Started)
	}
	started := step(job.StateSending, nil)
	if got := f.job(j.ID); !got.Started.Equal(started) {
		t.Fatalf("sending job: started %v, want %v", got.Started, started)
	}
	step(job.StatePending, &empty) // failover
	step(job.StateAssigned, &p2)
	step(job.StateSending, nil)
	if got := f.job(j.ID); !got.Started.Equal(started) {
		t.Fatalf("job sent again: started %v, want the first start %v", got.Started, started)
	}
	step(job.StatePrinting, nil)
	if got := f.job(j.ID); !got.Finished.IsZero() {
		t.Fatalf("printing job has a finish time %v", got.Finished)
	}
	finished := step(job.StateCompleted, nil)
	got = f.job(j.ID)
	if !got.Finished.Equal(finished) || !got.Started.Equal(started) {
		t.Fatalf("completed job: started %v finished %v, want %v and %v", got.Started, got.Finished, started, finished)
	}
	evs := f.jobEvents(j.ID)
	if len(evs) != len(at) {
		t.Fatalf("%d events, want %d", len(evs), len(at))
	}
	for i, e := range evs {
		if !e.At.Equal(at[i]) {
			t.Errorf("event %d (%s -> %s) at %v, want %v", i, e.From, e.To, e.At, at[i])
		}
	}

	// Canceled before it ever reached a printer: finished, never started.
	c := f.submit(letter(1))
	f.clock.Advance(time.Minute)
	if err := f.s.Transition(ctx, c.ID, job.StateCanceled, job.Change{}); err != nil {
		t.Fatal(err)
	}
	if got := f.job(c.ID); !got.Finished.Equal(f.clock.Now()) || !got.Started.IsZero() {
		t.Fatalf("canceled job: started %v finished %v, want zero and %v", got.Started, got.Finished, f.clock.Now())
	}
}

// testConcurrentClaims: concurrent Transition calls guarded by the same From are a claim:
// exactly one wins, the others get ErrStateChanged, and the job shows the winner's move only.
func testConcurrentClaims(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	const jobs, racers = 6, 8
	var pending []*job.Job
	for range jobs {
		pending = append(pending, f.submit(letter(1)))
	}
	printers := make([]string, racers)
	for r := range printers {
		printers[r] = fmt.Sprintf("p%d", r)
	}
	errs := make([][]error, jobs)
	var wg sync.WaitGroup
	for i, j := range pending {
		errs[i] = make([]error, racers)
		for r := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i][r] = f.s.Transition(ctx, j.ID, job.StateAssigned,
					job.Change{From: []job.State{job.StatePending}, Printer: &printers[r]})
			}()
		}
	}
	wg.Wait()
	for i, j := range pending {
		winner := -1
		for r, err := range errs[i] {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("job %d claimed twice: by racers %d and %d", j.ID, winner, r)
			case err == nil:
				winner = r
			case !errors.Is(err, job.ErrStateChanged):
				t.Errorf("job %d, losing racer %d: err %v, want ErrStateChanged", j.ID, r, err)
			}
		}
		if winner < 0 {
			t.Errorf("job %d: nobody won the claim", j.ID)
			continue
		}
		got := f.job(j.ID)
		if got.State != job.StateAssigned || got.Printer != printers[winner] {
			t.Errorf("job %d: state %s printer %q, want assigned to the winner %q", j.ID, got.State, got.Printer, printers[winner])
		}
		if evs := f.jobEvents(j.ID); len(evs) != 2 || evs[1].Printer != printers[winner] {
			t.Errorf("job %d: events %+v, want creation and one assignment to %s", j.ID, evs, printers[winner])
		}
	}

	// Racers wanting different moves out of the same state: still exactly one.
	j := f.jobIn(job.StateAssigned, letter(1))
	targets := []job.State{job.StateSending, job.StatePending, job.StateHeld, job.StateCanceled, job.StateAborted}
	terrs := make([]error, len(targets))
	for i, to := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			terrs[i] = f.s.Transition(ctx, j.ID, to, job.Change{From: []job.State{job.StateAssigned}})
		}()
	}
	wg.Wait()
	var won []job.State
	for i, err := range terrs {
		if err == nil {
			won = append(won, targets[i])
		} else if !errors.Is(err, job.ErrStateChanged) {
			t.Errorf("-> %s lost with err %v, want ErrStateChanged", targets[i], err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("moves out of assigned that won: %v, want exactly one", won)
	}
	if got := f.job(j.ID); got.State != won[0] || len(f.jobEvents(j.ID)) != 3 {
		t.Fatalf("job is %s with %d events, want %s with 3", got.State, len(f.jobEvents(j.ID)), won[0])
	}
}

// testSubmitHeld: a job submitted with Hold is stored held with its reason and its creation
// event says so; a job created held without a reason still ends held at its last document; the
// lane defaults to interactive and a letter's run, sequence and lane are kept.
func testSubmitHeld(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	h, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "ipp", Hold: true, HoldReason: "virtual-printer-paused"},
		[]*job.Staged{f.stage(letter(1))})
	if err != nil {
		t.Fatal(err)
	}
	got := f.job(h.ID)
	if h.State != job.StateHeld || got.State != job.StateHeld || got.StateReason != "virtual-printer-paused" || got.Lane != job.LaneInteractive {
		t.Fatalf("held submission: returned %s, stored %+v", h.State, got)
	}
	if evs := f.jobEvents(h.ID); len(evs) != 1 || evs[0].To != string(job.StateHeld) || evs[0].Kind != job.EventJobState {
		t.Fatalf("held submission events %+v", evs)
	}
	if err := f.s.Transition(ctx, h.ID, job.StatePending, job.Change{Actor: "op"}); err != nil {
		t.Fatalf("release: %v", err)
	}
	c, err := f.s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "ipp", Hold: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.State != job.StateReceived {
		t.Fatalf("created held: state %s, want received until its documents arrive", c.State)
	}
	if last, err := f.s.AddDocument(ctx, c.ID, f.stage(letter(1)), true); err != nil || last.State != job.StateHeld {
		t.Fatalf("created held, last document: %v, %v; want held", last, err)
	}
	b, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test", Lane: job.LaneBulk, RunID: 0, Seq: 7},
		[]*job.Staged{f.stage(letter(1))})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.job(b.ID); got.Lane != job.LaneBulk || got.Seq != 7 || got.State != job.StatePending {
		t.Fatalf("bulk-lane submission: %+v", got)
	}
}

// testSetProgress: the printer's progress is stored without a state change or an event, and
// survives a reopen.
func testSetProgress(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	j := f.jobIn(job.StatePrinting, letter(3))
	before := len(f.jobEvents(j.ID))
	if err := f.s.SetProgress(f.ctx, j.ID, 2, nil); err != nil {
		t.Fatal(err)
	}
	got := f.job(j.ID)
	if got.ImpressionsDone != 2 || got.State != job.StatePrinting || got.Printer != "p1" {
		t.Fatalf("after SetProgress: %+v", got)
	}
	if n := len(f.jobEvents(j.ID)); n != before {
		t.Fatalf("SetProgress wrote %d events", n-before)
	}
	f.reopen()
	if got := f.job(j.ID); got.ImpressionsDone != 2 || got.State != job.StatePrinting {
		t.Fatalf("after reopen: impressions %d state %s", got.ImpressionsDone, got.State)
	}
}
