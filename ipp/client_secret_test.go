// A password in a printer URI goes to the printer as HTTP Basic authentication and nowhere
// else: not in printer-uri, not in any error (errors reach logs, the audit log and the API).
package ipp

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"
)

const secret = "s3cret"

// withPassword turns http://127.0.0.1:PORT into ipp://alice:s3cret@127.0.0.1:PORT.
func withPassword(serverURL string) string {
	return "ipp://alice:" + secret + "@" + strings.TrimPrefix(serverURL, "http://")
}

func TestClientKeepsPasswordOutOfErrors(t *testing.T) {
	t.Parallel()
	answering := func(h http.HandlerFunc) string {
		hs := httptest.NewServer(h)
		t.Cleanup(hs.Close)
		return withPassword(hs.URL)
	}
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	tests := []struct {
		name string
		uri  string
	}{
		{"HTTP error", answering(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })},
		{"not IPP", answering(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("<html>")) })},
		{"unreachable", withPassword(gone.URL) + "/ipp/print"},
		{"bad port", "ipp://alice:" + secret + "@printer:http/ipp/print"},
		{"no host", "ipp://alice:" + secret + "@/ipp/print"},
		{"wrong scheme", "lpd://alice:" + secret + "@printer/q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := NewClient(tt.uri, ClientOptions{})
			if err == nil {
				_, err = c.GetPrinterAttributes(testCtx(t))
			}
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestClientSendsPasswordOnlyAsBasicAuth(t *testing.T) {
	t.Parallel()
	var (
		mu         sync.Mutex
		printerURI string
		user, pass string
	)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m goipp.Message
		err := m.Decode(r.Body)
		mu.Lock()
		defer mu.Unlock()
		user, pass, _ = r.BasicAuth()
		if err == nil {
			if a, ok := Attrs(m.Operation).String("printer-uri"); ok {
				printerURI = a
			}
		}
		// Only what was sent matters here.
		http.Error(w, "recorded", http.StatusServiceUnavailable)
	}))
	t.Cleanup(hs.Close)
	c, err := NewClient(withPassword(hs.URL)+"/ipp/print", ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.URI(), secret) {
		t.Errorf("URI() = %q", c.URI())
	}
	_, _ = c.GetPrinterAttributes(testCtx(t))
	mu.Lock()
	defer mu.Unlock()
	if want := "ipp://" + strings.TrimPrefix(hs.URL, "http://") + "/ipp/print"; printerURI != want {
		t.Errorf("printer-uri %q, want %q", printerURI, want)
	}
	if user != "alice" || pass != secret {
		t.Errorf("Basic authentication %q:%q, want alice:%s", user, pass, secret)
	}
}
