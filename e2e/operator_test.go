//go:build e2e

// End-to-end tests of the operator controls: drain and resume a printer; cancel, hold and
// release, retry and move a job. Each action goes through the real CLI (`printgate printers
// drain NAME`, `printgate jobs move ID --to PRINTER`, ...) with an API token against a
// `printgate serve` child, and each test checks what the printers actually got (file printers
// with a simulated speed, an ippeveprinter that holds one job at a time, a socket printer that
// never confirms a delivery) and that the event log names the operator. Jobs are kept waiting
// by draining every printer first, never by racing a timer.
// Run: go test -tags e2e -count=1 -run TestOperator -v ./e2e/
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

// The operator of these tests: every CLI action carries this API token, so the event log must
// name this operator (not "local", which loopback trust would give a token-less request).
const (
	opActor = "ops-dana"
	opToken = "e2e-operator-token-7c41d9b2"
)

// opTimeout bounds each wait for a job or printer state; generous for a loaded 2-core machine.
const opTimeout = 30 * time.Second

// opPrinter is one physical printer of a test configuration.
type opPrinter struct {
	name string
	uri  string
	ppm  int // 0: the printer's own pages-per-minute
}

// opFilePrinter is a file printer at ppm pages per minute writing into a fresh directory,
// which it returns too.
func opFilePrinter(t *testing.T, name string, ppm int) (opPrinter, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	return opPrinter{name: name, uri: "file://" + dir, ppm: ppm}, dir
}

// opConfig renders a gateway configuration: the printers; one virtual printer "letters" (the
// default) whose pool is all of them; probes every second; the operator token; loopback trusted
// for the tests' own reads; extra appended verbatim (e.g. "max_attempts: 1\n").
func opConfig(ps []opPrinter, extra string) func(listen, spool string) string {
	return func(listen, spoolDir string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %q\nspool: %q\nprobe_interval: 1s\nlog_level: debug\n", listen, spoolDir)
		fmt.Fprintf(&b, "auth:\n  trust_loopback: true\n  tokens:\n    - name: %s\n      token: %q\n", opActor, opToken)
		b.WriteString(extra)
		b.WriteString("printers:\n")
		var names []string
		for _, p := range ps {
			fmt.Fprintf(&b, "  - name: %s\n    uri: %q\n", p.name, p.uri)
			if p.ppm > 0 {
				fmt.Fprintf(&b, "    ppm: %d\n", p.ppm)
			}
			names = append(names, p.name)
		}
		fmt.Fprintf(&b, "virtual_printers:\n  - name: letters\n    default: true\n    pool: [%s]\n", strings.Join(names, ", "))
		return b.String()
	}
}

// startOpGateway starts a gateway for ps and waits until every printer is probed usable.
func startOpGateway(t *testing.T, ps []opPrinter, extra string) *gateway {
	t.Helper()
	g := startGateway(t, gatewayOptions{Config: opConfig(ps, extra)})
	for _, p := range ps {
		opWaitPrinter(t, g, p.name, "usable", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	}
	return g
}

// opCLI runs a printgate client command as the operator (PRINTGATE_TOKEN) and returns its
// standard output.
func opCLI(t *testing.T, g *gateway, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Env = append(os.Environ(), "PRINTGATE_SERVER="+g.Base, "PRINTGATE_TOKEN="+opToken)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("printgate %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// opMust is opCLI that fails the test on error.
func opMust(t *testing.T, g *gateway, args ...string) string {
	t.Helper()
	out, err := opCLI(t, g, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// opRefused checks that an operator command the gateway must refuse fails.
func opRefused(t *testing.T, g *gateway, why string, args ...string) {
	t.Helper()
	if out, err := opCLI(t, g, args...); err == nil {
		t.Errorf("printgate %s succeeded (%s), want it refused: %s", strings.Join(args, " "), strings.TrimSpace(out), why)
	}
}

// opDrain drains (or resumes) printers through the CLI and checks what it answered.
func opDrain(t *testing.T, g *gateway, action string, names ...string) {
	t.Helper()
	want := map[string]string{"drain": "drained", "resume": ""}[action]
	for _, name := range names {
		out := strings.TrimSpace(opMust(t, g, "printers", action, name))
		state, ok := strings.CutPrefix(out, name+": ")
		if !ok || (want != "" && state != want) || (want == "" && state == string(printers.StateDrained)) {
			t.Fatalf("printgate printers %s %s said %q", action, name, out)
		}
	}
}

// opSubmit submits one file through `printgate submit` as job name and returns the job id.
func opSubmit(t *testing.T, g *gateway, name, file string) int64 {
	t.Helper()
	out := opMust(t, g, "submit", "--printer", "letters", "--name", name, "--owner", "e2e-clerk", file)
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("printgate submit printed %q, want a job id", out)
	}
	return id
}

// opJobAction runs `printgate jobs ACTION ID [args]` and returns the job it printed.
func opJobAction(t *testing.T, g *gateway, action string, id int64, args ...string) *job.Job {
	t.Helper()
	out := opMust(t, g, append([]string{"jobs", action, strconv.FormatInt(id, 10)}, args...)...)
	j := new(job.Job)
	if err := json.Unmarshal([]byte(out), j); err != nil || j.ID != id {
		t.Fatalf("printgate jobs %s %d printed %q (%v), want job %d as JSON", action, id, out, err, id)
	}
	return j
}

// opJob reads one job from the API.
func opJob(t *testing.T, g *gateway, id int64) *job.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := g.API.Job(ctx, id)
	if err != nil {
		t.Fatalf("job %d: %v", id, err)
	}
	return j
}

// opWait waits until job id satisfies cond and returns it.
func opWait(t *testing.T, g *gateway, id int64, what string, cond func(*job.Job) bool) *job.Job {
	t.Helper()
	return g.waitJobs([]int64{id}, opTimeout, what, cond)[id]
}

func isState(s job.State) func(*job.Job) bool {
	return func(j *job.Job) bool { return j.State == s }
}

// opWaitPrinter polls a printer's live state every 50 ms until cond holds.
func opWaitPrinter(t *testing.T, g *gateway, name, what string, cond func(queue.PrinterInfo) bool) queue.PrinterInfo {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ps, err := g.API.Printers(ctx)
		cancel()
		if err != nil {
			t.Fatalf("printers: %v", err)
		}
		for _, p := range ps {
			if p.Name == name && cond(p) {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("printer %s not %s after %s: %+v", name, what, opTimeout, ps)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// opOperatorEvent returns the operator event matching query (job= or printer=) whose message
// contains verb, and fails the test unless there is one naming the operator.
func opOperatorEvent(t *testing.T, g *gateway, query url.Values, verb string) job.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	query.Set("kind", job.EventOperator)
	query.Set("limit", "1000")
	evs, err := g.API.Events(ctx, query)
	if err != nil {
		t.Fatalf("events %v: %v", query, err)
	}
	var seen []string
	for _, e := range evs {
		if strings.Contains(e.Message, verb) {
			if e.Actor != opActor {
				t.Errorf("event %q has actor %q, want %q", e.Message, e.Actor, opActor)
			}
			return e
		}
		seen = append(seen, fmt.Sprintf("%s: %s", e.Actor, e.Message))
	}
	t.Fatalf("no operator event %v says %q; operator events: %q", query, verb, seen)
	return job.Event{}
}

// opJobEvent is opOperatorEvent for one job.
func opJobEvent(t *testing.T, g *gateway, id int64, verb string) job.Event {
	t.Helper()
	return opOperatorEvent(t, g, url.Values{"job": {strconv.FormatInt(id, 10)}}, verb)
}

// opPrintedOn checks that job j completed on printer, whose output directory holds exactly one
// delivery of it, byte-identical to the file submitted; and that no other directory has one.
func opPrintedOn(t *testing.T, j *job.Job, printer, file string, dirs map[string]string) {
	t.Helper()
	if j.State != job.StateCompleted || j.Printer != printer {
		t.Errorf("job %d (%s): %s on %q, want completed on %s", j.ID, j.Name, j.State, j.Printer, printer)
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, dir := range dirs {
		got := outputs(t, dir)[j.ID]
		switch {
		case name != printer && len(got) != 0:
			t.Errorf("job %d (%s) was also written by %s: %v", j.ID, j.Name, name, got)
		case name == printer && len(got) != 1:
			t.Errorf("job %d (%s): %d deliveries by %s, want 1: %v", j.ID, j.Name, len(got), name, got)
		case name == printer && fileSHA256(t, got[0]) != sha256Hex(want):
			t.Errorf("job %d (%s): %s differs from %s", j.ID, j.Name, got[0], file)
		}
	}
}

// opNotPrinted checks that no printer wrote job id.
func opNotPrinted(t *testing.T, id int64, dirs map[string]string) {
	t.Helper()
	for name, dir := range dirs {
		if got := outputs(t, dir)[id]; len(got) != 0 {
			t.Errorf("job %d was written by %s: %v", id, name, got)
		}
	}
}

// opWaitBusy waits until the ippeveprinter eve is printing the job named printing and has
// answered server-error-busy to the gateway's hand-over of job waiting, which the gateway then
// holds back (state sending, printer eve) until eve is free.
func opWaitBusy(t *testing.T, g *gateway, eve *peer.IPPEve, printing string, waiting int64) {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		busy := slices.ContainsFunc(eve.Jobs(), func(j peer.PrintedJob) bool { return j.JobName == printing && !j.Completed }) &&
			strings.Contains(eve.Log(), "server-error-busy")
		j := opJob(t, g, waiting)
		if busy && j.State == job.StateSending && j.Printer == eve.Name {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("never had %s printing and job %d waiting at %s: its jobs %+v, job %d %s on %q",
				printing, waiting, eve.Name, eve.Jobs(), waiting, j.State, j.Printer)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// opBusyEve is the scene the drain and move tests start from: an ippeveprinter "eve" (60 ppm)
// printing job a (4 pages, 4 s) while job b (1 page) waits for it, answered busy, and a file
// printer "spare" (600 ppm), drained so that everything went to eve.
type opBusyEve struct {
	g        *gateway
	eve      *peer.IPPEve
	spareDir string
	letter1  string // b's document
	a, b     int64
}

func startOpBusyEve(t *testing.T, nameA, nameB string) opBusyEve {
	t.Helper()
	eve := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "eve", PPM: 60})
	spare, spareDir := opFilePrinter(t, "spare", 600)
	g := startOpGateway(t, []opPrinter{{name: "eve", uri: eve.URI(), ppm: 60}, spare}, "")
	letter1, letter4 := repoFile(t, "testdata/letter-1p.pdf"), repoFile(t, "testdata/letter-4p.pdf")
	opDrain(t, g, "drain", "spare")
	a := opSubmit(t, g, nameA, letter4)
	b := opSubmit(t, g, nameB, letter1)
	opWaitBusy(t, g, eve, nameA, b)
	return opBusyEve{g: g, eve: eve, spareDir: spareDir, letter1: letter1, a: a, b: b}
}

// TestOperatorDrainResume: a drained printer gets nothing new; the job waiting for it (an
// ippeveprinter answering server-error-busy while it prints another) moves to the other printer
// at once; the job it is printing finishes there; resumed, it prints again.
func TestOperatorDrainResume(t *testing.T) {
	t.Parallel()
	sc := startOpBusyEve(t, "drain-A", "drain-B")
	g, eve, spareDir, letter1, a, b := sc.g, sc.eve, sc.spareDir, sc.letter1, sc.a, sc.b

	opDrain(t, g, "resume", "spare")
	opDrain(t, g, "drain", "eve")
	drained := opOperatorEvent(t, g, url.Values{"printer": {"eve"}}, "drained by "+opActor)
	if p := opWaitPrinter(t, g, "eve", "drained", func(p queue.PrinterInfo) bool { return p.Drained }); p.State != printers.StateDrained {
		t.Errorf("drained eve shows state %s, want drained", p.State)
	}
	jb := opWait(t, g, b, "completed", isState(job.StateCompleted))
	dirs := map[string]string{"spare": spareDir}
	opPrintedOn(t, jb, "spare", letter1, dirs)
	if jb.PossibleDuplicate {
		t.Errorf("B, never delivered to eve, is flagged possible-duplicate")
	}
	moved := opJobEvent(t, g, b, "moved by operator")
	if moved.From != string(job.StateSending) || moved.To != string(job.StatePending) {
		t.Errorf("B's move event went %s -> %s, want sending -> pending", moved.From, moved.To)
	}
	ja := opWait(t, g, a, "completed", isState(job.StateCompleted))
	if ja.Printer != "eve" || ja.PossibleDuplicate || ja.Attempts != 0 {
		t.Errorf("A, in flight at eve when drained: completed on %s, flagged %v, %d attempts; want finished at eve, unflagged",
			ja.Printer, ja.PossibleDuplicate, ja.Attempts)
	}
	if !ja.Finished.After(drained.At) {
		t.Errorf("A finished at %s, before the drain at %s: it was not in flight", ja.Finished, drained.At)
	}
	if !jb.Finished.Before(ja.Finished) {
		t.Errorf("B finished at %s, after A (%s): it did not move at once but waited for eve", jb.Finished, ja.Finished)
	}

	// While drained eve gets nothing new, although it is idle now.
	var more []int64
	for i := range 3 {
		more = append(more, opSubmit(t, g, fmt.Sprintf("drain-C%d", i), letter1))
	}
	for _, id := range more {
		opPrintedOn(t, opWait(t, g, id, "completed", isState(job.StateCompleted)), "spare", letter1, dirs)
	}
	var names []string
	for _, j := range eve.Jobs() {
		names = append(names, j.JobName)
	}
	if !slices.Equal(names, []string{"drain-A"}) {
		t.Errorf("eve printed %v, want only drain-A", names)
	}

	// Resumed (and the spare drained), eve prints again.
	opDrain(t, g, "drain", "spare")
	opDrain(t, g, "resume", "eve")
	opOperatorEvent(t, g, url.Values{"printer": {"eve"}}, "resumed by "+opActor)
	opWaitPrinter(t, g, "eve", "back in use", func(p queue.PrinterInfo) bool { return !p.Drained && p.State.Usable() })
	e := opSubmit(t, g, "drain-E", letter1)
	if je := opWait(t, g, e, "completed", isState(job.StateCompleted)); je.Printer != "eve" {
		t.Errorf("after resume, job %d completed on %s, want eve", e, je.Printer)
	}
	if !slices.ContainsFunc(eve.Printed(), func(j peer.PrintedJob) bool {
		return j.JobName == "drain-E" && j.SHA256 == fileSHA256(t, letter1)
	}) {
		t.Errorf("eve's print command never finished drain-E: %+v", eve.Printed())
	}
}

// startOpTwoFilePrinters runs a gateway over two file printers "pa" and "pb" (300 ppm) and
// returns it with their output directories by name.
func startOpTwoFilePrinters(t *testing.T) (*gateway, map[string]string) {
	t.Helper()
	pa, dirA := opFilePrinter(t, "pa", 300)
	pb, dirB := opFilePrinter(t, "pb", 300)
	return startOpGateway(t, []opPrinter{pa, pb}, ""), map[string]string{"pa": dirA, "pb": dirB}
}

// TestOperatorCancel: a pending job canceled by the operator ends canceled and never reaches a
// printer, while the job behind it prints; canceling it again is refused.
func TestOperatorCancel(t *testing.T) {
	t.Parallel()
	g, dirs := startOpTwoFilePrinters(t)
	letter := repoFile(t, "testdata/letter-2p.pdf")

	opDrain(t, g, "drain", "pa", "pb")
	doomed := opSubmit(t, g, "cancel-me", letter)
	kept := opSubmit(t, g, "keep-me", letter)
	if j := opJob(t, g, doomed); j.State != job.StatePending {
		t.Fatalf("job %d is %s with every printer drained, want pending", doomed, j.State)
	}
	if j := opJobAction(t, g, "cancel", doomed); j.State != job.StateCanceled {
		t.Errorf("printgate jobs cancel answered state %s, want canceled", j.State)
	}
	opRefused(t, g, "the job is canceled already", "jobs", "cancel", strconv.FormatInt(doomed, 10))

	opDrain(t, g, "resume", "pa", "pb")
	jk := opWait(t, g, kept, "completed", isState(job.StateCompleted))
	opPrintedOn(t, jk, jk.Printer, letter, dirs)
	// The canceled job was ahead of the one that printed: had it been schedulable, it would
	// have gone first.
	if j := opJob(t, g, doomed); j.State != job.StateCanceled || j.Printer != "" {
		t.Errorf("canceled job %d is %s on %q after the printers came back", doomed, j.State, j.Printer)
	}
	opNotPrinted(t, doomed, dirs)
	e := opJobEvent(t, g, doomed, "canceled by "+opActor)
	if e.From != string(job.StatePending) || e.To != string(job.StateCanceled) {
		t.Errorf("cancel event went %s -> %s, want pending -> canceled", e.From, e.To)
	}
}

// TestOperatorHoldRelease: a held job does not print while the printers print others; released,
// it prints.
func TestOperatorHoldRelease(t *testing.T) {
	t.Parallel()
	g, dirs := startOpTwoFilePrinters(t)
	letter := repoFile(t, "testdata/letter-3p.pdf")

	opDrain(t, g, "drain", "pa", "pb")
	held := opSubmit(t, g, "hold-me", letter)
	other := opSubmit(t, g, "print-me", letter)
	if j := opJobAction(t, g, "hold", held); j.State != job.StateHeld {
		t.Errorf("printgate jobs hold answered state %s, want held", j.State)
	}
	opDrain(t, g, "resume", "pa", "pb")
	jo := opWait(t, g, other, "completed", isState(job.StateCompleted))
	opPrintedOn(t, jo, jo.Printer, letter, dirs)
	if j := opJob(t, g, held); j.State != job.StateHeld {
		t.Errorf("held job %d is %s after the job behind it printed, want held", held, j.State)
	}
	opNotPrinted(t, held, dirs)
	opRefused(t, g, "a completed job cannot be held", "jobs", "hold", strconv.FormatInt(other, 10))

	if j := opJobAction(t, g, "release", held); j.State == job.StateHeld {
		t.Errorf("printgate jobs release answered state held")
	}
	jh := opWait(t, g, held, "completed", isState(job.StateCompleted))
	opPrintedOn(t, jh, jh.Printer, letter, dirs)
	opJobEvent(t, g, held, "held by "+opActor)
	opJobEvent(t, g, held, "released by "+opActor)
}

// resetPrinter is a socket printer that reads every byte of a job and then resets the
// connection instead of closing it: the gateway cannot tell whether the job printed, so the
// attempt counts, and with max_attempts 1 the job is aborted.
type resetPrinter struct {
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	jobs int // connections that carried bytes
}

func startResetPrinter(t *testing.T) *resetPrinter {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &resetPrinter{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				n, _ := io.Copy(io.Discard, c)
				if n > 0 {
					p.mu.Lock()
					p.jobs++
					p.mu.Unlock()
				}
				_ = c.(*net.TCPConn).SetLinger(0) // close with RST
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *resetPrinter) URI() string { return "socket://" + p.ln.Addr().String() }

func (p *resetPrinter) Jobs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.jobs
}

// TestOperatorRetry: a job aborted after its last attempt (a socket printer that never confirms
// delivery, max_attempts 1) and a job the operator canceled are both retried through the CLI and
// print; a completed job cannot be retried.
func TestOperatorRetry(t *testing.T) {
	t.Parallel()
	good, goodDir := opFilePrinter(t, "good", 600)
	flaky := startResetPrinter(t)
	g := startOpGateway(t, []opPrinter{good, {name: "flaky", uri: flaky.URI(), ppm: 600}}, "max_attempts: 1\n")
	dirs := map[string]string{"good": goodDir}
	letter := repoFile(t, "testdata/letter-2p.pdf")

	t.Run("aborted", func(t *testing.T) {
		opDrain(t, g, "drain", "good")
		id := opSubmit(t, g, "retry-aborted", letter)
		j := opWait(t, g, id, "aborted", func(j *job.Job) bool { return j.State.Final() })
		if j.State != job.StateAborted || !j.PossibleDuplicate || flaky.Jobs() != 1 {
			t.Fatalf("job %d after an unconfirmed delivery with max_attempts 1: %s (%s), flagged %v, flaky got %d jobs; want aborted, flagged, 1",
				id, j.State, j.StateReason, j.PossibleDuplicate, flaky.Jobs())
		}
		opDrain(t, g, "drain", "flaky")
		opDrain(t, g, "resume", "good")
		if j := opJobAction(t, g, "retry", id); j.State.Final() {
			t.Errorf("printgate jobs retry answered state %s", j.State)
		}
		opPrintedOn(t, opWait(t, g, id, "completed", isState(job.StateCompleted)), "good", letter, dirs)
		opJobEvent(t, g, id, "retried by "+opActor)
		opRefused(t, g, "a completed job cannot be retried", "jobs", "retry", strconv.FormatInt(id, 10))
	})

	t.Run("canceled", func(t *testing.T) {
		opDrain(t, g, "drain", "good") // flaky stays drained
		id := opSubmit(t, g, "retry-canceled", letter)
		if j := opJobAction(t, g, "cancel", id); j.State != job.StateCanceled {
			t.Fatalf("printgate jobs cancel answered state %s", j.State)
		}
		if j := opJobAction(t, g, "retry", id); j.State != job.StatePending {
			t.Errorf("printgate jobs retry of a canceled job answered state %s, want pending", j.State)
		}
		opDrain(t, g, "resume", "good")
		opPrintedOn(t, opWait(t, g, id, "completed", isState(job.StateCompleted)), "good", letter, dirs)
		opJobEvent(t, g, id, "canceled by "+opActor)
		opJobEvent(t, g, id, "retried by "+opActor)
	})
	if n := flaky.Jobs(); n != 1 {
		t.Errorf("the flaky printer got %d jobs, want only the first one", n)
	}
}

// TestOperatorMovePending: a pending job moved to the slower of two printers prints there,
// although the scheduler would have chosen the faster one, and waits for it while it is
// drained; moves to an unknown printer or of a finished job are refused.
func TestOperatorMovePending(t *testing.T) {
	t.Parallel()
	fast, fastDir := opFilePrinter(t, "fast", 600)
	slow, slowDir := opFilePrinter(t, "slow", 60)
	g := startOpGateway(t, []opPrinter{fast, slow}, "")
	dirs := map[string]string{"fast": fastDir, "slow": slowDir}
	letter := repoFile(t, "testdata/letter-1p.pdf")

	opDrain(t, g, "drain", "fast", "slow")
	moved := opSubmit(t, g, "move-me", letter)
	other := opSubmit(t, g, "leave-me", letter)
	j := opJobAction(t, g, "move", moved, "--to", "slow")
	if j.State != job.StatePending || j.Printer != "slow" {
		t.Errorf("printgate jobs move answered %s on %q, want pending for slow", j.State, j.Printer)
	}
	opRefused(t, g, "no such printer", "jobs", "move", strconv.FormatInt(other, 10), "--to", "nosuch")

	// Only the fast printer back: the other job prints there, the moved one waits for slow.
	opDrain(t, g, "resume", "fast")
	opPrintedOn(t, opWait(t, g, other, "completed", isState(job.StateCompleted)), "fast", letter, dirs)
	if j := opJob(t, g, moved); j.State != job.StatePending || j.Printer != "slow" {
		t.Errorf("moved job %d is %s on %q while slow is drained, want pending for slow", moved, j.State, j.Printer)
	}
	opNotPrinted(t, moved, dirs)
	opDrain(t, g, "resume", "slow")
	opPrintedOn(t, opWait(t, g, moved, "completed", isState(job.StateCompleted)), "slow", letter, dirs)
	opJobEvent(t, g, moved, "moved to slow by "+opActor)
	opRefused(t, g, "a completed job cannot move", "jobs", "move", strconv.FormatInt(other, 10), "--to", "slow")
}

// TestOperatorMoveAssigned: a job waiting at an ippeveprinter busy with another job is moved to
// a file printer and prints there; the job the ippeveprinter is printing cannot move.
func TestOperatorMoveAssigned(t *testing.T) {
	t.Parallel()
	sc := startOpBusyEve(t, "busy-A", "waiting-B")
	g, eve, spareDir, letter1, a, b := sc.g, sc.eve, sc.spareDir, sc.letter1, sc.a, sc.b

	// B's first hand-over to eve may still be on the wire, when the gateway cannot know whether
	// eve took it and refuses the move; it answers busy within milliseconds, then B can move.
	deadline := time.Now().Add(opTimeout)
	for {
		_, err := opCLI(t, g, "jobs", "move", strconv.FormatInt(b, 10), "--to", "spare")
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "already sent") || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	opRefused(t, g, "eve is printing it", "jobs", "move", strconv.FormatInt(a, 10), "--to", "spare")
	// Taken back from eve's flight, the job is requeued pinned to spare.
	opJobEvent(t, g, b, "requeued for spare")
	if j := opJob(t, g, b); j.State != job.StatePending || j.Printer != "spare" {
		t.Errorf("moved job %d is %s on %q while spare is drained, want pending for spare", b, j.State, j.Printer)
	}

	opDrain(t, g, "resume", "spare")
	jb := opWait(t, g, b, "completed", isState(job.StateCompleted))
	opPrintedOn(t, jb, "spare", letter1, map[string]string{"spare": spareDir})
	if jb.PossibleDuplicate {
		t.Errorf("B, never delivered to eve, is flagged possible-duplicate")
	}
	if ja := opWait(t, g, a, "completed", isState(job.StateCompleted)); ja.Printer != "eve" {
		t.Errorf("A completed on %s, want eve", ja.Printer)
	}
	eve.WaitPrinted(t, 1, opTimeout)
	for _, j := range eve.Jobs() {
		if j.JobName != "busy-A" {
			t.Errorf("eve printed %s, want only busy-A", j.JobName)
		}
	}
}
