// Helpers of the bulk-run end-to-end tests and benchmarks (no build tag, so that `make bench`
// finds the benchmarks): a `printgate serve` child over file printers that can be SIGKILLed and
// restarted on the same spool, the printgate CLI, and generated letters.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/ui"
)

// bulkPrinter is a file printer of the test pool.
type bulkPrinter struct {
	Name string
	PPM  int
}

// bulkGW is a `printgate serve` child on a spool that outlives it.
type bulkGW struct {
	tb       testing.TB
	bin      string
	dir      string
	spool    string
	base     string
	printers []bulkPrinter
	// gen counts starts; each start writes the printers' output under out/gen<N>/<name>, so a
	// letter sent again after a crash is seen twice.
	gen     int
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	api     *ui.Client
}

// bulkBinary is $PRINTGATE_BIN or bin/printgate (built by `make build`, which `make e2e` and
// `make bench` run first).
func bulkBinary(tb testing.TB) string {
	tb.Helper()
	bin := os.Getenv("PRINTGATE_BIN")
	if bin == "" {
		bin = filepath.Join(peer.RepoRoot(tb), "bin", "printgate")
	}
	if _, err := os.Stat(bin); err != nil {
		tb.Fatalf("printgate binary: %v; run `make build` first", err)
	}
	return bin
}

// startBulkGW starts a gateway with a virtual printer "letters" over printers.
func startBulkGW(tb testing.TB, printers []bulkPrinter) *bulkGW {
	tb.Helper()
	dir := tb.TempDir()
	g := &bulkGW{tb: tb, bin: bulkBinary(tb), dir: dir, spool: filepath.Join(dir, "spool"), printers: printers}
	tb.Cleanup(g.stop)
	g.start()
	return g
}

// outDir is where printer name wrote during start number gen.
func (g *bulkGW) outDir(gen int, name string) string {
	return filepath.Join(g.dir, "out", fmt.Sprintf("gen%d", gen), name)
}

// start writes this start's config and starts the child, retrying if its port was taken.
func (g *bulkGW) start() {
	g.tb.Helper()
	g.gen++
	var last string
	for range 3 {
		port := peer.FreePort(g.tb)
		var ps, pool strings.Builder
		for _, p := range g.printers {
			fmt.Fprintf(&ps, "  - name: %s\n    uri: file://%s\n    ppm: %d\n", p.Name, g.outDir(g.gen, p.Name), p.PPM)
			if pool.Len() > 0 {
				pool.WriteString(", ")
			}
			pool.WriteString(p.Name)
		}
		cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
spool: %s
min_free_disk: 64MiB
probe_interval: 1s
auth:
  trust_loopback: true
printers:
%svirtual_printers:
  - name: letters
    pool: [%s]
    default: true
`, port, g.spool, ps.String(), pool.String())
		cfgPath := filepath.Join(g.dir, fmt.Sprintf("printgate-%d.yaml", g.gen))
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			g.tb.Fatal(err)
		}
		g.base = fmt.Sprintf("http://127.0.0.1:%d", port)
		g.api = ui.NewClient(g.base, "")
		g.logPath = filepath.Join(g.dir, fmt.Sprintf("gateway-%d.log", g.gen))
		logf, err := os.Create(g.logPath)
		if err != nil {
			g.tb.Fatal(err)
		}
		g.cmd = exec.Command(g.bin, "serve", "--config", cfgPath)
		g.cmd.Stdout, g.cmd.Stderr = logf, logf
		g.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := g.cmd.Start(); err != nil {
			logf.Close()
			g.tb.Fatalf("start %s: %v", g.bin, err)
		}
		done := make(chan struct{})
		g.done = done
		cmd := g.cmd
		go func() {
			g.waitErr = cmd.Wait()
			logf.Close()
			close(done)
		}()
		why := g.waitReady()
		if why == "" {
			return
		}
		last = why
		if !strings.Contains(why, "address already in use") {
			break
		}
	}
	g.tb.Fatalf("printgate serve did not start: %s", last)
}

func (g *bulkGW) log() string {
	b, _ := os.ReadFile(g.logPath)
	return string(b)
}

func (g *bulkGW) waitReady() string {
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(g.log(), "printgate ready") {
		select {
		case <-g.done:
			return fmt.Sprintf("exited (%v):\n%s", g.waitErr, bulkTail(g.log(), 3000))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return "not ready after 60s:\n" + bulkTail(g.log(), 3000)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.api.Do(ctx, "GET", "/healthz", nil, "", nil); err != nil {
		return fmt.Sprintf("healthz: %v", err)
	}
	return ""
}

// kill SIGKILLs the gateway, as a power cut would stop it.
func (g *bulkGW) kill() {
	g.tb.Helper()
	_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		g.tb.Fatalf("printgate serve (pid %d) still running 10s after SIGKILL", g.cmd.Process.Pid)
	}
}

// stop ends the gateway with SIGTERM (SIGKILL if it does not go) and shows its log when the
// test failed.
func (g *bulkGW) stop() {
	if g.cmd == nil {
		return
	}
	select {
	case <-g.done:
	default:
		_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-g.done:
		case <-time.After(20 * time.Second):
			g.tb.Errorf("printgate serve did not exit 20s after SIGTERM; killing it")
			_ = syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
			<-g.done
		}
	}
	if g.tb.Failed() {
		g.tb.Logf("--- gateway log %s, last 6000 bytes:\n%s", g.logPath, bulkTail(g.log(), 6000))
	}
}

// cli runs the printgate CLI against the gateway and returns its standard output.
func (g *bulkGW) cli(args ...string) (string, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = append(os.Environ(), "PRINTGATE_SERVER="+g.base, "PRINTGATE_TOKEN=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (g *bulkGW) mustCLI(args ...string) string {
	g.tb.Helper()
	out, errOut, err := g.cli(args...)
	if err != nil {
		g.tb.Fatalf("printgate %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

func (g *bulkGW) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	g.tb.Cleanup(cancel)
	return ctx
}

// peakRSS is the gateway's peak resident set (VmHWM) in bytes.
func (g *bulkGW) peakRSS() int64 {
	g.tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", g.cmd.Process.Pid))
	if err != nil {
		g.tb.Fatalf("read gateway status: %v", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				g.tb.Fatalf("VmHWM %q: %v", line, err)
			}
			return kb << 10
		}
	}
	g.tb.Fatal("no VmHWM in /proc/PID/status")
	return 0
}

func bulkTail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// bulkPDF is a PDF of pages pages; page i shows "<label> page i", so every page of every
// letter has its own content (and every letter its own sha256).
func bulkPDF(label string, pages int) []byte {
	var b bytes.Buffer
	offsets := []int{0}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}
	b.WriteString("%PDF-1.4\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	kids := make([]string, pages)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range pages {
		content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s page %d) Tj ET", label, i+1)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes()
}

// writeLetters writes n letters letter-0000001.pdf ... into dir, letter i of pages(i) pages.
func writeLetters(tb testing.TB, dir string, n int, pages func(i int) int) {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("letter-%07d.pdf", i)), bulkPDF(fmt.Sprintf("letter %d", i), pages(i)), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
