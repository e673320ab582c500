//go:build e2e

// End-to-end tests of the LPD front-end through a real `printgate serve` child: CUPS' lpd
// backend and LPRng's lpr, lpq and lprm as clients, and refusals of malformed, truncated and
// oversize jobs. The gateway child helper at the bottom is shared with raw_test.go and
// frontends_bench_test.go. Run: go test -tags e2e -run 'LPD|Raw' -count=1 -v ./e2e/
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
	"github.com/printgate/printgate/spool/spooltest"
	"github.com/printgate/printgate/ui"
)

func TestLPDCupsBackendAndLPRngPrintByteIdentical(t *testing.T) {
	t.Parallel()
	g := startFEGateway(t, feGatewayOptions{})
	path, data := feLetter(t, "letter-2p.pdf")

	// CUPS' lpd backend, run the way cupsd runs it for one job.
	before := g.jobIDs(t)
	uri := fmt.Sprintf("lpd://127.0.0.1:%d/letters", g.LPDPort)
	if err := peer.RunLPDBackend(t, uri, path, "alice", "Letter to Bob"); err != nil {
		t.Fatal(err)
	}
	// The backend returns after the final acknowledgement, which the gateway sends only once
	// the job is durable: the job must be there now, without waiting.
	j := g.newJob(t, before)
	if j.Origin != "lpd" || j.Owner != "alice" || j.Name != "Letter to Bob" || j.VirtualPrinter != "letters" {
		t.Errorf("lpd backend job: origin %q owner %q name %q virtual printer %q", j.Origin, j.Owner, j.Name, j.VirtualPrinter)
	}
	g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), data)

	// LPRng's lpr, unpacked privately (Debian's lprng conflicts with cups-client).
	l := peer.LPRng(t)
	before = g.jobIDs(t)
	if out, err := l.Lpr(t, "letters", g.LPDPort, "-J", "Letter to Carol", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	j = g.newJob(t, before)
	if j.Origin != "lpd" || j.Name != "Letter to Carol" {
		t.Errorf("LPRng job: origin %q name %q", j.Origin, j.Name)
	}
	g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), data)
}

func TestLPDLpqListsAndLprmRemoves(t *testing.T) {
	t.Parallel()
	g := startFEGateway(t, feGatewayOptions{})
	// Drained printers take no new work, so the jobs below stay queued for lpq to list. The
	// drain goes through the real CLI, as an operator would do it.
	for name := range g.OutDirs {
		g.cli(t, "printers", "drain", "-server", g.Base, name)
	}
	path, _ := feLetter(t, "letter-1p.pdf")
	l := peer.LPRng(t)

	var ids []int64
	for _, title := range []string{"first letter", "second letter"} {
		before := g.jobIDs(t)
		if out, err := l.Lpr(t, "letters", g.LPDPort, "-J", title, path); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		ids = append(ids, g.newJob(t, before).ID)
	}
	// An owner other than root, so the lprm user check has someone to protect.
	var c lpd.Client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := g.jobIDs(t)
	if err := c.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: "alice's letter", User: "alice",
		Files: []lpd.ClientFile{{Path: path}}}); err != nil {
		t.Fatal(err)
	}
	alice := g.newJob(t, before).ID
	ids = append(ids, alice)
	for _, id := range ids {
		if j := g.job(t, id); j.State != job.StatePending {
			t.Fatalf("job %d is %s with every printer drained, want pending", id, j.State)
		}
	}

	out, err := l.Lpq(t, "letters", g.LPDPort)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	listed := feLpqJobs(out)
	for _, id := range ids {
		if !listed[id] {
			t.Errorf("lpq does not list queued job %d:\n%s", id, out)
		}
	}
	if !strings.Contains(out, "alice") || !strings.Contains(out, "root") {
		t.Errorf("lpq listing lacks the owners alice and root:\n%s", out)
	}

	// lprm as another user may not remove alice's job: LPD carries no authentication, so the
	// gateway goes by the agent name (LPRng's -U sets it when run as root).
	if _, err := l.Lprm(t, "letters", g.LPDPort, "-U", "bob", strconv.FormatInt(alice, 10)); err != nil {
		t.Logf("lprm -U bob: %v", err) // LPRng's exit status for a refusal varies; the job's state decides
	}
	if j := g.job(t, alice); j.State != job.StatePending {
		t.Errorf("bob's lprm of alice's job %d left it %s, want pending", alice, j.State)
	}

	// lprm (as root, from the gateway host itself) removes the first job and only that one.
	if out, err := l.Lprm(t, "letters", g.LPDPort, strconv.FormatInt(ids[0], 10)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if j := g.waitFinal(t, ids[0], 10*time.Second); j.State != job.StateCanceled {
		t.Errorf("job %d after lprm: %s, want canceled", ids[0], j.State)
	}
	for _, id := range ids[1:] {
		if j := g.job(t, id); j.State != job.StatePending {
			t.Errorf("job %d after lprm of job %d: %s, want pending", id, ids[0], j.State)
		}
	}
	out, err = l.Lpq(t, "letters", g.LPDPort)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	listed = feLpqJobs(out)
	if listed[ids[0]] || !listed[ids[1]] || !listed[alice] {
		t.Errorf("lpq after lprm of job %d lists %v, want %v:\n%s", ids[0], listed, ids[1:], out)
	}
	// The owner may remove her own job.
	if out, err := l.Lprm(t, "letters", g.LPDPort, "-U", "alice", strconv.FormatInt(alice, 10)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if j := g.waitFinal(t, alice, 10*time.Second); j.State != job.StateCanceled {
		t.Errorf("alice's job %d after her lprm: %s, want canceled", alice, j.State)
	}
}

// feLpqJobs returns the job numbers in a BSD-style lpq listing: short rows of rank, owner,
// job number, files and size, or long entries "owner: rank [job N host]" (LPRng asks for the
// long form).
func feLpqJobs(listing string) map[int64]bool {
	out := map[int64]bool{}
	short := regexp.MustCompile(`(?m)^(?:active|held|\d+(?:st|nd|rd|th))\s+\S+\s+(\d+)\s`)
	long := regexp.MustCompile(`(?m)^\S+: (?:active|held|\d+(?:st|nd|rd|th))\s+\[job (\d+) `)
	for _, re := range []*regexp.Regexp{short, long} {
		for _, m := range re.FindAllStringSubmatch(listing, -1) {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			out[id] = true
		}
	}
	return out
}

func TestLPDRefusesMalformedTruncatedOversizeAndKeepsServing(t *testing.T) {
	t.Parallel()
	// A small limit, so an oversize job is cheap to send; the real letters fit under it.
	const limit = 4 << 10
	g := startFEGateway(t, feGatewayOptions{MaxDocumentSize: "4KiB"})
	path, letter := feLetter(t, "letter-1p.pdf")
	if len(letter) >= limit {
		t.Fatalf("test letter of %d bytes does not fit under the %d-byte limit", len(letter), limit)
	}
	big := bytes.Repeat([]byte("%PDF-1.4 oversize "), 2*limit/18+1)
	control := func(jb string) []byte {
		return []byte("Hlocalhost\nPalice\nJ" + jb + "\nldfA001localhost\nNletter.pdf\nUdfA001localhost\n")
	}

	tests := []struct {
		name string
		// talk runs the conversation and returns the acknowledgement byte the server gave at
		// the step that must fail, or an error if the conversation went otherwise.
		talk func(c *feLPDConn) (byte, error)
		// logLine is what the gateway must log about it.
		logLine string
	}{
		{
			name: "unknown queue",
			talk: func(c *feLPDConn) (byte, error) {
				return c.send("\x02nosuchqueue\n")
			},
			logLine: "refused job for unknown queue",
		},
		{
			name: "malformed control file after a data file",
			talk: func(c *feLPDConn) (byte, error) {
				// The data file arrives first, as BSD lpr sends it, and is staged; the broken
				// control file must make the gateway throw it away.
				if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x03%d dfA001localhost\n", len(letter)),
					string(letter)+"\x00"); err != nil {
					return 0, err
				}
				cf := "Hlocalhost\nPalice\n\x01garbage\nldfA001localhost\n"
				if err := c.expectOK(fmt.Sprintf("\x02%d cfA001localhost\n", len(cf))); err != nil {
					return 0, err
				}
				return c.send(cf + "\x00")
			},
			logLine: "bad command byte",
		},
		{
			name: "control file printing no data file",
			talk: func(c *feLPDConn) (byte, error) {
				cf := "Hlocalhost\nPalice\nJnothing\n"
				if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x02%d cfA001localhost\n", len(cf))); err != nil {
					return 0, err
				}
				return c.send(cf + "\x00")
			},
			logLine: "prints no data file",
		},
		{
			name: "data file cut short, client half-closes and waits",
			talk: func(c *feLPDConn) (byte, error) {
				cf := control("cut")
				if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x02%d cfA001localhost\n", len(cf)), string(cf)+"\x00",
					fmt.Sprintf("\x03%d dfA001localhost\n", len(letter))); err != nil {
					return 0, err
				}
				if err := c.write(string(letter[:len(letter)/2])); err != nil {
					return 0, err
				}
				if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
					return 0, err
				}
				return c.ack()
			},
			logLine: "document truncated",
		},
		{
			name: "oversize data file announced",
			talk: func(c *feLPDConn) (byte, error) {
				cf := control("big")
				if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x02%d cfA001localhost\n", len(cf)), string(cf)+"\x00"); err != nil {
					return 0, err
				}
				return c.send(fmt.Sprintf("\x03%d dfA001localhost\n", len(big)))
			},
			logLine: "job exceeds the maximum size",
		},
		{
			name: "oversize data file of unknown length",
			talk: func(c *feLPDConn) (byte, error) {
				cf := control("big-unknown")
				if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x02%d cfA001localhost\n", len(cf)), string(cf)+"\x00",
					"\x030 dfA001localhost\n"); err != nil {
					return 0, err
				}
				// The server may refuse and stop reading before all of it is written.
				_ = c.write(string(big))
				_ = c.nc.(*net.TCPConn).CloseWrite()
				return c.ack()
			},
			logLine: "exceeds 4096 bytes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, docs, mark := len(g.jobIDs(t)), spooltest.Documents(t, g.Spool), g.logSize()
			c := dialFELPD(t, g.LPDAddr)
			ack, err := tt.talk(c)
			c.close()
			if err != nil {
				t.Fatalf("conversation: %v", err)
			}
			if ack == 0 {
				t.Fatalf("server acknowledged (0) where it must refuse")
			}
			g.waitLog(t, mark, tt.logLine, 10*time.Second)
			g.assertNothingSpooled(t, jobs, docs)
			g.assertServesLPD(t, path, letter)
		})
	}

	// A client that hangs up mid data file gets no answer; it must leave nothing behind.
	t.Run("connection cut mid data file", func(t *testing.T) {
		jobs, docs := len(g.jobIDs(t)), spooltest.Documents(t, g.Spool)
		mark := g.logSize()
		c := dialFELPD(t, g.LPDAddr)
		if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x03%d dfA001localhost\n", len(letter))); err != nil {
			t.Fatal(err)
		}
		if err := c.write(string(letter[:len(letter)/3])); err != nil {
			t.Fatal(err)
		}
		c.close()
		g.waitLog(t, mark, "document truncated", 10*time.Second)
		g.assertNothingSpooled(t, jobs, docs)
		g.assertServesLPD(t, path, letter)
	})

	// A damaged PDF with the right byte count is a well-formed LPD job: it is stored as sent,
	// and counting its pages must not take the gateway down.
	t.Run("damaged PDF with a correct byte count", func(t *testing.T) {
		half := letter[:len(letter)/2]
		var c lpd.Client
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		before := g.jobIDs(t)
		if err := c.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: "damaged", User: "dave",
			Files: []lpd.ClientFile{{Name: "damaged.pdf", Reader: bytes.NewReader(half), Size: int64(len(half))}}}); err != nil {
			t.Fatal(err)
		}
		j := g.newJob(t, before)
		if !j.PagesEstimated {
			t.Errorf("damaged PDF job %d: %d pages, not marked estimated", j.ID, j.Pages)
		}
		g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), half)
		g.assertServesLPD(t, path, letter)
	})

	// A client stalled mid-transfer must not keep others out.
	t.Run("stalled client does not block others", func(t *testing.T) {
		jobs, docs := len(g.jobIDs(t)), spooltest.Documents(t, g.Spool)
		c := dialFELPD(t, g.LPDAddr)
		cf := control("stalled")
		if err := c.expectOK("\x02letters\n", fmt.Sprintf("\x02%d cfA001localhost\n", len(cf)), string(cf)+"\x00",
			fmt.Sprintf("\x03%d dfA001localhost\n", len(letter))); err != nil {
			t.Fatal(err)
		}
		if err := c.write(string(letter[:100])); err != nil {
			t.Fatal(err)
		}
		g.assertServesLPD(t, path, letter)
		c.close()
		g.assertNothingSpooled(t, jobs+1, docs+1)
	})
}

// feLPDConn is a hand-driven LPD conversation, for inputs no well-behaved client sends.
type feLPDConn struct{ nc net.Conn }

func dialFELPD(t *testing.T, addr string) *feLPDConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial LPD %s: %v", addr, err)
	}
	// Every step of these conversations is small; ten seconds is ample even on a loaded machine.
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &feLPDConn{nc: nc}
}

func (c *feLPDConn) write(s string) error {
	if _, err := io.WriteString(c.nc, s); err != nil {
		return fmt.Errorf("write %q...: %w", feClip(s), err)
	}
	return nil
}

// ack reads one acknowledgement byte.
func (c *feLPDConn) ack() (byte, error) {
	var b [1]byte
	if _, err := io.ReadFull(c.nc, b[:]); err != nil {
		return 0, fmt.Errorf("read acknowledgement: %w", err)
	}
	return b[0], nil
}

// send writes s and returns the acknowledgement.
func (c *feLPDConn) send(s string) (byte, error) {
	if err := c.write(s); err != nil {
		return 0, err
	}
	return c.ack()
}

// expectOK sends each step and requires a positive acknowledgement to each.
func (c *feLPDConn) expectOK(steps ...string) error {
	for _, s := range steps {
		ack, err := c.send(s)
		if err != nil {
			return err
		}
		if ack != 0 {
			return fmt.Errorf("step %q...: acknowledgement %d, want 0", feClip(s), ack)
		}
	}
	return nil
}

func (c *feLPDConn) close() { c.nc.Close() }

func feClip(s string) string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

// assertServesLPD sends a good job with the Go LPD client and checks it is stored at once and
// prints byte-identical.
func (g *feGateway) assertServesLPD(t *testing.T, path string, want []byte) {
	t.Helper()
	var c lpd.Client
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := g.jobIDs(t)
	if err := c.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: "good letter", User: "carol",
		Files: []lpd.ClientFile{{Path: path}}}); err != nil {
		t.Fatalf("good client after a refused one: %v", err)
	}
	j := g.newJob(t, before)
	g.assertPrinted(t, g.waitFinal(t, j.ID, 30*time.Second), want)
}

// ---- A `printgate serve` child for the front-end tests ----

// feGatewayOptions shape the configuration of a front-end test's gateway.
type feGatewayOptions struct {
	// MaxDocumentSize is max_document_size; empty keeps the default.
	MaxDocumentSize string
	// Extra is appended to the top level of the configuration (e.g. a limits: block).
	Extra string
	// MinFreeDisk is min_free_disk; empty keeps the tests' 1MiB.
	MinFreeDisk string
	// SpoolDir, when set, is the spool directory (a second gateway on it restarts the first's
	// spool); otherwise a fresh one in the test's temporary directory.
	SpoolDir string
}

// feGateway is one running `printgate serve` child: virtual printer "letters" (LPD queue
// "letters", a raw port) over two file printers with no ppm, so a job completes as soon as
// its file is written.
type feGateway struct {
	Base    string // http://127.0.0.1:port, the one HTTP listener (IPP, API)
	LPDPort int
	LPDAddr string
	RawAddr string
	Spool   string
	// OutDirs maps each file printer's name to the directory it writes jobs into.
	OutDirs map[string]string
	API     *ui.Client

	bin     string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
}

// feBinary is the printgate binary the tests run: $PRINTGATE_BIN, or bin/printgate built by
// `make build` (which `make e2e` runs first).
func feBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PRINTGATE_BIN")
	if bin == "" {
		bin = filepath.Join(peer.RepoRoot(t), "bin", "printgate")
	}
	fi, err := os.Stat(bin)
	if err != nil {
		t.Fatalf("printgate binary: %v; run `make build` (go build -o bin/printgate ./cmd/printgate) first", err)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		t.Fatalf("printgate binary %s is not executable", bin)
	}
	return bin
}

// startFEGateway writes a config and starts `printgate serve` on free loopback ports, retrying
// if another process took one of them first. The child is stopped in t.Cleanup.
func startFEGateway(t testing.TB, o feGatewayOptions) *feGateway {
	t.Helper()
	bin := feBinary(t)
	var last string
	for attempt := 0; attempt < 3; attempt++ {
		g, why := tryFEGateway(t, bin, o)
		if g != nil {
			return g
		}
		last = why
		if !strings.Contains(why, "address already in use") {
			break
		}
	}
	t.Fatalf("printgate serve did not start: %s", last)
	return nil
}

func tryFEGateway(t testing.TB, bin string, o feGatewayOptions) (*feGateway, string) {
	t.Helper()
	dir := t.TempDir()
	g := &feGateway{
		bin:     bin,
		Spool:   filepath.Join(dir, "spool"),
		OutDirs: map[string]string{"file-a": filepath.Join(dir, "out", "file-a"), "file-b": filepath.Join(dir, "out", "file-b")},
		logPath: filepath.Join(dir, "gateway.log"),
		done:    make(chan struct{}),
	}
	if o.SpoolDir != "" {
		g.Spool = o.SpoolDir
	}
	httpPort, lpdPort, rawPort := peer.FreePort(t), peer.FreePort(t), peer.FreePort(t)
	for lpdPort == httpPort {
		lpdPort = peer.FreePort(t)
	}
	for rawPort == httpPort || rawPort == lpdPort {
		rawPort = peer.FreePort(t)
	}
	g.Base = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	g.LPDPort = lpdPort
	g.LPDAddr = fmt.Sprintf("127.0.0.1:%d", lpdPort)
	g.RawAddr = fmt.Sprintf("127.0.0.1:%d", rawPort)
	g.API = ui.NewClient(g.Base, "")
	maxDoc := ""
	if o.MaxDocumentSize != "" {
		maxDoc = "max_document_size: " + o.MaxDocumentSize + "\n"
	}
	maxDoc += o.Extra
	minFree := "1MiB"
	if o.MinFreeDisk != "" {
		minFree = o.MinFreeDisk
	}
	// The raw port binds on the HTTP listener's host, so everything stays on 127.0.0.1. Info
	// level: the tests read the line the gateway logs for each stored or refused job.
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
spool: %s
lpd_listen: 127.0.0.1:%d
min_free_disk: %s
%slog_level: info
auth:
  trust_loopback: true
printers:
  - name: file-a
    uri: file://%s
  - name: file-b
    uri: file://%s
virtual_printers:
  - name: letters
    pool: [file-a, file-b]
    lpd_queue: letters
    raw_port: %d
    default: true
`, httpPort, g.Spool, lpdPort, minFree, maxDoc, g.OutDirs["file-a"], g.OutDirs["file-b"], rawPort)
	cfgPath := filepath.Join(dir, "printgate.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(g.logPath)
	if err != nil {
		t.Fatal(err)
	}
	g.cmd = exec.Command(bin, "serve", "--config", cfgPath)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	// Its own process group, and killed with the test binary should that die without cleanup.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() {
		g.waitErr = g.cmd.Wait()
		logf.Close()
		close(g.done)
	}()
	t.Cleanup(func() { g.stop(t) })

	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(g.logText(), "printgate ready") {
		select {
		case <-g.done:
			return nil, fmt.Sprintf("exited (%v):\n%s", g.waitErr, feTail(g.logText(), 3000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, "not ready after 30s:\n" + feTail(g.logText(), 3000)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.API.Do(ctx, "GET", "/healthz", nil, "", nil); err != nil {
		return nil, fmt.Sprintf("healthz: %v", err)
	}
	return g, ""
}

// stop sends SIGTERM, waits for a clean exit, and kills the group if it does not come.
func (g *feGateway) stop(t testing.TB) {
	select {
	case <-g.done:
	default:
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(20 * time.Second):
			t.Errorf("printgate serve did not exit 20s after SIGTERM; killing it")
			_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-g.done:
			case <-time.After(5 * time.Second):
				t.Errorf("printgate serve (pid %d) still running after SIGKILL", g.cmd.Process.Pid)
			}
		}
		if g.waitErr != nil {
			t.Errorf("printgate serve exited with %v after SIGTERM", g.waitErr)
		}
	}
	if t.Failed() {
		t.Logf("--- gateway log (%s), last 6000 bytes:\n%s", g.logPath, feTail(g.logText(), 6000))
	}
}

func (g *feGateway) logText() string {
	b, err := os.ReadFile(g.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// logSize marks the end of the gateway's log so far, for waitLog.
func (g *feGateway) logSize() int { return len(g.logText()) }

// waitLog waits until the gateway has logged s after the mark.
func (g *feGateway) waitLog(t testing.TB, mark int, s string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		text := g.logText()
		if mark <= len(text) {
			text = text[mark:]
		}
		if strings.Contains(text, s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway never logged %q within %v", s, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cli runs a printgate client subcommand against the gateway.
func (g *feGateway) cli(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, g.bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("printgate %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// feAPITimeout bounds each API call of the helpers.
const feAPITimeout = 10 * time.Second

// jobs lists every job the gateway holds.
func (g *feGateway) jobs(t testing.TB) []*job.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), feAPITimeout)
	defer cancel()
	js, err := g.API.Jobs(ctx, url.Values{"limit": {"10000"}})
	if err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return js
}

func (g *feGateway) jobIDs(t testing.TB) map[int64]bool {
	t.Helper()
	ids := map[int64]bool{}
	for _, j := range g.jobs(t) {
		ids[j.ID] = true
	}
	return ids
}

// newJob returns the one job that is not in before. It does not wait: the front-ends answer
// only after the job is durable, so it must already be listed.
func (g *feGateway) newJob(t testing.TB, before map[int64]bool) *job.Job {
	t.Helper()
	var fresh []*job.Job
	for _, j := range g.jobs(t) {
		if !before[j.ID] {
			fresh = append(fresh, j)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("%d new jobs after the client returned, want exactly 1", len(fresh))
	}
	return fresh[0]
}

func (g *feGateway) job(t testing.TB, id int64) *job.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), feAPITimeout)
	defer cancel()
	j, err := g.API.Job(ctx, id)
	if err != nil {
		t.Fatalf("job %d: %v", id, err)
	}
	return j
}

// waitFinal polls job id until it reaches a final state.
func (g *feGateway) waitFinal(t testing.TB, id int64, timeout time.Duration) *job.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		j := g.job(t, id)
		if j.State.Final() {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d still %s (%s) after %v", id, j.State, j.StateReason, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertPrinted checks that j completed and that the file printer it ran on wrote exactly want.
func (g *feGateway) assertPrinted(t testing.TB, j *job.Job, want []byte) {
	t.Helper()
	if j.State != job.StateCompleted {
		t.Fatalf("job %d ended %s (%s), want completed", j.ID, j.State, j.StateReason)
	}
	wantSum := feSHA256(want)
	if len(j.Documents) != 1 || j.Documents[0].SHA256 != wantSum {
		t.Errorf("job %d: documents %+v, want one with sha256 %s", j.ID, j.Documents, wantSum)
	}
	dir, ok := g.OutDirs[j.Printer]
	if !ok {
		t.Fatalf("job %d printed on %q, not one of the file printers", j.ID, j.Printer)
	}
	files, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("job-%06d-*", j.ID)))
	if err != nil || len(files) != 1 {
		t.Fatalf("job %d: output files %v (%v), want exactly one in %s", j.ID, files, err, dir)
	}
	got, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	if gotSum := feSHA256(got); gotSum != wantSum {
		t.Errorf("job %d: %s has sha256 %s (%d bytes), want %s (%d bytes)", j.ID, files[0], gotSum, len(got), wantSum, len(want))
	}
}

// assertNothingSpooled checks the job count is jobs and, within a few seconds (a refused job's
// staged files are removed as its connection handler unwinds), the spool holds docs documents.
func (g *feGateway) assertNothingSpooled(t testing.TB, jobs, docs int) {
	t.Helper()
	if n := len(g.jobIDs(t)); n != jobs {
		t.Errorf("%d jobs in the gateway, want %d: a refused job was spooled", n, jobs)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := spooltest.Documents(t, g.Spool)
		if n == docs {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d documents in the spool, want %d: a refused job left something behind", n, docs)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// feLetter reads one of the repository's test letters.
func feLetter(t testing.TB, name string) (string, []byte) {
	t.Helper()
	path := filepath.Join(peer.RepoRoot(t), "testdata", name)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, data
}

func feSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func feTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
