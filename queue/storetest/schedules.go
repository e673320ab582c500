// Cron schedules: they persist, remember the content of the runs they made, and record their
// firings.
package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// testSchedulesPersistAndRememberContent: a schedule and the firing its run's commit recorded
// survive a reopen; SeenByContent knows the letters that run registered (hash -> run); a
// deleted schedule is no longer listed and deleting it again is ErrScheduleNotFound.
func testSchedulesPersistAndRememberContent(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	attrs := job.Attributes{Copies: 1, Sides: "two-sided-long-edge"}
	sc, err := f.s.CreateSchedule(ctx, job.Schedule{Name: "nightly", VirtualPrinter: "letters", Owner: "op",
		Spec: "0 2 * * 1-5", Dir: "/srv/drop", Attributes: attrs, Separator: true})
	if err != nil {
		t.Fatal(err)
	}
	if sc.ID == 0 || sc.Name != "nightly" || sc.Spec != "0 2 * * 1-5" || sc.Dir != "/srv/drop" || !sc.Created.Equal(f.clock.Now()) ||
		!sc.LastFired.IsZero() || !sc.Separator || sc.Attributes.Sides != attrs.Sides {
		t.Fatalf("created schedule %+v", sc)
	}
	r, err := f.s.CreateRun(ctx, job.NewRun{Name: "nightly", VirtualPrinter: "letters", ScheduleID: sc.ID})
	if err != nil {
		t.Fatal(err)
	}
	letters := f.stageLetters(1, 3)
	if _, err := f.s.AddLetters(ctx, r.ID, 1, letters); err != nil {
		t.Fatal(err)
	}
	fired := f.clock.Now().Add(time.Hour)
	if _, err := f.s.CommitRun(ctx, r.ID, job.CommitOptions{Fired: fired, FiredMessage: "schedule nightly fired: 3 letters"}); err != nil {
		t.Fatal(err)
	}
	f.reopen()
	list, err := f.s.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != sc.ID || list[0].Spec != "0 2 * * 1-5" || !list[0].LastFired.Equal(fired) {
		t.Fatalf("schedules after reopen: %+v", list)
	}
	seen, err := f.s.SeenByContent(ctx, sc.ID, []string{letters[0].Doc.SHA256, letters[2].Doc.SHA256, "feed"})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[letters[0].Doc.SHA256] != r.ID {
		t.Fatalf("seen = %v", seen)
	}
	if other, err := f.s.SeenByContent(ctx, sc.ID+1, []string{letters[0].Doc.SHA256}); err != nil || len(other) != 0 {
		t.Fatalf("another schedule saw %v (%v)", other, err)
	}
	evs, err := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventSchedule}, RunID: r.ID})
	if err != nil || len(evs) != 1 || evs[0].Message != "schedule nightly fired: 3 letters" {
		t.Fatalf("firing event recorded with the commit: %+v, %v", evs, err)
	}
	if err := f.s.DeleteSchedule(ctx, sc.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if list, err := f.s.Schedules(ctx); err != nil || len(list) != 0 {
		t.Fatalf("deleted schedule still listed: %+v, %v", list, err)
	}
	if err := f.s.DeleteSchedule(ctx, sc.ID, "op"); !errors.Is(err, job.ErrScheduleNotFound) {
		t.Fatalf("delete twice: %v", err)
	}
	// The runs a schedule made stay.
	if got, err := f.s.Run(ctx, r.ID); err != nil || got.ScheduleID != sc.ID {
		t.Fatalf("run of the deleted schedule: %+v, %v", got, err)
	}
}

// testScheduleFired: a firing that made no run is recorded as the schedule's last, with its
// event; schedules are listed oldest first.
func testScheduleFired(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	a, err := f.s.CreateSchedule(ctx, job.Schedule{Name: "a", VirtualPrinter: "letters", Spec: "@hourly", Dir: "/srv/a"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.s.CreateSchedule(ctx, job.Schedule{Name: "b", VirtualPrinter: "letters", Spec: "@daily", Dir: "/srv/b"})
	if err != nil {
		t.Fatal(err)
	}
	fired := f.clock.Now().Add(-time.Minute)
	if err := f.s.ScheduleFired(ctx, b.ID, fired, "schedule b fired: nothing new in /srv/b"); err != nil {
		t.Fatal(err)
	}
	list, err := f.s.Schedules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID || !list[0].LastFired.IsZero() || !list[1].LastFired.Equal(fired) {
		t.Fatalf("schedules after a firing: %+v", list)
	}
	evs, err := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventSchedule}})
	if err != nil || len(evs) != 3 || evs[0].Message != "schedule b fired: nothing new in /srv/b" {
		t.Fatalf("schedule events %+v, %v; want two creations and the firing, newest first", evs, err)
	}
}
