// A private D-Bus bus: ippeveprinter (built with Avahi) refuses to start without a system bus.
package peer

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// busConfig is a minimal bus that lets its one user do anything: it exists only so that
// ippeveprinter's Avahi client can connect, find no avahi-daemon, and carry on.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startPrivateBus starts a dbus-daemon listening on a socket in dir and returns its address for
// DBUS_SYSTEM_BUS_ADDRESS. The daemon stops in t.Cleanup.
func startPrivateBus(t testing.TB, dir string) string {
	t.Helper()
	requireExecutable(t, DBusDaemonPath)
	sock := filepath.Join(dir, "bus")
	conf := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, sock), 0o644); err != nil {
		t.Fatalf("peer: write bus config: %v", err)
	}
	cmd := exec.Command(DBusDaemonPath, "--config-file="+conf, "--nofork", "--nopidfile")
	p, err := startProc("dbus-daemon", cmd, filepath.Join(dir, "dbus.log"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	stopInCleanup(t, p)
	if why := waitFor(10*time.Second, 20*time.Millisecond, p, func() bool {
		_, err := os.Stat(sock)
		return err == nil
	}); why != "" {
		t.Fatalf("peer: private dbus-daemon did not create %s: %s", sock, why)
	}
	return "unix:path=" + sock
}
