package queue

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// A printer not checked yet has no last_probe in the API, rather than one in year 1.
func TestPrinterInfoJSONLeavesOutZeroLastProbe(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		info PrinterInfo
		want string // "" when last_probe must be absent
	}{
		{"not checked yet", PrinterInfo{Name: "p"}, ""},
		{"checked", PrinterInfo{Name: "p", LastProbe: at}, `"last_probe":"2026-11-23T12:00:00Z"`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.info)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.want == "" && strings.Contains(string(b), "last_probe"):
			t.Errorf("%s: %s has last_probe", tt.name, b)
		case tt.want != "" && !strings.Contains(string(b), tt.want):
			t.Errorf("%s: %s lacks %s", tt.name, b, tt.want)
		}
	}
}
