//go:build e2e

// The gateway under hostile or broken clients: thousands of slow or silent connections from a
// few other hosts (127.0.0.2-127.0.0.11) while a normal client prints over IPP and LPD.
// Run: go test -tags e2e -run Hostile -count=1 -v ./e2e/
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/testcert"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
)

// hostileKinds are the ways a hostile or broken client holds a connection to the HTTP port.
var hostileKinds = []struct {
	name string
	// start is what the client sends at once; drip what it sends every few seconds after.
	start, drip string
}{
	{"chunked drip", "POST /ipp/print/letters HTTP/1.1\r\nHost: x\r\nContent-Type: application/ipp\r\nTransfer-Encoding: chunked\r\n\r\n", "1\r\nx\r\n"},
	{"header drip", "POST /ipp/print/letters HTTP/1.1\r\nHost: x\r\n", "X"},
	{"silent plain", "", ""},
	{"silent TLS", "\x16", ""}, // a TLS record's first byte, then nothing: sorted to TLS, stuck in the handshake
}

// fdCount is how many file descriptors process pid holds.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatalf("read the gateway's fds: %v", err)
	}
	return len(ents)
}

// TestHostileClientsDoNotStopPrinting: 3,000 connections from ten other hosts (chunked uploads
// that drip a byte every 5 s, headers that drip, plain connections that say nothing, TLS
// connections stuck in their handshake) against one gateway with TLS on its port, while a
// normal client on 127.0.0.1 prints 100 letters over IPP and 100 over LPD, eight at a time each. Every letter is
// accepted and printed; each hostile host holds at most its max_connections_per_host and the
// rest are refused and counted; the hostile connections are cut within their timeouts
// (idle_timeout 3 s for bodies, 30 s for headers and TLS handshakes); the gateway's file
// descriptors stay under max_connections + 2 × 256 (LPD, raw) + 128.
func TestHostileClientsDoNotStopPrinting(t *testing.T) {
	t.Parallel()
	const hosts, perHost, hostile = 10, 64, 3000
	certFile, keyFile := testcert.Self(t, "127.0.0.1").Write(t, t.TempDir())
	g := startFEGateway(t, feGatewayOptions{Extra: fmt.Sprintf(
		"tls_cert_file: %q\ntls_key_file: %q\nlimits:\n  max_connections: 1024\n  max_connections_per_host: %d\n  idle_timeout: 3s\n",
		certFile, keyFile, perHost)})
	pid := g.cmd.Process.Pid
	fdBefore := fdCount(t, pid)
	httpAddr := strings.TrimPrefix(g.Base, "http://")

	// The flood: every connection dialled at once, then held until the gateway ends it.
	start := time.Now()
	var opened, refusedAtOnce atomic.Int64
	type held struct {
		c     net.Conn
		kind  string
		ended chan time.Duration
	}
	var mu sync.Mutex
	var conns []held
	var dialers sync.WaitGroup
	for i := range hostile {
		dialers.Add(1)
		go func() {
			defer dialers.Done()
			src := net.ParseIP(fmt.Sprintf("127.0.0.%d", 2+i%hosts))
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
			c, err := d.Dial("tcp", httpAddr)
			if err != nil {
				refusedAtOnce.Add(1)
				return
			}
			opened.Add(1)
			k := hostileKinds[i%len(hostileKinds)]
			h := held{c: c, kind: k.name, ended: make(chan time.Duration, 1)}
			mu.Lock()
			conns = append(conns, h)
			mu.Unlock()
			if k.start != "" {
				c.Write([]byte(k.start))
			}
			go func() { // the reader: notices when the gateway closes it
				buf := make([]byte, 512)
				for {
					c.SetReadDeadline(time.Now().Add(2 * time.Minute))
					if _, err := c.Read(buf); err != nil {
						h.ended <- time.Since(start)
						return
					}
				}
			}()
			if k.drip != "" {
				go func() {
					for range 30 { // at most 150 s of dripping
						time.Sleep(5 * time.Second)
						if _, err := c.Write([]byte(k.drip)); err != nil {
							return
						}
					}
				}()
			}
		}()
	}
	dialers.Wait()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range conns {
			h.c.Close()
		}
	})
	t.Logf("flood: %d connections dialled from %d hosts, %d refused while dialling", hostile, hosts, refusedAtOnce.Load())

	// The normal client prints while the flood holds what it can.
	dir := t.TempDir()
	letter := func(i int) []byte { return fmt.Appendf(nil, "%%PDF-1.4\n%% letter %d for the ward\n%%%%EOF\n", i) }
	ippc, err := ipp.NewClient("ipp://"+httpAddr+"/ipp/print/letters", ipp.ClientOptions{UserName: "ward"})
	if err != nil {
		t.Fatal(err)
	}
	var lc lpd.Client
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	// Eight at a time on each protocol, as a busy print server sends: the normal client's own
	// connections stay within its per-host share too.
	ippTurn, lpdTurn := make(chan struct{}, 8), make(chan struct{}, 8)
	for i := range 100 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			ippTurn <- struct{}{}
			defer func() { <-ippTurn }()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			doc := letter(i)
			if _, err := ippc.PrintJob(ctx, ipp.JobRequest{Name: fmt.Sprintf("ipp letter %d", i)},
				ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf"}); err != nil {
				errs <- fmt.Errorf("IPP letter %d: %w", i, err)
			}
		}()
		go func() {
			defer wg.Done()
			lpdTurn <- struct{}{}
			defer func() { <-lpdTurn }()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			path := filepath.Join(dir, fmt.Sprintf("lpd-%d.pdf", i))
			if err := os.WriteFile(path, letter(1000+i), 0o644); err != nil {
				errs <- err
				return
			}
			if err := lc.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: fmt.Sprintf("lpd letter %d", i), User: "ward",
				Files: []lpd.ClientFile{{Path: path}}}); err != nil {
				errs <- fmt.Errorf("LPD letter %d: %w", i, err)
			}
		}()
	}
	fdPeak := fdCount(t, pid)
	stopSampling, sampling := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampling)
		for {
			if n, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
				fdPeak = max(fdPeak, len(n))
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-stopSampling:
				return
			}
		}
	}()
	wg.Wait()
	close(stopSampling)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	<-sampling
	if t.Failed() {
		t.FailNow()
	}

	// Every letter prints.
	deadline := time.Now().Add(60 * time.Second)
	for {
		done := 0
		for _, j := range g.jobs(t) {
			if j.State == job.StateCompleted {
				done++
			} else if j.State.Final() {
				t.Fatalf("job %d (%s) ended %s: %s", j.ID, j.Name, j.State, j.StateReason)
			}
		}
		if done == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 200 letters printed after 60 s", done)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// What the flood got: at most its share per host; the rest refused and counted.
	mu.Lock()
	all := append([]held(nil), conns...)
	mu.Unlock()
	cutBy := map[string]time.Duration{}
	stillOpen := 0
	limit := time.After(60 * time.Second) // header and TLS timeouts are 30 s
	for _, h := range all {
		select {
		case d := <-h.ended:
			cutBy[h.kind] = max(cutBy[h.kind], d)
		case <-limit:
			stillOpen++
			limit = time.After(0)
		}
	}
	if stillOpen > 0 {
		t.Errorf("%d hostile connections still open 60 s after the flood began", stillOpen)
	}
	t.Logf("gateway fds: %d before the flood, peak %d during it; longest hold by kind: %v", fdBefore, fdPeak, cutBy)
	if bound := 1024 + 2*256 + 128; fdPeak > bound {
		t.Errorf("the gateway held %d file descriptors during the flood, bound %d", fdPeak, bound)
	}
	if d := cutBy["chunked drip"]; d > 30*time.Second {
		t.Errorf("a dripping upload was held %v; idle_timeout is 3 s", d)
	}
	for _, k := range []string{"header drip", "silent plain", "silent TLS"} {
		if d := cutBy[k]; d > 45*time.Second {
			t.Errorf("a %s connection was held %v; the header and first-byte timeouts are 30 s", k, d)
		}
	}
	resp, err := http.Get(g.Base + "/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	refused := 0
	for _, line := range strings.Split(string(metrics), "\n") {
		if strings.HasPrefix(line, `printgate_connections_refused_total{frontend="http",limit="per-host"}`) {
			fmt.Sscanf(line[strings.LastIndexByte(line, ' ')+1:], "%d", &refused)
		}
	}
	if want := hostile - hosts*perHost; refused < want {
		t.Errorf("metrics count %d per-host refusals, want at least %d (%d connections from %d hosts of %d each)\n%s",
			refused, want, hostile, hosts, perHost, metrics)
	}
}
