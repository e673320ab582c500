// Failover over the simulated fleet: dead and stopped printers, busy answers, the circuit
// breaker and the attempt limit, each checked against the job rows and the event log.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// simEvents returns every event, oldest first.
func simEvents(t *testing.T, r *simRig, f job.EventFilter) []job.Event {
	t.Helper()
	f.Limit = 100000
	evs, err := r.store.Events(context.Background(), f)
	if err != nil {
		t.Fatalf("events: %v", err)
	}
	slices.Reverse(evs)
	return evs
}

// waitFor polls cond every few milliseconds until it holds or timeout passes.
func simWaitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func simPages(n, each int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = each
	}
	return p
}

func TestFailoverDeadPrinter(t *testing.T) {
	t.Parallel()
	// 3000 ppm: a page takes 20 ms.
	a, b := newSimPrinter("a", 3000), newSimPrinter("b", 3000)
	r := newSimRig(t, []*simPrinter{a, b}, simOptions{probeInterval: 20 * time.Millisecond, grace: 100 * time.Millisecond})
	ids := r.submit(t, "letters", simPages(30, 2))
	r.start(t)
	simWaitFor(t, 5*time.Second, "a to print a few jobs", func() bool { return len(a.Completed()) >= 3 })
	// Dies while it holds a job it has not finished.
	simWaitFor(t, 5*time.Second, "a to die holding a job", a.FailHolding)
	killed := time.Now()
	simWaitFor(t, 5*time.Second, "a to be unreachable", func() bool {
		p, _ := r.sched.Printer("a")
		return p.State == printers.StateUnreachable
	})
	// Two probe intervals to notice, plus one for the tick phase and slack for a loaded machine.
	if d := time.Since(killed); d > 200*time.Millisecond {
		t.Errorf("a became unreachable %s after it died, want within about two probe intervals (40 ms)", d)
	}
	jobs := r.waitFinal(t, len(ids), 20*time.Second)
	onA := map[int64]bool{}
	for _, d := range a.Completed() {
		onA[d.id] = true
	}
	flagged := 0
	for _, j := range jobs {
		if j.State != job.StateCompleted {
			t.Errorf("job %d is %s (%s), want completed", j.ID, j.State, j.StateReason)
		}
		if onA[j.ID] && j.Printer != "a" {
			t.Errorf("job %d printed on a, then again on %s", j.ID, j.Printer)
		}
		if j.PossibleDuplicate {
			flagged++
			if j.Printer != "b" {
				t.Errorf("flagged job %d completed on %s, want b", j.ID, j.Printer)
			}
		}
	}
	// a held two jobs when it died (max_inflight 2, never idle with 30 jobs queued): the one
	// printing and the one queued behind it were sent, so both may have printed.
	if flagged == 0 {
		t.Errorf("no job flagged possible-duplicate; a died holding jobs")
	}
	evs := simEvents(t, r, job.EventFilter{})
	var story []string
	for _, e := range evs {
		switch {
		case e.Kind == job.EventPrinterState && e.Printer == "a" && e.To == string(printers.StateUnreachable):
			story = append(story, "a unreachable")
		case e.Kind == job.EventFailover && e.From == string(job.StatePrinting) && e.To == string(job.StatePending):
			if !strings.Contains(e.Message, "grace period") {
				t.Errorf("failover event %q does not say why", e.Message)
			}
			story = append(story, "requeued")
		}
	}
	if len(story) < 2 || story[0] != "a unreachable" || !slices.Contains(story, "requeued") {
		t.Errorf("event log story = %v, want a unreachable, then its printing jobs requeued", story)
	}
	for _, e := range evs {
		if e.Kind == job.EventFailover && e.To == string(job.StatePending) && time.Since(killed) > 0 &&
			e.At.Sub(killed) < 100*time.Millisecond && e.From == string(job.StatePrinting) {
			t.Errorf("job %d requeued %s after the printer died, before the grace period (100 ms)", e.JobID, e.At.Sub(killed))
		}
	}

	// Back from the dead: after RecoverAfter good probes a takes new work again.
	a.Revive()
	simWaitFor(t, 5*time.Second, "a back in use", func() bool {
		p, _ := r.sched.Printer("a")
		return p.State.Usable()
	})
	before := len(a.Completed())
	more := r.submit(t, "letters", simPages(10, 1))
	r.waitFinal(t, len(ids)+len(more), 20*time.Second)
	if len(a.Completed()) == before {
		t.Errorf("a printed nothing after it came back")
	}
}

func TestFailoverStoppedPrinter(t *testing.T) {
	t.Parallel()
	a, b := newSimPrinter("a", 3000), newSimPrinter("b", 1500)
	r := newSimRig(t, []*simPrinter{a, b}, simOptions{probeInterval: 20 * time.Millisecond, grace: 150 * time.Millisecond})
	r.start(t)
	a.SetStopped([]string{"media-empty"})
	simWaitFor(t, 5*time.Second, "a stopped", func() bool {
		p, _ := r.sched.Printer("a")
		return p.State == printers.StateStopped
	})
	ids := r.submit(t, "letters", simPages(10, 1))
	// Out of paper, a must get nothing: wait until half the jobs are done on b.
	simWaitFor(t, 10*time.Second, "b to print", func() bool { return len(b.Completed()) >= 5 })
	if n := a.sent(); n != 0 {
		t.Errorf("stopped printer a was sent %d jobs", n)
	}
	a.SetStopped(nil)
	r.waitFinal(t, len(ids), 20*time.Second)
	evs := simEvents(t, r, job.EventFilter{Printer: "a", Kinds: []string{job.EventPrinterState}})
	var path []string
	for _, e := range evs {
		path = append(path, e.To)
	}
	want := []string{"ready", "stopped", "ready"}
	if !slices.Equal(path, want) {
		t.Errorf("a's state events = %v, want %v", path, want)
	}
}

func TestFailoverStoppedWhilePrinting(t *testing.T) {
	t.Parallel()
	// a takes 500 ms a page and runs out of paper on its first job; b is fast.
	a, b := newSimPrinter("a", 120), newSimPrinter("b", 3000)
	r := newSimRig(t, []*simPrinter{a, b}, simOptions{probeInterval: 20 * time.Millisecond, grace: 100 * time.Millisecond,
		pools: map[string][]string{"letters": {"a", "b"}, "only-a": {"a"}}})
	r.start(t)
	ids := r.submit(t, "only-a", simPages(1, 4))
	simWaitFor(t, 5*time.Second, "a printing", func() bool {
		j, _ := r.store.Job(context.Background(), ids[0])
		return j.State == job.StatePrinting
	})
	a.SetStopped([]string{"media-empty"})
	// Its job has nowhere else to go (pool only-a): it is requeued after the grace period,
	// flagged, and waits for a.
	simWaitFor(t, 5*time.Second, "the job requeued", func() bool {
		j, _ := r.store.Job(context.Background(), ids[0])
		return j.State == job.StatePending && j.PossibleDuplicate
	})
	a.SetStopped(nil)
	jobs := r.waitFinal(t, 1, 10*time.Second)
	if jobs[0].State != job.StateCompleted || jobs[0].Printer != "a" {
		t.Errorf("job ended %s on %q, want completed on a", jobs[0].State, jobs[0].Printer)
	}
}

func TestBusyIsNotAFailure(t *testing.T) {
	t.Parallel()
	a := newSimPrinter("a", 6000)
	a.oneAtATime = true
	r := newSimRig(t, []*simPrinter{a}, simOptions{maxInflight: 3})
	ids := r.submit(t, "letters", simPages(20, 1))
	r.start(t)
	jobs := r.waitFinal(t, len(ids), 10*time.Second)
	for _, j := range jobs {
		if j.State != job.StateCompleted || j.Attempts != 0 || j.PossibleDuplicate {
			t.Errorf("job %d: %s, %d attempts, duplicate %v; want completed at the first attempt", j.ID, j.State,
				j.Attempts, j.PossibleDuplicate)
		}
	}
	for _, e := range simEvents(t, r, job.EventFilter{Printer: "a", Kinds: []string{job.EventPrinterState}}) {
		if e.To == "breaker-open" {
			t.Errorf("busy answers opened the circuit breaker: %s", e.Message)
		}
	}
}

func TestSendFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		err     error
		wantDup bool
	}{
		{"connection refused", fmt.Errorf("%w: refused", printers.ErrNotDelivered), false},
		{"reset mid-transfer", errors.New("connection reset by peer"), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			bad, good := newSimPrinter("bad", 6000), newSimPrinter("good", 600)
			bad.failSend = tc.err
			r := newSimRig(t, []*simPrinter{bad, good}, simOptions{probeInterval: time.Second, maxAttempts: 5})
			ids := r.submit(t, "letters", simPages(12, 1))
			r.start(t)
			jobs := r.waitFinal(t, len(ids), 20*time.Second)
			dups := 0
			for _, j := range jobs {
				if j.State != job.StateCompleted || j.Printer != "good" {
					t.Errorf("job %d ended %s on %q, want completed on good", j.ID, j.State, j.Printer)
				}
				if j.PossibleDuplicate {
					dups++
				}
				if !tc.wantDup && j.Attempts != 0 {
					t.Errorf("job %d has %d attempts; a send that delivered nothing must not count", j.ID, j.Attempts)
				}
			}
			if tc.wantDup && dups == 0 || !tc.wantDup && dups > 0 {
				t.Errorf("%d jobs flagged possible-duplicate, want flags %v", dups, tc.wantDup)
			}
			// Each failure also makes bad look slower (errorPenalty), so after a failure or two
			// the work goes to good; at most breakerThreshold+1 jobs ever fail at bad.
			fails := 0
			for _, e := range simEvents(t, r, job.EventFilter{}) {
				if e.From == string(job.StateSending) && e.To == string(job.StatePending) &&
					strings.Contains(e.Message, "send to bad failed") {
					fails++
				}
			}
			if fails < 1 || fails > breakerThreshold+1 {
				t.Errorf("%d jobs failed at bad, want 1 to %d", fails, breakerThreshold+1)
			}
		})
	}
}

func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	bad := newSimPrinter("bad", 6000)
	bad.setFailSend(errors.New("connection reset by peer"))
	probe := 100 * time.Millisecond
	r := newSimRig(t, []*simPrinter{bad}, simOptions{probeInterval: probe, maxAttempts: 100})
	ids := r.submit(t, "letters", simPages(6, 1))
	r.start(t)
	breakerEvents := func() []job.Event {
		var out []job.Event
		for _, e := range simEvents(t, r, job.EventFilter{Printer: "bad", Kinds: []string{job.EventPrinterState}}) {
			if e.To == "breaker-open" || e.From == "breaker-open" {
				out = append(out, e)
			}
		}
		return out
	}
	simWaitFor(t, 5*time.Second, "the breaker to open", func() bool { return len(breakerEvents()) == 1 })
	// Open for breakerThreshold probe intervals: no sends meanwhile, though jobs are waiting.
	// One flight may have been sending already when the third failure opened it.
	time.Sleep(2 * probe)
	if n := bad.calls(); n < breakerThreshold || n > breakerThreshold+1 {
		t.Errorf("%d sends by the end of the breaker's open time, want %d (or one more already under way)", n, breakerThreshold)
	}
	bad.setFailSend(nil)
	jobs := r.waitFinal(t, len(ids), 10*time.Second)
	for _, j := range jobs {
		if j.State != job.StateCompleted {
			t.Errorf("job %d is %s after the printer recovered", j.ID, j.State)
		}
	}
	evs := breakerEvents()
	if len(evs) < 2 || evs[len(evs)-1].From != "breaker-open" {
		t.Errorf("breaker events %v: want it opened and, after a good send, closed", evs)
	}
}

func TestAttemptLimitAborts(t *testing.T) {
	t.Parallel()
	bad := newSimPrinter("bad", 6000)
	bad.failSend = errors.New("connection reset by peer")
	r := newSimRig(t, []*simPrinter{bad}, simOptions{probeInterval: 5 * time.Millisecond, maxAttempts: 2})
	ids := r.submit(t, "letters", simPages(1, 1))
	r.start(t)
	jobs := r.waitFinal(t, 1, 20*time.Second)
	j := jobs[0]
	if j.ID != ids[0] || j.State != job.StateAborted || j.Attempts != 2 || j.StateReason != "aborted-by-system" {
		t.Fatalf("job %d: %s (%s) after %d attempts, want aborted-by-system after 2", j.ID, j.State, j.StateReason, j.Attempts)
	}
	evs := simEvents(t, r, job.EventFilter{JobID: j.ID})
	last := evs[len(evs)-1]
	if last.To != string(job.StateAborted) || !strings.Contains(last.Message, "aborted after 2 attempts") {
		t.Errorf("last event %+v does not record why the job was aborted", last)
	}
}
