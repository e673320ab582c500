//go:build e2e

// Shared end-to-end setup: the printgate binary built once for the whole run, and a helper
// that runs `printgate serve` as a child process on a free loopback port with its own spool,
// waits for /healthz, and stops it (SIGTERM, then SIGKILL) when the test ends.
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
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
	"github.com/printgate/printgate/internal/testcert"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/ui"
)

// TestMain builds cmd/printgate into a temporary directory unless PRINTGATE_BIN names a binary
// already, and exports PRINTGATE_BIN so that every helper in this package runs the code under
// test rather than whatever bin/printgate happens to hold.
func TestMain(m *testing.M) {
	// The SNMP tests' snmpd runs this binary as its pass_persist program (e2e/peer/snmpd.go).
	peer.ServePassPersistIfAsked()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	logPeerVersions()
	if os.Getenv("PRINTGATE_BIN") == "" {
		dir, err := os.MkdirTemp("", "printgate-e2e-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e: temp dir:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bin := filepath.Join(dir, "printgate")
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/printgate")
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/printgate: %v\n%s", err, out)
			return 1
		}
		os.Setenv("PRINTGATE_BIN", bin)
	}
	return m.Run()
}

// printgateBinary is the printgate under test.
func printgateBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PRINTGATE_BIN")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("printgate binary %q: %v", bin, err)
	}
	return bin
}

// gatewayOptions says how to run a gateway.
type gatewayOptions struct {
	// Config, when set, renders the YAML configuration for one start from the listen address
	// and the spool directory. When nil the gateway runs the built-in demo (no --config) with
	// --listen and --spool.
	Config func(listen, spool string) string
	// TLS is the certificate the configuration gives the listener with tls_required: the
	// gateway is then reached at https://, its health check, API client and CLI trusting it.
	TLS *testcert.Pair
	// SpoolURL, when set, is the spool (a postgres:// URL) instead of a directory of the
	// gateway's own.
	SpoolURL string
}

// gateway is one `printgate serve` child, restartable on the same spool.
type gateway struct {
	t    testing.TB
	bin  string
	dir  string
	opts gatewayOptions
	// Spool is the spool directory; it survives restarts.
	Spool string
	// Base is the current HTTP base URL; API a client for it.
	Base string
	API  *ui.Client
	// caFile holds opts.TLS's certificate, for the CLI.
	caFile string

	starts  int
	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	logs    []string
}

// startGateway starts a gateway and registers its shutdown with t.Cleanup.
func startGateway(t testing.TB, o gatewayOptions) *gateway {
	t.Helper()
	dir := t.TempDir()
	g := &gateway{t: t, bin: printgateBinary(t), dir: dir, opts: o, Spool: filepath.Join(dir, "spool")}
	if o.SpoolURL != "" {
		g.Spool = o.SpoolURL
	}
	if o.TLS != nil {
		g.caFile = filepath.Join(dir, "gateway-ca.pem")
		if err := os.WriteFile(g.caFile, o.TLS.CertPEM, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		g.Stop()
		if t.Failed() {
			for _, p := range g.logs {
				b, _ := os.ReadFile(p)
				t.Logf("--- %s (last 3000 bytes) ---\n%s", filepath.Base(p), tail(string(b), 3000))
			}
		}
	})
	g.Start()
	return g
}

// Start runs the child on a free loopback port and waits until /healthz answers 200. A port
// another process grabbed in between is retried with a new one.
func (g *gateway) Start() {
	g.t.Helper()
	if g.running() {
		g.t.Fatal("gateway already running")
	}
	var why string
	for range 3 {
		if why = g.try(); why == "" {
			return
		}
		if !strings.Contains(why, "address already in use") {
			break
		}
	}
	g.t.Fatalf("printgate serve did not start: %s", why)
}

func (g *gateway) try() string {
	g.t.Helper()
	g.starts++
	listen := fmt.Sprintf("127.0.0.1:%d", peer.FreePort(g.t))
	args := []string{"serve", "--listen", listen, "--spool", g.Spool}
	if g.opts.Config != nil {
		path := filepath.Join(g.dir, fmt.Sprintf("printgate-%d.yaml", g.starts))
		if err := os.WriteFile(path, []byte(g.opts.Config(listen, g.Spool)), 0o600); err != nil {
			g.t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	logPath := filepath.Join(g.dir, fmt.Sprintf("gateway-%d.log", g.starts))
	logf, err := os.Create(logPath)
	if err != nil {
		g.t.Fatal(err)
	}
	defer logf.Close()
	g.logs = append(g.logs, logPath)
	g.Base = "http://" + listen
	g.API = ui.NewClient(g.Base, "")
	client := &http.Client{Timeout: 2 * time.Second}
	if g.opts.TLS != nil {
		g.Base = "https://" + listen
		g.API = ui.NewClient(g.Base, "")
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: g.opts.TLS.Pool()}}
		client.Transport, g.API.HTTP.Transport = tr, tr
	}
	cmd := exec.Command(g.bin, args...)
	// The demo writes ./data relative paths nowhere: everything is under the test's temp dir.
	cmd.Dir = g.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	// Killed with the test binary should that die without running its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		g.t.Fatalf("start %s: %v", g.bin, err)
	}
	g.cmd, g.done = cmd, make(chan struct{})
	go func() {
		g.waitErr = cmd.Wait()
		close(g.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.done:
			b, _ := os.ReadFile(logPath)
			return fmt.Sprintf("exited (%v):\n%s", g.waitErr, tail(string(b), 2000))
		default:
		}
		resp, err := client.Get(g.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return ""
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.Kill()
	b, _ := os.ReadFile(logPath)
	return fmt.Sprintf("no healthy /healthz within 30s:\n%s", tail(string(b), 2000))
}

// log is what the current (or last) run of the child has logged so far.
func (g *gateway) log() string {
	g.t.Helper()
	if len(g.logs) == 0 {
		return ""
	}
	b, err := os.ReadFile(g.logs[len(g.logs)-1])
	if err != nil {
		g.t.Fatal(err)
	}
	return string(b)
}

func (g *gateway) running() bool {
	if g.done == nil {
		return false
	}
	select {
	case <-g.done:
		return false
	default:
		return true
	}
}

// Kill ends the child with SIGKILL — a crash — and waits for it.
func (g *gateway) Kill() {
	g.t.Helper()
	if !g.running() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-g.done:
	case <-time.After(10 * time.Second):
		g.t.Fatalf("gateway pid %d still running 10s after SIGKILL", g.cmd.Process.Pid)
	}
}

// Stop asks the child to shut down with SIGTERM and kills it after 15 s.
func (g *gateway) Stop() {
	if !g.running() {
		return
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		g.t.Errorf("gateway pid %d ignored SIGTERM for 15s; killing it", g.cmd.Process.Pid)
		_ = g.cmd.Process.Signal(syscall.SIGKILL)
		<-g.done
	}
}

// CLI runs a printgate client command against the gateway and returns its standard output.
func (g *gateway) CLI(args ...string) (string, error) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = append(os.Environ(), "PRINTGATE_SERVER="+g.Base)
	if g.caFile != "" {
		cmd.Env = append(cmd.Env, "PRINTGATE_CA_FILE="+g.caFile) // the CLI's --ca-file
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("printgate %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// waitJobs polls the API until every job in ids satisfies done, or fails the test after
// timeout naming the jobs that did not get there.
func (g *gateway) waitJobs(ids []int64, timeout time.Duration, what string, done func(*job.Job) bool) map[int64]*job.Job {
	g.t.Helper()
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	deadline := time.Now().Add(timeout)
	for {
		jobs, err := g.allJobs()
		if err == nil {
			byID := map[int64]*job.Job{}
			var missing []string
			for _, j := range jobs {
				byID[j.ID] = j
			}
			for id := range want {
				if j, ok := byID[id]; !ok || !done(j) {
					state := "missing"
					if ok {
						state = string(j.State)
					}
					missing = append(missing, fmt.Sprintf("%d:%s", id, state))
				}
			}
			if len(missing) == 0 {
				return byID
			}
			if time.Now().After(deadline) {
				g.t.Fatalf("%d of %d jobs not %s after %v: %s", len(missing), len(ids), what, timeout,
					strings.Join(missing[:min(len(missing), 20)], " "))
			}
		} else if ae := (*ui.APIError)(nil); errors.As(err, &ae) && ae.Status < 500 || time.Now().After(deadline) {
			g.t.Fatalf("list jobs: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allJobs lists every job, oldest first, paging through the API.
func (g *gateway) allJobs() ([]*job.Job, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []*job.Job
	after := int64(0)
	for {
		page, err := g.API.Jobs(ctx, map[string][]string{"order": {"oldest"}, "limit": {"5000"},
			"after": {strconv.FormatInt(after, 10)}})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 5000 {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}

var outputName = regexp.MustCompile(`^job-(\d{6,})-(\d+)(\..*)?$`)

// outputs maps job id to the files file printers wrote for it under dirs (deliveries of the
// first document; half-written ".part" files are not deliveries).
func outputs(t testing.TB, dirs ...string) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	for _, dir := range dirs {
		es, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range es {
			m := outputName.FindStringSubmatch(e.Name())
			if m == nil || strings.HasSuffix(e.Name(), ".part") || m[2] != "1" {
				continue
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			out[id] = append(out[id], filepath.Join(dir, e.Name()))
		}
	}
	return out
}

func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func fileSHA256(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256Hex(b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// repoFile is a path inside the repository (testdata letters).
func repoFile(t testing.TB, rel string) string {
	t.Helper()
	return filepath.Join(peer.RepoRoot(t), rel)
}

// logPeerVersions prints, once per run, the Debian version of every peer the suite talks to, as
// scripts/install-peers.sh --versions reports them: peers change under the suite with Debian's
// security updates, and a failure has to be matched to the update that caused it.
func logPeerVersions() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "../scripts/install-peers.sh", "--versions").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: peer versions: %v\n", err)
	}
	fmt.Fprintf(os.Stderr, "e2e: peer versions (scripts/install-peers.sh --versions):\n%s", out)
}
