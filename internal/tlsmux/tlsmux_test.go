package tlsmux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testcert"
)

// quiet drops the accept loop's log lines.
var quiet = slog.New(slog.DiscardHandler)

// serveBoth runs one http.Server on both sides of a Mux over a loopback listener, as the
// gateway does, answering which side a request came in on.
func serveBoth(t *testing.T, timeout time.Duration) (addr string, pair *testcert.Pair, m *Mux) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pair = testcert.Self(t, "127.0.0.1")
	m = New(ln, timeout, quiet)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "tls=%v body=%s", r.TLS != nil, body)
	})}
	done := make(chan error, 2)
	go func() { done <- srv.Serve(m.Plain()) }()
	go func() {
		done <- srv.Serve(tls.NewListener(m.TLS(), &tls.Config{Certificates: []tls.Certificate{pair.TLS}}))
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		for range 2 {
			if err := <-done; !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("serve ended with %v, want ErrServerClosed", err)
			}
		}
	})
	return ln.Addr().String(), pair, m
}

func TestPlainAndTLSOnOnePort(t *testing.T) {
	t.Parallel()
	addr, pair, _ := serveBoth(t, 5*time.Second)
	tests := []struct {
		name   string
		scheme string
		client *http.Client
	}{
		{"plain", "http", &http.Client{Timeout: 5 * time.Second}},
		{"tls", "https", &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pair.Pool()}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A body, so that the byte the mux peeked and the rest are both seen to arrive.
			resp, err := tt.client.Post(tt.scheme+"://"+addr+"/", "text/plain", strings.NewReader("letter"))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			got, _ := io.ReadAll(resp.Body)
			want := fmt.Sprintf("tls=%v body=letter", tt.scheme == "https")
			if string(got) != want {
				t.Errorf("%s: %q, want %q", tt.scheme, got, want)
			}
		})
	}
}

// A connection that never sends a byte is dropped after the timeout and, meanwhile, keeps no
// one else waiting.
func TestSilentConnectionDoesNotBlockOthers(t *testing.T) {
	t.Parallel()
	addr, _, _ := serveBoth(t, 300*time.Millisecond)
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("request behind a silent connection: %v", err)
	}
	resp.Body.Close()
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); err == nil || errors.Is(err, errors.ErrUnsupported) || isTimeout(err) {
		t.Errorf("silent connection: read %d, %v; want it closed by the mux", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Each side closes on its own (each may be served by its own http.Server, shut down in turn):
// closing one ends its Accept only, closing the second closes the port.
func TestSidesCloseOnTheirOwnThenThePort(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, time.Second, quiet)
	accepted := func(l net.Listener) chan error {
		errs := make(chan error, 1)
		go func() {
			_, err := l.Accept()
			errs <- err
		}()
		return errs
	}
	wantClosed := func(name string, errs chan error) {
		t.Helper()
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s accept after close: %v, want net.ErrClosed", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s accept still blocked 5 s after close", name)
		}
	}
	plainErrs, tlsErrs := accepted(m.Plain()), accepted(m.TLS())
	if err := m.Plain().Close(); err != nil {
		t.Fatalf("close plain: %v", err)
	}
	wantClosed("plain", plainErrs)
	// The TLS side still takes connections (one that opens like a TLS handshake is enough).
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("the port refused a connection with the TLS side open: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte{recordHandshake, 3, 1}); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-tlsErrs:
		if err != nil {
			t.Fatalf("TLS side after the plain side closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("TLS side did not get a TLS connection after the plain side closed")
	}
	tlsErrs = accepted(m.TLS())
	if err := m.TLS().Close(); err != nil {
		t.Fatalf("close TLS: %v", err)
	}
	wantClosed("TLS", tlsErrs)
	if err := m.Plain().Close(); err != nil {
		t.Errorf("closing a side again: %v", err)
	}
	if c, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Error("the port still accepts connections after both sides closed")
	}
}

// Closing the Mux ends Accept on both sides at once.
func TestMuxCloseEndsBothSides(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, time.Second, quiet)
	errs := make(chan error, 2)
	for _, l := range []net.Listener{m.Plain(), m.TLS()} {
		go func() {
			_, err := l.Accept()
			errs <- err
		}()
	}
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for range 2 {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("accept after close: %v, want net.ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("accept still blocked 5 s after close")
		}
	}
}

// A port that requires TLS, as serve wires it: the router on the TLS side, RedirectToTLS on
// the plain side. Pages and reads are redirected to the same URL over https://; anything else
// is refused before its body is read.
func TestRequiredTLSRedirectsReadsAndRefusesTheRest(t *testing.T) {
	t.Parallel()
	pair := testcert.Self(t, "127.0.0.1")
	conf := &tls.Config{Certificates: []tls.Certificate{pair.TLS}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	plainLn, tlsLn := Split(ln, conf, time.Second, quiet)
	var bodies atomicCount
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls=%v", r.TLS != nil)
	})}
	plainSrv := &http.Server{Handler: countBodies(&bodies, RedirectToTLS())}
	go srv.Serve(tlsLn)
	go plainSrv.Serve(plainLn)
	defer srv.Close()
	defer plainSrv.Close()
	addr := ln.Addr().String()
	noFollow := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}

	tests := []struct {
		method, path string
		status       int
		location     string
	}{
		{http.MethodGet, "/ui/jobs?state=pending", http.StatusPermanentRedirect, "https://" + addr + "/ui/jobs?state=pending"},
		{http.MethodHead, "/healthz", http.StatusPermanentRedirect, "https://" + addr + "/healthz"},
		{http.MethodPost, "/ipp/print/letters", http.StatusForbidden, ""},
		{http.MethodPost, "/api/v1/jobs", http.StatusForbidden, ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, "http://"+addr+tt.path, strings.NewReader("%PDF-1.4 a letter sent in the clear"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tt.method, tt.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Location") != tt.location {
			t.Errorf("%s %s: %d Location %q, want %d %q", tt.method, tt.path, resp.StatusCode, resp.Header.Get("Location"), tt.status, tt.location)
		}
		if tt.status == http.StatusForbidden && !strings.Contains(string(body), "https://"+addr+tt.path) {
			t.Errorf("%s %s: %q does not say where to go instead", tt.method, tt.path, body)
		}
	}
	if n := bodies.load(); n != 0 {
		t.Errorf("the plain side read %d request bodies, want none", n)
	}
	// Followed, the redirect arrives over TLS.
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Pool()}}}
	resp, err := c.Get("http://" + addr + "/ui/")
	if err != nil {
		t.Fatalf("following the redirect: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tls=true" {
		t.Errorf("after the redirect: %q, want the TLS side's answer", body)
	}
}

// atomicCount counts across handler goroutines.
type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add()      { c.mu.Lock(); c.n++; c.mu.Unlock() }
func (c *atomicCount) load() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// countBodies counts the requests whose body h read at least a byte of.
func countBodies(c *atomicCount, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cr := &countingReader{r: r.Body}
		r.Body = cr
		h.ServeHTTP(w, r)
		if cr.n > 0 {
			c.add()
		}
	})
}

type countingReader struct {
	r io.ReadCloser
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
func (c *countingReader) Close() error { return c.r.Close() }
