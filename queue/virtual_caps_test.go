package queue

import (
	"slices"
	"testing"
)

// A pool member that reports no document formats (an LPD or socket printer without a formats
// list) must still let the virtual printer offer the common page languages: with none offered,
// the IPP front door would refuse every PDF for a pool of such printers.
func TestVirtualStateOffersFormatsForPrintersOfUnknownFormats(t *testing.T) {
	r := newSchedRig(t, 1, PrinterSpec{Name: "lpd-1", Printer: newHoldPrinter("lpd-1", 30)})
	vi, err := r.sched.VirtualState("letters")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range unknownPrinterFormats {
		if !slices.Contains(vi.Caps.Formats, f) {
			t.Errorf("virtual printer offers %q, want it to include %s", vi.Caps.Formats, f)
		}
	}
}
