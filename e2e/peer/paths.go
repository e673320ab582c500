// Where the peers live on disk, how to insist they are there, and loopback ports for them.
package peer

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// Paths of the Debian-packaged peers. They are fixed by Debian, so they are constants rather than
// PATH look-ups: a different binary found first on PATH would make the tests measure something else.
const (
	IPPToolPath        = "/usr/bin/ipptool"
	IPPEvePrinterPath  = "/usr/sbin/ippeveprinter"
	CupsdPath          = "/usr/sbin/cupsd"
	LpadminPath        = "/usr/sbin/lpadmin"
	LpPath             = "/usr/bin/lp"
	LpstatPath         = "/usr/bin/lpstat"
	CancelPath         = "/usr/bin/cancel"
	CupsLPDPath        = "/usr/lib/cups/daemon/cups-lpd"
	SocketActivatePath = "/usr/bin/systemd-socket-activate"
	GhostscriptPath    = "/usr/bin/gs"
	PdfinfoPath        = "/usr/bin/pdfinfo"
	QpdfPath           = "/usr/bin/qpdf"
	ChromiumPath       = "/usr/bin/chromium"
	DBusDaemonPath     = "/usr/bin/dbus-daemon"
	// IPPToolDir holds the .test files shipped with cups-ipp-utils.
	IPPToolDir = "/usr/share/cups/ipptool"
)

// lpdBackendPaths are where CUPS' lpd backend may be: Debian's cups postinst hard-links the
// enabled backends from backend-available into backend.
var lpdBackendPaths = []string{"/usr/lib/cups/backend/lpd", "/usr/lib/cups/backend-available/lpd"}

// installHint ends every "peer missing" failure.
const installHint = "run scripts/install-peers.sh (as root) to install the e2e peers"

// requireExecutable fails the test unless path is an executable regular file.
func requireExecutable(t testing.TB, path string) {
	t.Helper()
	if err := checkExecutable(path); err != nil {
		t.Fatalf("peer: %v; %s", err, installHint)
	}
}

// checkExecutable reports why path is not an executable regular file, or nil.
func checkExecutable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("required program %s is missing: %w", path, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("required program %s is not an executable file (mode %v)", path, fi.Mode())
	}
	return nil
}

// LPDBackendPath returns the path of CUPS' lpd backend, failing the test if it is missing.
func LPDBackendPath(t testing.TB) string {
	t.Helper()
	var errs []error
	for _, p := range lpdBackendPaths {
		err := checkExecutable(p)
		if err == nil {
			return p
		}
		errs = append(errs, err)
	}
	t.Fatalf("peer: CUPS lpd backend not found: %v; %s", errors.Join(errs...), installHint)
	return ""
}

// Chromium returns the path of Debian's Chromium, failing the test if it is missing.
func Chromium(t testing.TB) string {
	t.Helper()
	requireExecutable(t, ChromiumPath)
	return ChromiumPath
}

// ChromiumFlags returns the command-line flags that make Chromium usable here: headless, as root
// (no sandbox), and without the background connections that this machine's closed network refuses.
func ChromiumFlags() []string {
	return []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
	}
}

// RepoRoot returns the module root (the nearest directory above the working directory holding
// go.mod); go test runs tests in their package directory, so this finds the repository.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("peer: getwd: %v", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("peer: no go.mod above %s", dir)
		}
	}
}

// FreePort returns a TCP port that is free on 127.0.0.1 and, where IPv6 loopback exists, on
// [::1] as well (ippeveprinter binds both). Another process can still take it before the caller
// binds it; peers started here fail loudly if that happens.
func FreePort(t testing.TB) int {
	t.Helper()
	v6 := hasIPv6Loopback()
	for range 50 {
		l4, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("peer: listen on 127.0.0.1: %v", err)
		}
		port := l4.Addr().(*net.TCPAddr).Port
		ok := true
		if v6 {
			l6, err := net.Listen("tcp6", fmt.Sprintf("[::1]:%d", port))
			if err != nil {
				ok = false
			} else {
				l6.Close()
			}
		}
		l4.Close()
		if ok {
			return port
		}
	}
	t.Fatalf("peer: no port free on both 127.0.0.1 and [::1] after 50 tries")
	return 0
}

// hasIPv6Loopback reports whether [::1] can be bound.
func hasIPv6Loopback() bool {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return false
	}
	l.Close()
	return true
}
