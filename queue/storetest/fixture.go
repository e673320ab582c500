// Fixtures of the cases: a store with its clock, staging and submitting helpers, and a way to
// walk a job into any state through legal transitions only.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// epoch is where every case's clock starts: whole seconds, so that a driver storing times at
// microsecond precision reads back exactly what it was given.
var epoch = time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC)

// fixture is one test's store, its driver and its clock.
type fixture struct {
	t     *testing.T
	d     Driver
	s     queue.Store
	clock *fakeclock.Clock
	ctx   context.Context
}

// open opens a new store for t. A nil o.Now is a fake clock standing at epoch (f.clock); a nil
// o.PageCounter is markedPages.
func open(t *testing.T, d Driver, o Options) *fixture {
	t.Helper()
	f := &fixture{t: t, d: d, ctx: context.Background()}
	if o.Now == nil {
		f.clock = fakeclock.New(epoch)
		o.Now = f.clock.Now
	}
	if o.PageCounter == nil {
		o.PageCounter = markedPages
	}
	f.s = d.Open(t, o)
	if f.s == nil {
		t.Fatal("storetest: Driver.Open returned no store")
	}
	return f
}

// reopen closes the store and opens the same spool again (recovery runs).
func (f *fixture) reopen() {
	f.t.Helper()
	f.s = f.d.Reopen(f.t, f.s)
	if f.s == nil {
		f.t.Fatal("storetest: Driver.Reopen returned no store")
	}
}

// documents is how many documents the store holds (Driver.Documents).
func (f *fixture) documents() int {
	f.t.Helper()
	return f.d.Documents(f.t, f.s)
}

var pagesMark = regexp.MustCompile(`pages=(\d+)`)

// markedPages is the suite's page counter: a document says how many pages it has with
// "pages=N"; one without the mark counts as one estimated page.
func markedPages(rs io.ReadSeeker, _ int64, _ string) (int, bool) {
	b, err := io.ReadAll(rs)
	if err != nil {
		return 1, true
	}
	m := pagesMark.FindSubmatch(b)
	if m == nil {
		return 1, true
	}
	n, _ := strconv.Atoi(string(m[1]))
	return max(n, 1), n == 0
}

// letter is a test letter of pages pages (about 1 KB a page), the same bytes for the same pages.
func letter(pages int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%%PDF-1.4\n%% test letter pages=%d\n", pages)
	for i := range pages * 16 {
		fmt.Fprintf(&b, "%% page %d line %02d: the quick brown fox jumps over the lazy dog\n", i/16+1, i%16)
	}
	b.WriteString("%%EOF\n")
	return b.Bytes()
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stage stages data and fails the test on error.
func (f *fixture) stage(data []byte) *job.Staged {
	f.t.Helper()
	st, err := f.s.Stage(f.ctx, bytes.NewReader(data), "doc", "application/pdf")
	if err != nil {
		f.t.Fatalf("Stage: %v", err)
	}
	return st
}

// submit stores a one-document job with data and returns it.
func (f *fixture) submit(data []byte) *job.Job {
	f.t.Helper()
	j, err := f.s.Submit(f.ctx, job.NewJob{VirtualPrinter: "letters", Name: "letter", Origin: "test"},
		[]*job.Staged{f.stage(data)})
	if err != nil {
		f.t.Fatalf("Submit: %v", err)
	}
	return j
}

// pathTo lists the legal moves that bring a pending job into each state.
var pathTo = map[job.State][]job.State{
	job.StatePending:   nil,
	job.StateHeld:      {job.StateHeld},
	job.StateAssigned:  {job.StateAssigned},
	job.StateSending:   {job.StateAssigned, job.StateSending},
	job.StatePrinting:  {job.StateAssigned, job.StateSending, job.StatePrinting},
	job.StateCompleted: {job.StateAssigned, job.StateSending, job.StatePrinting, job.StateCompleted},
	job.StateCanceled:  {job.StateCanceled},
	job.StateAborted:   {job.StateAborted},
}

// jobIn creates a job in state st (received: Create without documents; the others: Submit and
// legal transitions), with printer "p1" set when it is bound to one.
func (f *fixture) jobIn(st job.State, data []byte) *job.Job {
	f.t.Helper()
	if st == job.StateReceived {
		c, err := f.s.Create(f.ctx, job.NewJob{VirtualPrinter: "letters", Name: "created", Origin: "test"})
		if err != nil {
			f.t.Fatalf("Create: %v", err)
		}
		return f.job(c.ID)
	}
	j := f.submit(data)
	steps, ok := pathTo[st]
	if !ok {
		f.t.Fatalf("no path to state %s", st)
	}
	for _, to := range steps {
		c := job.Change{}
		if to == job.StateAssigned {
			p := "p1"
			c.Printer = &p
		}
		if err := f.s.Transition(f.ctx, j.ID, to, c); err != nil {
			f.t.Fatalf("walk job %d to %s: %v", j.ID, to, err)
		}
	}
	got := f.job(j.ID)
	if got.State != st {
		f.t.Fatalf("job %d is %s, want %s", j.ID, got.State, st)
	}
	return got
}

// job reads one job and fails the test on error.
func (f *fixture) job(id int64) *job.Job {
	f.t.Helper()
	j, err := f.s.Job(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Job(%d): %v", id, err)
	}
	return j
}

// jobEvents returns every event of one job, oldest first.
func (f *fixture) jobEvents(id int64) []job.Event {
	f.t.Helper()
	evs, err := f.s.Events(f.ctx, job.EventFilter{JobID: id, Limit: 10000})
	if err != nil {
		f.t.Fatalf("Events(job %d): %v", id, err)
	}
	sort.Slice(evs, func(i, k int) bool { return evs[i].ID < evs[k].ID })
	return evs
}

// docBytes reads a stored document's bytes with DocumentBytes.
func (f *fixture) docBytes(d job.Document) []byte {
	f.t.Helper()
	b, err := f.s.DocumentBytes(f.ctx, d)
	if err != nil {
		f.t.Fatalf("read document %d/%d: %v", d.JobID, d.Seq, err)
	}
	return b
}

// docSum is the sha256 of a stored document's bytes, read back through the store.
func (f *fixture) docSum(d job.Document) string {
	f.t.Helper()
	return sum(f.docBytes(d))
}

// openBytes reads a stored document's bytes with OpenDocument, seeking back once to check that
// the reader can.
func (f *fixture) openBytes(d job.Document) []byte {
	f.t.Helper()
	r, err := f.s.OpenDocument(f.ctx, d)
	if err != nil {
		f.t.Fatalf("OpenDocument %d/%d: %v", d.JobID, d.Seq, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		f.t.Fatalf("read document %d/%d: %v", d.JobID, d.Seq, err)
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		f.t.Fatalf("seek document %d/%d: %v", d.JobID, d.Seq, err)
	}
	again, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(again, b) {
		f.t.Fatalf("document %d/%d read again after a seek: %d bytes (%v), first read %d", d.JobID, d.Seq, len(again), err, len(b))
	}
	return b
}

// stageLetters stages n bulk letters numbered from first, with 1-3 pages each.
func (f *fixture) stageLetters(first, n int) []job.NewLetter {
	f.t.Helper()
	out := make([]job.NewLetter, 0, n)
	for i := first; i < first+n; i++ {
		body := fmt.Sprintf("%%PDF-1.4 letter %d pages=%d", i, 1+i%3)
		st, err := f.s.Stage(f.ctx, strings.NewReader(body), fmt.Sprintf("letter-%04d.pdf", i), "application/pdf")
		if err != nil {
			f.t.Fatal(err)
		}
		out = append(out, job.NewLetter{Source: st.Name, Doc: st})
	}
	return out
}

// discardLetters discards the staged documents of letters a store refused.
func discardLetters(ls []job.NewLetter) {
	for _, l := range ls {
		l.Doc.Discard()
	}
}

// runLetterStates counts a run's letters by state.
func (f *fixture) runLetterStates(runID int64) map[job.State]int {
	f.t.Helper()
	out := map[job.State]int{}
	ls, err := f.s.RunLetters(f.ctx, runID, 0, 0, 100000)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, l := range ls {
		out[l.State]++
	}
	return out
}

// registerRun creates, fills (in batches of 4) and commits a run of n letters.
func (f *fixture) registerRun(name string, n int, startAt time.Time) *job.Run {
	f.t.Helper()
	r, err := f.s.CreateRun(f.ctx, job.NewRun{Name: name, VirtualPrinter: "letters", Owner: "mailroom", StartAt: startAt})
	if err != nil {
		f.t.Fatal(err)
	}
	for first := 1; first <= n; first += 4 {
		if _, err := f.s.AddLetters(f.ctx, r.ID, int64(first), f.stageLetters(first, min(4, n-first+1))); err != nil {
			f.t.Fatal(err)
		}
	}
	r, err = f.s.CommitRun(f.ctx, r.ID, job.CommitOptions{Actor: "mailroom"})
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// printLetter walks a letter through the scheduler's states to completed at printer.
func (f *fixture) printLetter(id int64, printer string) {
	f.t.Helper()
	for _, st := range []job.State{job.StateAssigned, job.StateSending, job.StatePrinting, job.StateCompleted} {
		c := job.Change{}
		if st == job.StateAssigned {
			c.Printer = &printer
		}
		if st == job.StatePrinting {
			up := fmt.Sprintf("up-%d", id)
			c.UpstreamID = &up
		}
		if err := f.s.Transition(f.ctx, id, st, c); err != nil {
			f.t.Fatal(err)
		}
	}
}

// ids lists the ids of jobs, in order.
func ids(jobs []*job.Job) []int64 {
	var out []int64
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}
