// serve's wiring: what each printer's configuration hands its backend.
package main

import (
	"log/slog"
	"testing"

	"github.com/printgate/printgate/config"
)

// The TLS keys reach the IPP backend: a printer configured with its own certificate, or with
// verification off, is not silently checked against the system's store.
func TestBackendConfigPassesTLSOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    config.Printer
	}{
		{"certificate file", config.Printer{Name: "mailroom-2", URI: "ipps://10.20.0.12/ipp/print", TLSCAFile: "/etc/printgate/mailroom-2.pem"}},
		{"no verification", config.Printer{Name: "mailroom-3", URI: "https://10.20.0.14:631/ipp/print", TLSSkipVerify: true}},
		{"neither", config.Printer{Name: "mailroom-1", URI: "ipps://10.20.0.11/ipp/print", PPM: 60}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := backendConfig(tt.p, slog.New(slog.DiscardHandler))
			if c.Name != tt.p.Name || c.URI != tt.p.URI || c.PPM != tt.p.PPM || c.Logger == nil {
				t.Errorf("backend config %+v for %+v", c, tt.p)
			}
			if c.TLSCAFile != tt.p.TLSCAFile || c.TLSSkipVerify != tt.p.TLSSkipVerify {
				t.Errorf("TLS options %q, %v; configured %q, %v", c.TLSCAFile, c.TLSSkipVerify, tt.p.TLSCAFile, tt.p.TLSSkipVerify)
			}
		})
	}
}
