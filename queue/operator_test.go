package queue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/spool"
)

// A job past the point where it can move is refused with the rule as MoveJob applies it.
func TestMoveRefusalStatesTheRule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := spool.Open(ctx, spool.Options{Dir: t.TempDir(), PageCounter: markedPages, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// Not run: the jobs stay in the states the test puts them in.
	sched, err := New(Options{Store: store, Logger: log,
		Printers: []PrinterSpec{{Name: "a", Printer: newHoldPrinter("a", 60)}, {Name: "b", Printer: newHoldPrinter("b", 60)}},
		Virtual:  []VirtualSpec{{Name: "letters", Pool: []string{"a", "b"}, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	const rule = "only pending, held, assigned or sending jobs can move"
	tests := []struct {
		state job.State
		path  []job.State // transitions from pending
	}{
		{job.StatePrinting, []job.State{job.StateAssigned, job.StateSending, job.StatePrinting}},
		{job.StateCompleted, []job.State{job.StateAssigned, job.StateSending, job.StatePrinting, job.StateCompleted}},
		{job.StateCanceled, []job.State{job.StateCanceled}},
		{job.StateAborted, []job.State{job.StateAborted}},
	}
	for _, tt := range tests {
		st, err := sched.Stage(ctx, bytes.NewReader([]byte("%PDF-1.4 pages=1")), "letter", "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		j, err := sched.Submit(ctx, job.NewJob{Name: "letter", Origin: "test", Lane: job.LaneInteractive}, []*job.Staged{st})
		if err != nil {
			t.Fatal(err)
		}
		for _, to := range tt.path {
			if err := store.Transition(ctx, j.ID, to, job.Change{}); err != nil {
				t.Fatal(err)
			}
		}
		err = sched.MoveJob(ctx, j.ID, "b", "op")
		if !errors.Is(err, ErrNotPossible) || !strings.Contains(err.Error(), "is "+string(tt.state)+"; "+rule) {
			t.Errorf("moving a %s job: %v, want ErrNotPossible stating %q", tt.state, err, rule)
		}
	}
}
