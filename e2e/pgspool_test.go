//go:build e2e

// Gateways on the PostgreSQL spool: one takes an IPP job and prints it, another on the same
// database answers for it; /healthz says not ready while the database is away.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/internal/pgtest"
	"github.com/printgate/printgate/job"
)

// startPostgres runs a private PostgreSQL server for the test and returns a new database on it.
func startPostgres(t testing.TB) (*pgtest.Cluster, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgtest.Start(ctx, pgtest.Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err) // loudly: PostgreSQL is one of the installed peers
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Error(err)
		}
	})
	return c, c.NewDatabase(t)
}

// pgGatewayConfig is a gateway on the database at url with one file printer writing to out.
func pgGatewayConfig(url, out string) func(listen, spool string) string {
	return func(listen, _ string) string {
		return fmt.Sprintf(`listen: %s
spool: %s
probe_interval: 1s
auth:
  trust_loopback: true
printers:
  - name: file-a
    uri: file://%s
    ppm: 600
virtual_printers:
  - name: letters
    pool: [file-a]
`, listen, url, out)
	}
}

func TestPostgresGatewaysShareJobs(t *testing.T) {
	t.Parallel()
	_, url := startPostgres(t)
	outA := filepath.Join(t.TempDir(), "out-a")
	if err := os.MkdirAll(outA, 0o755); err != nil {
		t.Fatal(err)
	}
	a := startGateway(t, gatewayOptions{SpoolURL: url, Config: pgGatewayConfig(url, outA)})

	letter := repoFile(t, "testdata/letter-2p.pdf")
	out, err := peer.RunIPPTool(t, t.TempDir(), ippURI(a, "letters"), "print-job.test", "-f", letter)
	if err != nil {
		t.Fatalf("ipptool print-job on gateway A: %v\n%s", err, out)
	}
	jobs, err := a.allJobs()
	if err != nil || len(jobs) != 1 {
		t.Fatalf("gateway A lists %d jobs (%v), want the one ipptool printed", len(jobs), err)
	}
	id := jobs[0].ID
	done := a.waitJobs([]int64{id}, 60*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })[id]
	if got := outputs(t, outA)[id]; len(got) != 1 || fileSHA256(t, got[0]) != fileSHA256(t, letter) {
		t.Fatalf("file printer wrote %v for job %d, want one byte-identical copy", got, id)
	}

	// A document of several chunks (3 MiB: a PDF with a long comment after %%EOF) is streamed
	// from the database to the printer and arrives byte for byte.
	base, err := os.ReadFile(letter)
	if err != nil {
		t.Fatal(err)
	}
	big := append(bytes.Clone(base), bytes.Repeat([]byte("% padding to several 256 KiB chunks\n"), 3<<20/36)...)
	bigPath := filepath.Join(t.TempDir(), "big.pdf")
	if err := os.WriteFile(bigPath, big, 0o644); err != nil {
		t.Fatal(err)
	}
	idOut, err := a.CLI("submit", bigPath)
	if err != nil {
		t.Fatal(err)
	}
	bigID, err := strconv.ParseInt(strings.TrimSpace(idOut), 10, 64)
	if err != nil {
		t.Fatalf("submit printed %q", idOut)
	}
	a.waitJobs([]int64{bigID}, 60*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	if got := outputs(t, outA)[bigID]; len(got) != 1 || fileSHA256(t, got[0]) != sha256Hex(big) {
		t.Fatalf("file printer wrote %v for the 3 MiB job %d, want one byte-identical copy", got, bigID)
	}

	// A second gateway on the same database answers for the job: state, hash, the same
	// printer-uuid for the same virtual printer.
	outB := filepath.Join(t.TempDir(), "out-b")
	if err := os.MkdirAll(outB, 0o755); err != nil {
		t.Fatal(err)
	}
	b := startGateway(t, gatewayOptions{SpoolURL: url, Config: pgGatewayConfig(url, outB)})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen, err := b.API.Job(ctx, id)
	if err != nil {
		t.Fatalf("gateway B: job %d: %v", id, err)
	}
	if seen.State != job.StateCompleted || seen.SHA256() != done.SHA256() || seen.UUID != done.UUID {
		t.Fatalf("gateway B sees job %d as %s %s %s; gateway A as %s %s %s", id, seen.State, seen.SHA256(), seen.UUID,
			done.State, done.SHA256(), done.UUID)
	}
	uuidA, uuidB := printerUUID(t, a), printerUUID(t, b)
	if uuidA == "" || uuidA != uuidB {
		t.Errorf("printer-uuid of letters: %q on A, %q on B; one printer must have one uuid", uuidA, uuidB)
	}
}

// printerUUID is the printer-uuid the gateway reports for "letters" (ipptool get-printer-attributes).
func printerUUID(t *testing.T, g *gateway) string {
	t.Helper()
	out, err := peer.RunIPPTool(t, t.TempDir(), ippURI(g, "letters"), "get-printer-attributes.test", "-v")
	if err != nil {
		t.Fatalf("ipptool get-printer-attributes: %v\n%s", err, tail(out, 2000))
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && strings.HasPrefix(k, "printer-uuid") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestPostgresHealthzFollowsDatabase: /healthz is 503 while the database is down, so that a
// front door's health check takes the gateway out of service.
func TestPostgresHealthzFollowsDatabase(t *testing.T) {
	t.Parallel()
	c, url := startPostgres(t)
	outA := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(outA, 0o755); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, gatewayOptions{SpoolURL: url, Config: pgGatewayConfig(url, outA)})
	status := func() int {
		resp, err := http.Get(g.Base + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status(); s != http.StatusOK {
		t.Fatalf("/healthz with the database up: %d", s)
	}
	c.Kill()
	if s := status(); s != http.StatusServiceUnavailable {
		t.Fatalf("/healthz with the database killed: %d, want 503", s)
	}
}
