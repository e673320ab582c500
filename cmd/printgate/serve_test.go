// serve's wiring: what each printer's configuration hands its backend.
package main

import (
	"errors"
	"log/slog"
	"strings"
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

// The demo says at start where it can be reached and by whom: loopback addresses only, unless
// --listen said otherwise, and a front-end whose port was taken is named as not started.
func TestDemoBanner(t *testing.T) {
	t.Parallel()
	cfg := config.Demo(t.TempDir())
	lpd := frontend{name: "lpd", queues: []string{"letters"}}
	rawFE := frontend{name: "raw letters", virtual: "letters"}
	tests := []struct {
		name      string
		httpAddr  string
		fronts    []startedFrontend
		wantLocal bool
		want      []string
		notWant   []string
	}{
		{"loopback", "127.0.0.1:8631", []startedFrontend{{frontend: rawFE, addr: "127.0.0.1:9100"}, {frontend: lpd, addr: "127.0.0.1:8515"}}, true,
			[]string{"reachable only from this machine", "http://127.0.0.1:8631/ui/", "ipp://127.0.0.1:8631/ipp/print/letters",
				"LPD        127.0.0.1:8515, queue letters", "raw        127.0.0.1:9100, virtual printer letters",
				`configuration file with listen: ":8631"`}, []string{"not started"}},
		{"IPv6 loopback, a port taken", "[::1]:41234", []startedFrontend{{frontend: rawFE, addr: "127.0.0.1:9100", err: errors.New("address already in use")},
			{frontend: lpd, addr: "127.0.0.1:8515"}}, true,
			[]string{"reachable only from this machine", "http://[::1]:41234/ui/", "raw        127.0.0.1:9100, virtual printer letters: not started (address already in use)"}, nil},
		{"--listen on every interface", "[::]:8631", []startedFrontend{{frontend: rawFE, addr: "[::]:9100"}, {frontend: lpd, addr: "127.0.0.1:8515"}}, false,
			[]string{"reachable from other machines", "For anything real, write a configuration file"}, []string{"only from this machine", "[::]"}},
		{"a front-end on every interface", "127.0.0.1:8631", []startedFrontend{{frontend: lpd, addr: "0.0.0.0:8515"}}, false,
			[]string{"reachable from other machines"}, []string{"only from this machine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			if local := demoBanner(&b, cfg, tt.httpAddr, tt.fronts); local != tt.wantLocal {
				t.Errorf("demoBanner reports loopback only %v, want %v", local, tt.wantLocal)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("banner lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("banner has %q:\n%s", w, b.String())
				}
			}
		})
	}
}
