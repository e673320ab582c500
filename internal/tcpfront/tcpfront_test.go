package tcpfront

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

func TestDecodeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Brief an Frau Müller", "Brief an Frau Müller"},
		{"M\xfcller", "Müller"}, // Latin-1
		{" a\tb\x1b[2Jc ", "a b [2Jc"},
		{"\x85next", "next"},
	} {
		if got := DecodeText([]byte(tc.in)); got != tc.want {
			t.Errorf("DecodeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSlotFreeBeforeDone: when Done runs, the connection's slot is already free, so a client
// that connects again the moment it learns the last one ended is served, not refused. (Done
// used to run before the slot was given back, and the LPD and raw tests that wait on it were
// flaky.)
func TestSlotFreeBeforeDone(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answers := make(chan string, 2)
	var once sync.Once
	dialAndRead := func() string {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			return "dial: " + err.Error()
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	l := Listener{
		Proto: "test", MaxConns: 1, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Refuse: func(nc net.Conn) { nc.Close() },
		Handle: func(_ context.Context, nc net.Conn) { nc.Write([]byte("served")); nc.Close() },
		// The first Done connects again while it runs, so the slot must be free already.
		Done: func() { once.Do(func() { answers <- dialAndRead() }) },
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(ctx, ln) }()
	if got := dialAndRead(); got != "served" {
		t.Fatalf("first connection read %q, want served", got)
	}
	if got := <-answers; got != "served" {
		t.Fatalf("connection made from Done read %q, want served (refused: the slot was still taken)", got)
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}
