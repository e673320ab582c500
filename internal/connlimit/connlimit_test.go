package connlimit

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

func tcp(ip string, port int) net.Addr { return &net.TCPAddr{IP: net.ParseIP(ip), Port: port} }

func TestCounterCaps(t *testing.T) {
	t.Parallel()
	var refused []string
	var mu sync.Mutex
	c := &Counter{Proto: "test", MaxConns: 4, MaxPerHost: 2, Refused: func(proto, reason string) {
		mu.Lock()
		refused = append(refused, reason)
		mu.Unlock()
	}}
	steps := []struct {
		ip   string
		want string
	}{
		{"127.0.0.2", ""}, {"127.0.0.2", ""}, {"127.0.0.2", ReasonPerHost}, // one host holds 2
		{"127.0.0.1", ""}, {"::1", ""}, // others still get in
		{"127.0.0.3", ReasonTotal}, // 4 open in all
	}
	var releases []func()
	for i, st := range steps {
		rel, why := c.Acquire(tcp(st.ip, 40000+i))
		if why != st.want {
			t.Fatalf("step %d (%s): reason %q, want %q", i, st.ip, why, st.want)
		}
		if why == "" {
			releases = append(releases, rel)
		}
	}
	if c.Open() != 4 {
		t.Fatalf("open %d, want 4", c.Open())
	}
	releases[0]()
	releases[0]() // twice is once
	if c.Open() != 3 {
		t.Fatalf("open %d after one release (twice), want 3", c.Open())
	}
	if _, why := c.Acquire(tcp("127.0.0.2", 50000)); why != "" {
		t.Fatalf("127.0.0.2 refused (%s) after giving a place back", why)
	}
	if len(refused) != 2 || refused[0] != ReasonPerHost || refused[1] != ReasonTotal {
		t.Fatalf("Refused told %v", refused)
	}
	for _, r := range releases[1:] {
		r()
	}
	c.mu.Lock()
	hosts := len(c.perHost)
	c.mu.Unlock()
	if hosts != 1 { // only 127.0.0.2's last connection is open
		t.Fatalf("%d hosts tracked, want 1: the map must not keep closed hosts", hosts)
	}
}

// dialFrom connects to addr from source address ip (any 127/8 address works on Linux).
func dialFrom(t *testing.T, ip, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, ip, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestListenerPerHostOverLoopback: a host that holds its share of connections is refused the
// next one (closed before any byte is read) while another host is served.
func TestListenerPerHostOverLoopback(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &Listener{Listener: raw, Counter: &Counter{Proto: "test", MaxConns: 100, MaxPerHost: 3}}
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	addr := raw.Addr().String()
	for range 3 {
		dialFrom(t, "127.0.0.2", addr)
		select {
		case c := <-accepted:
			defer c.Close()
		case <-time.After(5 * time.Second):
			t.Fatal("a connection within the per-host cap was not accepted")
		}
	}
	over := dialFrom(t, "127.0.0.2", addr)
	over.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := over.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("fourth connection from 127.0.0.2: read %v, want it closed", err)
	}
	dialFrom(t, "127.0.0.1", addr)
	select {
	case c := <-accepted:
		c.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("another host was not served while 127.0.0.2 was at its cap")
	}
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}

// TestListenerConnGivesItsPlaceBack: closing an admitted connection frees its place (twice is
// once), so the next client of that host is admitted again.
func TestListenerConnGivesItsPlaceBack(t *testing.T) {
	t.Parallel()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &Counter{Proto: "test", MaxConns: 1, MaxPerHost: 1}
	ln := &Listener{Listener: raw, Counter: c}
	defer ln.Close()
	for round := range 2 {
		dialFrom(t, "127.0.0.1", raw.Addr().String())
		nc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if c.Open() != 1 {
			t.Fatalf("round %d: %d open after Accept, want 1", round, c.Open())
		}
		nc.Close()
		nc.Close()
		if c.Open() != 0 {
			t.Fatalf("round %d: %d open after Close (twice), want 0", round, c.Open())
		}
	}
}
