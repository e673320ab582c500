//go:build e2e

// Acceptance 6 of issue 19: a CLI whose answer is lost after the gateway committed the job (the
// gateway died between commit and reply, as the client sees it) retries and gets the same job:
// no letter is stored, or printed, twice.
package e2e

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// answerDropper is a TCP proxy to the gateway that, on its first connection, passes the
// request on but cuts the connection the moment the gateway starts answering: the job is
// committed (the API answers only after the commit) and the client never hears of it.
type answerDropper struct {
	ln      net.Listener
	target  string
	dropped atomic.Bool
	wg      sync.WaitGroup
}

func startAnswerDropper(t *testing.T, target string) *answerDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &answerDropper{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *answerDropper) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c, !p.dropped.Swap(true))
		}()
	}
}

func (p *answerDropper) serve(client net.Conn, drop bool) {
	defer client.Close()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	deadline := time.Now().Add(time.Minute)
	client.SetDeadline(deadline)
	up.SetDeadline(deadline)
	go func() {
		io.Copy(up, client)
		up.(*net.TCPConn).CloseWrite()
	}()
	if drop {
		// Wait for the first byte of the answer, then cut both sides.
		b := make([]byte, 1)
		io.ReadFull(up, b)
		return
	}
	io.Copy(client, up)
}

func TestCLIRetryAfterLostAnswerMakesNoSecondJob(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	proxy := startAnswerDropper(t, strings.TrimPrefix(g.Base, "http://"))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, "submit", repoFile(t, "testdata/letter-1p.pdf"))
	cmd.Env = append(os.Environ(), "PRINTGATE_SERVER=http://"+proxy.ln.Addr().String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("printgate submit through the proxy: %v\n%s", err, stderr.String())
	}
	if !proxy.dropped.Load() || !strings.Contains(stderr.String(), "retrying") {
		t.Fatalf("the first answer was not dropped, or the CLI did not retry; stderr:\n%s", stderr.String())
	}
	id, err := strconv.ParseInt(strings.TrimSpace(stdout.String()), 10, 64)
	if err != nil {
		t.Fatalf("submit printed %q, want a job id", stdout.String())
	}
	jobs, err := g.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != id {
		ids := []int64{}
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		t.Fatalf("the gateway holds jobs %v after one submission retried once; want only job %d", ids, id)
	}
	g.waitJobs([]int64{id}, 30*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
}
