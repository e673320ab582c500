// Recovery at open: what a restart does to the jobs it finds.
package storetest

import (
	"testing"

	"github.com/printgate/printgate/job"
)

// testRecovery closes a store holding jobs in every state plus uploads that never committed,
// reopens it, and checks the restart rule (written out here independently of package job's):
// received -> aborted (document-not-received), assigned -> pending with the printer cleared,
// sending -> pending with possible-duplicate and one more attempt, printing and every other
// state untouched; one recovery event for each job moved, naming the printer it left; documents
// intact; uncommitted documents gone. A second restart changes nothing.
func testRecovery(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	doc := letter(3)

	jobs := map[job.State]*job.Job{}
	for _, st := range []job.State{job.StateReceived, job.StatePending, job.StateHeld, job.StateAssigned, job.StateSending, job.StatePrinting,
		job.StateCompleted, job.StateCanceled, job.StateAborted} {
		jobs[st] = f.jobIn(st, doc)
	}
	// A Create-Job whose first document arrived but not the last.
	partial := f.jobIn(job.StateReceived, nil)
	if _, err := f.s.AddDocument(ctx, partial.ID, f.stage(doc), false); err != nil {
		t.Fatal(err)
	}
	// Uploads that never got a reply: staged documents never submitted.
	f.stage([]byte("staged, never submitted"))
	f.stage(bigDocument())
	eventsBefore := map[int64]int{}
	for _, j := range jobs {
		eventsBefore[j.ID] = len(f.jobEvents(j.ID))
	}

	f.reopen()

	tests := []struct {
		job     *job.Job
		state   job.State
		printer string
		attempt int
		dup     bool
		reason  string
	}{
		{jobs[job.StateReceived], job.StateAborted, "", 0, false, "document-not-received"},
		{partial, job.StateAborted, "", 0, false, "document-not-received"},
		{jobs[job.StatePending], job.StatePending, "", 0, false, ""},
		{jobs[job.StateHeld], job.StateHeld, "", 0, false, ""},
		{jobs[job.StateAssigned], job.StatePending, "", 0, false, ""},
		{jobs[job.StateSending], job.StatePending, "", 1, true, "possible-duplicate"},
		{jobs[job.StatePrinting], job.StatePrinting, "p1", 0, false, ""},
		{jobs[job.StateCompleted], job.StateCompleted, "p1", 0, false, ""},
		{jobs[job.StateCanceled], job.StateCanceled, "", 0, false, ""},
		{jobs[job.StateAborted], job.StateAborted, "", 0, false, ""},
	}
	for _, tt := range tests {
		got := f.job(tt.job.ID)
		if got.State != tt.state || got.Printer != tt.printer || got.Attempts != tt.attempt ||
			got.PossibleDuplicate != tt.dup || got.StateReason != tt.reason {
			t.Errorf("was %s: now state %s printer %q attempts %d dup %v reason %q; want %s %q %d %v %q",
				tt.job.State, got.State, got.Printer, got.Attempts, got.PossibleDuplicate, got.StateReason,
				tt.state, tt.printer, tt.attempt, tt.dup, tt.reason)
		}
		for _, d := range got.Documents {
			if f.docSum(d) != d.SHA256 {
				t.Errorf("job %d document %d damaged by recovery", got.ID, d.Seq)
			}
		}
		evs := f.jobEvents(tt.job.ID)
		changed := tt.state != tt.job.State
		if tt.job == partial {
			if len(got.Documents) != 1 {
				t.Errorf("partial Create-Job job has %d documents after recovery, want its first", len(got.Documents))
			}
			continue
		}
		if !changed {
			if len(evs) != eventsBefore[tt.job.ID] {
				t.Errorf("was %s, untouched, but got %d new events", tt.job.State, len(evs)-eventsBefore[tt.job.ID])
			}
			if was := tt.job; got.Attempts != was.Attempts || got.Printer != was.Printer || !got.Updated.Equal(was.Updated) {
				t.Errorf("was %s, untouched, but the row changed: %+v", tt.job.State, got)
			}
			continue
		}
		if len(evs) != eventsBefore[tt.job.ID]+1 {
			t.Errorf("was %s: %d recovery events, want 1", tt.job.State, len(evs)-eventsBefore[tt.job.ID])
			continue
		}
		e := evs[len(evs)-1]
		if e.Kind != job.EventRecovery || e.From != string(tt.job.State) || e.To != string(tt.state) {
			t.Errorf("was %s: recovery event %+v", tt.job.State, e)
		}
		if tt.job.Printer != "" && e.Printer != tt.job.Printer {
			t.Errorf("was %s at %s: recovery event names printer %q, want the one it left", tt.job.State, tt.job.Printer, e.Printer)
		}
	}
	// 8 submitted jobs (the received one has none) plus the partial one's first document; the
	// staged ones are gone.
	if n := f.documents(); n != 9 {
		t.Errorf("%d documents stored after recovery, want the 9 committed ones", n)
	}

	// Recovery is idempotent: a second restart changes nothing.
	n, _ := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRecovery}, Limit: 1000})
	f.reopen()
	m, _ := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRecovery}, Limit: 1000})
	if len(m) != len(n) {
		t.Errorf("second restart wrote %d more recovery events", len(m)-len(n))
	}
	if len(n) != 4 {
		t.Errorf("%d recovery events, want 4 (received, partial, assigned, sending)", len(n))
	}
	if k := f.documents(); k != 9 {
		t.Errorf("%d documents stored after the second restart, want 9", k)
	}
}
