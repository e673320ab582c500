//go:build e2e

// A SQLite spool belongs to one gateway: a second `printgate serve` on a spool in use exits
// with an error naming the holder, and the first keeps printing.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

func TestSecondGatewayOnSpoolRefused(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	pid := g.cmd.Process.Pid

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	listen := fmt.Sprintf("127.0.0.1:%d", peer.FreePort(t))
	second := exec.CommandContext(ctx, g.bin, "serve", "--listen", listen, "--spool", g.Spool)
	second.Dir = t.TempDir()
	var out bytes.Buffer
	second.Stdout, second.Stderr = &out, &out
	err := second.Run()
	if ctx.Err() != nil {
		t.Fatalf("the second gateway on spool %s was still running after 30s; it must refuse to start:\n%s", g.Spool, tail(out.String(), 2000))
	}
	if err == nil {
		t.Fatalf("the second gateway exited 0, want an error:\n%s", tail(out.String(), 2000))
	}
	host, _ := os.Hostname()
	for _, want := range []string{"in use by another gateway", "pid " + strconv.Itoa(pid), "host " + host} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the second gateway's error does not say %q:\n%s", want, tail(out.String(), 2000))
		}
	}

	// The first one still takes and prints jobs.
	idOut, err := g.CLI("submit", repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(strings.TrimSpace(idOut), 10, 64)
	if err != nil {
		t.Fatalf("submit printed %q, want a job id", idOut)
	}
	g.waitJobs([]int64{id}, 30*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
}
