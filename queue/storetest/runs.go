// Bulk runs: atomic registration, recovery of uploads that never committed, start times, pause,
// resume, cancel, completion, reprints and the manifest.
package storetest

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// testRunRegistrationIsAtomic: while a run uploads none of its letters can print; batches must
// continue the run exactly; one commit makes every letter schedulable, in sequence order.
func testRunRegistrationIsAtomic(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	r, err := f.s.CreateRun(ctx, job.NewRun{Name: "shielded", VirtualPrinter: "letters", Owner: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunUploading {
		t.Fatalf("new run state %s, want uploading", r.State)
	}
	if _, err := f.s.AddLetters(ctx, r.ID, 1, f.stageLetters(1, 5)); err != nil {
		t.Fatal(err)
	}
	// While uploading, nothing of the run is schedulable.
	if n, err := f.s.CountJobs(ctx, job.JobFilter{States: []job.State{job.StatePending}}); err != nil || n != 0 {
		t.Fatalf("pending jobs while uploading = %d, %v; want 0", n, err)
	}
	if got := f.runLetterStates(r.ID); got[job.StateHeld] != 5 {
		t.Fatalf("letter states while uploading = %v, want 5 held", got)
	}
	// A retried (or skipped) batch is refused with the next expected sequence number.
	for _, first := range []int64{1, 7} {
		batch := f.stageLetters(int(first), 2)
		_, err := f.s.AddLetters(ctx, r.ID, first, batch)
		var se *job.SequenceError
		if !errors.As(err, &se) || se.Want != 6 {
			t.Fatalf("AddLetters(first=%d) = %v, want SequenceError wanting 6", first, err)
		}
		if !errors.Is(err, job.ErrLetterSequence) {
			t.Fatalf("AddLetters(first=%d): errors.Is(ErrLetterSequence) false for %v", first, err)
		}
		discardLetters(batch)
	}
	if _, err := f.s.AddLetters(ctx, r.ID, 6, f.stageLetters(6, 3)); err != nil {
		t.Fatal(err)
	}
	r, err = f.s.CommitRun(ctx, r.ID, job.CommitOptions{Actor: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunActive || r.Letters != 8 {
		t.Fatalf("committed run: state %s letters %d, want active 8", r.State, r.Letters)
	}
	if !r.Committed.Equal(f.clock.Now()) {
		t.Fatalf("committed run: committed at %v, want %v", r.Committed, f.clock.Now())
	}
	wantPages := 0
	for i := 1; i <= 8; i++ {
		wantPages += 1 + i%3
	}
	if r.Pages != wantPages {
		t.Fatalf("run pages %d, want %d", r.Pages, wantPages)
	}
	if got := f.runLetterStates(r.ID); got[job.StatePending] != 8 {
		t.Fatalf("letter states after commit = %v, want 8 pending", got)
	}
	// The letters come out in the scheduler's order: by sequence.
	jobs, err := f.s.Jobs(ctx, job.JobFilter{States: []job.State{job.StatePending}, Order: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := range jobs {
		if j.Seq != int64(i+1) || j.Lane != job.LaneBulk || j.RunID != r.ID || j.Name != fmt.Sprintf("letter-%04d.pdf", i+1) {
			t.Fatalf("pending job %d: seq %d lane %s run %d name %q", i, j.Seq, j.Lane, j.RunID, j.Name)
		}
	}
	// A committed run cannot take more letters or be committed again.
	if _, err := f.s.CommitRun(ctx, r.ID, job.CommitOptions{}); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("second commit: %v, want ErrRunState", err)
	}
	more := f.stageLetters(9, 1)
	if _, err := f.s.AddLetters(ctx, r.ID, 9, more); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("AddLetters to a committed run: %v, want ErrRunState", err)
	}
	discardLetters(more)
}

// testUncommittedRunDiscardedAtRecovery: an upload the gateway died in the middle of is
// discarded by RecoverRuns after the restart: its letters and their documents go, the committed
// run beside it is untouched, and the discarded run takes no more letters.
func testUncommittedRunDiscardedAtRecovery(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	kept := f.registerRun("kept", 3, time.Time{})
	r, err := f.s.CreateRun(ctx, job.NewRun{Name: "half", VirtualPrinter: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddLetters(ctx, r.ID, 1, f.stageLetters(1, 6)); err != nil {
		t.Fatal(err)
	}
	// The gateway dies before the commit.
	f.reopen()
	ids, err := f.s.RecoverRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 || ids[0] != r.ID {
		t.Fatalf("recovered runs %v, want [%d]", ids, r.ID)
	}
	got, err := f.s.Run(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.RunDiscarded {
		t.Fatalf("run state %s, want discarded", got.State)
	}
	if n, _ := f.s.CountJobs(ctx, job.JobFilter{RunID: r.ID}); n != 0 {
		t.Fatalf("%d letters of the discarded run remain", n)
	}
	// Only the kept run's three letters are stored.
	if n := f.documents(); n != 3 {
		t.Fatalf("%d documents stored after the discard, want the kept run's 3", n)
	}
	// The committed run is untouched.
	if n, _ := f.s.CountJobs(ctx, job.JobFilter{RunID: kept.ID, States: []job.State{job.StatePending}}); n != 3 {
		t.Fatalf("committed run has %d pending letters after recovery, want 3", n)
	}
	more := f.stageLetters(7, 1)
	if _, err := f.s.AddLetters(ctx, r.ID, 7, more); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("AddLetters to discarded run: %v, want ErrRunState", err)
	}
	discardLetters(more)
	if again, err := f.s.RecoverRuns(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second RecoverRuns = %v, %v; want nothing", again, err)
	}
}

// testRunDiscard: DiscardRun removes an upload's letters and documents and records why; a
// committed run cannot be discarded, a discarded one not committed; an unknown run is
// ErrRunNotFound.
func testRunDiscard(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	committed := f.registerRun("committed", 2, time.Time{})
	r, err := f.s.CreateRun(ctx, job.NewRun{Name: "abandoned", VirtualPrinter: "letters", Owner: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddLetters(ctx, r.ID, 1, f.stageLetters(1, 4)); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DiscardRun(ctx, r.ID, "client went away"); err != nil {
		t.Fatal(err)
	}
	got, err := f.s.Run(ctx, r.ID)
	if err != nil || got.State != job.RunDiscarded || !got.Finished.Equal(f.clock.Now()) {
		t.Fatalf("discarded run: %+v, %v", got, err)
	}
	if n, _ := f.s.CountJobs(ctx, job.JobFilter{RunID: r.ID}); n != 0 {
		t.Fatalf("%d letters of the discarded run remain", n)
	}
	if n := f.documents(); n != 2 {
		t.Fatalf("%d documents stored, want the committed run's 2", n)
	}
	evs, err := f.s.Events(ctx, job.EventFilter{RunID: r.ID, Kinds: []string{job.EventRun}})
	if err != nil || len(evs) == 0 || evs[0].To != string(job.RunDiscarded) || !strings.Contains(evs[0].Message, "client went away") {
		t.Fatalf("newest run event of the discarded run: %+v, %v; want discarded, saying why", evs, err)
	}
	if _, err := f.s.CommitRun(ctx, r.ID, job.CommitOptions{}); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("commit of a discarded run: %v, want ErrRunState", err)
	}
	if err := f.s.DiscardRun(ctx, committed.ID, "too late"); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("discard of a committed run: %v, want ErrRunState", err)
	}
	if n, _ := f.s.CountJobs(ctx, job.JobFilter{RunID: committed.ID}); n != 2 {
		t.Fatalf("refused discard removed letters: %d left", n)
	}
	if _, err := f.s.Run(ctx, 9999); !errors.Is(err, job.ErrRunNotFound) {
		t.Fatalf("Run(unknown): %v, want ErrRunNotFound", err)
	}
	if _, err := f.s.PauseRun(ctx, 9999, "op"); !errors.Is(err, job.ErrRunNotFound) {
		t.Fatalf("PauseRun(unknown): %v, want ErrRunNotFound", err)
	}
}

// testScheduledRunWaitsForStart: a run committed before its start time keeps its letters held
// (a pause and resume before then leaves it scheduled) until ActivateRun.
func testScheduledRunWaitsForStart(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	r := f.registerRun("night", 5, f.clock.Now().Add(8*time.Hour))
	if r.State != job.RunScheduled || !r.StartAt.Equal(f.clock.Now().Add(8*time.Hour)) {
		t.Fatalf("run state %s start %v, want scheduled", r.State, r.StartAt)
	}
	if got := f.runLetterStates(r.ID); got[job.StateHeld] != 5 {
		t.Fatalf("letters %v, want 5 held", got)
	}
	// Paused and resumed before its time, it is still scheduled.
	if r, _ = f.s.PauseRun(ctx, r.ID, "op"); r.State != job.RunPaused {
		t.Fatalf("after pause: %s", r.State)
	}
	if r, _ = f.s.ResumeRun(ctx, r.ID, "op"); r.State != job.RunScheduled {
		t.Fatalf("after resume before start: %s, want scheduled", r.State)
	}
	if got := f.runLetterStates(r.ID); got[job.StateHeld] != 5 {
		t.Fatalf("letters after resume before start %v, want 5 held", got)
	}
	f.clock.Advance(8 * time.Hour)
	r, err := f.s.ActivateRun(ctx, r.ID, "start time reached")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunActive {
		t.Fatalf("activated run state %s", r.State)
	}
	if got := f.runLetterStates(r.ID); got[job.StatePending] != 5 {
		t.Fatalf("letters %v, want 5 pending", got)
	}
	if _, err := f.s.ActivateRun(ctx, r.ID, "again"); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("activating an active run: %v, want ErrRunState", err)
	}
}

// testRunPauseResumeCancelFinish: a pause holds the pending letters (not those at a printer), a
// letter requeued during the pause is held again, a resume releases what the pause held (not
// what an operator held by hand), a cancel cancels what no printer holds and reports the rest,
// and a run with open letters does not finish.
func testRunPauseResumeCancelFinish(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	r := f.registerRun("mailing", 10, time.Time{})
	ls, err := f.s.RunLetters(ctx, r.ID, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Letter 1 printed, letter 2 at a printer, letter 3 held by hand.
	f.printLetter(ls[0].JobID, "a")
	a := "a"
	if err := f.s.Transition(ctx, ls[1].JobID, job.StateAssigned, job.Change{Printer: &a}); err != nil {
		t.Fatal(err)
	}
	if err := f.s.Transition(ctx, ls[2].JobID, job.StateHeld, job.Change{Reason: "job-hold-until-specified"}); err != nil {
		t.Fatal(err)
	}
	r, err = f.s.PauseRun(ctx, r.ID, "op")
	if err != nil || r.State != job.RunPaused {
		t.Fatalf("pause: %v %v", r, err)
	}
	if got := f.runLetterStates(r.ID); got[job.StateHeld] != 8 || got[job.StateAssigned] != 1 || got[job.StateCompleted] != 1 {
		t.Fatalf("after pause %v, want 8 held, 1 assigned, 1 completed", got)
	}
	// A letter in flight at the pause that comes back (failover) is held again.
	if err := f.s.Transition(ctx, ls[1].JobID, job.StatePending, job.Change{}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.HoldPausedRuns(ctx); err != nil || n != 1 {
		t.Fatalf("HoldPausedRuns = %d, %v; want 1", n, err)
	}
	r, err = f.s.ResumeRun(ctx, r.ID, "op")
	if err != nil || r.State != job.RunActive {
		t.Fatalf("resume: %v %v", r, err)
	}
	got := f.runLetterStates(r.ID)
	if got[job.StatePending] != 8 || got[job.StateHeld] != 1 {
		t.Fatalf("after resume %v, want 8 pending and the hand-held letter still held", got)
	}
	// Finishing: nothing while letters are open.
	if done, err := f.s.FinishRuns(ctx); err != nil || len(done) != 0 {
		t.Fatalf("FinishRuns with open letters = %v, %v", done, err)
	}
	if err := f.s.Transition(ctx, ls[3].JobID, job.StateAssigned, job.Change{Printer: &a}); err != nil {
		t.Fatal(err)
	}
	r, inflight, err := f.s.CancelRun(ctx, r.ID, "op")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunCanceled || len(inflight) != 1 || inflight[0] != ls[3].JobID {
		t.Fatalf("cancel: state %s inflight %v, want canceled [%d]", r.State, inflight, ls[3].JobID)
	}
	got = f.runLetterStates(r.ID)
	if got[job.StateCanceled] != 8 || got[job.StateCompleted] != 1 || got[job.StateAssigned] != 1 {
		t.Fatalf("after cancel %v", got)
	}
	if _, err := f.s.PauseRun(ctx, r.ID, "op"); !errors.Is(err, job.ErrRunState) {
		t.Fatalf("pause canceled run: %v, want ErrRunState", err)
	}
	var rse *job.RunStateError
	if _, err := f.s.ResumeRun(ctx, r.ID, "op"); !errors.As(err, &rse) || rse.RunID != r.ID || rse.State != job.RunCanceled {
		t.Fatalf("resume canceled run: %v, want *RunStateError for run %d canceled", err, r.ID)
	}
}

// testRunCompletesAndReprints: a run whose letters all printed completes (another run does
// not); reprints of chosen letters are new letter jobs of the same run, listed in the manifest
// right after their originals; tallies count letters per printer.
func testRunCompletesAndReprints(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	r := f.registerRun("mailing", 6, time.Time{})
	other := f.registerRun("other", 2, time.Time{})
	ls, err := f.s.RunLetters(ctx, r.ID, 0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range ls {
		f.printLetter(l.JobID, []string{"a", "b"}[i%2])
	}
	done, err := f.s.FinishRuns(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0].ID != r.ID || done[0].State != job.RunCompleted {
		t.Fatalf("FinishRuns = %v, want run %d completed", done, r.ID)
	}
	if o, _ := f.s.Run(ctx, other.ID); o.State != job.RunActive {
		t.Fatalf("other run %s, want active", o.State)
	}
	originals, err := f.s.LetterJobs(ctx, r.ID, [][2]int64{{2, 3}, {6, 9}}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(originals) != 3 || originals[0].Seq != 2 || originals[1].Seq != 3 || originals[2].Seq != 6 {
		t.Fatalf("LetterJobs = %d letters", len(originals))
	}
	var rps []job.Reprint
	for _, j := range originals {
		rd, err := f.s.OpenDocument(ctx, j.Documents[0])
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.s.Stage(ctx, rd, j.Documents[0].Name, j.Documents[0].Format)
		rd.Close()
		if err != nil {
			t.Fatal(err)
		}
		if st.SHA256 != j.Documents[0].SHA256 {
			t.Fatalf("reprint copy hash differs")
		}
		rps = append(rps, job.Reprint{Of: j.ID, Seq: j.Seq, NewLetter: job.NewLetter{Source: j.Name, Doc: st}})
	}
	jobs, err := f.s.AddReprints(ctx, r.ID, rps, "op")
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
	if rr, _ := f.s.Run(ctx, r.ID); rr.State != job.RunActive || rr.Letters != 6 {
		t.Fatalf("run after reprint: %s with %d letters, want active with 6", rr.State, rr.Letters)
	}
	// The manifest pages in sequence order, each reprint right after its original.
	var all []job.Letter
	var afterSeq, afterID int64
	for {
		page, err := f.s.RunLetters(ctx, r.ID, afterSeq, afterID, 2)
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
	tallies, err := f.s.RunTallies(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	perPrinter := map[string]int{}
	reprints := 0
	for _, tl := range tallies {
		if tl.State == job.StateCompleted {
			perPrinter[tl.Printer] += tl.Letters
		}
		if tl.Reprint {
			reprints += tl.Letters
		}
	}
	if perPrinter["a"] != 3 || perPrinter["b"] != 3 {
		t.Fatalf("completed per printer %v, want a:3 b:3", perPrinter)
	}
	if reprints != 3 {
		t.Fatalf("%d reprints tallied, want 3", reprints)
	}
}

// testStaleUploads: an upload whose last batch is older than the idle limit is stale; a run
// without letters cannot commit.
func testStaleUploads(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	r, err := f.s.CreateRun(ctx, job.NewRun{Name: "slow", VirtualPrinter: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	if stale, _ := f.s.StaleUploads(ctx, f.clock.Now().Add(-time.Minute)); len(stale) != 0 {
		t.Fatalf("fresh upload reported stale")
	}
	f.clock.Advance(2 * time.Hour)
	stale, err := f.s.StaleUploads(ctx, f.clock.Now().Add(-time.Hour))
	if err != nil || len(stale) != 1 || stale[0].ID != r.ID {
		t.Fatalf("StaleUploads = %v, %v", stale, err)
	}
	if _, err := f.s.CommitRun(ctx, r.ID, job.CommitOptions{}); !errors.Is(err, job.ErrEmptyRun) {
		t.Fatalf("commit of empty run: %v, want ErrEmptyRun", err)
	}
}

// testRunsList: Runs lists newest first and filters by state, schedule, id and count.
func testRunsList(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	sc, err := f.s.CreateSchedule(ctx, job.Schedule{Name: "nightly", VirtualPrinter: "letters", Owner: "op", Spec: "0 2 * * *", Dir: "/srv/drop"})
	if err != nil {
		t.Fatal(err)
	}
	uploading, err := f.s.CreateRun(ctx, job.NewRun{Name: "uploading", VirtualPrinter: "letters"})
	if err != nil {
		t.Fatal(err)
	}
	active := f.registerRun("active", 1, time.Time{})
	scheduled := f.registerRun("scheduled", 1, f.clock.Now().Add(time.Hour))
	fromSchedule, err := f.s.CreateRun(ctx, job.NewRun{Name: "nightly", VirtualPrinter: "letters", ScheduleID: sc.ID,
		Attributes: job.Attributes{Copies: 2}, Separator: true, Source: "/srv/drop"})
	if err != nil {
		t.Fatal(err)
	}
	if fromSchedule.ScheduleID != sc.ID || fromSchedule.Attributes.Copies != 2 || !fromSchedule.Separator || fromSchedule.Source != "/srv/drop" {
		t.Fatalf("run made by a schedule: %+v", fromSchedule)
	}
	runIDs := func(rf job.RunFilter) []int64 {
		t.Helper()
		rs, err := f.s.Runs(ctx, rf)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		rf   job.RunFilter
		want []int64
	}{
		{"all, newest first", job.RunFilter{}, []int64{fromSchedule.ID, scheduled.ID, active.ID, uploading.ID}},
		{"uploading", job.RunFilter{States: []job.RunState{job.RunUploading}}, []int64{fromSchedule.ID, uploading.ID}},
		{"active or scheduled", job.RunFilter{States: []job.RunState{job.RunActive, job.RunScheduled}}, []int64{scheduled.ID, active.ID}},
		{"by schedule", job.RunFilter{ScheduleID: sc.ID}, []int64{fromSchedule.ID}},
		{"before", job.RunFilter{BeforeID: scheduled.ID}, []int64{active.ID, uploading.ID}},
		{"limit", job.RunFilter{Limit: 2}, []int64{fromSchedule.ID, scheduled.ID}},
	} {
		if got := runIDs(tc.rf); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: runs %v, want %v", tc.name, got, tc.want)
		}
	}
}
