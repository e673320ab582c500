package queue

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
)

// dropLetter writes a distinct letter into a drop folder, dated well in the past so that it
// is not "still being written".
func dropLetter(t *testing.T, dir, name, label string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, bulkPDF(label, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
}

func scheduleRuns(t *testing.T, r *bulkRig, scheduleID int64) []*job.Run {
	t.Helper()
	runs, err := r.store.Runs(context.Background(), job.RunFilter{ScheduleID: scheduleID})
	if err != nil {
		t.Fatal(err)
	}
	return runs
}

func runSources(t *testing.T, r *bulkRig, id int64) []string {
	t.Helper()
	var out []string
	if err := r.bulk.Manifest(context.Background(), id, func(l job.Letter) error {
		out = append(out, l.Source)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestScheduleFiresOnTimeOnceLateAndPrintsEachLetterOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spoolDir, drop := t.TempDir(), t.TempDir()
	day := func(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, time.Local) }
	clock := fakeclock.New(day(1, 1, 0)) // Tuesday 1 December 2026, 01:00
	r := newBulkRig(t, spoolDir, clock)
	for i, name := range []string{"b.pdf", "a.pdf", "c.PDF"} {
		dropLetter(t, drop, name, fmt.Sprintf("first %d", i))
	}
	// Not letters: a text file, a hidden file, a folder.
	os.WriteFile(filepath.Join(drop, "notes.txt"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(drop, ".partial.pdf"), bulkPDF("hidden", 1), 0o644)
	os.Mkdir(filepath.Join(drop, "sub.pdf"), 0o755)

	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "nightly", Owner: "mailroom", Spec: "0 2 * * 1-5", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	if want := day(1, 2, 0); !sc.Next.Equal(want) {
		t.Fatalf("next firing %v, want %v", sc.Next, want)
	}
	// 01:30: not due.
	if next := r.bulk.fireDue(ctx, day(1, 1, 30), false); !next.Equal(day(1, 2, 0)) {
		t.Fatalf("fireDue at 01:30 says next %v", next)
	}
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 0 {
		t.Fatalf("%d runs before the first firing", len(runs))
	}
	// 02:00 on time: one run with the three letters, in name order.
	if next := r.bulk.fireDue(ctx, day(1, 2, 0), false); !next.Equal(day(2, 2, 0)) {
		t.Fatalf("after the 02:00 firing next is %v, want Wednesday 02:00", next)
	}
	runs := scheduleRuns(t, r, sc.ID)
	if len(runs) != 1 || runs[0].Letters != 3 || runs[0].State != job.RunActive {
		t.Fatalf("runs after the first firing: %+v", runs)
	}
	if got := strings.Join(runSources(t, r, runs[0].ID), ","); got != "a.pdf,b.pdf,c.PDF" {
		t.Fatalf("letters %s, want a.pdf,b.pdf,c.PDF", got)
	}
	// The letters stay in the folder and one more arrives; the gateway is down from Tuesday
	// 03:00 to Thursday 09:00, missing two firings.
	dropLetter(t, drop, "d.pdf", "second")
	r.store.Close()
	clock.Set(day(3, 9, 0))
	r = newBulkRig(t, spoolDir, clock)
	list, err := r.bulk.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != sc.ID || list[0].Spec != "0 2 * * 1-5" || !list[0].Next.Equal(day(2, 2, 0)) {
		t.Fatalf("schedules after restart: %+v", list)
	}
	// At start the missed firing happens once, late, with only the new letter.
	next := r.bulk.fireDue(ctx, clock.Now(), true)
	if !next.Equal(day(4, 2, 0)) {
		t.Fatalf("after the late firing next is %v, want Friday 02:00", next)
	}
	runs = scheduleRuns(t, r, sc.ID)
	if len(runs) != 2 || runs[0].Letters != 1 {
		t.Fatalf("runs after the late firing: %d (newest with %d letters), want 2 (newest with 1)", len(runs), runs[0].Letters)
	}
	if got := runSources(t, r, runs[0].ID); len(got) != 1 || got[0] != "d.pdf" {
		t.Fatalf("late run letters %v, want [d.pdf]", got)
	}
	evs, err := r.store.Events(ctx, job.EventFilter{Kinds: []string{job.EventSchedule}})
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, e := range evs {
		if strings.Contains(e.Message, "fired late") {
			late++
		}
	}
	if late != 1 {
		t.Fatalf("%d 'fired late' events, want exactly 1: %v", late, evs)
	}
	// Later the same day nothing more fires; Friday 02:00 fires with nothing new.
	r.bulk.fireDue(ctx, day(3, 9, 30), false)
	r.bulk.fireDue(ctx, day(4, 2, 0), false)
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 2 {
		t.Fatalf("%d runs, want still 2 (nothing new in the folder)", len(runs))
	}
	evs, _ = r.store.Events(ctx, job.EventFilter{Kinds: []string{job.EventSchedule}, Limit: 1})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "no new letters") {
		t.Fatalf("last schedule event %v, want 'no new letters'", evs)
	}
	// Deleted, it fires no more.
	if err := r.bulk.DeleteSchedule(ctx, sc.ID, "op"); err != nil {
		t.Fatal(err)
	}
	dropLetter(t, drop, "e.pdf", "third")
	if next := r.bulk.fireDue(ctx, day(7, 2, 0), false); !next.IsZero() {
		t.Fatalf("deleted schedule still has a next firing %v", next)
	}
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 2 {
		t.Fatalf("deleted schedule made a run")
	}
}

func TestScheduleSkipsUnreadableAndFreshFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.Local))
	r := newBulkRig(t, t.TempDir(), clock)
	r.bulk.opts.Settle = time.Minute
	dropLetter(t, drop, "good.pdf", "good")
	os.WriteFile(filepath.Join(drop, "fresh.pdf"), bulkPDF("fresh", 1), 0o644) // mtime now
	broken := filepath.Join(drop, "broken.pdf")
	os.WriteFile(broken, []byte("%PDF-1.4 cut short"), 0o644)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(broken, old, old)
	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "drop", Spec: "*/10 * * * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	r.bulk.fireDue(ctx, clock.Now().Add(10*time.Second), false)
	runs := scheduleRuns(t, r, sc.ID)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	if got := runSources(t, r, runs[0].ID); len(got) != 1 || got[0] != "good.pdf" {
		t.Fatalf("letters %v, want [good.pdf]", got)
	}
	evs, _ := r.store.Events(ctx, job.EventFilter{Kinds: []string{job.EventSchedule}, Limit: 1})
	if len(evs) != 1 || !strings.Contains(evs[0].Message, "fresh.pdf (still being written)") ||
		!strings.Contains(evs[0].Message, "broken.pdf (not a readable PDF)") {
		t.Fatalf("schedule event %v does not say what was left for later", evs)
	}
	// Once settled, the fresh file comes with the next firing.
	r.bulk.opts.Settle = -1
	r.bulk.fireDue(ctx, clock.Now().Add(20*time.Second), false)
	runs = scheduleRuns(t, r, sc.ID)
	if len(runs) != 2 {
		t.Fatalf("%d runs, want 2", len(runs))
	}
	if got := runSources(t, r, runs[0].ID); len(got) != 1 || got[0] != "fresh.pdf" {
		t.Fatalf("second run letters %v, want [fresh.pdf]", got)
	}
}

func TestScheduleRefusesBadSpecOrFolder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := newBulkRig(t, t.TempDir(), nil)
	drop := t.TempDir()
	for _, rq := range []ScheduleRequest{
		{Name: "x", Spec: "every night", Dir: drop},
		{Name: "x", Spec: "0 2 * * 1-5", Dir: "relative/path"},
		{Name: "x", Spec: "0 2 * * 1-5", Dir: filepath.Join(drop, "missing")},
	} {
		if _, err := r.bulk.CreateSchedule(ctx, rq); !errors.Is(err, ErrBadSchedule) {
			t.Errorf("CreateSchedule(%q, %q) = %v, want ErrBadSchedule", rq.Spec, rq.Dir, err)
		}
	}
	if _, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "x", Printer: "nope", Spec: "@daily", Dir: drop}); !errors.Is(err, ErrUnknownPrinter) {
		t.Errorf("unknown printer: %v", err)
	}
}

func TestScheduleLoopFiresOnASecondsSpec(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	r := newBulkRig(t, t.TempDir(), nil)
	dropLetter(t, drop, "one.pdf", "loop one")
	changes, stop := r.sched.Subscribe()
	defer stop()
	r.start(t)
	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "every second", Spec: "* * * * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for {
		// The run's row exists from its creation, with no letters, until the upload commits:
		// look at it once it has.
		if runs := scheduleRuns(t, r, sc.ID); len(runs) == 1 && runs[0].State != job.RunUploading {
			if runs[0].Letters != 1 {
				t.Fatalf("run with %d letters, want 1", runs[0].Letters)
			}
			break
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatal("the schedule did not fire within 20 s")
		}
	}
	// The letter stays in the folder: later firings make no new run.
	dropLetter(t, drop, "two.pdf", "loop two")
	for {
		runs := scheduleRuns(t, r, sc.ID)
		if len(runs) == 2 {
			if got := runSources(t, r, runs[0].ID); len(got) != 1 || got[0] != "two.pdf" {
				t.Fatalf("second run letters %v, want [two.pdf]", got)
			}
			break
		}
		select {
		case <-changes:
		case <-deadline:
			t.Fatal("the second letter was not picked up within 20 s")
		}
	}
}

// failFiredCommit is a store whose commit of a schedule's firing fails (the database went away
// mid-firing, the gateway is stopping).
type failFiredCommit struct{ Store }

func (f failFiredCommit) CommitRun(ctx context.Context, id int64, o job.CommitOptions) (*job.Run, error) {
	if !o.Fired.IsZero() {
		return nil, errors.New("connection lost")
	}
	return f.Store.CommitRun(ctx, id, o)
}

// A firing whose commit fails discards its run and records the firing handled; it panicked
// (the failed commit's nil run was used for its id), killing the gateway.
func TestScheduleFiringWhoseCommitFailsDiscardsItsRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.Local))
	r := newBulkRig(t, t.TempDir(), clock)
	r.bulk.store = failFiredCommit{r.bulk.store}
	dropLetter(t, drop, "a.pdf", "one")
	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "nightly", Owner: "mailroom", Spec: "0 2 * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	r.bulk.fireDue(ctx, time.Date(2026, 12, 1, 2, 0, 0, 0, time.Local), false)
	runs := scheduleRuns(t, r, sc.ID)
	if len(runs) != 1 || runs[0].State != job.RunDiscarded {
		t.Fatalf("runs after a firing whose commit failed: %+v, want one discarded", runs)
	}
}
