package spool

import (
	"context"
	"errors"
	"testing"

	"github.com/printgate/printgate/job"
)

// TestScheduleLookup: Store.Schedule (not part of queue.Store; CreateSchedule answers with it)
// returns a schedule until it is deleted, then ErrScheduleNotFound. The rest of the runs and
// schedules behaviour is in the drivers' suite (queue/storetest, TestStore).
func TestScheduleLookup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{})
	sc, err := s.CreateSchedule(ctx, job.Schedule{Name: "nightly", VirtualPrinter: "letters", Owner: "op",
		Spec: "0 2 * * 1-5", Dir: "/srv/drop"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Schedule(ctx, sc.ID)
	if err != nil || got.ID != sc.ID || got.Spec != "0 2 * * 1-5" {
		t.Fatalf("Schedule(%d) = %+v, %v", sc.ID, got, err)
	}
	if err := s.DeleteSchedule(ctx, sc.ID, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Schedule(ctx, sc.ID); !errors.Is(err, job.ErrScheduleNotFound) {
		t.Fatalf("deleted schedule: %v", err)
	}
}
