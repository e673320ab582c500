// A raw 9100 printer that prints: a loopback sink whose jobs come out one page at a time, each
// page advancing prtMarkerLifeCount in its SNMP agent (SNMPD), so that the gateway's
// page-counter confirmation is tested against what really "came out". The test meters the
// pages (Allow), so that it knows exactly which were counted when it kills the printer.
package peer

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"
)

// PrintingSink is a raw printer with a paper path: jobs queue in the order received and print
// page by page while the test allows pages.
type PrintingSink struct {
	ln      net.Listener
	agent   *SNMPD
	pagesOf func([]byte) int

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []sinkJob
	allowed int
	dead    bool
	// Printed lists, per job received (in order), the pages that came out.
	printed []int
	conns   sync.WaitGroup
	printer sync.WaitGroup
}

type sinkJob struct {
	index int
	pages int
}

// StartPrintingSink starts a sink on a free loopback port whose agent is a; pagesOf counts a
// job's pages. It is killed in t.Cleanup.
func StartPrintingSink(t testing.TB, a *SNMPD, pagesOf func([]byte) int) *PrintingSink {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peer: printing sink listen: %v", err)
	}
	s := &PrintingSink{ln: ln, agent: a, pagesOf: pagesOf}
	s.cond = sync.NewCond(&s.mu)
	s.conns.Add(1)
	go s.serve()
	s.printer.Add(1)
	go s.print()
	t.Cleanup(func() { s.Kill() })
	return s
}

// Addr is the sink's host:port.
func (s *PrintingSink) Addr() string { return s.ln.Addr().String() }

// Allow lets n more pages come out.
func (s *PrintingSink) Allow(n int) {
	s.mu.Lock()
	s.allowed += n
	s.mu.Unlock()
	s.cond.Broadcast()
}

// Printed returns the pages printed of each job received, in the order received.
func (s *PrintingSink) Printed() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.printed...)
}

// Received is how many jobs the sink took in.
func (s *PrintingSink) Received() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.printed)
}

// WaitPrinted waits until the sink printed pages in total (bounded).
func (s *PrintingSink) WaitPrinted(t testing.TB, pages int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		total := 0
		for _, n := range s.Printed() {
			total += n
		}
		if total >= pages {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peer: printing sink printed %d pages in %v, want %d (%v)", total, timeout, pages, s.Printed())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill stops the printer at once, as a power cut would: the listener closes, open connections
// are reset, and the jobs not yet printed are lost.
func (s *PrintingSink) Kill() {
	s.mu.Lock()
	already := s.dead
	s.dead = true
	s.mu.Unlock()
	s.cond.Broadcast()
	if !already {
		s.ln.Close()
	}
	s.conns.Wait()
	s.printer.Wait()
}

func (s *PrintingSink) serve() {
	defer s.conns.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		go s.read(c)
	}
}

// read takes one job: every byte until the client's half-close, then a clean close (the
// printer buffered it), and the job queues for the paper path.
func (s *PrintingSink) read(c net.Conn) {
	defer s.conns.Done()
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Minute))
	data, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, io.EOF) {
		return
	}
	s.mu.Lock()
	if s.dead {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, sinkJob{index: len(s.printed), pages: max(s.pagesOf(data), 1)})
	s.printed = append(s.printed, 0)
	s.mu.Unlock()
	s.cond.Broadcast()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

// print is the paper path: one page at a time, each advancing the counter; printing while a
// job is queued, idle when none is.
func (s *PrintingSink) print() {
	defer s.printer.Done()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		for !s.dead && (len(s.queue) == 0 || s.allowed == 0) {
			status := 3 // idle
			if len(s.queue) > 0 {
				status = 4 // printing, waiting for the test's next page
			}
			s.setStatus(status, 0)
			s.cond.Wait()
		}
		if s.dead {
			return
		}
		j := &s.queue[0]
		s.allowed--
		s.printed[j.index]++
		s.setStatus(4, 1)
		if s.printed[j.index] >= j.pages {
			s.queue = s.queue[1:]
		}
	}
}

// setStatus writes hrPrinterStatus and advances the counter by pages (s.mu held; the agent's
// file has its own lock).
func (s *PrintingSink) setStatus(status int, pages int64) {
	_ = s.agent.Update(func(m *PrinterMIB) {
		m.Status = status
		m.LifeCount += pages
	})
}
