package tlsmux

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testcert"
)

// serveBoth runs one http.Server on both sides of a Mux over a loopback listener, as the
// gateway does, answering which side a request came in on.
func serveBoth(t *testing.T, timeout time.Duration) (addr string, pair *testcert.Pair, m *Mux) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pair = testcert.Self(t, "127.0.0.1")
	m = New(ln, timeout)
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

// Closing the mux (what http.Server.Shutdown does through either side) ends Accept on both.
func TestCloseEndsAcceptOnBothSides(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := New(ln, time.Second)
	errs := make(chan error, 2)
	for _, l := range []net.Listener{m.Plain(), m.TLS()} {
		go func() {
			_, err := l.Accept()
			errs <- err
		}()
	}
	if err := m.Plain().Close(); err != nil {
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
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the port still accepts connections after close")
	}
}

// With TLS required there is no plain side: a plain request gets net/http's own "400 Client
// sent an HTTP request to an HTTPS server", and TLS works.
func TestListenersRequiredServesOnlyTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pair := testcert.Self(t, "127.0.0.1")
	certFile, keyFile := pair.Write(t, dir)
	conf, leaf, err := ServerConfig(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Equal(pair.Cert) || conf.MinVersion != tls.VersionTLS12 {
		t.Fatalf("ServerConfig: leaf %v, min version %x", leaf.Subject, conf.MinVersion)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ls := Listeners(ln, conf, true, time.Second)
	if len(ls) != 1 {
		t.Fatalf("%d listeners, want only the TLS one", len(ls))
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "tls=%v", r.TLS != nil)
	})}
	go srv.Serve(ls[0])
	defer srv.Close()
	addr := ln.Addr().String()

	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatalf("plain request: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Errorf("plain request: %d %q, want 400 naming HTTPS", resp.StatusCode, body)
	}
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Pool()}}}
	resp, err = c.Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("TLS request: %v", err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "tls=true" {
		t.Errorf("TLS request: %q", body)
	}
}

func TestServerConfigRefusesAMismatchedKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, _ := testcert.Self(t, "a").Write(t, dir)
	other := t.TempDir()
	_, keyFile := testcert.Self(t, "b").Write(t, other)
	if _, _, err := ServerConfig(certFile, keyFile); err == nil || !strings.Contains(err.Error(), certFile) {
		t.Errorf("ServerConfig with another certificate's key: %v, want an error naming the files", err)
	}
}
