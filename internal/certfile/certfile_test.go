package certfile

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/internal/testcert"
)

// served is the certificate cfg gives a handshake.
func served(t *testing.T, cfg *tls.Config) *x509.Certificate {
	t.Helper()
	cert, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	return cert.Leaf
}

// install writes pair over certFile and keyFile, with a modification time of its own (file
// systems with coarse timestamps could otherwise hide a quick replacement).
func install(t *testing.T, pair *testcert.Pair, certFile, keyFile string, mtime time.Time) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{certFile, pair.CertPEM}, {keyFile, pair.KeyPEM}} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(f.path, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRenewedPairIsServedWithoutRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "gateway.pem"), filepath.Join(dir, "gateway.key")
	first, second := testcert.Self(t, "gateway-2026"), testcert.Self(t, "gateway-2027")
	base := time.Now().Add(-time.Hour)
	install(t, first, certFile, keyFile, base)
	clock := fakeclock.New(time.Now())
	var logged bytes.Buffer
	src, err := Open(Options{CertFile: certFile, KeyFile: keyFile, Now: clock.Now, Logger: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	cfg := src.Config()
	if cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("MinVersion %x, want TLS 1.2", cfg.MinVersion)
	}
	if got := served(t, cfg); !got.Equal(first.Cert) {
		t.Fatalf("serving %s, want the first certificate", got.Subject)
	}

	// Renewed: not looked at before CheckEvery has passed, served after.
	install(t, second, certFile, keyFile, base.Add(time.Minute))
	clock.Advance(CheckEvery / 2)
	if got := served(t, cfg); !got.Equal(first.Cert) {
		t.Errorf("files looked at again after %v: serving %s", CheckEvery/2, got.Subject)
	}
	clock.Advance(CheckEvery)
	if got := served(t, cfg); !got.Equal(second.Cert) {
		t.Errorf("after renewal serving %s, want the second certificate", got.Subject)
	}

	// Half-replaced (a new certificate, the old key): the good pair stays, the problem is
	// reported once, not at every handshake.
	third := testcert.Self(t, "gateway-2028")
	if err := os.WriteFile(certFile, third.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(certFile, base.Add(2*time.Minute), base.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		clock.Advance(CheckEvery)
		if got := served(t, cfg); !got.Equal(second.Cert) {
			t.Errorf("with a mismatched pair on disk serving %s, want the last good one", got.Subject)
		}
	}
	// The key follows: the pair loads again.
	install(t, third, certFile, keyFile, base.Add(3*time.Minute))
	clock.Advance(CheckEvery)
	if got := served(t, cfg); !got.Equal(third.Cert) {
		t.Errorf("after the key followed serving %s, want the third certificate", got.Subject)
	}

	// Each event is logged for the operator: the two reloads, the pair that did not load
	// (once), and, since the test certificates expire within the hour, the expiry warning at
	// start and at each reload.
	for what, want := range map[string]int{"was reloaded": 2, "do not load": 1, "expires soon": 3} {
		if got := strings.Count(logged.String(), what); got != want {
			t.Errorf("log has %d lines with %q, want %d:\n%s", got, what, want, logged.String())
		}
	}
	reloads := regexp.MustCompile(`was reloaded.*subject="?CN=([^"\s]+)|do not load.*(private key does not match)`).FindAllStringSubmatch(logged.String(), -1)
	var got []string
	for _, m := range reloads {
		got = append(got, m[1]+m[2])
	}
	if !slices.Equal(got, []string{"gateway-2027", "private key does not match", "gateway-2028"}) {
		t.Errorf("reloads logged %q, want gateway-2027, one mismatch error, gateway-2028", got)
	}
}

func TestOpenRefusesWhatDoesNotLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := testcert.Self(t, "a").Write(t, dir)
	_, otherKey := testcert.Self(t, "b").Write(t, t.TempDir())
	tests := []struct {
		name, cert, key, want string
	}{
		{"key of another certificate", certFile, otherKey, "private key does not match"},
		{"missing key", certFile, filepath.Join(dir, "nope.key"), "nope.key"},
		{"key as certificate", keyFile, keyFile, keyFile},
	}
	for _, tt := range tests {
		if _, err := Open(Options{CertFile: tt.cert, KeyFile: tt.key}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// A certificate far from its expiry is not warned about.
func TestNoExpiryWarningForALongLivedCertificate(t *testing.T) {
	t.Parallel()
	certFile, keyFile := testcert.Self(t, "gateway").Write(t, t.TempDir())
	var logged bytes.Buffer
	// testcert certificates live an hour: warn only within a minute of the end.
	if _, err := Open(Options{CertFile: certFile, KeyFile: keyFile, WarnWithin: time.Minute,
		Logger: slog.New(slog.NewTextHandler(&logged, nil))}); err != nil {
		t.Fatal(err)
	}
	if logged.Len() != 0 {
		t.Errorf("logged %q for a certificate an hour from its expiry", logged.String())
	}
}
