// The simulated fleet: in-process printers whose one engine really takes pages/ppm of wall time,
// used by the failover tests and by BenchmarkSimulatedFleet, which runs printgate's scheduler
// and two naive dispatch policies over the same fleet and workload and reports each makespan
// against the lower bound.
package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// simPrinter is one printer with one engine: jobs it accepts print one after another, each
// taking pages/ppm minutes of real time. Fail makes it vanish (probes fail, sends are refused,
// and the jobs it held never finish); Revive brings it back empty, as after a power cycle.
type simPrinter struct {
	name string
	ppm  float64
	// oneAtATime refuses a job with ErrBusy while another prints (as ippeveprinter does).
	oneAtATime bool

	mu        sync.Mutex
	busyUntil time.Time
	dead      bool
	deadCh    chan struct{} // closed by Fail
	stopped   []string      // printer-state-reasons that stop it (media-empty), nil when fine
	failSend  error         // when set, Send fails with it
	next      int
	jobs      map[string]*simJob
	done      []simDone // completed jobs in order of completion
	sends     int       // Send calls that were accepted
	attempts  int       // Send calls
}

type simJob struct {
	id       int64
	pages    int
	finish   time.Time
	canceled bool
}

type simDone struct {
	id    int64
	pages int
	at    time.Time
}

func newSimPrinter(name string, ppm float64) *simPrinter {
	return &simPrinter{name: name, ppm: ppm, deadCh: make(chan struct{}), jobs: map[string]*simJob{}}
}

func (p *simPrinter) Name() string { return p.name }

func (p *simPrinter) pageTime(pages int) time.Duration {
	return time.Duration(float64(max(pages, 1)) / p.ppm * float64(time.Minute))
}

func (p *simPrinter) Send(ctx context.Context, jb *printers.Job) (printers.Receipt, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	now := time.Now()
	switch {
	case p.dead:
		return printers.Receipt{}, fmt.Errorf("%w: %s: connection refused", printers.ErrNotDelivered, p.name)
	case p.failSend != nil:
		return printers.Receipt{}, p.failSend
	case p.oneAtATime && p.busyUntil.After(now), p.oneAtATime && p.stopped != nil:
		return printers.Receipt{}, printers.ErrBusy
	}
	start := now
	if p.busyUntil.After(start) {
		start = p.busyUntil
	}
	j := &simJob{id: jb.ID, pages: max(jb.Pages, 1), finish: start.Add(p.pageTime(jb.Pages))}
	p.busyUntil = j.finish
	p.next++
	p.sends++
	id := strconv.Itoa(p.next)
	p.jobs[id] = j
	return printers.Receipt{UpstreamID: id, FinishAt: j.finish}, nil
}

// Watch waits for the job's finish. A dead printer never answers: Watch then waits for ctx,
// as the IPP backend keeps polling an unreachable printer.
func (p *simPrinter) Watch(ctx context.Context, r printers.Receipt, progress func(int)) (printers.Outcome, error) {
	p.mu.Lock()
	j := p.jobs[r.UpstreamID]
	dead := p.deadCh
	p.mu.Unlock()
	if j == nil {
		return printers.OutcomeUnknown, nil
	}
	for {
		p.mu.Lock()
		finish, stopped := j.finish, p.stopped != nil
		p.mu.Unlock()
		wait := time.Until(finish)
		if stopped {
			wait = time.Millisecond // the engine is halted: look again soon
		}
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-dead:
			t.Stop()
			<-ctx.Done()
			return "", ctx.Err()
		case <-t.C:
		}
		p.mu.Lock()
		if p.dead {
			// Died before the job's end: it never finishes.
			p.mu.Unlock()
			<-ctx.Done()
			return "", ctx.Err()
		}
		if p.stopped != nil {
			// Halted (out of paper): the job's finish slides while the engine waits.
			j.finish = j.finish.Add(time.Millisecond)
			p.busyUntil = p.busyUntil.Add(time.Millisecond)
			p.mu.Unlock()
			continue
		}
		if j.canceled {
			p.mu.Unlock()
			return printers.OutcomeCanceled, nil
		}
		if !time.Now().Before(j.finish) {
			p.done = append(p.done, simDone{id: j.id, pages: j.pages, at: j.finish})
			delete(p.jobs, r.UpstreamID)
			p.mu.Unlock()
			if progress != nil {
				progress(j.pages)
			}
			return printers.OutcomeCompleted, nil
		}
		p.mu.Unlock()
	}
}

func (p *simPrinter) Cancel(_ context.Context, r printers.Receipt) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return errors.New("connection refused")
	}
	if j := p.jobs[r.UpstreamID]; j != nil {
		j.canceled = true
	}
	return nil
}

func (p *simPrinter) Probe(context.Context) (printers.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return printers.Status{QueuedJobs: -1}, fmt.Errorf("%s: connection refused", p.name)
	}
	st := printers.Status{State: printers.StateReady, Accepting: true, QueuedJobs: len(p.jobs), PPM: int(p.ppm)}
	if p.stopped != nil {
		st.State, st.Reasons = printers.StateStopped, p.stopped
	} else if len(p.jobs) > 0 {
		st.State = printers.StateBusy
	}
	return st, nil
}

func (p *simPrinter) Close() error { return nil }

// Fail makes the printer vanish: what it holds is lost.
func (p *simPrinter) Fail() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.dead {
		p.dead = true
		close(p.deadCh)
	}
}

// FailHolding makes the printer vanish if it holds an unfinished job, and says whether it did.
func (p *simPrinter) FailHolding() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for _, j := range p.jobs {
		if !j.canceled && j.finish.After(now) {
			p.dead = true
			close(p.deadCh)
			return true
		}
	}
	return false
}

// Revive brings a failed printer back with an empty engine and no memory of its jobs.
func (p *simPrinter) Revive() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dead = false
	p.deadCh = make(chan struct{})
	p.jobs = map[string]*simJob{}
	p.busyUntil = time.Time{}
}

// SetStopped halts the engine with reasons (nil resumes it).
func (p *simPrinter) SetStopped(reasons []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = reasons
}

// sent counts the jobs the printer accepted.
func (p *simPrinter) sent() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sends
}

// calls counts Send calls, refused ones included.
func (p *simPrinter) calls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts
}

// setFailSend makes every Send fail with err (nil: work again).
func (p *simPrinter) setFailSend(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failSend = err
}

// Completed returns the jobs the engine finished, in order.
func (p *simPrinter) Completed() []simDone {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]simDone(nil), p.done...)
}

// simPageCounter reads the page count from a simulated letter ("pages=N\n...").
func simPageCounter(rs io.ReadSeeker, _ int64, _ string) (int, bool) {
	b, err := io.ReadAll(rs)
	if err != nil {
		return 1, true
	}
	line, _, _ := strings.Cut(string(b), "\n")
	n, err := strconv.Atoi(strings.TrimPrefix(line, "pages="))
	if err != nil || n < 1 {
		return 1, true
	}
	return n, false
}

// simLetter is a document simPageCounter reads as pages pages.
func simLetter(seq, pages int) io.Reader {
	return bytes.NewBufferString(fmt.Sprintf("pages=%d\nletter %d\n", pages, seq))
}

// simRig is a scheduler over a fresh spool and a simulated fleet, for tests and the benchmark.
type simRig struct {
	store  *spool.Store
	sched  *Scheduler
	fleet  []*simPrinter
	cancel context.CancelFunc
	done   chan error
}

// simOptions tune newSimRig.
type simOptions struct {
	dir           string
	probeInterval time.Duration
	grace         time.Duration
	maxInflight   int
	maxAttempts   int
	pools         map[string][]string // virtual printer -> pool; default: "letters" with the whole fleet
}

func newSimRig(tb testing.TB, fleet []*simPrinter, o simOptions) *simRig {
	tb.Helper()
	if o.dir == "" {
		o.dir = tb.TempDir()
	}
	if o.probeInterval == 0 {
		o.probeInterval = 20 * time.Millisecond
	}
	if o.grace == 0 {
		o.grace = 100 * time.Millisecond
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if os.Getenv("PRINTGATE_SIM_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	store, err := spool.Open(context.Background(), spool.Options{Dir: o.dir, PageCounter: simPageCounter, Logger: log})
	if err != nil {
		tb.Fatalf("spool: %v", err)
	}
	var specs []PrinterSpec
	var names []string
	for _, p := range fleet {
		specs = append(specs, PrinterSpec{Name: p.name, URI: "sim://" + p.name, Printer: p, PPM: int(p.ppm)})
		names = append(names, p.name)
	}
	if o.pools == nil {
		o.pools = map[string][]string{"letters": names}
	}
	var virt []VirtualSpec
	for name, pool := range o.pools {
		virt = append(virt, VirtualSpec{Name: name, Pool: pool, Default: name == "letters"})
	}
	sched, err := New(Options{Store: store, Printers: specs, Virtual: virt, MaxInflight: o.maxInflight,
		ProbeInterval: o.probeInterval, ProbeTimeout: o.probeInterval, FailAfter: 2, RecoverAfter: 2,
		GracePeriod: o.grace, MaxAttempts: o.maxAttempts, BusyRetry: o.probeInterval / 4, Logger: log})
	if err != nil {
		tb.Fatalf("queue.New: %v", err)
	}
	return &simRig{store: store, sched: sched, fleet: fleet}
}

// start runs the scheduler until stop.
func (r *simRig) start(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.sched.Run(ctx) }()
	select {
	case <-r.sched.Running():
	case err := <-r.done:
		tb.Fatalf("scheduler stopped at start: %v", err)
	}
	tb.Cleanup(r.stop)
}

func (r *simRig) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
	r.store.Close()
}

// submit stores letters with the given page counts on virtual printer vp, concurrently.
func (r *simRig) submit(tb testing.TB, vp string, pages []int) []int64 {
	tb.Helper()
	ids := make([]int64, len(pages))
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(pages) {
					return
				}
				ctx := context.Background()
				doc, err := r.sched.Stage(ctx, simLetter(i, pages[i]), fmt.Sprintf("letter-%05d", i), "application/pdf")
				if err == nil {
					var j *job.Job
					j, err = r.sched.Submit(ctx, job.NewJob{VirtualPrinter: vp, Name: fmt.Sprintf("letter-%05d", i),
						Owner: "sim", Origin: "api", Lane: job.LaneBulk, RunID: 1, Seq: int64(i)}, []*job.Staged{doc})
					if err == nil {
						ids[i] = j.ID
					}
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatalf("submit: %v", err)
	}
	return ids
}

// waitFinal waits until every job is in a final state (or the deadline passes) and returns them.
func (r *simRig) waitFinal(tb testing.TB, n int, timeout time.Duration) []*job.Job {
	tb.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	ctx := context.Background()
	for {
		c, err := r.store.CountJobs(ctx, job.JobFilter{States: []job.State{job.StateCompleted, job.StateCanceled, job.StateAborted}})
		if err != nil {
			tb.Fatalf("count jobs: %v", err)
		}
		if c >= n {
			jobs, err := r.store.Jobs(ctx, job.JobFilter{Order: "oldest", WithoutDocuments: true, Limit: n + 10})
			if err != nil {
				tb.Fatalf("list jobs: %v", err)
			}
			return jobs
		}
		// Polled, not on every change notice: counting thousands of rows per job would load
		// the benchmark with work that is not the scheduler's.
		select {
		case <-tick.C:
		case <-deadline.C:
			tb.Fatalf("after %s only %d of %d jobs finished", timeout, c, n)
		}
	}
}

// simFleetSpec is the benchmark's fleet: six printers of 20-120 ppm.
var simFleetSpec = []struct {
	name string
	ppm  float64
}{{"p20", 20}, {"p40", 40}, {"p60", 60}, {"p80", 80}, {"p100", 100}, {"p120", 120}}

// simWorkload is the benchmark's letters: 1-4 pages each, from a fixed seed.
func simWorkload(n int) []int {
	rng := rand.New(rand.NewPCG(4, 2))
	pages := make([]int, n)
	for i := range pages {
		pages[i] = 1 + rng.IntN(4)
	}
	return pages
}

// simBounds is the lower bound of a run in which printer failing (index) dies at failAt: all
// printers print until failAt, the others after. Speeds and times are in real (scaled) units.
func simBound(totalPages int, ppms []float64, failing int, failAt time.Duration) time.Duration {
	all, rest := 0.0, 0.0
	for i, p := range ppms {
		all += p
		if i != failing {
			rest += p
		}
	}
	donePages := all * failAt.Minutes()
	if donePages >= float64(totalPages) {
		return time.Duration(float64(totalPages) / all * float64(time.Minute))
	}
	return failAt + time.Duration((float64(totalPages)-donePages)/rest*float64(time.Minute))
}

// simEnv reads a numeric knob of the benchmark from the environment.
func simEnv(name string, def float64) float64 {
	if v, err := strconv.ParseFloat(os.Getenv(name), 64); err == nil && v > 0 {
		return v
	}
	return def
}

// simResult is one policy's run.
type simResult struct {
	policy   string
	makespan time.Duration
	pages    map[string]int // pages printed per printer (completed jobs, duplicates included)
	dups     int            // jobs flagged possible-duplicate (printgate only)
	reprints int            // jobs printed more than once
}

// BenchmarkSimulatedFleet runs 10,000 letters of 1-4 pages (fixed seed) over six simulated
// printers of 20-120 ppm; the 120-ppm printer dies at 40% of the run's ideal length. Time is
// scaled: every speed is multiplied by PRINTGATE_SIM_SCALE (default 100) and so are the probe
// interval (5 s) and grace period (30 s) of printgate's defaults, so the run is the real one
// played that much faster. It reports makespan / lower bound for printgate's scheduler, and for
// round-robin and first-idle-printer dispatch measured in the same benchmark over the same fleet
// and letters. The spool lives on /dev/shm when it exists: fsync latency, negligible against
// page times at real speed, must not be magnified by the scaling.
//
//	go test -run '^$' -bench SimulatedFleet -benchtime 1x ./queue/
func BenchmarkSimulatedFleet(b *testing.B) {
	scale := simEnv("PRINTGATE_SIM_SCALE", 100)
	n := int(simEnv("PRINTGATE_SIM_LETTERS", 10000))
	pages := simWorkload(n)
	total := 0
	for _, p := range pages {
		total += p
	}
	var ppms []float64
	for _, f := range simFleetSpec {
		ppms = append(ppms, f.ppm*scale)
	}
	failing := len(simFleetSpec) - 1
	allPPM := 0.0
	for _, p := range ppms {
		allPPM += p
	}
	failAt := time.Duration(0.4 * float64(total) / allPPM * float64(time.Minute))
	if os.Getenv("PRINTGATE_SIM_NOFAIL") != "" {
		failAt = 24 * time.Hour
	}
	policies := []string{"printgate", "round-robin", "first-idle"}
	if v := os.Getenv("PRINTGATE_SIM_POLICIES"); v != "" {
		policies = strings.Split(v, ",")
	}
	bound := simBound(total, ppms, failing, failAt)
	probe := time.Duration(float64(5*time.Second) / scale)
	grace := time.Duration(float64(30*time.Second) / scale)
	// The naive policies learn of the failure as printgate would at best: after two probes
	// failed, and re-send the dead printer's jobs after the same grace period.
	detect := 2*probe + grace
	for range b.N {
		var results []simResult
		for _, policy := range policies {
			if policy == "printgate" {
				results = append(results, simRunPrintgate(b, pages, ppms, failing, failAt, probe, grace))
			} else {
				results = append(results, simRunNaive(b, policy, pages, ppms, failing, failAt, detect))
			}
		}
		b.Logf("%d letters, %d pages, fleet %v ppm ×%g, %s dies at %s (scaled); lower bound %s (%.1f min real)",
			n, total, simFleetSpec, scale, simFleetSpec[failing].name, failAt.Round(time.Millisecond),
			bound.Round(time.Millisecond), bound.Minutes()*scale)
		for _, r := range results {
			ratio := float64(r.makespan) / float64(bound)
			b.Logf("%-12s makespan %-10s ratio %.3f  reprinted %d (flagged %d)  pages %v", r.policy,
				r.makespan.Round(time.Millisecond), ratio, r.reprints, r.dups, r.pages)
			b.ReportMetric(ratio, r.policy+"/bound")
		}
	}
}

// simFleet builds fresh printers at the given (scaled) speeds.
func simFleet(ppms []float64) []*simPrinter {
	fleet := make([]*simPrinter, len(ppms))
	for i, p := range ppms {
		fleet[i] = newSimPrinter(simFleetSpec[i].name, p)
	}
	return fleet
}

func simRunPrintgate(b *testing.B, pages []int, ppms []float64, failing int, failAt, probe, grace time.Duration) simResult {
	b.Helper()
	dir := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "printgate-sim-")
		if err != nil {
			b.Fatal(err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	fleet := simFleet(ppms)
	rig := newSimRig(b, fleet, simOptions{dir: dir, probeInterval: probe, grace: grace})
	rig.submit(b, "letters", pages)
	start := time.Now()
	rig.start(b)
	failer := time.AfterFunc(failAt, fleet[failing].Fail)
	defer failer.Stop()
	jobs := rig.waitFinal(b, len(pages), time.Hour)
	rig.stop()
	res := simResult{policy: "printgate", pages: map[string]int{}}
	var last time.Time
	for _, j := range jobs {
		if j.State != job.StateCompleted {
			b.Errorf("job %d ended %s (%s)", j.ID, j.State, j.StateReason)
		}
		if j.Finished.After(last) {
			last = j.Finished
		}
		if j.PossibleDuplicate {
			res.dups++
		}
	}
	res.makespan = last.Sub(start)
	res.pages, res.reprints = simTally(fleet)
	if res.reprints > res.dups {
		b.Errorf("printgate printed %d jobs twice but flagged only %d", res.reprints, res.dups)
	}
	return res
}

// simTally counts pages per printer and jobs printed more than once.
func simTally(fleet []*simPrinter) (map[string]int, int) {
	pages := map[string]int{}
	seen := map[int64]int{}
	for _, p := range fleet {
		for _, d := range p.Completed() {
			pages[p.name] += d.pages
			seen[d.id]++
		}
	}
	reprints := 0
	for _, c := range seen {
		if c > 1 {
			reprints++
		}
	}
	return pages, reprints
}

// simRunNaive dispatches the letters without printgate: "round-robin" hands letter i to printer
// i mod n up front (each printer prints its list in order); "first-idle" keeps one queue and
// gives the next letter to whichever printer is idle first, as a CUPS class does. Both learn of
// the dead printer after detect and then re-send what it held (its unprinted list, or its
// current job) to the survivors.
func simRunNaive(b *testing.B, policy string, pages []int, ppms []float64, failing int, failAt, detect time.Duration) simResult {
	b.Helper()
	fleet := simFleet(ppms)
	q := &simQueue{}
	lists := make([]*simQueue, len(fleet))
	for i := range lists {
		lists[i] = &simQueue{}
	}
	for i, p := range pages {
		j := simQueued{id: int64(i + 1), pages: p}
		if policy == "round-robin" {
			lists[i%len(fleet)].push(j)
		} else {
			q.push(j)
		}
	}
	var rr atomic.Int64
	// redistribute hands a dead printer's jobs to the survivors after detection.
	redistribute := func(jobs []simQueued) {
		time.Sleep(detect)
		for _, j := range jobs {
			if policy == "round-robin" {
				for {
					k := int(rr.Add(1)) % len(fleet)
					if k != failing {
						lists[k].push(j)
						break
					}
				}
			} else {
				q.pushFront(j)
			}
		}
	}
	start := time.Now()
	failer := time.AfterFunc(failAt, fleet[failing].Fail)
	defer failer.Stop()
	var wg sync.WaitGroup
	var lastDone atomic.Int64
	remaining := atomic.Int64{}
	remaining.Store(int64(len(pages)))
	for i, p := range fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			src := q
			if policy == "round-robin" {
				src = lists[i]
			}
			ctx := context.Background()
			for remaining.Load() > 0 {
				j, ok := src.pop()
				if !ok {
					// Wait for redistributed work (or the end).
					time.Sleep(time.Millisecond)
					continue
				}
				r, err := p.Send(ctx, &printers.Job{ID: j.id, Pages: j.pages})
				if err != nil {
					rest := append([]simQueued{j}, src.drainIf(policy == "round-robin")...)
					redistribute(rest)
					return
				}
				wctx, cancel := context.WithCancel(ctx)
				go func() {
					select {
					case <-p.deadCh:
						time.Sleep(detect)
						cancel()
					case <-wctx.Done():
					}
				}()
				out, err := p.Watch(wctx, r, nil)
				cancel()
				if err != nil || out != printers.OutcomeCompleted {
					rest := append([]simQueued{j}, src.drainIf(policy == "round-robin")...)
					redistribute(rest)
					return
				}
				lastDone.Store(int64(time.Since(start)))
				remaining.Add(-1)
			}
		}()
	}
	wg.Wait()
	res := simResult{policy: policy, makespan: time.Duration(lastDone.Load())}
	res.pages, res.reprints = simTally(fleet)
	return res
}

// simQueued is a letter in a naive policy's queue.
type simQueued struct {
	id    int64
	pages int
}

// simQueue is a locked FIFO.
type simQueue struct {
	mu   sync.Mutex
	jobs []simQueued
}

func (q *simQueue) push(j simQueued) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
}

func (q *simQueue) pushFront(j simQueued) {
	q.mu.Lock()
	q.jobs = append([]simQueued{j}, q.jobs...)
	q.mu.Unlock()
}

func (q *simQueue) pop() (simQueued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.jobs) == 0 {
		return simQueued{}, false
	}
	j := q.jobs[0]
	q.jobs = q.jobs[1:]
	return j, true
}

// drainIf empties the queue and returns its jobs when own (a printer's own list); a shared
// queue stays for the others.
func (q *simQueue) drainIf(own bool) []simQueued {
	if !own {
		return nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.jobs
	q.jobs = nil
	return out
}
