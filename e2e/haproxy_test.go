//go:build e2e

// The front door of docs/OPERATIONS.md, run: Debian's HAProxy in TCP mode, with the
// configuration the document gives, in front of two real gateways (each on a SQLite spool of its
// own: this is about the front door, not the shared spool). Clients get through over HTTP and
// raw 9100; a gateway that stops answering its health check is taken out and comes back; a
// gateway killed leaves the other serving every client.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
)

const haproxyBin = "/usr/sbin/haproxy"

// haproxyDocConfig is the haproxy block of docs/OPERATIONS.md.
func haproxyDocConfig(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, "docs/OPERATIONS.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n### HAProxy in front (TCP mode)\n")
	if !ok {
		t.Fatal("docs/OPERATIONS.md has no \"HAProxy in front (TCP mode)\" section")
	}
	_, rest, ok = strings.Cut(rest, "```haproxy\n")
	if !ok {
		t.Fatal("docs/OPERATIONS.md: no ```haproxy block in the HAProxy section")
	}
	cfg, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("docs/OPERATIONS.md: the haproxy block is not closed")
	}
	return cfg
}

// frontGateway is a gateway with its LPD and raw ports known before it starts.
type frontGateway struct {
	*gateway
	name     string
	lpd, raw int
	out      string
}

func startFrontGateway(t *testing.T, name string) *frontGateway {
	t.Helper()
	fg := &frontGateway{name: name, lpd: peer.FreePort(t), raw: peer.FreePort(t)}
	fg.gateway = startGateway(t, gatewayOptions{Config: func(listen, spoolDir string) string {
		fg.out = filepath.Join(spoolDir, "out")
		// The front door brings every client from one address.
		return fmt.Sprintf(`listen: %s
spool: %s
lpd_listen: 127.0.0.1:%d
min_free_disk: 64MiB
log_level: warn
auth:
  trust_loopback: true
limits:
  max_connections: 256
  max_connections_per_host: 256
printers:
  - name: %s-out
    uri: file://%s
virtual_printers:
  - name: letters
    pool: [%s-out]
    default: true
    lpd_queue: letters
    raw_port: %d
`, listen, spoolDir, fg.lpd, name, fg.out, name, fg.raw)
	}})
	return fg
}

// hostPort is the gateway's HTTP address.
func (g *frontGateway) hostPort() string { return strings.TrimPrefix(g.Base, "http://") }

func (g *frontGateway) port() string {
	_, p, _ := net.SplitHostPort(g.hostPort())
	return p
}

func TestHAProxyFrontDoor(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("%s: %v (install Debian's haproxy: bash scripts/install-peers.sh)", haproxyBin, err)
	}
	a := startFrontGateway(t, "gwa")
	b := startFrontGateway(t, "gwb")
	fIPP, fLPD, fRaw := peer.FreePort(t), peer.FreePort(t), peer.FreePort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	// The document's addresses mapped onto loopback: the front door at 127.0.0.1 on free
	// ports, the two gateways at their own ports.
	cfg := strings.NewReplacer(
		"10.0.0.10:631", fmt.Sprintf("127.0.0.1:%d", fIPP),
		"10.0.0.10:515", fmt.Sprintf("127.0.0.1:%d", fLPD),
		"10.0.0.10:9100", fmt.Sprintf("127.0.0.1:%d", fRaw),
		"10.0.0.11:8631", a.hostPort(),
		"10.0.0.12:8631", b.hostPort(),
		"10.0.0.11:515 check port 8631", fmt.Sprintf("127.0.0.1:%d check port %s", a.lpd, a.port()),
		"10.0.0.12:515 check port 8631", fmt.Sprintf("127.0.0.1:%d check port %s", b.lpd, b.port()),
		"10.0.0.11:9100 check port 8631", fmt.Sprintf("127.0.0.1:%d check port %s", a.raw, a.port()),
		"10.0.0.12:9100 check port 8631", fmt.Sprintf("127.0.0.1:%d check port %s", b.raw, b.port()),
		"/run/haproxy/admin.sock", sock,
	).Replace(haproxyDocConfig(t))
	if strings.Contains(cfg, "10.0.0.") {
		t.Fatalf("the configuration still has an address the test did not map:\n%s", cfg)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c refuses the documented configuration: %v\n%s", err, out)
	}
	var hlog bytes.Buffer
	hp := exec.Command(haproxyBin, "-db", "-f", path)
	hp.Stdout, hp.Stderr = &hlog, &hlog
	hp.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	hpDone := make(chan struct{})
	go func() { hp.Wait(); close(hpDone) }()
	t.Cleanup(func() {
		hp.Process.Signal(syscall.SIGTERM)
		select {
		case <-hpDone:
		case <-time.After(10 * time.Second):
			hp.Process.Kill()
			<-hpDone
		}
		if t.Failed() {
			t.Logf("--- haproxy ---\n%s", tail(hlog.String(), 3000))
		}
	})

	front := fmt.Sprintf("http://127.0.0.1:%d", fIPP)
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// who asks the front door which gateway answers (by its printer's name), "" on failure.
	who := func() string {
		resp, err := client.Get(front + "/api/v1/printers")
		if err != nil {
			return ""
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		switch {
		case resp.StatusCode != http.StatusOK:
			return ""
		case strings.Contains(string(body), `"gwa-out"`):
			return "gwa"
		case strings.Contains(string(body), `"gwb-out"`):
			return "gwb"
		}
		return ""
	}
	// until polls until n answers in a row satisfy ok (bounded).
	until := func(what string, n int, ok func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		run := 0
		for run < n {
			if time.Now().After(deadline) {
				t.Fatalf("front door: %s not within 60s", what)
			}
			if ok(who()) {
				run++
			} else {
				run = 0
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	// inService is HAProxy's own word on whether server gw in backend is up (its health
	// checks' verdict): srv_op_state 2 in "show servers state".
	inService := func(backend, gw string) (bool, bool) {
		c, err := net.DialTimeout("unix", sock, 2*time.Second)
		if err != nil {
			return false, false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "show servers state %s\n", backend)
		out, _ := io.ReadAll(c)
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Fields(line)
			// be_id be_name srv_id srv_name srv_addr srv_op_state ...
			if len(f) > 5 && f[1] == backend && f[3] == gw {
				return f[5] == "2", true
			}
		}
		return false, false
	}
	waitState := func(what, gw string, up bool) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			all := true
			for _, be := range []string{"gateways_http", "gateways_lpd", "gateways_raw"} {
				if st, ok := inService(be, gw); !ok || st != up {
					all = false
				}
			}
			if all {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("HAProxy: %s not within 60s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("both gateways in service", "gw-a", true)
	waitState("both gateways in service", "gw-b", true)
	until("every request answered", 10, func(w string) bool { return w != "" })
	seen := map[string]bool{}
	until("both gateways answering", 1, func(w string) bool { seen[w] = true; return seen["gwa"] && seen["gwb"] })

	// A raw 9100 job through the front door prints on one of them.
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fRaw), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(letter); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	waitOutputs := func(what string, dirs ...string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			n := 0
			for _, d := range dirs {
				files, _ := filepath.Glob(filepath.Join(d, "*"))
				n += len(files)
			}
			if n > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: nothing printed within 60s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitOutputs("raw job through the front door", a.out, b.out)

	// a hangs (SIGSTOP: its /healthz no longer answers): HAProxy takes it out, b serves all.
	if err := a.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			a.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	waitState("a out of service while it does not answer its check", "gw-a", false)
	until("b alone while a does not answer its check", 20, func(w string) bool { return w == "gwb" })
	// a answers again: two good checks bring it back.
	a.cmd.Process.Signal(syscall.SIGCONT)
	stopped = false
	waitState("a back in service", "gw-a", true)
	until("a answering again", 1, func(w string) bool { return w == "gwa" })

	// a is killed: every client goes to b, and a raw job through the front door prints there.
	a.Kill()
	waitState("a out of service once killed", "gw-a", false)
	until("b alone after a was killed", 20, func(w string) bool { return w == "gwb" })
	before, _ := filepath.Glob(filepath.Join(b.out, "*"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err = d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", fRaw))
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(letter)
	conn.Close()
	deadline := time.Now().Add(60 * time.Second)
	for {
		after, _ := filepath.Glob(filepath.Join(b.out, "*"))
		if len(after) > len(before) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the raw job sent after a was killed did not print on b")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
