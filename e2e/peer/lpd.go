// LPD peers: cups-lpd behind systemd-socket-activate, CUPS' lpd backend, and LPRng's clients.
package peer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StartCupsLPD runs cups-lpd, one process per connection as inetd would, behind
// systemd-socket-activate on a free 127.0.0.1 port, submitting to cupsd. It returns the port.
// Jobs land in the cupsd queue named by the LPD queue name.
func StartCupsLPD(t testing.TB, cupsd *Cupsd) int {
	t.Helper()
	requireExecutable(t, SocketActivatePath)
	requireExecutable(t, CupsLPDPath)
	port := FreePort(t)
	dir := shortTempDir(t, "pg-cupslpd-")
	args := []string{"--accept", "--inetd", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}
	// systemd-socket-activate passes its children only the variables named with -E.
	for _, kv := range append(cupsd.Env(), "PATH="+os.Getenv("PATH"), "TMPDIR="+dir) {
		args = append(args, "-E", kv)
	}
	// -n: no reverse look-up of the client address.
	args = append(args, CupsLPDPath, "-n")
	cmd := exec.Command(SocketActivatePath, args...)
	logPath := filepath.Join(dir, "socket-activate.log")
	p, err := startProc("cups-lpd", cmd, logPath)
	if err != nil {
		t.Fatalf("%v", err)
	}
	stopInCleanup(t, p)
	// Probing the port would spawn a cups-lpd; its own "Listening on" line says it is bound.
	if why := waitFor(10*time.Second, 20*time.Millisecond, p, func() bool {
		return strings.Contains(p.logText(), "Listening on")
	}); why != "" {
		t.Fatalf("peer: systemd-socket-activate for cups-lpd on port %d: %s", port, why)
	}
	return port
}

// RunLPDBackend runs CUPS' lpd backend the way cupsd runs it for one job: argv job-id user title
// copies options file, argv[0] and DEVICE_URI set to deviceURI (lpd://host:port/queue, with any
// of the backend's options such as ?reserve=none). It waits at most two minutes. The error, if
// any, carries the exit status (CUPS_BACKEND_* codes) and the backend's stderr.
//
// Run as root, the backend binds a reserved source port (below 1024) as RFC 1179 asks.
func RunLPDBackend(t testing.TB, deviceURI, file, user, title string) error {
	t.Helper()
	_, err := RunLPDBackendOutput(t, deviceURI, file, user, title)
	return err
}

// RunLPDBackendOutput is RunLPDBackend that also returns the backend's stderr (its INFO:/DEBUG:
// lines, including the control file it sent).
func RunLPDBackendOutput(t testing.TB, deviceURI, file, user, title string) (string, error) {
	t.Helper()
	backend := LPDBackendPath(t)
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, backend, "1", user, title, "1", "", file)
	cmd.Args[0] = deviceURI
	cmd.Env = envWith(
		"DEVICE_URI="+deviceURI,
		"CUPS_SERVERBIN=/usr/lib/cups",
		"CUPS_DATADIR=/usr/share/cups",
		"CONTENT_TYPE=application/octet-stream",
		"PRINTER=peer-lpd",
		"TMPDIR="+tmp,
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdin = nil
	err := cmd.Run()
	if ctx.Err() != nil {
		return stderr.String(), fmt.Errorf("peer: lpd backend to %s timed out: %w; stderr:\n%s", deviceURI, ctx.Err(), tail(stderr.String(), logTail))
	}
	if err != nil {
		return stderr.String(), fmt.Errorf("peer: lpd backend to %s: %w; stderr:\n%s", deviceURI, err, tail(stderr.String(), logTail))
	}
	return stderr.String(), nil
}

// LPRngTools are LPRng's client programs, unpacked privately by scripts/install-peers.sh
// (Debian's lprng package conflicts with cups-client and cups-bsd).
type LPRngTools struct {
	Dir      string // root of the unpacked package
	LprPath  string // lpr
	LpqPath  string // lpq
	LprmPath string // lprm
}

// lprngConfigFiles must exist: LPRng's clients read /etc/lprng/lpd.conf (compiled in; LPD_CONF
// is disabled), and fail if the printcap it names is missing.
var lprngConfigFiles = []string{"/etc/lprng/lpd.conf", "/etc/lprng/printcap"}

// LPRngDir is where scripts/install-peers.sh unpacks LPRng: $PRINTGATE_LPRNG_DIR, or
// .cache/peers/lprng under the repository.
func LPRngDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("PRINTGATE_LPRNG_DIR"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(t), ".cache", "peers", "lprng")
}

// LPRng returns the privately unpacked LPRng clients, failing the test if they or their
// configuration are missing.
func LPRng(t testing.TB) LPRngTools {
	t.Helper()
	dir := LPRngDir(t)
	l := LPRngTools{
		Dir:      dir,
		LprPath:  filepath.Join(dir, "usr", "bin", "lpr"),
		LpqPath:  filepath.Join(dir, "usr", "bin", "lpq"),
		LprmPath: filepath.Join(dir, "usr", "bin", "lprm"),
	}
	var errs []error
	for _, p := range []string{l.LprPath, l.LpqPath, l.LprmPath} {
		if err := checkExecutable(p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range lprngConfigFiles {
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("LPRng configuration %s is missing: %w", p, err))
		}
	}
	if len(errs) > 0 {
		t.Fatalf("peer: LPRng clients unusable: %v; %s", errors.Join(errs...), installHint)
	}
	return l
}

// Printer is LPRng's name for queue on the LPD server at 127.0.0.1:port.
func (LPRngTools) Printer(queue string, port int) string {
	return fmt.Sprintf("%s@127.0.0.1%%%d", queue, port)
}

// Lpr runs lpr -P queue@127.0.0.1%port args... and returns its combined output.
func (l LPRngTools) Lpr(t testing.TB, queue string, port int, args ...string) (string, error) {
	t.Helper()
	return l.run(t, l.LprPath, queue, port, args)
}

// Lpq runs lpq -P queue@127.0.0.1%port args... and returns its combined output.
func (l LPRngTools) Lpq(t testing.TB, queue string, port int, args ...string) (string, error) {
	t.Helper()
	return l.run(t, l.LpqPath, queue, port, args)
}

// Lprm runs lprm -P queue@127.0.0.1%port args... and returns its combined output.
func (l LPRngTools) Lprm(t testing.TB, queue string, port int, args ...string) (string, error) {
	t.Helper()
	return l.run(t, l.LprmPath, queue, port, args)
}

// run executes one LPRng client with a 30-second limit.
func (l LPRngTools) run(t testing.TB, prog, queue string, port int, args []string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, append([]string{"-P", l.Printer(queue, port)}, args...)...)
	// A PRINTER or LPDEST in the environment would not override -P, but keep the run predictable.
	cmd.Env = envWith("PRINTER=", "LPDEST=", "NPRINTER=", "NGPRINTER=")
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	name := filepath.Base(prog)
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("peer: LPRng %s timed out: %w: %s", name, ctx.Err(), out)
	}
	if err != nil {
		return string(out), fmt.Errorf("peer: LPRng %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
