// The IPP backend over TLS: which printer certificates the system's store, tls_ca_file and
// tls_skip_verify let through, and what a refused one looks like to the operator and to the
// scheduler.
package printers

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/testcert"
)

// writePEM writes certs to a PEM file in a temporary directory and returns its path.
func writePEM(t *testing.T, certs ...*x509.Certificate) string {
	t.Helper()
	var b bytes.Buffer
	for _, c := range certs {
		if err := pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "printer.pem")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIPPOverTLS(t *testing.T) {
	t.Parallel()
	ca := testcert.New(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Hospital test CA"}, IsCA: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}, nil)
	// What printers make themselves: self-signed, naming the printer, not the address the
	// gateway reaches it at.
	own := testcert.New(t, testcert.Server("NPI1A2B3C", "NPI1A2B3C.local"), nil)
	issued := testcert.New(t, testcert.Server("printer", "127.0.0.1"), ca)
	issuedForAnother := testcert.New(t, testcert.Server("another", "another.example"), ca)
	stranger := testcert.New(t, testcert.Server("stranger", "127.0.0.1"), nil)

	serversOwn := func(srv *httptest.Server) []*x509.Certificate { return []*x509.Certificate{srv.Certificate()} }
	just := func(cs ...*testcert.Pair) func(*httptest.Server) []*x509.Certificate {
		return func(*httptest.Server) []*x509.Certificate {
			var out []*x509.Certificate
			for _, c := range cs {
				out = append(out, c.Cert)
			}
			return out
		}
	}
	tests := []struct {
		name   string
		server *testcert.Pair // nil: httptest's self-signed certificate for 127.0.0.1
		// trust gives the certificates of tls_ca_file; nil: no file.
		trust      func(*httptest.Server) []*x509.Certificate
		skipVerify bool
		// want is what the probe error says; none: probe and Send work.
		want []string
	}{
		{name: "self-signed, system store", want: []string{"x509: certificate signed by unknown authority",
			"not trusted by this host", "tls_ca_file", "tls_skip_verify"}},
		{name: "self-signed, tls_skip_verify", skipVerify: true},
		{name: "self-signed, its certificate as tls_ca_file", trust: serversOwn},
		{name: "self-signed, in a file of several", trust: func(srv *httptest.Server) []*x509.Certificate {
			return []*x509.Certificate{stranger.Cert, srv.Certificate()}
		}},
		{name: "self-signed, another certificate as tls_ca_file", trust: just(stranger),
			want: []string{"x509: certificate signed by unknown authority", "neither the one in tls_ca_file"}},
		{name: "printer's own naming itself, pinned", server: own, trust: just(own)},
		{name: "printer's own naming itself, system store", server: own,
			want: []string{"x509: cannot validate certificate for 127.0.0.1", "tls_ca_file", "tls_skip_verify"}},
		{name: "issued by the CA in tls_ca_file", server: issued, trust: just(ca)},
		{name: "issued by the CA for another host", server: issuedForAnother, trust: just(ca),
			want: []string{"x509: cannot validate certificate for 127.0.0.1", "neither the one in tls_ca_file"}},
		{name: "issued by a CA not in tls_ca_file", server: issued, trust: just(stranger),
			want: []string{"x509: certificate signed by unknown authority", "neither the one in tls_ca_file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var pair *tls.Certificate
			if tt.server != nil {
				pair = &tt.server.TLS
			}
			f, srv := newFakeIPPS(t, pair)
			c := Config{Name: "fake", URI: fakeIPPSURI(srv), TLSSkipVerify: tt.skipVerify,
				Logger: slog.New(slog.DiscardHandler)}
			if tt.trust != nil {
				c.TLSCAFile = writePEM(t, tt.trust(srv)...)
			}
			b, err := Open(c)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx := context.Background()
			st, perr := b.Probe(ctx)
			data := []byte("%PDF-1.4 a letter")
			r, serr := b.Send(ctx, &Job{ID: 1, Name: "letter", Owner: "alice", Pages: 1,
				Documents: []Document{writeDoc(t, "l.pdf", data)}})
			if len(tt.want) == 0 {
				if perr != nil || st.State != StateReady {
					t.Fatalf("Probe: %+v, %v", st, perr)
				}
				if serr != nil || r.UpstreamID != "1" {
					t.Fatalf("Send: %+v, %v", r, serr)
				}
				if req, ok := f.lastRequest(goipp.OpSendDocument); !ok || !bytes.Equal(req.doc, data) {
					t.Fatalf("the printer got document %q, want %q", req.doc, data)
				}
				return
			}
			if perr == nil {
				t.Fatal("Probe succeeded; want a certificate error")
			}
			if !certError(perr) {
				t.Errorf("Probe error %v (%T) is no *tls.CertificateVerificationError", perr, perr)
			}
			for _, w := range tt.want {
				if !strings.Contains(perr.Error(), w) {
					t.Errorf("Probe error %q does not say %q", perr, w)
				}
			}
			// Refused in the handshake, the job went nowhere: the scheduler may send it elsewhere
			// without flagging a possible duplicate.
			if !errors.Is(serr, ErrNotDelivered) || !strings.Contains(serr.Error(), "tls_ca_file") {
				t.Errorf("Send: %v, want ErrNotDelivered naming tls_ca_file", serr)
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if len(f.requests) > 0 {
				t.Errorf("%d requests reached the printer through a refused certificate", len(f.requests))
			}
		})
	}
}

// Open refuses what config check refuses, for callers that build a Config themselves.
func TestOpenTLSOptions(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert := writePEM(t, testcert.New(t, testcert.Server("printer", "printer.example"), nil).Cert)
	noCert := filepath.Join(dir, "empty.pem")
	if err := os.WriteFile(noCert, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	badCert := filepath.Join(dir, "bad.pem")
	if err := os.WriteFile(badCert, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    Config
		want string // in the error; "" for none
	}{
		{"ipps, neither", Config{URI: "ipps://printer.example/ipp/print"}, ""},
		{"ipps, file", Config{URI: "ipps://printer.example/ipp/print", TLSCAFile: cert}, ""},
		{"https, skip", Config{URI: "https://printer.example:631/ipp/print", TLSSkipVerify: true}, ""},
		{"ipp, skip", Config{URI: "ipp://printer.example/ipp/print", TLSSkipVerify: true}, "not ipp://"},
		{"http, file", Config{URI: "http://printer.example/ipp/print", TLSCAFile: cert}, "not http://"},
		{"lpd, file", Config{URI: "lpd://printer.example/q", TLSCAFile: cert}, "not lpd://"},
		{"socket, skip", Config{URI: "socket://printer.example", TLSSkipVerify: true}, "not socket://"},
		{"both", Config{URI: "ipps://printer.example/ipp/print", TLSCAFile: cert, TLSSkipVerify: true}, "together"},
		{"missing file", Config{URI: "ipps://printer.example/ipp/print", TLSCAFile: filepath.Join(dir, "nope.pem")}, "no such file"},
		{"no certificate", Config{URI: "ipps://printer.example/ipp/print", TLSCAFile: noCert}, "no PEM certificate"},
		{"broken certificate", Config{URI: "ipps://printer.example/ipp/print", TLSCAFile: badCert}, "certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.c.Name = "p"
			p, err := Open(tt.c)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				p.Close()
				return
			}
			if err == nil {
				p.Close()
				t.Fatalf("Open accepted %+v", tt.c)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "tls_") {
				t.Errorf("error %q, want one naming the key and saying %q", err, tt.want)
			}
		})
	}
}
