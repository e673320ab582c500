// The first scheduler's promises, black box through the public API: the printer that finishes a
// job soonest gets it, max_inflight is never exceeded, interactive jobs overtake bulk letters,
// and 100 letters spread 1:2 over printers of speeds 1:2.
package queue

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// holdPrinter accepts every job at once and holds it "printing" until the test releases it, so
// a test decides exactly when each printer is busy. It records the order of sends and the most
// jobs it ever held at once.
type holdPrinter struct {
	name string
	ppm  int

	mu      sync.Mutex
	held    map[int64]chan struct{}
	sent    []int64
	maxHeld int
	sends   chan int64 // every Send, for tests to wait on
}

func newHoldPrinter(name string, ppm int) *holdPrinter {
	return &holdPrinter{name: name, ppm: ppm, held: map[int64]chan struct{}{}, sends: make(chan int64, 1000)}
}

func (p *holdPrinter) Name() string { return p.name }

func (p *holdPrinter) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	p.mu.Lock()
	p.held[j.ID] = make(chan struct{})
	p.sent = append(p.sent, j.ID)
	p.maxHeld = max(p.maxHeld, len(p.held))
	p.mu.Unlock()
	p.sends <- j.ID
	return printers.Receipt{UpstreamID: strconv.FormatInt(j.ID, 10)}, nil
}

func (p *holdPrinter) Watch(ctx context.Context, r printers.Receipt, progress func(int)) (printers.Outcome, error) {
	id, _ := strconv.ParseInt(r.UpstreamID, 10, 64)
	p.mu.Lock()
	ch := p.held[id]
	p.mu.Unlock()
	if ch == nil {
		return printers.OutcomeUnknown, nil
	}
	select {
	case <-ch:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	p.mu.Lock()
	delete(p.held, id)
	p.mu.Unlock()
	return printers.OutcomeCompleted, nil
}

// release lets job id finish printing.
func (p *holdPrinter) release(id int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ch, ok := p.held[id]; ok {
		close(ch)
	}
}

func (p *holdPrinter) Cancel(context.Context, printers.Receipt) error { return nil }
func (p *holdPrinter) Close() error                                   { return nil }

func (p *holdPrinter) Probe(context.Context) (printers.Status, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return printers.Status{State: printers.StateReady, Accepting: true, PPM: p.ppm, QueuedJobs: len(p.held)}, nil
}

// waitSend returns the next job id p receives.
func (p *holdPrinter) waitSend(t *testing.T) int64 {
	t.Helper()
	select {
	case id := <-p.sends:
		return id
	case <-time.After(10 * time.Second):
		t.Fatalf("%s received no job within 10s", p.name)
		return 0
	}
}

func (p *holdPrinter) stats() (sent []int64, maxHeld int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int64(nil), p.sent...), p.maxHeld
}

var pagesMark = regexp.MustCompile(`pages=(\d+)`)

// markedPages is the spool's page counter for these tests: each document says its page count.
func markedPages(rs io.ReadSeeker, _ int64, _ string) (int, bool) {
	b, err := io.ReadAll(rs)
	if err != nil {
		return 1, true
	}
	m := pagesMark.FindSubmatch(b)
	if m == nil {
		return 1, true
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, false
}

// schedRig is a store and a running scheduler over the given printers, all in one pool.
type schedRig struct {
	store *spool.Store
	sched *Scheduler
	seq   int
}

func newSchedRig(t *testing.T, maxInflight int, specs ...PrinterSpec) *schedRig {
	t.Helper()
	return newSchedRigOver(t, nil, maxInflight, specs...)
}

// newSchedRigOver is newSchedRig with the scheduler's store wrapped by wrap (fault injection at
// the Store seam); nil leaves it as it is.
func newSchedRigOver(t *testing.T, wrap func(Store) Store, maxInflight int, specs ...PrinterSpec) *schedRig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), PageCounter: markedPages, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var seam Store = store
	if wrap != nil {
		seam = wrap(store)
	}
	var pool []string
	for _, s := range specs {
		pool = append(pool, s.Name)
	}
	sched, err := New(Options{Store: seam, Printers: specs, MaxInflight: maxInflight, Logger: log,
		// Probes only at start: these tests are about assignment, not health.
		ProbeInterval: time.Hour,
		Virtual:       []VirtualSpec{{Name: "letters", Pool: pool, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("scheduler did not stop within 10s")
		}
		store.Close()
	})
	select {
	case <-sched.Running():
	case <-time.After(10 * time.Second):
		t.Fatal("scheduler did not start")
	}
	return &schedRig{store: store, sched: sched}
}

// submit stores a job of pages pages in lane through the service layer.
func (r *schedRig) submit(t *testing.T, pages int, lane job.Lane) *job.Job {
	t.Helper()
	r.seq++
	ctx := context.Background()
	doc := fmt.Sprintf("%%PDF-1.4 letter %d pages=%d", r.seq, pages)
	st, err := r.sched.Stage(ctx, bytes.NewReader([]byte(doc)), "letter", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := r.sched.Submit(ctx, job.NewJob{Name: fmt.Sprintf("letter %d", r.seq), Origin: "test", Lane: lane}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	if j.Pages != pages {
		t.Fatalf("job %d has %d pages, want %d", j.ID, j.Pages, pages)
	}
	return j
}

// waitFor waits, on the scheduler's change notifications, until cond holds.
func (r *schedRig) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ch, stop := r.sched.Subscribe()
	defer stop()
	timeout := time.NewTimer(20 * time.Second)
	defer timeout.Stop()
	// A slow tick as well: a change can land between cond() and the subscription.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ch:
		case <-tick.C:
		case <-timeout.C:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func (r *schedRig) job(t *testing.T, id int64) *job.Job {
	t.Helper()
	j, err := r.store.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestCostModelPicksSmallestFinish: a job goes to the printer that would finish it first given
// what each already holds — the fast one when it is idle or nearly so, the slow idle one when
// the fast one is busy for longer than the slow one needs.
func TestCostModelPicksSmallestFinish(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// busy is the pages the fast printer is printing when the job arrives (0: idle).
		busy  int
		pages int
		want  string
	}{
		// fast: 5/100 = 0.05 min; slow: 5/10 = 0.5 min.
		{"both idle", 0, 5, "fast"},
		// fast: (20+5)/100 = 0.25 min; slow 0.5 min.
		{"fast busy for less than slow needs", 20, 5, "fast"},
		// fast: (100+5)/100 = 1.05 min; slow 0.5 min.
		{"fast busy for longer than slow needs", 100, 5, "slow"},
		// A big job: fast (30+60)/100 = 0.9 min, slow 60/10 = 6 min.
		{"big job waits behind the fast printer's work", 30, 60, "fast"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fast, slow := newHoldPrinter("fast", 100), newHoldPrinter("slow", 10)
			r := newSchedRig(t, 2, PrinterSpec{Name: "slow", Printer: slow, PPM: 10}, PrinterSpec{Name: "fast", Printer: fast, PPM: 100})
			if tt.busy > 0 {
				b := r.submit(t, tt.busy, job.LaneInteractive)
				if got := fast.waitSend(t); got != b.ID {
					t.Fatalf("fast printer got job %d, want the preload %d", got, b.ID)
				}
			}
			j := r.submit(t, tt.pages, job.LaneInteractive)
			r.waitFor(t, "the job to reach a printer", func() bool { return r.job(t, j.ID).State == job.StatePrinting })
			if got := r.job(t, j.ID).Printer; got != tt.want {
				t.Fatalf("job of %d pages went to %s, want %s", tt.pages, got, tt.want)
			}
		})
	}
}

// TestMaxInflight: a printer never holds more than its max_inflight jobs, the rest wait in the
// gateway, and every job gets printed as slots free up.
func TestMaxInflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		global    int
		perPrnter int
		want      int
	}{
		{"global default of 2", 2, 0, 2},
		{"per-printer override of 1", 2, 1, 1},
		{"global 3", 3, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newHoldPrinter("only", 60)
			r := newSchedRig(t, tt.global, PrinterSpec{Name: "only", Printer: p, PPM: 60, MaxInflight: tt.perPrnter})
			var ids []int64
			for range 8 {
				ids = append(ids, r.submit(t, 1, job.LaneInteractive).ID)
			}
			for range tt.want {
				p.waitSend(t)
			}
			// The printer is full: the rest stay pending in the gateway.
			r.waitFor(t, "the scheduler to settle", func() bool {
				n, _ := r.store.CountJobs(context.Background(), job.JobFilter{States: []job.State{job.StatePending}})
				return n == len(ids)-tt.want
			})
			if info, _ := r.sched.Printer("only"); info.Inflight != tt.want || info.MaxInflight != tt.want {
				t.Fatalf("printer info: inflight %d of %d, want %d of %d", info.Inflight, info.MaxInflight, tt.want, tt.want)
			}
			// Release one job at a time: each freed slot takes exactly one more.
			for done := 0; done < len(ids); done++ {
				sent, _ := p.stats()
				p.release(sent[done])
				if done+tt.want < len(ids) {
					p.waitSend(t)
				}
			}
			r.waitFor(t, "every job to complete", func() bool {
				n, _ := r.store.CountJobs(context.Background(), job.JobFilter{States: []job.State{job.StateCompleted}})
				return n == len(ids)
			})
			if _, most := p.stats(); most != tt.want {
				t.Fatalf("the printer held up to %d jobs at once, want max_inflight %d", most, tt.want)
			}
		})
	}
}

// TestInteractiveBeforeBulk: with the printer busy, bulk letters queue first and one desktop job
// after them; the desktop job is printed next, then the letters in their order.
func TestInteractiveBeforeBulk(t *testing.T) {
	t.Parallel()
	p := newHoldPrinter("only", 60)
	r := newSchedRig(t, 1, PrinterSpec{Name: "only", Printer: p, PPM: 60})
	first := r.submit(t, 1, job.LaneInteractive)
	if got := p.waitSend(t); got != first.ID {
		t.Fatalf("first send %d, want %d", got, first.ID)
	}
	var bulk []int64
	for range 4 {
		bulk = append(bulk, r.submit(t, 2, job.LaneBulk).ID)
	}
	desk := r.submit(t, 1, job.LaneInteractive)
	want := append([]int64{first.ID, desk.ID}, bulk...)
	p.release(first.ID)
	for i := 1; i < len(want); i++ {
		got := p.waitSend(t)
		if got != want[i] {
			sent, _ := p.stats()
			t.Fatalf("send order %v, want %v (interactive %d before bulk %v)", sent, want, desk.ID, bulk)
		}
		p.release(got)
	}
}

// TestSpreadByPrinterSpeed: 100 letters of 1-4 pages over two file printers whose speeds are
// 1:2 (3000 and 6000 ppm, so the run takes about 2 s) end up split about 1:2 by pages. The
// ideal share of the fast printer is 2/3; letters are whole and the last few go wherever they
// finish first, hence 0.58-0.75 (a speed-blind scheduler gives 0.5).
func TestSpreadByPrinterSpeed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var specs []PrinterSpec
	for _, p := range []struct {
		name string
		ppm  int
	}{{"slow", 3000}, {"fast", 6000}} {
		fp, err := printers.NewFile(p.name, filepath.Join(dir, p.name), p.ppm, nil)
		if err != nil {
			t.Fatal(err)
		}
		specs = append(specs, PrinterSpec{Name: p.name, URI: "file://" + fp.Dir(), Printer: fp, PPM: p.ppm})
	}
	r := newSchedRig(t, 2, specs...)
	total := 0
	for i := range 100 {
		total += i%4 + 1
		r.submit(t, i%4+1, job.LaneInteractive)
	}
	r.waitFor(t, "all 100 letters to complete", func() bool {
		n, _ := r.store.CountJobs(context.Background(), job.JobFilter{States: []job.State{job.StateCompleted}})
		return n == 100
	})
	jobs, err := r.store.Jobs(context.Background(), job.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]int{}
	for _, j := range jobs {
		pages[j.Printer] += j.Pages
		if _, err := os.Stat(filepath.Join(dir, j.Printer, fmt.Sprintf("job-%06d-1.pdf", j.ID))); err != nil {
			t.Errorf("job %d: no output on %s: %v", j.ID, j.Printer, err)
		}
	}
	share := float64(pages["fast"]) / float64(total)
	t.Logf("pages: slow %d, fast %d (share %.3f)", pages["slow"], pages["fast"], share)
	if pages["slow"]+pages["fast"] != total || share < 0.58 || share > 0.75 {
		t.Fatalf("fast printer printed %d of %d pages (%.3f), want 0.58-0.75", pages["fast"], total, share)
	}
}
