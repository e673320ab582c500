// Process supervision: every peer runs in its own process group, logs to a file, and is stopped
// and waited for with bounded waits.
package peer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// termGrace is how long a peer gets to exit after SIGTERM before it is killed.
	termGrace = 5 * time.Second
	// killGrace bounds the wait after SIGKILL; a process still there is reported, not waited on.
	killGrace = 5 * time.Second
	// logTail is how many bytes of a peer's log are shown when a test fails.
	logTail = 4000
)

// proc is one running peer process (and, through its process group, its children).
type proc struct {
	name    string        // short label for messages
	cmd     *exec.Cmd     // the started command
	logPath string        // file receiving the process's stdout and stderr
	done    chan struct{} // closed when cmd.Wait returns
	waitErr error         // cmd.Wait's result, valid after done is closed
}

// startProc starts cmd in a new process group with stdout and stderr appended to logPath. It
// does not register any cleanup: callers decide when the process stops.
func startProc(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("peer: open log for %s: %w", name, err)
	}
	cmd.Stdout = logf
	cmd.Stderr = logf
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	// If the test binary dies (a go test -timeout panic skips t.Cleanup), the peer must not
	// outlive it. Pdeathsig fires when the starting OS thread exits; Go only ends threads whose
	// goroutine locked them and returned, so start peers from ordinary goroutines.
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("peer: start %s (%s): %w", name, cmd.Path, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup sends sig to the whole process group, so children (filters, backends, print
// commands) go with their parent.
func (p *proc) signalGroup(sig syscall.Signal) {
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		// Fall back to the leader alone; the group may already be gone.
		_ = p.cmd.Process.Signal(sig)
	}
}

// stop ends the process: SIGTERM to the group, then SIGKILL after termGrace. It returns an error
// if the process is still not reaped after killGrace.
func (p *proc) stop() error {
	if p.exited() {
		// The leader is gone; reap any stragglers still in its group.
		p.signalGroup(syscall.SIGKILL)
		return nil
	}
	p.signalGroup(syscall.SIGTERM)
	select {
	case <-p.done:
		p.signalGroup(syscall.SIGKILL)
		return nil
	case <-time.After(termGrace):
	}
	return p.kill()
}

// kill sends SIGKILL to the group and waits at most killGrace for the leader to be reaped.
func (p *proc) kill() error {
	p.signalGroup(syscall.SIGKILL)
	select {
	case <-p.done:
		return nil
	case <-time.After(killGrace):
		return fmt.Errorf("peer: %s (pid %d) still running %v after SIGKILL", p.name, p.cmd.Process.Pid, killGrace)
	}
}

// logText returns the process's log so far.
func (p *proc) logText() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

// stopInCleanup registers p's stop with t, and on a failed test logs the tail of its log.
func stopInCleanup(t testing.TB, p *proc) {
	t.Cleanup(func() {
		if err := p.stop(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			t.Logf("--- log of %s (%s), last %d bytes:\n%s", p.name, p.logPath, logTail, tail(p.logText(), logTail))
		}
	})
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// waitFor polls cond every interval until it returns true, the deadline passes, or the process
// p (if not nil) exits. It returns a description of why it gave up, or "" on success.
func waitFor(timeout, interval time.Duration, p *proc, cond func() bool) string {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return ""
		}
		if p != nil && p.exited() {
			return fmt.Sprintf("%s exited (%v) before it was ready; log:\n%s", p.name, p.waitErr, tail(p.logText(), logTail))
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("gave up after %v", timeout)
			if p != nil {
				msg += fmt.Sprintf("; log of %s:\n%s", p.name, tail(p.logText(), logTail))
			}
			return msg
		}
		time.Sleep(interval)
	}
}

// shortTempDir makes a world-traversable directory with a short path under os.TempDir, removed
// after the test's processes have stopped (register it before starting them). Short, because
// Unix socket paths are limited to 108 bytes and test names are long; traversable, because cupsd
// runs its filters as user lp.
func shortTempDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatalf("peer: make temp dir: %v", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatalf("peer: chmod %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("peer: remove %s: %v", dir, err)
		}
	})
	return dir
}

// envWith returns os.Environ() with the given NAME=value entries replacing any existing ones.
func envWith(extra ...string) []string {
	override := make(map[string]bool, len(extra))
	for _, kv := range extra {
		if i := strings.IndexByte(kv, '='); i > 0 {
			override[kv[:i]] = true
		}
	}
	var env []string
	for _, kv := range os.Environ() {
		if i := strings.IndexByte(kv, '='); i > 0 && override[kv[:i]] {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}
