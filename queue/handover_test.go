package queue

import (
	"testing"
	"time"

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
			m.accepted(now, 4, printers.Receipt{Done: tc.handedOver, FinishAt: tc.finishAt})
			if got := m.slotsUsed(now); got != tc.usedNow {
				t.Errorf("slots used at once: %d, want %d", got, tc.usedNow)
			}
			if got := m.slotsUsed(now.Add(3 * time.Minute)); got != tc.usedLater {
				t.Errorf("slots used 3 min later: %d, want %d", got, tc.usedLater)
			}
		})
	}
}
