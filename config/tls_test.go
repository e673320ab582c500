package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testcert"
)

// The listener's certificate and key are loaded by config check as serve loads them; relative
// paths are the config file's neighbours.
func TestParseListenerTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := testcert.Self(t, "gateway.example.nhs.uk").Write(t, dir)
	other := testcert.Self(t, "other")
	if err := os.WriteFile(filepath.Join(dir, "other-key.pem"), other.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	const rest = "printers:\n  - name: p\n    uri: socket://192.0.2.9:9100\nvirtual_printers:\n  - name: letters\n    pool: [p]\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"none", rest, ""},
		{"both, relative", "tls_cert_file: cert.pem\ntls_key_file: key.pem\n" + rest, ""},
		{"both, absolute, required", "tls_cert_file: " + cert + "\ntls_key_file: " + key + "\ntls_required: true\n" + rest, ""},
		{"cert only", "tls_cert_file: cert.pem\n" + rest, "tls_cert_file and tls_key_file go together"},
		{"key only", "tls_key_file: key.pem\n" + rest, "tls_cert_file and tls_key_file go together"},
		{"required without a pair", "tls_required: true\n" + rest, "tls_required needs tls_cert_file and tls_key_file"},
		{"key of another certificate", "tls_cert_file: cert.pem\ntls_key_file: other-key.pem\n" + rest, "private key does not match public key"},
		{"missing file", "tls_cert_file: nope.pem\ntls_key_file: key.pem\n" + rest, "nope.pem"},
		{"key given as the certificate", "tls_cert_file: key.pem\ntls_key_file: key.pem\n" + rest, "tls_cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse(filepath.Join(dir, "printgate.yaml"), []byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			case tt.want == "" && c.TLSCertFile != "" && (c.TLSCertFile != cert || c.TLSKeyFile != key):
				t.Errorf("paths %q %q, want %q %q", c.TLSCertFile, c.TLSKeyFile, cert, key)
			}
		})
	}
}
