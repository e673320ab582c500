// An IPP tap: a TCP proxy in front of a printer, one per sender, that records when each
// request carrying a job (Print-Job, Create-Job, Send-Document) arrived from its sender. With a
// tap of its own per gateway, the printer's door says which gateway sent what when, which
// ippeveprinter's own records cannot (every gateway on one host connects from 127.0.0.1).
package peer

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
)

// TapSend is one job-carrying request a tap passed on.
type TapSend struct {
	Sender string    // the tap's sender (a gateway's name)
	Op     goipp.Op  // Print-Job, Create-Job or Send-Document
	At     time.Time // when the request's headers arrived
}

// TapLog collects the sends of every tap in front of one printer.
type TapLog struct {
	mu    sync.Mutex
	sends []TapSend
}

// Sends returns what the taps recorded, oldest first.
func (l *TapLog) Sends() []TapSend {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]TapSend(nil), l.sends...)
	sort.Slice(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

func (l *TapLog) add(s TapSend) {
	l.mu.Lock()
	l.sends = append(l.sends, s)
	l.mu.Unlock()
}

// IPPTap is a running tap.
type IPPTap struct {
	Sender string
	ln     net.Listener
	target string
	log    *TapLog
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[net.Conn]bool
}

// StartIPPTap listens on a free loopback port and passes every connection on to target
// (host:port), recording sender's job-carrying requests in log. It stops with the test.
func StartIPPTap(t testing.TB, sender, target string, log *TapLog) *IPPTap {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("peer: tap: %v", err)
	}
	p := &IPPTap{Sender: sender, ln: ln, target: target, log: log, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// URI is the printer's IPP URI through the tap.
func (p *IPPTap) URI() string {
	return fmt.Sprintf("ipp://%s/ipp/print", p.ln.Addr())
}

func (p *IPPTap) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on && p.conns == nil {
		return false
	}
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *IPPTap) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c)
		}()
	}
}

// serve relays one connection. The client's bytes reach the printer as they are read: the
// request parser reads them through a tee, so nothing is held back or reordered.
func (p *IPPTap) serve(client net.Conn) {
	defer client.Close()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	p.track(client, true)
	p.track(up, true)
	defer p.track(client, false)
	defer p.track(up, false)
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(client, up)
		client.Close()
	}()
	br := bufio.NewReader(io.TeeReader(client, up))
	for {
		req, err := http.ReadRequest(br)
		if err != nil {
			break
		}
		at := time.Now()
		var hdr [4]byte // version-number (2) and operation-id (2)
		if _, err := io.ReadFull(req.Body, hdr[:]); err == nil {
			switch op := goipp.Op(binary.BigEndian.Uint16(hdr[2:])); op {
			case goipp.OpPrintJob, goipp.OpCreateJob, goipp.OpSendDocument:
				p.log.add(TapSend{Sender: p.Sender, Op: op, At: at})
			}
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			break
		}
	}
	if tc, ok := up.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	<-done
}
