package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/printgate/printgate/internal/testcert"
	"github.com/printgate/printgate/queue"
)

// fakeGateway answers the printers routes and records what it was asked.
type fakeGateway struct {
	mu       sync.Mutex
	requests []string // "METHOD PATH TOKEN"
}

func (g *fakeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if r.URL.Path == "/api/v1/printers" {
		json.NewEncoder(w).Encode(map[string]any{"printers": []queue.PrinterInfo{{Name: "ward7", State: "ready"}}})
		return
	}
	json.NewEncoder(w).Encode(queue.PrinterInfo{Name: "ward7", State: "drained", Drained: true})
}

// printers commands take their flags before or after the printer's name, as jobs commands do.
func TestPrintersCommandFlagsAnywhere(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		args  []string // after "printers"; SERVER is replaced by the fake's URL
		want  string   // the request the gateway got; "" for a usage error
		usage bool
	}{
		{"flags after the name", []string{"drain", "ward7", "--token", "T0123456789abcdef", "--server", "SERVER"},
			"POST /api/v1/printers/ward7/drain Bearer T0123456789abcdef", false},
		{"flags before the name", []string{"resume", "--server", "SERVER", "--token", "T0123456789abcdef", "ward7"},
			"POST /api/v1/printers/ward7/resume Bearer T0123456789abcdef", false},
		{"flags around the name", []string{"drain", "--server", "SERVER", "ward7", "--json", "--token", "T0123456789abcdef"},
			"POST /api/v1/printers/ward7/drain Bearer T0123456789abcdef", false},
		{"list with flags", []string{"list", "--server", "SERVER", "--json", "--token", "T0123456789abcdef"},
			"GET /api/v1/printers Bearer T0123456789abcdef", false},
		{"no name", []string{"drain", "--server", "SERVER"}, "", true},
		{"two names", []string{"drain", "ward7", "--server", "SERVER", "ward8"}, "", true},
		{"list with a name", []string{"list", "ward7", "--server", "SERVER"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &fakeGateway{}
			srv := httptest.NewServer(g)
			defer srv.Close()
			args := []string{"printers"}
			for _, a := range tt.args {
				if a == "SERVER" {
					a = srv.URL
				}
				args = append(args, a)
			}
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			var ue *usageError
			if tt.usage {
				if !errors.As(err, &ue) {
					t.Fatalf("err %v, want a usage error", err)
				}
				if len(g.requests) != 0 {
					t.Errorf("the gateway was asked %v", g.requests)
				}
				return
			}
			if err != nil {
				t.Fatalf("run: %v\n%s", err, stderr.String())
			}
			if len(g.requests) != 1 || g.requests[0] != tt.want {
				t.Errorf("gateway got %q, want %q", g.requests, tt.want)
			}
		})
	}
}

// --ca-file (or PRINTGATE_CA_FILE) makes the CLI trust a gateway's self-signed certificate;
// without it the host's store decides and refuses it, and a file with no certificate is an
// error before anything is sent.
func TestClientCAFile(t *testing.T) {
	t.Parallel()
	pair := testcert.Self(t, "127.0.0.1")
	dir := t.TempDir()
	certFile, keyFile := pair.Write(t, dir)
	g := &fakeGateway{}
	srv := httptest.NewUnstartedServer(g)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair.TLS}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	srv.StartTLS()
	defer srv.Close()
	type caCase struct {
		name    string
		extra   []string
		wantErr string
	}
	tests := []caCase{
		{"trusted with --ca-file", []string{"--ca-file", certFile}, ""},
		{"trusted with --ca-file before the command", []string{"--ca-file=" + certFile}, ""},
		{"not trusted without", nil, "certificate"},
		{"a key is not a certificate", []string{"--ca-file", keyFile}, "no PEM certificate"},
		{"missing file", []string{"--ca-file", filepath.Join(dir, "nope.pem")}, "nope.pem"},
	}
	// A gateway whose self-signed certificate names the host desktops use, reached by the CLI
	// at 127.0.0.1: the file pins that certificate, so its names do not matter.
	named := testcert.Self(t, "printgate.example.org")
	namedFile, _ := named.Write(t, t.TempDir())
	namedSrv := httptest.NewUnstartedServer(g)
	namedSrv.TLS = &tls.Config{Certificates: []tls.Certificate{named.TLS}}
	namedSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	namedSrv.StartTLS()
	defer namedSrv.Close()
	// (A later --server wins.)
	tests = append(tests,
		caCase{"pinned certificate naming another host", []string{"--server", namedSrv.URL, "--ca-file", namedFile}, ""},
		caCase{"another server's certificate is not pinned", []string{"--server", namedSrv.URL, "--ca-file", certFile}, "certificate"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"--server", srv.URL}, tt.extra...)
			args = append(args, "printers", "list")
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("printers list over TLS: %v", err)
			case tt.wantErr == "" && !strings.Contains(stdout.String(), "ward7"):
				t.Errorf("output %q does not list the gateway's printer", stdout.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
