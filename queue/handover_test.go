package queue

import (
	"context"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// A job whose transfer is its completion holds a max_inflight slot until it should be printed:
// by the printer's own word when it gave one (a file printer without a simulated engine: at
// once), by the ppm estimate otherwise (LPD, socket).
func TestHandedOverJobHoldsSlotUntilFinish(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		handedOver bool
		finishAt   time.Time
		// slots used right after, and three minutes later (4 pages at 2 ppm: 2 minutes)
		usedNow, usedLater int
	}{
		{"transfer is completion, finish from ppm", true, time.Time{}, 1, 0},
		{"transfer is completion, printer says done now", true, now, 0, 0},
		{"transfer is completion, printer says done in 5 min", true, now.Add(5 * time.Minute), 1, 1},
		{"printer reports completion itself", false, time.Time{}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &member{spec: PrinterSpec{Name: "p", PPM: 2, MaxInflight: 1}}
			m.accepted(now, 4, m.ppm(), printers.Receipt{Done: tc.handedOver, FinishAt: tc.finishAt})
			if got := m.slotsUsed(now); got != tc.usedNow {
				t.Errorf("slots used at once: %d, want %d", got, tc.usedNow)
			}
			if got := m.slotsUsed(now.Add(3 * time.Minute)); got != tc.usedLater {
				t.Errorf("slots used 3 min later: %d, want %d", got, tc.usedLater)
			}
		})
	}
}

// handoverPrinter hands every job over at once (like LPD and socket): the transfer is the
// completion.
type handoverPrinter struct{ name string }

func (p handoverPrinter) Name() string { return p.name }
func (p handoverPrinter) Send(context.Context, *printers.Job) (printers.Receipt, error) {
	return printers.Receipt{Done: true}, nil
}
func (p handoverPrinter) Watch(context.Context, printers.Receipt, func(int)) (printers.Outcome, error) {
	return printers.OutcomeCompleted, nil
}
func (p handoverPrinter) Cancel(context.Context, printers.Receipt) error { return nil }
func (p handoverPrinter) Close() error                                   { return nil }
func (p handoverPrinter) Probe(context.Context) (printers.Status, error) {
	return printers.Status{State: printers.StateReady, Accepting: true, QueuedJobs: -1}, nil
}

// When every slot of the only usable printer is held by handed-over jobs, the pass that finds
// no free slot must still arm the wake-up for when they should be printed: otherwise the next
// job waits for an unrelated event (regression: it waited for ever with probes an hour apart).
func TestHandedOverSlotsWakeTheNextPass(t *testing.T) {
	r := newSchedRig(t, 1, PrinterSpec{Name: "raw", Printer: handoverPrinter{"raw"}, PPM: 600, MaxInflight: 1})
	first := r.submit(t, 1, job.LaneInteractive)
	r.waitFor(t, "first job completed", func() bool { return r.job(t, first.ID).State == job.StateCompleted })
	// Submitted while the first still holds the slot (0.1 s at 600 ppm) or just after.
	second := r.submit(t, 1, job.LaneInteractive)
	third := r.submit(t, 1, job.LaneInteractive)
	r.waitFor(t, "later jobs completed", func() bool {
		return r.job(t, second.ID).State == job.StateCompleted && r.job(t, third.ID).State == job.StateCompleted
	})
}

// handoffPrinter takes every job at once and says the transfer was its completion, with no
// finish time: the scheduler's ppm estimate says when the slot is free, as for LPD and socket.
type handoffPrinter struct{ *holdPrinter }

func (p handoffPrinter) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	p.holdPrinter.sends <- j.ID
	return printers.Receipt{Done: true}, nil
}

func (p handoffPrinter) Watch(context.Context, printers.Receipt, func(int)) (printers.Outcome, error) {
	return printers.OutcomeCompleted, nil
}

// TestHandedOverJobsKeepTheQueueMoving: with every slot held by a handed-over job, the pass
// that finds no free slot still asks for the pass that comes when the slot frees; the queue
// stalled after the first job until some other event (a submission, a probe's change).
func TestHandedOverJobsKeepTheQueueMoving(t *testing.T) {
	t.Parallel()
	p := handoffPrinter{newHoldPrinter("lpd", 6000)}
	r := newSchedRig(t, 1, PrinterSpec{Name: "lpd", Printer: p, PPM: 6000, MaxInflight: 1})
	var ids []int64
	for range 5 {
		ids = append(ids, r.submit(t, 1, job.LaneInteractive).ID)
	}
	for range ids {
		p.waitSend(t)
	}
}
