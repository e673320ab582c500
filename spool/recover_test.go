package spool

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/printgate/printgate/job"
)

// TestRecovery closes a store holding jobs in every state plus the leftovers of uploads that
// never committed, reopens it, and checks what DESIGN.md says recovery does: received ->
// aborted, assigned -> pending, sending -> pending with possible-duplicate and one more attempt,
// printing and every other state untouched, uncommitted files removed, committed ones kept.
// TestRecovery runs with every document in a file, which is where a crash can leave debris;
// TestInlineDocumentsSurviveRestart covers documents kept in the database.
func TestRecovery(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{InlineMaxBytes: -1})
	ctx := context.Background()
	doc := letter(t, 3)

	jobs := map[string]*job.Job{}
	for _, st := range []job.State{job.StateReceived, job.StatePending, job.StateHeld, job.StateAssigned, job.StateSending, job.StatePrinting,
		job.StateCompleted, job.StateCanceled, job.StateAborted} {
		jobs[string(st)] = jobIn(t, s, st, doc)
	}
	// A Create-Job whose first document arrived but not the last.
	partial := jobIn(t, s, job.StateReceived, nil)
	if _, err := s.AddDocument(ctx, partial.ID, stage(t, s, doc), false); err != nil {
		t.Fatal(err)
	}
	// Uploads that never got a reply: a staged document never submitted, a half-written temp file.
	orphan := stage(t, s, []byte("staged, never submitted"))
	if err := os.WriteFile(filepath.Join(s.tmpDir, "half-written"), []byte("%PDF-1."), 0o600); err != nil {
		t.Fatal(err)
	}
	eventsBefore := map[int64]int{}
	for _, j := range jobs {
		eventsBefore[j.ID] = len(jobEvents(t, s, j.ID))
	}

	s = reopen(t, s)

	tests := []struct {
		job     *job.Job
		state   job.State
		printer string
		attempt int
		dup     bool
		reason  string
	}{
		{jobs["received"], job.StateAborted, "", 0, false, "document-not-received"},
		{partial, job.StateAborted, "", 0, false, "document-not-received"},
		{jobs["pending"], job.StatePending, "", 0, false, ""},
		{jobs["held"], job.StateHeld, "", 0, false, ""},
		{jobs["assigned"], job.StatePending, "", 0, false, ""},
		{jobs["sending"], job.StatePending, "", 1, true, "possible-duplicate"},
		{jobs["printing"], job.StatePrinting, "p1", 0, false, ""},
		{jobs["completed"], job.StateCompleted, "p1", 0, false, ""},
		{jobs["canceled"], job.StateCanceled, "", 0, false, ""},
		{jobs["aborted"], job.StateAborted, "", 0, false, ""},
	}
	for _, tt := range tests {
		got, err := s.Job(ctx, tt.job.ID)
		if err != nil {
			t.Fatalf("job %d (was %s) after recovery: %v", tt.job.ID, tt.job.State, err)
		}
		if got.State != tt.state || got.Printer != tt.printer || got.Attempts != tt.attempt ||
			got.PossibleDuplicate != tt.dup || got.StateReason != tt.reason {
			t.Errorf("was %s: now state %s printer %q attempts %d dup %v reason %q; want %s %q %d %v %q",
				tt.job.State, got.State, got.Printer, got.Attempts, got.PossibleDuplicate, got.StateReason,
				tt.state, tt.printer, tt.attempt, tt.dup, tt.reason)
		}
		for _, d := range got.Documents {
			if docSum(t, s, d) != d.SHA256 {
				t.Errorf("job %d document %d damaged by recovery", got.ID, d.Seq)
			}
		}
		evs := jobEvents(t, s, tt.job.ID)
		changed := tt.state != tt.job.State
		if tt.job == partial {
			continue
		}
		if !changed {
			if len(evs) != eventsBefore[tt.job.ID] {
				t.Errorf("was %s, untouched, but got %d new events", tt.job.State, len(evs)-eventsBefore[tt.job.ID])
			}
			continue
		}
		if len(evs) != eventsBefore[tt.job.ID]+1 {
			t.Errorf("was %s: %d recovery events, want 1", tt.job.State, len(evs)-eventsBefore[tt.job.ID])
			continue
		}
		if e := evs[len(evs)-1]; e.Kind != job.EventRecovery || e.From != string(tt.job.State) || e.To != string(tt.state) {
			t.Errorf("was %s: recovery event %+v", tt.job.State, e)
		}
	}
	if len(dirNames(t, s.tmpDir)) != 0 {
		t.Errorf("tmp/ after recovery: %v", dirNames(t, s.tmpDir))
	}
	if _, err := os.Stat(heldOf(orphan).abs); !os.IsNotExist(err) {
		t.Errorf("uncommitted staged document %s survived recovery (%v)", heldOf(orphan).abs, err)
	}
	// 8 submitted jobs (the received one has none) plus the partial one's first document.
	if docs := dirNames(t, s.docsDir); len(docs) != 9 {
		t.Errorf("docs/ holds %d files after recovery, want the 9 committed ones", len(docs))
	}

	// Recovery is idempotent: a second restart changes nothing.
	n, _ := s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRecovery}, Limit: 1000})
	s = reopen(t, s)
	m, _ := s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRecovery}, Limit: 1000})
	if len(m) != len(n) {
		t.Errorf("second restart wrote %d more recovery events", len(m)-len(n))
	}
}
