package printers

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// Every scheme config check accepts has a backend.
func TestOpenPicksBackendByScheme(t *testing.T) {
	t.Parallel()
	_, srv := newFakeIPP(t)
	addr := srv.Listener.Addr().String()
	tests := []struct {
		uri  string
		want string // the backend's type, "" for an error
	}{
		{"ipp://" + addr + "/ipp/print", "*printers.IPP"},
		{"ipps://printer.example/ipp/print", "*printers.IPP"},
		{"http://" + addr + "/ipp/print", "*printers.IPP"},
		{"https://printer.example:631/ipp/print", "*printers.IPP"},
		{"HTTP://" + addr + "/ipp/print", "*printers.IPP"},
		{"lpd://printer.example/q", "*printers.LPD"},
		{"socket://printer.example", "*printers.Socket"},
		{"file://" + filepath.Join(t.TempDir(), "out"), "*printers.File"},
		{"smb://printer.example/q", ""},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			t.Parallel()
			p, err := Open(Config{Name: "p", URI: tt.uri})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Open accepted %q", tt.uri)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			if got := fmt.Sprintf("%T", p); got != tt.want {
				t.Fatalf("backend %s, want %s", got, tt.want)
			}
			// An http:// printer is reached like an ipp:// one: IPP over HTTP at that URL.
			if strings.Contains(tt.uri, addr) {
				st, err := p.Probe(context.Background())
				if err != nil || st.State != StateReady {
					t.Fatalf("Probe: %+v, %v", st, err)
				}
			}
		})
	}
}
