package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
	"github.com/printgate/printgate/spool/spooltest"
)

// bulkPDF is a PDF of pages pages whose content says label, so letters differ by content.
func bulkPDF(label string, pages int) []byte {
	var b bytes.Buffer
	offsets := []int{0}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 4+2*i))
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s page %d) Tj ET", label, i+1)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes()
}

// sliceSource yields in-memory letters.
type sliceSource struct {
	names []string
	docs  [][]byte
	i     int
}

func (s *sliceSource) Next() (string, io.Reader, error) {
	if s.i >= len(s.docs) {
		return "", nil, io.EOF
	}
	s.i++
	return s.names[s.i-1], bytes.NewReader(s.docs[s.i-1]), nil
}

// bulkLetters makes letters first..first+n-1 with 1-4 pages.
func bulkLetters(first, n int) *sliceSource {
	s := &sliceSource{}
	for i := first; i < first+n; i++ {
		s.names = append(s.names, fmt.Sprintf("letter-%04d.pdf", i))
		s.docs = append(s.docs, bulkPDF(fmt.Sprintf("letter %d", i), 1+i%4))
	}
	return s
}

type bulkRig struct {
	store *spool.Store
	sched *Scheduler
	bulk  *Bulk
	dir   string
	clock *fakeclock.Clock
}

// newBulkRig builds a store, a scheduler over three simulated file printers and the bulk
// service. clock may be nil (real time).
func newBulkRig(t *testing.T, dir string, clock *fakeclock.Clock) *bulkRig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	store, err := spool.Open(context.Background(), spool.Options{Dir: dir, PageCounter: document.NewCounter().CountReader,
		Now: now, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var specs []PrinterSpec
	var pool []string
	for i, name := range []string{"a", "b", "c"} {
		// Simulated engines of different speeds, fast enough for a unit test: a letter of 2.5
		// pages takes 25-50 ms.
		ppm := 3000 * (i + 1)
		p, err := printers.NewFile(name, filepath.Join(dir, "out", name), ppm, nil)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, PrinterSpec{Name: name, Printer: p, PPM: ppm})
		pool = append(pool, name)
	}
	sched, err := New(Options{Store: store, Printers: specs, Virtual: []VirtualSpec{{Name: "letters", Pool: pool, Default: true}},
		ProbeInterval: 50 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBulk(BulkOptions{Scheduler: sched, Now: now, Settle: -1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	return &bulkRig{store: store, sched: sched, bulk: b, dir: dir, clock: clock}
}

// start runs the scheduler and the bulk loop until the test ends.
func (r *bulkRig) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.sched.Run(ctx) }()
	go func() { defer wg.Done(); r.bulk.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// waitRun waits until cond holds for run id. It looks at most every 50 ms, after a change
// (a busy run changes on every letter, and a status read costs queries).
func (r *bulkRig) waitRun(t *testing.T, id int64, what string, cond func(*RunStatus) bool) *RunStatus {
	t.Helper()
	changes, stop := r.sched.Subscribe()
	defer stop()
	deadline := time.NewTimer(60 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		st, err := r.bulk.RunStatus(context.Background(), id, false)
		if err != nil {
			t.Fatal(err)
		}
		if cond(st) {
			return st
		}
		select {
		case <-changes:
			<-tick.C
		case <-deadline.C:
			t.Fatalf("run %d: timed out waiting for %s (state %s, %d/%d done)", id, what, st.State, st.Done, st.Total)
		}
	}
}

func (r *bulkRig) register(t *testing.T, name string, letters int, startAt time.Time) *job.Run {
	t.Helper()
	ctx := context.Background()
	run, err := r.bulk.CreateRun(ctx, RunRequest{Name: name, Owner: "mailroom", StartAt: startAt})
	if err != nil {
		t.Fatal(err)
	}
	for first := 1; first <= letters; first += 25 {
		if _, err := r.bulk.UploadLetters(ctx, run.ID, int64(first), bulkLetters(first, min(25, letters-first+1))); err != nil {
			t.Fatal(err)
		}
	}
	run, err = r.bulk.CommitRun(ctx, run.ID, "mailroom")
	if err != nil {
		t.Fatal(err)
	}
	return run
}

func TestUploadLettersInOrderWithPageCounts(t *testing.T) {
	t.Parallel()
	r := newBulkRig(t, t.TempDir(), nil)
	run := r.register(t, "shielded", 60, time.Time{})
	if run.State != job.RunActive || run.Letters != 60 {
		t.Fatalf("run %s with %d letters, want active 60", run.State, run.Letters)
	}
	want := 0
	for i := 1; i <= 60; i++ {
		want += 1 + i%4
	}
	if run.Pages != want {
		t.Fatalf("run pages %d, want %d (counted from the PDFs)", run.Pages, want)
	}
	var seqs []int64
	err := r.bulk.Manifest(context.Background(), run.ID, func(l job.Letter) error {
		if l.Source != fmt.Sprintf("letter-%04d.pdf", l.Seq) || l.Pages != 1+int(l.Seq)%4 {
			t.Errorf("letter %d: source %q pages %d", l.Seq, l.Source, l.Pages)
		}
		seqs = append(seqs, l.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 60 || !sort.SliceIsSorted(seqs, func(i, j int) bool { return seqs[i] < seqs[j] }) || seqs[59] != 60 {
		t.Fatalf("manifest sequence numbers %v", seqs)
	}
}

func TestUploadRefusesBadLetterAndLeavesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	r := newBulkRig(t, dir, nil)
	run, err := r.bulk.CreateRun(ctx, RunRequest{Name: "bad", Owner: "op"})
	if err != nil {
		t.Fatal(err)
	}
	before := spooltest.Documents(t, dir)
	for _, tc := range []struct {
		name string
		doc  []byte
	}{
		{"text.pdf", []byte("this is not a PDF at all")},
		{"broken.pdf", []byte("%PDF-1.4\ngarbage without pages\n")},
	} {
		src := bulkLetters(1, 30)
		src.names[17], src.docs[17] = tc.name, tc.doc
		_, err := r.bulk.UploadLetters(ctx, run.ID, 1, src)
		if !errors.Is(err, ErrBadLetter) || !strings.Contains(err.Error(), tc.name) {
			t.Fatalf("%s: UploadLetters = %v, want ErrBadLetter naming the letter", tc.name, err)
		}
		if n := spooltest.Documents(t, dir); n != before {
			t.Fatalf("%s: %d documents left in the spool after a refused batch (before: %d)", tc.name, n, before)
		}
	}
	if got, _ := r.bulk.GetRun(ctx, run.ID); got.Letters != 0 {
		t.Fatalf("refused batches registered %d letters", got.Letters)
	}
	// Too many letters in one batch.
	if _, err := r.bulk.UploadLetters(ctx, run.ID, 1, bulkLetters(1, MaxBatchLetters+1)); !errors.Is(err, ErrBatchTooLarge) {
		t.Fatalf("oversized batch: %v", err)
	}
	if n := spooltest.Documents(t, dir); n != before {
		t.Fatalf("%d documents left after the oversized batch", n)
	}
	// A batch that does not continue the run is refused before staging anything.
	var se *job.SequenceError
	if _, err := r.bulk.UploadLetters(ctx, run.ID, 5, bulkLetters(5, 2)); !errors.As(err, &se) || se.Want != 1 {
		t.Fatalf("out-of-sequence batch: %v", err)
	}
	// An unknown virtual printer or an empty name is refused at creation.
	if _, err := r.bulk.CreateRun(ctx, RunRequest{Name: "x", Printer: "nope"}); !errors.Is(err, ErrUnknownPrinter) {
		t.Fatalf("unknown printer: %v", err)
	}
	if _, err := r.bulk.CreateRun(ctx, RunRequest{Name: " "}); err == nil {
		t.Fatal("run without a name accepted")
	}
}

func TestRunPrintsInSequenceAndCompletes(t *testing.T) {
	t.Parallel()
	r := newBulkRig(t, t.TempDir(), nil)
	r.start(t)
	run := r.register(t, "mailing", 120, time.Time{})
	st := r.waitRun(t, run.ID, "completion", func(s *RunStatus) bool { return s.State == job.RunCompleted })
	if st.Done != 120 || st.Total != 120 || st.PagesLeft != 0 || !st.ETA.IsZero() {
		t.Fatalf("completed run status: done %d/%d, pages left %d, eta %v", st.Done, st.Total, st.PagesLeft, st.ETA)
	}
	sum := 0
	for _, p := range st.Printers {
		sum += p.Done
	}
	if sum != 120 {
		t.Fatalf("per-printer done adds up to %d, want 120", sum)
	}
	// Every letter printed once, with its printer; per printer the sequence increases.
	last := map[string]int64{}
	n := 0
	err := r.bulk.Manifest(context.Background(), run.ID, func(l job.Letter) error {
		n++
		if l.State != job.StateCompleted || l.Printer == "" || l.UpstreamID == "" {
			t.Errorf("letter %d: %s at %q", l.Seq, l.State, l.Printer)
		}
		return nil
	})
	if err != nil || n != 120 {
		t.Fatalf("manifest: %d letters, %v", n, err)
	}
	jobs, err := r.store.Jobs(context.Background(), job.JobFilter{RunID: run.ID, Order: "oldest", WithoutDocuments: true})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].Started.Before(jobs[j].Started) })
	for _, j := range jobs {
		if j.Seq < last[j.Printer] {
			t.Fatalf("printer %s got letter %d after letter %d", j.Printer, j.Seq, last[j.Printer])
		}
		last[j.Printer] = j.Seq
	}
}

func TestScheduledRunStartsAtItsTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.Local))
	r := newBulkRig(t, t.TempDir(), clock)
	run := r.register(t, "night", 5, time.Date(2026, 12, 1, 2, 0, 0, 0, time.Local))
	if run.State != job.RunScheduled {
		t.Fatalf("state %s, want scheduled", run.State)
	}
	if next := r.bulk.sweep(ctx); !next.Equal(run.StartAt) {
		t.Fatalf("sweep says next start %v, want %v", next, run.StartAt)
	}
	if got, _ := r.bulk.GetRun(ctx, run.ID); got.State != job.RunScheduled {
		t.Fatalf("started early: %s", got.State)
	}
	if n, _ := r.store.CountJobs(ctx, job.JobFilter{RunID: run.ID, States: []job.State{job.StatePending}}); n != 0 {
		t.Fatalf("%d letters pending before the start time", n)
	}
	// The gateway was down at 02:00 and is back at 05:00: the run starts, late, and says so.
	clock.Set(time.Date(2026, 12, 1, 5, 0, 0, 0, time.Local))
	if next := r.bulk.sweep(ctx); !next.IsZero() {
		t.Fatalf("next start %v after the only scheduled run started", next)
	}
	if got, _ := r.bulk.GetRun(ctx, run.ID); got.State != job.RunActive {
		t.Fatalf("state %s at 05:00, want active", got.State)
	}
	if n, _ := r.store.CountJobs(ctx, job.JobFilter{RunID: run.ID, States: []job.State{job.StatePending}}); n != 5 {
		t.Fatalf("%d letters pending after the start, want 5", n)
	}
	evs, err := r.store.Events(ctx, job.EventFilter{RunID: run.ID, Kinds: []string{job.EventRun}})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || !strings.Contains(evs[0].Message, "late") {
		t.Fatalf("newest run event %v, want one saying the run started late", evs)
	}
}

func TestPauseResumeCancelThroughTheScheduler(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newBulkRig(t, t.TempDir(), nil)
	run := r.register(t, "mailing", 40, time.Time{})
	// Paused before the scheduler runs: nothing of it may print.
	if _, err := r.bulk.PauseRun(ctx, run.ID, "op"); err != nil {
		t.Fatal(err)
	}
	r.start(t)
	st, err := r.bulk.RunStatus(ctx, run.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != job.RunPaused || st.ByState[job.StateHeld] != 40 || !st.ETA.IsZero() {
		t.Fatalf("paused run: %s, %v, eta %v", st.State, st.ByState, st.ETA)
	}
	if _, err := r.bulk.ResumeRun(ctx, run.ID, "op"); err != nil {
		t.Fatal(err)
	}
	r.waitRun(t, run.ID, "completion", func(s *RunStatus) bool { return s.State == job.RunCompleted })
	// Reprint two ranges of a completed run: new jobs, same sequence numbers, flagged.
	jobs, err := r.bulk.Reprint(ctx, run.ID, [][2]int64{{3, 4}, {40, 45}}, "op")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || jobs[0].Seq != 3 || jobs[2].Seq != 40 || jobs[0].Origin != job.OriginBulkReprint {
		t.Fatalf("reprints: %d jobs", len(jobs))
	}
	st = r.waitRun(t, run.ID, "reprints printed", func(s *RunStatus) bool { return s.State == job.RunCompleted && s.Done == 43 })
	if st.Reprints != 3 {
		t.Fatalf("status counts %d reprints, want 3", st.Reprints)
	}
	if _, err := r.bulk.Reprint(ctx, run.ID, [][2]int64{{41, 50}}, "op"); !errors.Is(err, ErrNotPossible) {
		t.Fatalf("reprint of letters that do not exist: %v", err)
	}
	// Cancel a second run: all its letters end canceled or printed, none left open.
	run2 := r.register(t, "second", 30, time.Time{})
	if _, err := r.bulk.CancelRun(ctx, run2.ID, "op"); err != nil {
		t.Fatal(err)
	}
	st = r.waitRun(t, run2.ID, "cancellation", func(s *RunStatus) bool {
		return s.ByState[job.StateCanceled]+s.ByState[job.StateCompleted] == 30
	})
	if st.State != job.RunCanceled || st.ByState[job.StateCanceled] == 0 {
		t.Fatalf("canceled run: %s %v", st.State, st.ByState)
	}
	// Canceling an upload discards it.
	up, err := r.bulk.CreateRun(ctx, RunRequest{Name: "upload"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.bulk.UploadLetters(ctx, up.ID, 1, bulkLetters(1, 3)); err != nil {
		t.Fatal(err)
	}
	if got, err := r.bulk.CancelRun(ctx, up.ID, "op"); err != nil || got.State != job.RunDiscarded {
		t.Fatalf("cancel upload: %v, %v", got, err)
	}
}

func TestRanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string
		ok   bool
	}{
		{"120-130", "120-130", true},
		{"1, 5-7 ,9", "1, 5-7, 9", true},
		{"7", "7", true},
		{"", "", false},
		{"5-3", "", false},
		{"0", "", false},
		{"a-b", "", false},
	} {
		rs, err := ParseRanges(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRanges(%q): %v", tc.in, err)
			continue
		}
		if tc.ok && FormatRanges(rs) != tc.want {
			t.Errorf("FormatRanges(ParseRanges(%q)) = %q, want %q", tc.in, FormatRanges(rs), tc.want)
		}
	}
}

// A run request without a name is a malformed request (ErrBadRun: the API's 400), not a refusal
// because of some state (ErrNotPossible: 409); nothing is created.
func TestCreateRunWithoutNameIsABadRequest(t *testing.T) {
	t.Parallel()
	r := newBulkRig(t, t.TempDir(), nil)
	ctx := context.Background()
	for _, name := range []string{"", " ", "\t\n"} {
		_, err := r.bulk.CreateRun(ctx, RunRequest{Name: name, Owner: "op"})
		if !errors.Is(err, ErrBadRun) || errors.Is(err, ErrNotPossible) {
			t.Errorf("run named %q: %v, want ErrBadRun", name, err)
		}
	}
	_, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: " ", Owner: "op", Spec: "0 2 * * *", Dir: t.TempDir()})
	if !errors.Is(err, ErrBadRun) {
		t.Errorf("schedule without a name: %v, want ErrBadRun", err)
	}
	if runs, err := r.store.Runs(ctx, job.RunFilter{Limit: 10}); err != nil || len(runs) != 0 {
		t.Errorf("runs after the refusals: %v, %v", runs, err)
	}
}

// A commit sent again (its answer was lost) answers the committed run and registers nothing
// twice; a commit of a canceled run stays refused.
func TestCommitRunAgainIsTheSameRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newBulkRig(t, t.TempDir(), nil)
	run := r.register(t, "again", 5, time.Time{})
	again, err := r.bulk.CommitRun(ctx, run.ID, "mailroom")
	if err != nil {
		t.Fatalf("second commit: %v, want the committed run", err)
	}
	if again.ID != run.ID || again.State != run.State || again.Letters != 5 {
		t.Fatalf("second commit answered run %d %s with %d letters, want run %d %s with 5", again.ID, again.State, again.Letters, run.ID, run.State)
	}
	n := 0
	if err := r.bulk.Manifest(ctx, run.ID, func(job.Letter) error { n++; return nil }); err != nil || n != 5 {
		t.Fatalf("manifest after two commits: %d letters (%v), want 5", n, err)
	}
	if _, err := r.bulk.CancelRun(ctx, run.ID, "mailroom"); err != nil {
		t.Fatal(err)
	}
	var se *job.RunStateError
	if _, err := r.bulk.CommitRun(ctx, run.ID, "mailroom"); !errors.As(err, &se) {
		t.Fatalf("commit of a canceled run: %v, want a RunStateError", err)
	}
}
