//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
)

// frontDoorConfig is the documented HAProxy configuration (docs/OPERATIONS.md) cut to its HTTP
// front door (global, defaults, frontend ipp_http, backend gateways_http) for any number of
// gateways: the front door bound to 127.0.0.1:port, one server line per backend address, the
// stats socket at sock.
func frontDoorConfig(doc string, port int, sock string, backends []string) (string, error) {
	keep := map[string]bool{"global": true, "defaults": true, "frontend ipp_http": true, "backend gateways_http": true}
	var b strings.Builder
	section := ""
	servers := func() {
		for i, a := range backends {
			fmt.Fprintf(&b, "    server gw-%d %s check\n", i+1, a)
		}
	}
	binds, serverLines := 0, 0
	for _, line := range strings.Split(doc, "\n") {
		trimmed := strings.TrimSpace(line)
		if line != "" && line[0] != ' ' && line[0] != '\t' && !strings.HasPrefix(trimmed, "#") {
			if section == "backend gateways_http" {
				servers()
			}
			section = trimmed
		}
		if !keep[section] {
			continue
		}
		switch {
		case strings.HasPrefix(trimmed, "stats socket "):
			f := strings.Fields(trimmed)
			f[2] = sock
			line = "    " + strings.Join(f, " ")
		case strings.HasPrefix(trimmed, "bind "):
			binds++
			line = fmt.Sprintf("    bind 127.0.0.1:%d", port)
		case strings.HasPrefix(trimmed, "server "):
			serverLines++
			continue
		}
		b.WriteString(line + "\n")
	}
	if section == "backend gateways_http" {
		servers()
	}
	if binds != 1 || serverLines == 0 {
		return "", fmt.Errorf("the documented configuration has %d binds and %d server lines in its HTTP front door, want 1 and some", binds, serverLines)
	}
	return b.String(), nil
}

// startFrontDoor starts Debian's HAProxy with the documented HTTP front door in front of the
// gateways at backends (host:port), waits until HAProxy has every one of them in service (its
// own health checks of /healthz), and stops it when the test ends. It returns the front door's
// base URL.
func startFrontDoor(t testing.TB, backends []string) string {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Fatalf("%s: %v (install Debian's haproxy: bash scripts/install-peers.sh)", haproxyBin, err)
	}
	port := peer.FreePort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	cfg, err := frontDoorConfig(haproxyDocConfig(t), port, sock, backends)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxyBin, "-c", "-f", path).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c refuses the front door made from the documented configuration: %v\n%s\n%s", err, out, cfg)
	}
	var hlog bytes.Buffer
	hp := exec.Command(haproxyBin, "-db", "-f", path)
	hp.Stdout, hp.Stderr = &hlog, &hlog
	hp.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := hp.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { hp.Wait(); close(done) }()
	t.Cleanup(func() {
		hp.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			hp.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- haproxy ---\n%s", tail(hlog.String(), 3000))
		}
	})
	// In service: srv_op_state 2 for every server in "show servers state".
	deadline := time.Now().Add(60 * time.Second)
	for {
		up := 0
		if c, err := net.DialTimeout("unix", sock, 2*time.Second); err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			fmt.Fprintf(c, "show servers state gateways_http\n")
			out, _ := io.ReadAll(c)
			c.Close()
			for _, line := range strings.Split(string(out), "\n") {
				f := strings.Fields(line)
				if len(f) > 5 && f[1] == "gateways_http" && f[5] == "2" {
					up++
				}
			}
		}
		if up == len(backends) {
			break
		}
		select {
		case <-done:
			t.Fatalf("haproxy exited before its servers were in service\n%s", tail(hlog.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("HAProxy: %d of %d gateways in service after 60 s\n%s", up, len(backends), tail(hlog.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port)
}
