package snmp

import (
	"slices"
	"testing"
)

func TestParseErrorState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		octets []byte
		want   ErrorState
		has    []ErrorState
		not    []ErrorState
	}{
		{"none", nil, 0, nil, []ErrorState{LowPaper, NoPaper}},
		{"one octet zero", []byte{0x00}, 0, nil, []ErrorState{LowPaper}},
		// Bit 0 is the most significant bit of the first octet.
		{"one octet bit 0 lowPaper", []byte{0x80}, LowPaper, []ErrorState{LowPaper}, []ErrorState{NoPaper, OutputFull}},
		{"one octet noPaper and jammed", []byte{0x44}, NoPaper | Jammed, []ErrorState{NoPaper, Jammed}, []ErrorState{DoorOpen}},
		{"one octet doorOpen", []byte{0x08}, DoorOpen, []ErrorState{DoorOpen}, []ErrorState{NoToner, Jammed}},
		{"two octets bit 8 inputTrayMissing", []byte{0x00, 0x80}, InputTrayMissing, []ErrorState{InputTrayMissing}, []ErrorState{LowPaper}},
		{"two octets inputTrayEmpty", []byte{0x00, 0x04}, InputTrayEmpty, []ErrorState{InputTrayEmpty}, []ErrorState{NoPaper}},
		{"two octets both halves", []byte{0x40, 0x08}, NoPaper | OutputFull, []ErrorState{NoPaper, OutputFull}, []ErrorState{OutputNearFull}},
		{"extra octets ignored", []byte{0x04, 0x00, 0xff}, Jammed, []ErrorState{Jammed}, []ErrorState{OverduePreventMaint}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseErrorState(tt.octets)
			if got != tt.want {
				t.Fatalf("ParseErrorState(% x) = %016b, want %016b", tt.octets, got, tt.want)
			}
			for _, b := range tt.has {
				if !got.Has(b) {
					t.Errorf("% x: bit %016b not set", tt.octets, b)
				}
			}
			for _, b := range tt.not {
				if got.Has(b) {
					t.Errorf("% x: bit %016b set", tt.octets, b)
				}
			}
		})
	}
	// The two-octet form round-trips.
	for _, s := range []ErrorState{0, NoPaper | Jammed, InputTrayEmpty | LowToner} {
		if got := ParseErrorState(s.Bytes()); got != s {
			t.Errorf("round trip %016b = %016b", s, got)
		}
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		r        Reading
		stopped  bool
		degraded bool
		reasons  []string
	}{
		{"idle", Reading{Status: StatusIdle, Device: DeviceRunning}, false, false, nil},
		{"no paper", Reading{Errors: NoPaper}, true, false, []string{"media-empty-error"}},
		{"input tray empty is media empty", Reading{Errors: InputTrayEmpty}, true, false, []string{"media-empty-error"}},
		{"jam", Reading{Errors: Jammed}, true, false, []string{"media-jam-error"}},
		{"door open", Reading{Errors: DoorOpen}, true, false, []string{"door-open-error"}},
		{"toner low degrades", Reading{Errors: LowToner}, false, true, []string{"toner-low-report"}},
		{"paper low degrades", Reading{Errors: LowPaper}, false, true, []string{"media-low-report"}},
		// Not believed alone (see Conditions): a sleeping printer prints.
		{"offline bit alone", Reading{Errors: Offline, Device: DeviceRunning}, false, false, nil},
		{"service requested alone", Reading{Errors: ServiceRequested}, false, false, nil},
		{"device down", Reading{Device: DeviceDown}, true, false, []string{"offline-report"}},
		{"jam and toner low", Reading{Errors: Jammed | LowToner}, true, true, []string{"toner-low-report", "media-jam-error"}},
		{"supply at 5%", Reading{Supplies: []Supply{{Index: 1, Level: 5, MaxCapacity: 100}}}, false, true, []string{"marker-supply-low-report"}},
		{"supply unknown", Reading{Supplies: []Supply{{Index: 1, Level: -3, MaxCapacity: 100}}}, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := tt.r.Health()
			if h.Stopped != tt.stopped || h.Degraded != tt.degraded || !slices.Equal(h.Reasons, tt.reasons) {
				t.Errorf("Health() = %+v, want stopped %v degraded %v reasons %v", h, tt.stopped, tt.degraded, tt.reasons)
			}
		})
	}
}

func TestSupplyPercent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    Supply
		want int
	}{
		{Supply{Level: 50, MaxCapacity: 200}, 25},
		{Supply{Level: 300, MaxCapacity: 200}, 100},
		{Supply{Level: -3, MaxCapacity: 200}, -1},
		{Supply{Level: 10, MaxCapacity: -2}, -1},
	} {
		if got := tt.s.Percent(); got != tt.want {
			t.Errorf("%+v.Percent() = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		c    Config
		ok   bool
	}{
		{"v2c", Config{Version: "2c", Community: "public"}, true},
		{"v1 without community", Config{Version: "1"}, false},
		{"bad version", Config{Version: "2", Community: "x"}, false},
		{"v3 authPriv", Config{Version: "3", V3: V3{User: "u", AuthProtocol: "SHA", AuthPassword: "secret123",
			PrivProtocol: "AES", PrivPassword: "secret456"}}, true},
		{"v3 without user", Config{Version: "3"}, false},
		{"v3 priv without auth", Config{Version: "3", V3: V3{User: "u", PrivProtocol: "AES", PrivPassword: "secret456"}}, false},
		{"v3 short password", Config{Version: "3", V3: V3{User: "u", AuthProtocol: "SHA", AuthPassword: "short"}}, false},
		{"v3 unknown auth", Config{Version: "3", V3: V3{User: "u", AuthProtocol: "SHA1024", AuthPassword: "secret123"}}, false},
		{"bad port", Config{Version: "2c", Community: "x", Port: 70000}, false},
	} {
		if err := tt.c.Check(); (err == nil) != tt.ok {
			t.Errorf("%s: Check() = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
