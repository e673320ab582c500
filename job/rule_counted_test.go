package job

import (
	"errors"
	"testing"
)

func TestEvidenceVerdict(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    Evidence
		want Counted
	}{
		{"all pages counted", Evidence{Before: 100, Pages: 3, After: 103}, CountedAll},
		{"counter moved on past it", Evidence{Before: 100, Pages: 3, After: 110}, CountedAll},
		{"partly counted", Evidence{Before: 100, Pages: 3, After: 101}, CountedUncertain},
		// Every job before it counted: the printer was on it, its first sheet may be out.
		{"in progress, none counted", Evidence{Before: 100, Pages: 3, After: 100}, CountedUncertain},
		{"earlier job still printing", Evidence{Before: 100, Pages: 3, After: 98}, CountedNone},
		{"zero pages counts as one", Evidence{Before: 5, Pages: 0, After: 6}, CountedAll},
	}
	for _, tt := range tests {
		if got := tt.e.Verdict(); got != tt.want {
			t.Errorf("%s: Verdict() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestEvidenceConfirmed(t *testing.T) {
	t.Parallel()
	e := Evidence{Before: 10, Pages: 2}
	for _, tt := range []struct {
		after int64
		idle  bool
		want  bool
	}{
		{11, true, false},  // one page short
		{12, false, false}, // counted, still printing: the last sheet may be in the path
		{12, true, true},
		{13, false, true}, // the next job's pages are being counted
	} {
		e.After = tt.after
		if got := e.Confirmed(tt.idle); got != tt.want {
			t.Errorf("after %d idle %v: Confirmed = %v, want %v", tt.after, tt.idle, got, tt.want)
		}
	}
}

// TestCountedTakenBack: a dead printer's jobs, one rule each: counted ones complete, the one in
// progress is the only possible duplicate, the ones behind it go back unflagged.
func TestCountedTakenBack(t *testing.T) {
	t.Parallel()
	dead := errors.New("printer down past the grace period")
	after := int64(104) // the printer counted 104 before it died
	jobs := []Evidence{
		{Printer: "p", Before: 100, Pages: 2, After: after}, // 101-102: out
		{Printer: "p", Before: 102, Pages: 2, After: after}, // 103-104: out
		{Printer: "p", Before: 104, Pages: 2, After: after}, // 105-106: in progress
		{Printer: "p", Before: 106, Pages: 2, After: after}, // not started
		{Printer: "p", Before: 108, Pages: 1, After: after}, // not started
	}
	var states []State
	flagged := 0
	for _, e := range jobs {
		mv := CountedTakenBack(e, dead, false, false, "", "")
		states = append(states, mv.To)
		if mv.Change.PossibleDuplicate {
			flagged++
			if !mv.Change.Attempt {
				t.Errorf("possible duplicate must count an attempt")
			}
		}
		if mv.To == StatePending && !mv.Change.PossibleDuplicate && mv.Change.Attempt {
			t.Errorf("a letter that never printed must not use up an attempt: %+v", mv.Change)
		}
		if mv.Change.Evidence == nil || *mv.Change.Evidence != e {
			t.Errorf("evidence not carried: %+v", mv.Change.Evidence)
		}
		if mv.Change.Kind != EventFailover {
			t.Errorf("kind %q", mv.Change.Kind)
		}
	}
	want := []State{StateCompleted, StateCompleted, StatePending, StatePending, StatePending}
	for i := range want {
		if states[i] != want[i] {
			t.Fatalf("states %v, want %v", states, want)
		}
	}
	if flagged != 1 {
		t.Errorf("%d flagged, want exactly the one in progress", flagged)
	}
	if mv := CountedTakenBack(jobs[0], dead, false, false, "", ""); !CanTransition(StatePrinting, mv.To) {
		t.Errorf("completed from printing must be legal")
	}
	// A printer that still holds the bytes (jammed, not dead) may print the ones behind once
	// cleared: flagged too; what was counted is still completed.
	for i, e := range jobs {
		mv := CountedTakenBack(e, errors.New("printer no longer usable"), false, true, "", "")
		if i < 2 && mv.To != StateCompleted || i >= 2 && !mv.Change.PossibleDuplicate {
			t.Errorf("holding printer, job %d: %+v", i, mv)
		}
	}
}

func TestUnconfirmedTimeout(t *testing.T) {
	t.Parallel()
	mv := UnconfirmedTimeout(Evidence{Printer: "p", Before: 10, Pages: 1, After: 10}, 0, 0, 3)
	if mv.To != StatePending || !mv.Change.PossibleDuplicate || !mv.Change.Attempt {
		t.Errorf("%+v", mv)
	}
	if mv := UnconfirmedTimeout(Evidence{Printer: "p", Before: 10, Pages: 1, After: 10}, 0, 2, 3); mv.To != StateAborted {
		t.Errorf("last attempt: %+v", mv)
	}
}
