// What a reading means for printing: which conditions stop a printer, which only degrade it,
// and which bits are not believed (docs/CONFORMANCE.md, "SNMP printer status").
package snmp

// Condition is one hrPrinterDetectedErrorState bit as an IPP printer-state-reasons keyword.
type Condition struct {
	Bit     ErrorState
	Keyword string
	// Stops: the printer cannot print while it holds (otherwise it only degrades it).
	Stops bool
}

// Conditions are the bits acted on, in MIB order. Offline and serviceRequested are left out on
// purpose: many printers set offline while asleep in power save (they wake on the next job)
// and serviceRequested for every maintenance counter, so neither says the printer cannot print
// — CUPS leaves both out for the same reason ("unreliable", backend/snmp-supplies.c). A printer
// that is really off line shows it in hrDeviceStatus down(5), which does stop it (Health).
var Conditions = []Condition{
	{LowPaper, "media-low-report", false},
	{NoPaper | InputTrayEmpty, "media-empty-error", true},
	{LowToner, "toner-low-report", false},
	{NoToner, "toner-empty-error", true},
	{DoorOpen, "door-open-error", true},
	{Jammed, "media-jam-error", true},
	{InputTrayMissing, "input-tray-missing-report", false},
	{OutputTrayMissing, "output-tray-missing-error", true},
	{MarkerSupplyMissing, "marker-supply-missing-error", true},
	{OutputNearFull, "output-area-almost-full-report", false},
	{OutputFull, "output-area-full-error", true},
}

// Health is what a Reading says about printing there.
type Health struct {
	// Stopped: the printer cannot print (paper out, jam, door open, down, ...).
	Stopped bool
	// Degraded: it prints, but needs attention soon (toner or paper low).
	Degraded bool
	// Reasons are IPP printer-state-reasons keywords, MIB order.
	Reasons []string
}

// Health maps r to the scheduler's terms. Any bit of a condition's mask sets it (noPaper and
// inputTrayEmpty both say media-empty).
func (r Reading) Health() Health {
	var h Health
	for _, c := range Conditions {
		if r.Errors&c.Bit == 0 {
			continue
		}
		h.Reasons = append(h.Reasons, c.Keyword)
		if c.Stops {
			h.Stopped = true
		} else {
			h.Degraded = true
		}
	}
	if r.Device == DeviceDown {
		h.Stopped = true
		h.Reasons = append(h.Reasons, "offline-report")
	}
	for _, s := range r.Supplies {
		if p := s.Percent(); p >= 0 && p <= LowSupplyPercent && !h.Stopped {
			h.Degraded = true
			h.Reasons = appendOnce(h.Reasons, "marker-supply-low-report")
		}
	}
	return h
}

// LowSupplyPercent is the supply level at or below which a printer counts as degraded, as
// printers themselves commonly warn (about 10%).
const LowSupplyPercent = 10

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
