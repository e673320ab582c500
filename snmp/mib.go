// Package snmp reads a printer's health and page counter over SNMP (v1, v2c or v3 USM): the
// Host Resources MIB's printer table (RFC 2790 hrPrinterStatus, hrPrinterDetectedErrorState)
// and the Printer MIB (RFC 3805 prtMarkerLifeCount, prtMarkerSupplies, prtAlertTable). It knows
// the MIB, not the scheduler: package printers turns a Reading into a printer state.
package snmp

// The objects read, for hrDeviceIndex 1 and marker 1 (a printer's first and, for the printers
// a hospital has, only marking engine). CUPS reads the same instances (backend/snmp-supplies.c).
const (
	oidHrDeviceStatus              = ".1.3.6.1.2.1.25.3.2.1.5.1"
	oidHrPrinterStatus             = ".1.3.6.1.2.1.25.3.5.1.1.1"
	oidHrPrinterDetectedErrorState = ".1.3.6.1.2.1.25.3.5.1.2.1"
	oidPrtMarkerLifeCount          = ".1.3.6.1.2.1.43.10.2.1.4.1.1"
	// Columns of prtMarkerSuppliesTable, walked for hrDeviceIndex 1.
	oidPrtMarkerSuppliesDescription = ".1.3.6.1.2.1.43.11.1.1.6.1"
	oidPrtMarkerSuppliesMaxCapacity = ".1.3.6.1.2.1.43.11.1.1.8.1"
	oidPrtMarkerSuppliesLevel       = ".1.3.6.1.2.1.43.11.1.1.9.1"
	// Columns of prtAlertTable, walked for hrDeviceIndex 1 (the row index is prtAlertIndex).
	oidPrtAlertSeverityLevel = ".1.3.6.1.2.1.43.18.1.1.2.1"
	oidPrtAlertGroup         = ".1.3.6.1.2.1.43.18.1.1.4.1"
	oidPrtAlertCode          = ".1.3.6.1.2.1.43.18.1.1.7.1"
	oidPrtAlertDescription   = ".1.3.6.1.2.1.43.18.1.1.8.1"
)

// PrinterStatus is hrPrinterStatus.
type PrinterStatus int

// The hrPrinterStatus values (RFC 2790).
const (
	StatusOther    PrinterStatus = 1
	StatusUnknown  PrinterStatus = 2
	StatusIdle     PrinterStatus = 3
	StatusPrinting PrinterStatus = 4
	StatusWarmup   PrinterStatus = 5
)

func (s PrinterStatus) String() string {
	switch s {
	case StatusOther:
		return "other"
	case StatusUnknown:
		return "unknown"
	case StatusIdle:
		return "idle"
	case StatusPrinting:
		return "printing" // hrPrinterStatus, not a job state
	case StatusWarmup:
		return "warmup"
	}
	return "invalid"
}

// DeviceStatus is hrDeviceStatus.
type DeviceStatus int

// The hrDeviceStatus values (RFC 2790).
const (
	DeviceUnknown DeviceStatus = 1
	DeviceRunning DeviceStatus = 2
	DeviceWarning DeviceStatus = 3
	DeviceTesting DeviceStatus = 4
	DeviceDown    DeviceStatus = 5
)

// ErrorState is hrPrinterDetectedErrorState as a 16-bit number whose most significant bit is
// the MIB's bit 0 (lowPaper): the MIB numbers bits from the most significant bit of the first
// octet, and a device may send one octet (bits 0-7) or two (bits 0-15).
type ErrorState uint16

// Bit is the ErrorState of the MIB's bit n alone.
func Bit(n int) ErrorState { return ErrorState(1) << (15 - n) }

// The hrPrinterDetectedErrorState bits (RFC 2790, and RFC 3805's additions 8-15).
var (
	LowPaper            = Bit(0)
	NoPaper             = Bit(1)
	LowToner            = Bit(2)
	NoToner             = Bit(3)
	DoorOpen            = Bit(4)
	Jammed              = Bit(5)
	Offline             = Bit(6)
	ServiceRequested    = Bit(7)
	InputTrayMissing    = Bit(8)
	OutputTrayMissing   = Bit(9)
	MarkerSupplyMissing = Bit(10)
	OutputNearFull      = Bit(11)
	OutputFull          = Bit(12)
	InputTrayEmpty      = Bit(13)
	OverduePreventMaint = Bit(14)
)

// ParseErrorState reads the octets a device sent: one octet is bits 0-7, two are bits 0-15;
// octets past the second carry no defined bits and are ignored, none is no error.
func ParseErrorState(b []byte) ErrorState {
	var s ErrorState
	if len(b) > 0 {
		s = ErrorState(b[0]) << 8
	}
	if len(b) > 1 {
		s |= ErrorState(b[1])
	}
	return s
}

// Has reports whether every bit of bits is set.
func (s ErrorState) Has(bits ErrorState) bool { return s&bits == bits && bits != 0 }

// Bytes is the two-octet form, as a device that knows RFC 3805's bits sends it.
func (s ErrorState) Bytes() []byte { return []byte{byte(s >> 8), byte(s)} }

// Supply is one row of prtMarkerSuppliesTable.
type Supply struct {
	Index       int    `json:"index"`
	Description string `json:"description"`
	// Level and MaxCapacity are in the supply's own units; RFC 3805 gives -1 "other", -2
	// "unknown" and -3 "some remaining" for both.
	Level       int `json:"level"`
	MaxCapacity int `json:"max_capacity"`
}

// Percent is the supply's level in percent of its capacity, -1 when the printer does not say.
func (s Supply) Percent() int {
	if s.MaxCapacity <= 0 || s.Level < 0 {
		return -1
	}
	return min(100, 100*s.Level/s.MaxCapacity)
}

// Alert is one row of prtAlertTable.
type Alert struct {
	Index int `json:"index"`
	// Severity is prtAlertSeverityLevel: 1 other, 3 critical, 4 warning, 5 warningBinaryChangeEvent.
	Severity    int    `json:"severity"`
	Group       int    `json:"group"`
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// SeverityName is the alert's severity as RFC 3805 names it.
func (a Alert) SeverityName() string {
	switch a.Severity {
	case 3:
		return "critical"
	case 4:
		return "warning"
	case 5:
		return "warning-binary-change"
	}
	return "other"
}
