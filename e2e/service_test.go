//go:build e2e

// The systemd unit operators install (scripts/printgate.service, docs/OPERATIONS.md) is one
// systemd accepts, and it starts the gateway the way the tests do.
package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const systemdAnalyzePath = "/usr/bin/systemd-analyze"

func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(systemdAnalyzePath); err != nil {
		t.Fatalf("systemd-analyze is missing (package systemd; scripts/install-peers.sh installs it): %v", err)
	}
	unit, err := os.ReadFile(repoFile(t, "scripts/printgate.service"))
	if err != nil {
		t.Fatal(err)
	}
	// The unit runs "printgate serve --config FILE", which is what every test here runs too.
	var execStart []string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) != 4 || !slices.Equal(execStart[1:3], []string{"serve", "--config"}) {
		t.Fatalf("ExecStart %q, want BINARY serve --config FILE", execStart)
	}
	// Verified with this build as the binary (systemd checks it is executable).
	dir := t.TempDir()
	bin := printgateBinary(t)
	local := strings.ReplaceAll(string(unit), "ExecStart="+execStart[0]+" ", "ExecStart="+bin+" ")
	path := filepath.Join(dir, "printgate.service")
	if err := os.WriteFile(path, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(systemdAnalyzePath, "verify", path).CombinedOutput()
	// verify only warns (exit 0) about unknown keys or keys in the wrong section: any output
	// at all is a mistake in the unit.
	if err != nil || len(strings.TrimSpace(string(out))) != 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", path, err, out)
	}
}
