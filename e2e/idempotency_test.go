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
	"path/filepath"
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
	// match, when set, picks the request whose answer is cut instead of the first
	// connection's: the first request containing these bytes, on whatever connection.
	match []byte
}

// startAnswerDropperOn is startAnswerDropper cutting the answer to the first request that
// contains match (a path such as "/commit"); every other answer passes.
func startAnswerDropperOn(t *testing.T, target, match string) *answerDropper {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &answerDropper{ln: ln, target: target, match: []byte(match)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
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
			if p.match != nil {
				p.serveMatch(c)
				return
			}
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

// serveMatch passes requests and answers on until a request contains p.match (the first such
// in the proxy's life): the answer to it is cut at its first byte. HTTP/1.1 answers in order,
// so whatever the gateway sends after that request is its answer.
func (p *answerDropper) serveMatch(client net.Conn) {
	defer client.Close()
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	deadline := time.Now().Add(time.Minute)
	client.SetDeadline(deadline)
	up.SetDeadline(deadline)
	var cut atomic.Bool
	go func() {
		defer up.(*net.TCPConn).CloseWrite()
		var window []byte
		buf := make([]byte, 32<<10)
		for {
			n, err := client.Read(buf)
			if n > 0 {
				window = append(window, buf[:n]...)
				if bytes.Contains(window, p.match) && p.dropped.CompareAndSwap(false, true) {
					cut.Store(true)
				}
				if k := len(p.match) - 1; len(window) > k {
					window = append(window[:0], window[len(window)-k:]...)
				}
				if _, werr := up.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := up.Read(buf)
		if n > 0 {
			if cut.Load() {
				return
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A bulk run whose commit answer was lost: the CLI sends the commit again and reports the run
// registered; the gateway holds one run with each letter once, and every letter prints.
func TestCLIBulkCommitRetryAfterLostAnswer(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{})
	proxy := startAnswerDropperOn(t, strings.TrimPrefix(g.Base, "http://"), "/commit")
	dir := t.TempDir()
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		doc := append(bytes.Clone(letter), []byte("\n% letter "+strconv.Itoa(i)+"\n")...)
		if err := os.WriteFile(filepath.Join(dir, "letter-"+strconv.Itoa(i)+".pdf"), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, "bulk", "submit", "--name", "lost commit answer", "--dir", dir)
	cmd.Env = append(os.Environ(), "PRINTGATE_SERVER=http://"+proxy.ln.Addr().String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("printgate bulk submit through the proxy: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !proxy.dropped.Load() || !strings.Contains(stderr.String(), "commit run") {
		t.Fatalf("the commit's answer was not dropped, or the CLI did not retry it; stderr:\n%s", stderr.String())
	}
	if !strings.Contains(stdout.String(), "3 letters") {
		t.Fatalf("bulk submit printed %q, want the run of 3 letters", stdout.String())
	}
	runs, err := g.API.Runs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 {
		t.Fatalf("the gateway holds %d runs after one bulk submit, want 1", len(runs))
	}
	jobs, err := g.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Fatalf("the gateway holds %d jobs after one run of 3 letters, want 3", len(jobs))
	}
	ids := []int64{}
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	g.waitJobs(ids, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
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
