// The LPD and socket backends against small in-process servers: bytes delivered as given,
// refusals and unreachable servers mapped to "nothing delivered", probes.
package printers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeLPD is an RFC 1179 receiver that acknowledges everything (or refuses receive-job) and
// keeps each job's control file and data files.
type fakeLPD struct {
	ln     net.Listener
	refuse bool
	mu     sync.Mutex
	jobs   []fakeLPDJob
	wg     sync.WaitGroup
	done   chan struct{} // one value per job recorded
}

type fakeLPDJob struct {
	queue   string
	control string
	data    [][]byte
}

func newFakeLPD(t *testing.T, refuse bool) *fakeLPD {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLPD{ln: ln, refuse: refuse, done: make(chan struct{}, 16)}
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				f.serve(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); f.wg.Wait() })
	return f
}

func (f *fakeLPD) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil || len(line) < 2 || line[0] != 2 {
		return // a probe: connected and hung up
	}
	if f.refuse {
		c.Write([]byte{1})
		return
	}
	c.Write([]byte{0})
	j := fakeLPDJob{queue: strings.TrimSpace(line[1:])}
	for {
		sub, err := r.ReadString('\n')
		if err != nil {
			break
		}
		fields := strings.Fields(sub[1:])
		n, _ := strconv.Atoi(fields[0])
		c.Write([]byte{0})
		buf := make([]byte, n+1)
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		if sub[0] == 2 {
			j.control = string(buf[:n])
		} else {
			j.data = append(j.data, buf[:n])
		}
		c.Write([]byte{0})
	}
	f.mu.Lock()
	f.jobs = append(f.jobs, j)
	f.mu.Unlock()
	f.done <- struct{}{}
}

func (f *fakeLPD) received() []fakeLPDJob {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeLPDJob(nil), f.jobs...)
}

func TestLPDSend(t *testing.T) {
	t.Parallel()
	f := newFakeLPD(t, false)
	p, err := Open(Config{Name: "lpd1", URI: "lpd://" + f.ln.Addr().String() + "/mailroom", Formats: []string{"application/pdf"}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := []byte("%PDF-1.4 first\x00\xff"), []byte("%!PS second")
	docA, docB := writeDoc(t, "a.pdf", a), writeDoc(t, "b.ps", b)
	docB.Format = "application/postscript"
	r, err := p.Send(context.Background(), &Job{ID: 4, Name: "letter 4", Owner: "bob", Copies: 1, Documents: []Document{docA, docB}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if !r.Done {
		t.Errorf("receipt %+v: an acknowledged LPD transfer is the completion", r)
	}
	if out, err := p.Watch(context.Background(), r, nil); out != OutcomeCompleted || err != nil {
		t.Errorf("Watch = %q, %v", out, err)
	}
	// The server records the job once the connection ends.
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server recorded no job")
	}
	jobs := f.received()
	if len(jobs) != 1 {
		t.Fatalf("server got %d jobs", len(jobs))
	}
	j := jobs[0]
	if j.queue != "mailroom" || len(j.data) != 2 || !bytes.Equal(j.data[0], a) || !bytes.Equal(j.data[1], b) {
		t.Errorf("server got queue %q, %d files; want mailroom with both documents byte for byte", j.queue, len(j.data))
	}
	for _, want := range []string{"Jletter 4\n", "Pbob\n", "ldfA", "odfB"} {
		if !strings.Contains(j.control, want) {
			t.Errorf("control file %q lacks %q", j.control, want)
		}
	}
	st, err := p.Probe(context.Background())
	if err != nil || st.State != StateReady || st.Capabilities == nil || st.Capabilities.Formats[0] != "application/pdf" {
		t.Errorf("Probe = %+v, %v", st, err)
	}
}

func TestLPDNothingDelivered(t *testing.T) {
	t.Parallel()
	f := newFakeLPD(t, true)
	doc := writeDoc(t, "a.pdf", []byte("%PDF"))
	refusing, _ := Open(Config{Name: "lpd1", URI: "lpd://" + f.ln.Addr().String() + "/nosuch"})
	if _, err := refusing.Send(context.Background(), &Job{ID: 1, Documents: []Document{doc}}); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("refused job: %v, want ErrNotDelivered", err)
	}
	gone := closedAddr(t)
	down, _ := Open(Config{Name: "lpd2", URI: "lpd://" + gone + "/q"})
	if _, err := down.Send(context.Background(), &Job{ID: 1, Documents: []Document{doc}}); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("unreachable server: %v, want ErrNotDelivered", err)
	}
	if _, err := down.Probe(context.Background()); err == nil {
		t.Error("Probe of a closed port succeeded")
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// rawSink keeps each connection's bytes; with hangUp it resets instead of closing cleanly.
type rawSink struct {
	ln    net.Listener
	reset bool
	mu    sync.Mutex
	got   [][]byte
	wg    sync.WaitGroup
}

func newRawSink(t *testing.T, reset bool) *rawSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawSink{ln: ln, reset: reset}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				b, _ := io.ReadAll(c)
				s.mu.Lock()
				s.got = append(s.got, b)
				s.mu.Unlock()
				if s.reset {
					c.(*net.TCPConn).SetLinger(0)
				}
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func TestSocketSend(t *testing.T) {
	t.Parallel()
	s := newRawSink(t, false)
	p, err := Open(Config{Name: "raw1", URI: "socket://" + s.ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	a, b := bytes.Repeat([]byte("PCL\x1bE"), 50000), []byte("second document")
	r, err := p.Send(context.Background(), &Job{ID: 9, Documents: []Document{writeDoc(t, "a", a), writeDoc(t, "b", b)}})
	if err != nil || !r.Done {
		t.Fatalf("Send = %+v, %v", r, err)
	}
	s.mu.Lock()
	got := s.got
	s.mu.Unlock()
	if len(got) != 1 || !bytes.Equal(got[0], append(append([]byte{}, a...), b...)) {
		t.Errorf("printer got %d connections; want one with both documents byte for byte", len(got))
	}
}

func TestSocketFailures(t *testing.T) {
	t.Parallel()
	doc := writeDoc(t, "a", []byte("data"))
	down, _ := Open(Config{Name: "raw1", URI: "socket://" + closedAddr(t)})
	if _, err := down.Send(context.Background(), &Job{ID: 1, Documents: []Document{doc}}); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("unreachable: %v, want ErrNotDelivered", err)
	}
	s := newRawSink(t, true)
	resetting, _ := Open(Config{Name: "raw2", URI: "socket://" + s.ln.Addr().String()})
	_, err := resetting.Send(context.Background(), &Job{ID: 1, Documents: []Document{doc}})
	if err == nil || errors.Is(err, ErrNotDelivered) {
		t.Errorf("reset after the data: %v, want a failure that may have printed (not ErrNotDelivered)", err)
	}
	if _, err := Open(Config{Name: "bad", URI: "socket://host:99999"}); err == nil {
		t.Error("Open accepted a bad port")
	}
}
