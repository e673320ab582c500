package spool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
)

func openRunStore(t *testing.T, dir string, clock *fakeclock.Clock) *Store {
	t.Helper()
	opts := Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		PageCounter: func(rs io.ReadSeeker, _ int64, _ string) (int, bool) {
			// "pages=N" inside the test document says how many pages it has.
			b, err := io.ReadAll(rs)
			if err != nil {
				return 1, true
			}
			var n int
			if i := strings.Index(string(b), "pages="); i >= 0 {
				fmt.Sscanf(string(b[i:]), "pages=%d", &n)
			}
			return max(n, 1), n == 0
		}}
	if clock != nil {
		opts.Now = clock.Now
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stageLetters stages n letters numbered from first, with 1-3 pages each.
func stageLetters(t *testing.T, s *Store, first, n int) []job.NewLetter {
	t.Helper()
	out := make([]job.NewLetter, 0, n)
	for i := first; i < first+n; i++ {
		body := fmt.Sprintf("%%PDF-1.4 letter %d pages=%d", i, 1+i%3)
		st, err := s.Stage(context.Background(), strings.NewReader(body), fmt.Sprintf("letter-%04d.pdf", i), "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, job.NewLetter{Source: st.Name, Doc: st})
	}
	return out
}

func runLetterStates(t *testing.T, s *Store, runID int64) map[job.State]int {
	t.Helper()
	out := map[job.State]int{}
	ls, err := s.RunLetters(context.Background(), runID, 0, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		out[l.State]++
	}
	return out
}

// registerRun creates, fills (in batches of 4) and commits a run of n letters.
func registerRun(t *testing.T, s *Store, name string, n int, startAt time.Time) *job.Run {
	t.Helper()
	ctx := context.Background()
	r, err := s.CreateRun(ctx, job.NewRun{Name: name, VirtualPrinter: "letters", Owner: "mailroom", StartAt: startAt})
	if err != nil {
		t.Fatal(err)
	}
	for first := 1; first <= n; first += 4 {
		if _, err := s.AddLetters(ctx, r.ID, int64(first), stageLetters(t, s, first, min(4, n-first+1))); err != nil {
			t.Fatal(err)
		}
	}
	r, err = s.CommitRun(ctx, r.ID, job.CommitOptions{Actor: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunRegistrationIsAtomic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openRunStore(t, t.TempDir(), nil)
	r, err := s.CreateRun(ctx, job.NewRun{Name: "shielded", VirtualPrinter: "letters", Owner: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunUploading {
		t.Fatalf("new run state %s, want uploading", r.State)
	}
	if _, err := s.AddLetters(ctx, r.ID, 1, stageLetters(t, s, 1, 5)); err != nil {
		t.Fatal(err)
	}
	// While uploading, nothing of the run is schedulable.
	if n, err := s.CountJobs(ctx, job.JobFilter{States: []job.State{job.StatePending}}); err != nil || n != 0 {
		t.Fatalf("pending jobs while uploading = %d, %v; want 0", n, err)
	}
	if got := runLetterStates(t, s, r.ID); got[job.StateHeld] != 5 {
		t.Fatalf("letter states while uploading = %v, want 5 held", got)
	}
	// A retried (or skipped) batch is refused with the next expected sequence number.
	for _, first := range []int64{1, 7} {
		batch := stageLetters(t, s, int(first), 2)
		_, err := s.AddLetters(ctx, r.ID, first, batch)
		var se *job.SequenceError
		if !errors.As(err, &se) || se.Want != 6 {
			t.Fatalf("AddLetters(first=%d) = %v, want SequenceError wanting 6", first, err)
		}
		for _, l := range batch {
			l.Doc.Discard()
		}
	}
	if _, err := s.AddLetters(ctx, r.ID, 6, stageLetters(t, s, 6, 3)); err != nil {
		t.Fatal(err)
	}
	r, err = s.CommitRun(ctx, r.ID, job.CommitOptions{Actor: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunActive || r.Letters != 8 {
		t.Fatalf("committed run: state %s letters %d, want active 8", r.State, r.Letters)
	}
	wantPages := 0
	for i := 1; i <= 8; i++ {
		wantPages += 1 + i%3
	}
	if r.Pages != wantPages {
		t.Fatalf("run pages %d, want %d", r.Pages, wantPages)
	}
	if got := runLetterStates(t, s, r.ID); got[job.StatePending] != 8 {
		t.Fatalf("letter states after commit = %v, want 8 pending", got)
	}
	// The letters come out in the scheduler's order: by sequence.
	jobs, err := s.Jobs(ctx, job.JobFilter{States: []job.State{job.StatePending}, Order: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs {
		if j.Seq != int64(i+1) || j.Lane != job.LaneBulk || j.RunID != r.ID || j.Name != fmt.Sprintf("letter-%04d.pdf", i+1) {
			t.Fatalf("pending job %d: seq %d lane %s run %d name %q", i, j.Seq, j.Lane, j.RunID, j.Name)
		}
	}
	// A committed run cannot take more letters or be committed again.
	if _, err := s.CommitRun(ctx, r.ID, job.CommitOptions{}); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("second commit: %v, want ErrRunState", err)
	}
}

func TestUncommittedRunIsDiscardedAtRecovery(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name      string
		inlineMax int64
	}{{"letters in files", -1}, {"letters inline", 0}} {
		t.Run(mode.name, func(t *testing.T) { testUncommittedRunDiscarded(t, mode.inlineMax) })
	}
}

func testUncommittedRunDiscarded(t *testing.T, inlineMax int64) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openRunStore(t, dir, nil)
	if inlineMax != 0 {
		s.opts.InlineMaxBytes = inlineMax // read at each Stage; nothing is staged yet
	}
	kept := registerRun(t, s, "kept", 3, time.Time{})
	r, err := s.CreateRun(ctx, job.NewRun{Name: "half", VirtualPrinter: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	letters := stageLetters(t, s, 1, 6)
	if _, err := s.AddLetters(ctx, r.ID, 1, letters); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, l := range letters {
		if l.Doc.Inline() != (inlineMax == 0) {
			t.Fatalf("letter staged inline=%v with InlineMaxBytes %d", l.Doc.Inline(), inlineMax)
		}
		if heldOf(l.Doc).abs != "" {
			paths = append(paths, heldOf(l.Doc).abs)
		}
	}
	// The gateway dies before the commit.
	s.Close()
	s = openRunStore(t, dir, nil)
	ids, err := s.RecoverRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("recovered runs %v, want [%d]", ids, r.ID)
	}
	got, err := s.Run(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.RunDiscarded {
		t.Fatalf("run state %s, want discarded", got.State)
	}
	if n, _ := s.CountJobs(ctx, job.JobFilter{RunID: r.ID}); n != 0 {
		t.Fatalf("%d letters of the discarded run remain", n)
	}
	for _, p := range paths {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("document %s of the discarded run still exists (%v)", p, err)
		}
	}
	var held int
	if err := s.rdb.QueryRow(`SELECT count(*) FROM document_bytes`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	// Only the kept run's three letters, and only when they are inline.
	if want := map[bool]int{true: 3, false: 0}[inlineMax == 0]; held != want {
		t.Fatalf("%d inline documents in the database after the discard, want %d", held, want)
	}
	// The committed run is untouched.
	if n, _ := s.CountJobs(ctx, job.JobFilter{RunID: kept.ID, States: []job.State{job.StatePending}}); n != 3 {
		t.Fatalf("committed run has %d pending letters after recovery, want 3", n)
	}
	if _, err := s.AddLetters(ctx, r.ID, 7, stageLetters(t, s, 7, 1)); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("AddLetters to discarded run: %v, want ErrRunState", err)
	}
}

func TestScheduledRunWaitsForStart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 11, 30, 18, 0, 0, 0, time.UTC))
	s := openRunStore(t, t.TempDir(), clock)
	r := registerRun(t, s, "night", 5, clock.Now().Add(8*time.Hour))
	if r.State != job.RunScheduled {
		t.Fatalf("run state %s, want scheduled", r.State)
	}
	if got := runLetterStates(t, s, r.ID); got[job.StateHeld] != 5 {
		t.Fatalf("letters %v, want 5 held", got)
	}
	// Paused and resumed before its time, it is still scheduled.
	if r, _ = s.PauseRun(ctx, r.ID, "op"); r.State != job.RunPaused {
		t.Fatalf("after pause: %s", r.State)
	}
	if r, _ = s.ResumeRun(ctx, r.ID, "op"); r.State != job.RunScheduled {
		t.Fatalf("after resume before start: %s, want scheduled", r.State)
	}
	clock.Advance(8 * time.Hour)
	r, err := s.ActivateRun(ctx, r.ID, "start time reached")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunActive {
		t.Fatalf("activated run state %s", r.State)
	}
	if got := runLetterStates(t, s, r.ID); got[job.StatePending] != 5 {
		t.Fatalf("letters %v, want 5 pending", got)
	}
}

// printLetter walks a letter through the scheduler's states to completed at printer.
func printLetter(t *testing.T, s *Store, id int64, printer string) {
	t.Helper()
	ctx := context.Background()
	for _, st := range []job.State{job.StateAssigned, job.StateSending, job.StatePrinting, job.StateCompleted} {
		c := job.Change{}
		if st == job.StateAssigned {
			c.Printer = &printer
		}
		if st == job.StatePrinting {
			up := fmt.Sprintf("up-%d", id)
			c.UpstreamID = &up
		}
		if err := s.Transition(ctx, id, st, c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRunPauseResumeCancelFinish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openRunStore(t, t.TempDir(), nil)
	r := registerRun(t, s, "mailing", 10, time.Time{})
	ls, err := s.RunLetters(ctx, r.ID, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Letter 1 printed, letter 2 at a printer, letter 3 held by hand.
	printLetter(t, s, ls[0].JobID, "a")
	a := "a"
	if err := s.Transition(ctx, ls[1].JobID, job.StateAssigned, job.Change{Printer: &a}); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(ctx, ls[2].JobID, job.StateHeld, job.Change{Reason: "job-hold-until-specified"}); err != nil {
		t.Fatal(err)
	}
	r, err = s.PauseRun(ctx, r.ID, "op")
	if err != nil || r.State != job.RunPaused {
		t.Fatalf("pause: %v %v", r, err)
	}
	if got := runLetterStates(t, s, r.ID); got[job.StateHeld] != 8 || got[job.StateAssigned] != 1 || got[job.StateCompleted] != 1 {
		t.Fatalf("after pause %v, want 8 held, 1 assigned, 1 completed", got)
	}
	// A letter in flight at the pause that comes back (failover) is held again.
	if err := s.Transition(ctx, ls[1].JobID, job.StatePending, job.Change{}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.HoldPausedRuns(ctx); err != nil || n != 1 {
		t.Fatalf("HoldPausedRuns = %d, %v; want 1", n, err)
	}
	r, err = s.ResumeRun(ctx, r.ID, "op")
	if err != nil || r.State != job.RunActive {
		t.Fatalf("resume: %v %v", r, err)
	}
	got := runLetterStates(t, s, r.ID)
	if got[job.StatePending] != 8 || got[job.StateHeld] != 1 {
		t.Fatalf("after resume %v, want 8 pending and the hand-held letter still held", got)
	}
	// Finishing: nothing while letters are open.
	if done, err := s.FinishRuns(ctx); err != nil || len(done) != 0 {
		t.Fatalf("FinishRuns with open letters = %v, %v", done, err)
	}
	if err := s.Transition(ctx, ls[3].JobID, job.StateAssigned, job.Change{Printer: &a}); err != nil {
		t.Fatal(err)
	}
	r, inflight, err := s.CancelRun(ctx, r.ID, "op")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunCanceled || len(inflight) != 1 || inflight[0] != ls[3].JobID {
		t.Fatalf("cancel: state %s inflight %v, want canceled [%d]", r.State, inflight, ls[3].JobID)
	}
	got = runLetterStates(t, s, r.ID)
	if got[job.StateCanceled] != 8 || got[job.StateCompleted] != 1 || got[job.StateAssigned] != 1 {
		t.Fatalf("after cancel %v", got)
	}
	if _, err := s.PauseRun(ctx, r.ID, "op"); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("pause canceled run: %v, want ErrRunState", err)
	}
}

func TestRunCompletesAndReprints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openRunStore(t, t.TempDir(), nil)
	r := registerRun(t, s, "mailing", 6, time.Time{})
	other := registerRun(t, s, "other", 2, time.Time{})
	ls, err := s.RunLetters(ctx, r.ID, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		printLetter(t, s, l.JobID, []string{"a", "b"}[i%2])
	}
	done, err := s.FinishRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].ID != r.ID || done[0].State != job.RunCompleted {
		t.Fatalf("FinishRuns = %v, want run %d completed", done, r.ID)
	}
	if o, _ := s.Run(ctx, other.ID); o.State != job.RunActive {
		t.Fatalf("other run %s, want active", o.State)
	}
	originals, err := s.LetterJobs(ctx, r.ID, [][2]int64{{2, 3}, {6, 9}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(originals) != 3 || originals[0].Seq != 2 || originals[1].Seq != 3 || originals[2].Seq != 6 {
		t.Fatalf("LetterJobs = %d letters", len(originals))
	}
	var rps []job.Reprint
	for _, j := range originals {
		f, err := s.OpenDocument(ctx, j.Documents[0])
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stage(ctx, f, j.Documents[0].Name, j.Documents[0].Format)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.SHA256 != j.Documents[0].SHA256 {
			t.Fatalf("reprint copy hash differs")
		}
		rps = append(rps, job.Reprint{Of: j.ID, Seq: j.Seq, NewLetter: job.NewLetter{Source: j.Name, Doc: st}})
	}
	jobs, err := s.AddReprints(ctx, r.ID, rps, "op")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("reprint jobs %d", len(jobs))
	}
	for i, j := range jobs {
		if j.Origin != job.OriginBulkReprint || j.Seq != originals[i].Seq || j.State != job.StatePending || j.RunID != r.ID {
			t.Fatalf("reprint job %+v", j)
		}
	}
	if rr, _ := s.Run(ctx, r.ID); rr.State != job.RunActive || rr.Letters != 6 {
		t.Fatalf("run after reprint: %s with %d letters, want active with 6", rr.State, rr.Letters)
	}
	// The manifest pages in sequence order, each reprint right after its original.
	var all []job.Letter
	var afterSeq, afterID int64
	for {
		page, err := s.RunLetters(ctx, r.ID, afterSeq, afterID, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		afterSeq, afterID = page[len(page)-1].Seq, page[len(page)-1].JobID
	}
	var order []string
	for _, l := range all {
		tag := fmt.Sprint(l.Seq)
		if l.Reprint {
			tag += "r"
		}
		order = append(order, tag)
	}
	if got, want := strings.Join(order, ","), "1,2,2r,3,3r,4,5,6,6r"; got != want {
		t.Fatalf("manifest order %s, want %s", got, want)
	}
	for _, l := range all {
		if !l.Reprint && (l.Printer == "" || l.UpstreamID == "" || l.SHA256 == "" || l.Finished.IsZero()) {
			t.Fatalf("manifest line incomplete: %+v", l)
		}
	}
	tallies, err := s.RunTallies(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	perPrinter := map[string]int{}
	for _, tl := range tallies {
		if tl.State == job.StateCompleted {
			perPrinter[tl.Printer] += tl.Letters
		}
	}
	if perPrinter["a"] != 3 || perPrinter["b"] != 3 {
		t.Fatalf("completed per printer %v, want a:3 b:3", perPrinter)
	}
}

func TestSchedulesPersistAndRememberContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC))
	s := openRunStore(t, dir, clock)
	sc, err := s.CreateSchedule(ctx, job.Schedule{Name: "nightly", VirtualPrinter: "letters", Owner: "op",
		Spec: "0 2 * * 1-5", Dir: "/srv/drop"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(ctx, job.NewRun{Name: "nightly", VirtualPrinter: "letters", ScheduleID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	letters := stageLetters(t, s, 1, 3)
	if _, err := s.AddLetters(ctx, r.ID, 1, letters); err != nil {
		t.Fatal(err)
	}
	fired := clock.Now().Add(time.Hour)
	if _, err := s.CommitRun(ctx, r.ID, job.CommitOptions{Fired: fired}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openRunStore(t, dir, clock)
	list, err := s.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Spec != "0 2 * * 1-5" || !list[0].LastFired.Equal(fired) {
		t.Fatalf("schedules after reopen: %+v", list)
	}
	seen, err := s.SeenByContent(ctx, sc.ID, []string{letters[0].Doc.SHA256, letters[2].Doc.SHA256, "feed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[letters[0].Doc.SHA256] != r.ID {
		t.Fatalf("seen = %v", seen)
	}
	if err := s.DeleteSchedule(ctx, sc.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(ctx, sc.ID); !errors.Is(err, job.ErrScheduleNotFound) {
		t.Fatalf("deleted schedule: %v", err)
	}
	if err := s.DeleteSchedule(ctx, sc.ID, "op"); !errors.Is(err, job.ErrScheduleNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
}

func TestStaleUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC))
	s := openRunStore(t, t.TempDir(), clock)
	r, err := s.CreateRun(ctx, job.NewRun{Name: "slow", VirtualPrinter: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	if stale, _ := s.StaleUploads(ctx, clock.Now().Add(-time.Minute)); len(stale) != 0 {
		t.Fatalf("fresh upload reported stale")
	}
	clock.Advance(2 * time.Hour)
	stale, err := s.StaleUploads(ctx, clock.Now().Add(-time.Hour))
	if err != nil || len(stale) != 1 || stale[0].ID != r.ID {
		t.Fatalf("StaleUploads = %v, %v", stale, err)
	}
	if _, err := s.CommitRun(ctx, r.ID, job.CommitOptions{}); !errors.Is(err, job.ErrEmptyRun) {
		t.Fatalf("commit of empty run: %v, want ErrEmptyRun", err)
	}
}
