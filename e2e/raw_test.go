//go:build e2e

// End-to-end tests of the raw (AppSocket/9100) front-end through a real `printgate serve`
// child: netcat and the Go raw client print byte-identical jobs; empty, oversize and reset
// connections spool nothing and the port keeps serving. The gateway helper is in lpd_test.go.
package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/raw"
	"github.com/printgate/printgate/spool/spooltest"
)

// feNetcatPath is Debian's netcat-openbsd, whose -N half-closes after the input ends and then
// waits for the server's close, as a print driver's port monitor does.
const feNetcatPath = "/usr/bin/nc.openbsd"

// feNetcat sends the file at stdin (a path, or "" for no bytes at all) to addr with nc -N.
func feNetcat(t *testing.T, addr, stdin string) {
	t.Helper()
	if _, err := os.Stat(feNetcatPath); err != nil {
		t.Fatalf("netcat-openbsd missing (%v); run scripts/install-peers.sh", err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, feNetcatPath, "-N", host, port)
	if stdin == "" {
		stdin = os.DevNull
	}
	f, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nc -N %s %s < %s: %v (context: %v)\n%s", host, port, stdin, err, ctx.Err(), out)
	}
}

func TestRawNetcatAndGoClientByteIdentical(t *testing.T) {
	t.Parallel()
	g := startFEGateway(t, feGatewayOptions{})
	path, data := feLetter(t, "letter-3p.pdf")

	// nc returns once the gateway closes its side, which it does only after the job is durable.
	before := g.jobIDs(t)
	feNetcat(t, g.RawAddr, path)
	j := g.newJob(t, before)
	if j.Origin != "raw" || j.VirtualPrinter != "letters" || j.OriginHost != "127.0.0.1" {
		t.Errorf("netcat job: origin %q virtual printer %q origin host %q", j.Origin, j.VirtualPrinter, j.OriginHost)
	}
	g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), data)

	g.assertServesRaw(t, data)
}

func TestRawEmptyOversizeAndResetConnectionsSpoolNothing(t *testing.T) {
	t.Parallel()
	const limit = 4 << 10
	g := startFEGateway(t, feGatewayOptions{MaxDocumentSize: "4KiB"})
	_, letter := feLetter(t, "letter-1p.pdf")
	if len(letter) >= limit {
		t.Fatalf("test letter of %d bytes does not fit under the %d-byte limit", len(letter), limit)
	}
	big := bytes.Repeat([]byte("%PDF-1.4 oversize "), 2*limit/18+1)

	tests := []struct {
		name string
		// send runs the bad client; it fails the test if the client saw something other than
		// what the protocol promises for its case.
		send    func(t *testing.T)
		logLine string
	}{
		{
			name: "zero bytes from the Go side, half-closed",
			send: func(t *testing.T) {
				nc := feDial(t, g.RawAddr)
				defer nc.Close()
				if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
					t.Fatal(err)
				}
				// Nothing to refuse: the gateway closes cleanly, not with a reset.
				if b, err := io.ReadAll(nc); err != nil || len(b) != 0 {
					t.Errorf("after an empty job: read %q, %v; want a clean close", b, err)
				}
			},
			logLine: "connection closed without data",
		},
		{
			name:    "zero bytes from netcat",
			send:    func(t *testing.T) { feNetcat(t, g.RawAddr, "") },
			logLine: "connection closed without data",
		},
		{
			name: "oversize job",
			send: func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				var c raw.Client
				if err := c.Send(ctx, g.RawAddr, bytes.NewReader(big)); err == nil {
					t.Errorf("oversize job of %d bytes (limit %d) reported delivered", len(big), limit)
				}
			},
			logLine: "job refused: too large",
		},
		{
			name: "connection reset mid-job",
			send: func(t *testing.T) {
				nc := feDial(t, g.RawAddr)
				if _, err := nc.Write(letter[:len(letter)/2]); err != nil {
					t.Fatal(err)
				}
				// A reset, not a close: a raw job has no length, so only an abortive end can
				// tell a broken transfer from a finished one.
				_ = nc.(*net.TCPConn).SetLinger(0)
				nc.Close()
			},
			logLine: "transfer failed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, docs, mark := len(g.jobIDs(t)), spooltest.Documents(t, g.Spool), g.logSize()
			tt.send(t)
			g.waitLog(t, mark, tt.logLine, 10*time.Second)
			g.assertNothingSpooled(t, jobs, docs)
			g.assertServesRaw(t, letter)
		})
	}

	// Half a PDF closed cleanly is a whole job as far as the raw protocol can tell: it is stored
	// as sent, and the damaged document must not take the gateway down (it did: the PDF
	// library panicked while counting its pages).
	t.Run("half a PDF closed cleanly", func(t *testing.T) {
		half := filepath.Join(t.TempDir(), "half.pdf")
		if err := os.WriteFile(half, letter[:len(letter)/2], 0o600); err != nil {
			t.Fatal(err)
		}
		before := g.jobIDs(t)
		feNetcat(t, g.RawAddr, half)
		j := g.newJob(t, before)
		if !j.PagesEstimated {
			t.Errorf("damaged PDF job %d: %d pages, not marked estimated", j.ID, j.Pages)
		}
		g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), letter[:len(letter)/2])
		g.assertServesRaw(t, letter)
	})

	// A client that connects and sends nothing more must not keep the port from others.
	t.Run("stalled client does not block others", func(t *testing.T) {
		jobs, docs := len(g.jobIDs(t)), spooltest.Documents(t, g.Spool)
		nc := feDial(t, g.RawAddr)
		if _, err := nc.Write(letter[:100]); err != nil {
			t.Fatal(err)
		}
		g.assertServesRaw(t, letter)
		_ = nc.(*net.TCPConn).SetLinger(0)
		nc.Close()
		g.assertNothingSpooled(t, jobs+1, docs+1)
	})
}

func feDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	_ = nc.SetDeadline(time.Now().Add(15 * time.Second))
	return nc
}

// assertServesRaw sends want with the Go raw client and checks it is stored by the time the
// client returns and prints byte-identical.
func (g *feGateway) assertServesRaw(t *testing.T, want []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := g.jobIDs(t)
	var c raw.Client
	if err := c.Send(ctx, g.RawAddr, bytes.NewReader(want)); err != nil {
		t.Fatalf("Go raw client: %v", err)
	}
	j := g.newJob(t, before)
	if j.Origin != "raw" || !strings.HasPrefix(j.Name, "raw job") {
		t.Errorf("Go raw client job: origin %q name %q", j.Origin, j.Name)
	}
	g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), want)
}
