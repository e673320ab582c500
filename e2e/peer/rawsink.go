// A raw (AppSocket/JetDirect) printer stand-in: a loopback listener keeping each connection's bytes.
package peer

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"
)

// RawSink accepts TCP connections on 127.0.0.1 and keeps all the bytes of each one as a job,
// recorded when the client closes its side.
type RawSink struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	jobs [][]byte
	errs []error
	// conns are the connections' open and close times, in order of closing.
	conns []Interval
}

// Interval is when one connection to a sink was open, and how many bytes it brought (0: a
// probe's connect, not a job).
type Interval struct {
	Open, Close time.Time
	Bytes       int
}

// RawListener starts a RawSink on a free loopback port; it is closed in t.Cleanup.
func RawListener(t testing.TB) *RawSink {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peer: raw sink listen: %v", err)
	}
	s := &RawSink{ln: ln}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		s.ln.Close()
		done := make(chan struct{})
		go func() { s.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("peer: raw sink connections still open 10s after close")
		}
	})
	return s
}

// serve accepts until the listener closes.
func (s *RawSink) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go s.read(c)
	}
}

// read keeps one connection's bytes; a connection idle for a minute is an error, not a job.
func (s *RawSink) read(c net.Conn) {
	defer s.wg.Done()
	defer c.Close()
	opened := time.Now()
	var buf []byte
	defer func() {
		s.mu.Lock()
		s.conns = append(s.conns, Interval{Open: opened, Close: time.Now(), Bytes: len(buf)})
		s.mu.Unlock()
	}()
	chunk := make([]byte, 64*1024)
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		n, err := c.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.mu.Lock()
			s.errs = append(s.errs, fmt.Errorf("peer: raw sink connection from %s: %w", c.RemoteAddr(), err))
			s.mu.Unlock()
			return
		}
	}
	s.mu.Lock()
	s.jobs = append(s.jobs, buf)
	s.mu.Unlock()
}

// Port is the sink's TCP port.
func (s *RawSink) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port of the sink.
func (s *RawSink) Addr() string { return s.ln.Addr().String() }

// URI is the sink as a CUPS/printgate device URI.
func (s *RawSink) URI() string { return fmt.Sprintf("socket://%s", s.Addr()) }

// Jobs returns a copy of the jobs received so far (one per closed connection), in order of closing.
func (s *RawSink) Jobs() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([][]byte, len(s.jobs))
	for i, j := range s.jobs {
		out[i] = append([]byte(nil), j...)
	}
	return out
}

// Errors returns connection errors seen so far (read failures and idle timeouts).
func (s *RawSink) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

// WaitJobs waits until at least n jobs are received and returns them; the test fails after timeout.
func (s *RawSink) WaitJobs(t testing.TB, n int, timeout time.Duration) [][]byte {
	t.Helper()
	var got [][]byte
	if why := waitFor(timeout, 10*time.Millisecond, nil, func() bool {
		got = s.Jobs()
		return len(got) >= n
	}); why != "" {
		t.Fatalf("peer: raw sink got %d jobs, want %d: %s (errors: %v)", len(got), n, why, s.Errors())
	}
	return got
}

// Overlaps returns the pairs of connections that brought bytes and were open at the same time:
// a printer that cannot tell two senders apart would interleave their jobs (one gateway sends
// to a printer one job at a time, so an overlap means two senders). A probe's connect, which
// brings nothing, is left out.
func (s *RawSink) Overlaps() [][2]Interval {
	s.mu.Lock()
	var cs []Interval
	for _, c := range s.conns {
		if c.Bytes > 0 {
			cs = append(cs, c)
		}
	}
	s.mu.Unlock()
	sort.Slice(cs, func(i, j int) bool { return cs[i].Open.Before(cs[j].Open) })
	var out [][2]Interval
	for i := range cs {
		for j := i + 1; j < len(cs) && cs[j].Open.Before(cs[i].Close); j++ {
			out = append(out, [2]Interval{cs[i], cs[j]})
		}
	}
	return out
}

// Connections is how many connections the sink has seen close.
func (s *RawSink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
