package printers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, uri, text string
	}{
		{"password", "ipp://alice:s3cret@10.0.0.5/ipp/print", "ipp://alice:xxxxx@10.0.0.5/ipp/print", "ipp://alice:xxxxx@10.0.0.5/ipp/print"},
		{"user only", "ipp://alice@10.0.0.5/ipp/print", "ipp://alice@10.0.0.5/ipp/print", "ipp://alice@10.0.0.5/ipp/print"},
		{"none", "lpd://10.0.0.5:515/q", "lpd://10.0.0.5:515/q", "lpd://10.0.0.5:515/q"},
		{"@ in the password", "ipps://alice:p@ss@h/x", "ipps://alice:xxxxx@h/x", "ipps://alice:xxxxx@h/x"},
		{"unparsable", "ipp://alice:s3cret@h:http/x", "ipp://alice:xxxxx@h:http/x", "ipp://alice:xxxxx@h:http/x"},
		{"in a message", `ipp: Get-Printer-Attributes "ipp://alice:s3cret@h/x": Post "http://alice:***@h:631/x": refused; also socket://bob:pw@h2 and ipp://h:631/ok, mail bob@example.org`, "",
			`ipp: Get-Printer-Attributes "ipp://alice:xxxxx@h/x": Post "http://alice:xxxxx@h:631/x": refused; also socket://bob:xxxxx@h2 and ipp://h:631/ok, mail bob@example.org`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.uri != "" {
				if got := RedactURI(tt.in); got != tt.uri {
					t.Errorf("RedactURI = %q, want %q", got, tt.uri)
				}
			}
			if got := RedactText(tt.in); got != tt.text {
				t.Errorf("RedactText = %q, want %q", got, tt.text)
			}
		})
	}
}

// The backends' errors reach logs, the audit log, the API and the dashboard: none may show a
// password from the printer's URI.
func TestBackendErrorsHidePassword(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	t.Cleanup(failing.Close)
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	host := func(u string) string { return strings.TrimPrefix(u, "http://") }
	tests := []struct {
		name, uri string
		probe     bool // Open succeeds; the error comes from Probe
	}{
		{"unparsable", "ipp://alice:s3cret@h:http/x", false},
		{"unknown scheme", "smb://alice:s3cret@h/x", false},
		{"lpd without queue", "lpd://alice:s3cret@h", false},
		{"socket with path", "socket://alice:s3cret@h/x", false},
		{"ipp no host", "ipp://alice:s3cret@/x", false},
		{"ipp HTTP error", "ipp://alice:s3cret@" + host(failing.URL) + "/ipp/print", true},
		{"ipp unreachable", "ipp://alice:s3cret@" + host(gone.URL) + "/ipp/print", true},
		{"socket unreachable", "socket://alice:s3cret@" + host(gone.URL), true},
		{"lpd unreachable", "lpd://alice:s3cret@" + host(gone.URL) + "/q", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Open(Config{Name: "p", URI: tt.uri})
			if (err == nil) != tt.probe {
				t.Fatalf("Open: %v", err)
			}
			if err == nil {
				defer p.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, err = p.Probe(ctx); err == nil {
					t.Fatal("Probe succeeded")
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}
