package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// testEvidenceKept: a transition's page-counter evidence is kept on the job, and a completion
// carries it too.
func testEvidenceKept(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	j := f.jobIn(job.StatePrinting, letter(2))
	ev := job.Evidence{Printer: "p1", Before: 100, Pages: 2, After: 102, SentAt: epoch, AfterAt: epoch.Add(time.Second)}
	mv := job.CountedTakenBack(ev, errors.New("printer down"), false, false, "", "")
	if mv.To != job.StateCompleted {
		t.Fatalf("counted job moves to %s", mv.To)
	}
	if err := f.s.Transition(f.ctx, j.ID, mv.To, mv.Change); err != nil {
		t.Fatal(err)
	}
	got := f.job(j.ID)
	if got.Evidence == nil || *got.Evidence != ev {
		t.Errorf("evidence %+v, want %+v", got.Evidence, ev)
	}
	if got.PossibleDuplicate {
		t.Error("a counted job is no duplicate")
	}
	dups, err := f.s.Duplicates(f.ctx, job.DuplicateFilter{})
	if err != nil || len(dups) != 0 {
		t.Errorf("Duplicates = %+v, %v; want none", dups, err)
	}
	f.reopen()
	if got := f.job(j.ID); got.Evidence == nil || *got.Evidence != ev {
		t.Errorf("after reopen: evidence %+v", got.Evidence)
	}
}

// testDuplicateReview: a job flagged possible-duplicate has a review with the uncertain
// attempt's printer and evidence; an operator's decisions are kept, listed, audited (an
// operator event each) and in the run's letters; a new uncertain attempt reopens it.
func testDuplicateReview(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	r := f.registerRun("stack", 3, time.Time{})
	letters, err := f.s.RunLetters(f.ctx, r.ID, 0, 0, 10)
	if err != nil || len(letters) != 3 {
		t.Fatalf("letters %v, %v", letters, err)
	}
	id := letters[1].JobID
	for _, st := range []job.State{job.StateAssigned, job.StateSending, job.StatePrinting} {
		c := job.Change{}
		if st == job.StateAssigned {
			p := "p1"
			c.Printer = &p
		}
		if err := f.s.Transition(f.ctx, id, st, c); err != nil {
			t.Fatal(err)
		}
	}
	ev := job.Evidence{Printer: "p1", Before: 10, Pages: 1, After: 10, SentAt: epoch, AfterAt: epoch}
	f.clock.Advance(time.Minute)
	mv := job.CountedTakenBack(ev, errors.New("printer down"), false, false, "", "")
	if !mv.Change.PossibleDuplicate {
		t.Fatal("the job in progress must be flagged")
	}
	if err := f.s.Transition(f.ctx, id, mv.To, mv.Change); err != nil {
		t.Fatal(err)
	}
	// A job never flagged has no review to decide.
	if _, err := f.s.DecideDuplicate(f.ctx, letters[0].JobID, job.DecisionPrintedOnce, "op", ""); !errors.Is(err, job.ErrNotDuplicate) {
		t.Errorf("decide unflagged job: %v, want ErrNotDuplicate", err)
	}
	if _, err := f.s.DecideDuplicate(f.ctx, 99999, job.DecisionPrintedOnce, "op", ""); !errors.Is(err, job.ErrNotFound) {
		t.Errorf("decide missing job: %v, want ErrNotFound", err)
	}
	dups, err := f.s.Duplicates(f.ctx, job.DuplicateFilter{Undecided: true})
	if err != nil || len(dups) != 1 {
		t.Fatalf("Duplicates = %+v, %v", dups, err)
	}
	dd := dups[0]
	if dd.JobID != id || dd.Printer != "p1" || dd.Evidence == nil || *dd.Evidence != ev || dd.RunID != r.ID ||
		dd.Seq != 2 || dd.Decision != job.DecisionNone || !dd.FlaggedAt.Equal(epoch.Add(time.Minute)) || dd.State != job.StatePending {
		t.Errorf("review %+v", dd)
	}
	f.clock.Advance(time.Minute)
	got, err := f.s.DecideDuplicate(f.ctx, id, job.DecisionPrintedTwice, "mailroom-op", "copy shredded")
	if err != nil {
		t.Fatal(err)
	}
	if got.Decision != job.DecisionPrintedTwice || got.DecidedBy != "mailroom-op" || got.Note != "copy shredded" ||
		!got.DecidedAt.Equal(epoch.Add(2*time.Minute)) || got.Evidence == nil {
		t.Errorf("decided %+v", got)
	}
	if dups, _ := f.s.Duplicates(f.ctx, job.DuplicateFilter{Undecided: true}); len(dups) != 0 {
		t.Errorf("undecided after a decision: %+v", dups)
	}
	if dups, _ := f.s.Duplicates(f.ctx, job.DuplicateFilter{RunID: r.ID}); len(dups) != 1 || dups[0].Decision != job.DecisionPrintedTwice {
		t.Errorf("run's reviews: %+v", dups)
	}
	// Audited: an operator event naming the actor and the decision.
	var audited bool
	for _, e := range f.jobEvents(id) {
		if e.Kind == job.EventOperator && e.Actor == "mailroom-op" && e.To == string(job.DecisionPrintedTwice) && e.RunID == r.ID {
			audited = true
		}
	}
	if !audited {
		t.Errorf("no operator event for the decision: %+v", f.jobEvents(id))
	}
	// In the manifest.
	letters, _ = f.s.RunLetters(f.ctx, r.ID, 0, 0, 10)
	l := letters[1]
	if !l.PossibleDuplicate || l.Decision != job.DecisionPrintedTwice || l.DecidedBy != "mailroom-op" || l.DuplicatePrinter != "p1" ||
		l.Evidence == nil || l.Evidence.Before != 10 {
		t.Errorf("manifest letter %+v", l)
	}
	if letters[0].Decision != "" || letters[0].Evidence != nil {
		t.Errorf("unflagged letter %+v", letters[0])
	}
	// A correction is kept too, and survives a reopen.
	if _, err := f.s.DecideDuplicate(f.ctx, id, job.DecisionPrintedOnce, "supervisor", ""); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	if dups, _ := f.s.Duplicates(f.ctx, job.DuplicateFilter{}); len(dups) != 1 || dups[0].Decision != job.DecisionPrintedOnce || dups[0].DecidedBy != "supervisor" {
		t.Errorf("after reopen: %+v", dups)
	}
	// A new uncertain attempt elsewhere reopens the review with its own evidence.
	for _, st := range []job.State{job.StateAssigned, job.StateSending} {
		c := job.Change{}
		if st == job.StateAssigned {
			p := "p2"
			c.Printer = &p
		}
		if err := f.s.Transition(f.ctx, id, st, c); err != nil {
			t.Fatal(err)
		}
	}
	mv = job.TakenBack("p2", job.StateSending, errors.New("printer no longer usable"), false, false, "", "")
	if err := f.s.Transition(f.ctx, id, mv.To, mv.Change); err != nil {
		t.Fatal(err)
	}
	dups, _ = f.s.Duplicates(f.ctx, job.DuplicateFilter{Undecided: true})
	if len(dups) != 1 || dups[0].Printer != "p2" || dups[0].Evidence != nil || dups[0].Decision != "" {
		t.Errorf("reopened review %+v", dups)
	}
	if _, err := f.s.DecideDuplicate(f.ctx, id, job.Decision("maybe"), "op", ""); err == nil {
		t.Error("an unknown decision was accepted")
	}
}
