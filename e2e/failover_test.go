//go:build e2e

// End-to-end scheduling and failover over a fleet of real ippeveprinter instances whose print
// command takes pages/ppm of time: the split of a run by speed, a printer killed mid-run, a
// printer out of paper. The gateway is a real `printgate serve` child (main_test.go).
package e2e

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/ui"
)

// foProbe and foGrace are the failover tests' probe interval and grace period.
const (
	foProbe = time.Second
	foGrace = 3 * time.Second
)

// foPrinter is one physical printer of a test configuration.
type foPrinter struct {
	name string
	uri  string
	ppm  int // 0: the printer's own pages-per-minute
	// extra YAML lines for the printer (indented by the caller's convention: "    key: value").
	extra []string
}

// foConfig renders a gateway configuration: the printers, one pool per virtual printer (the
// first is the default), probe_interval 1s, grace_period 3s, loopback callers are operators.
func foConfig(ps []foPrinter, virtual [][2]string) func(listen, spool string) string {
	return func(listen, spoolDir string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %q\nspool: %q\nprobe_interval: %s\ngrace_period: %s\nfail_after: 2\nrecover_after: 2\n",
			listen, spoolDir, foProbe, foGrace)
		b.WriteString("log_level: debug\nauth:\n  trust_loopback: true\nprinters:\n")
		for _, p := range ps {
			fmt.Fprintf(&b, "  - name: %s\n    uri: %q\n", p.name, p.uri)
			if p.ppm > 0 {
				fmt.Fprintf(&b, "    ppm: %d\n", p.ppm)
			}
			for _, l := range p.extra {
				b.WriteString(l + "\n")
			}
		}
		b.WriteString("virtual_printers:\n")
		for i, v := range virtual {
			fmt.Fprintf(&b, "  - name: %s\n    pool: [%s]\n", v[0], v[1])
			if i == 0 {
				b.WriteString("    default: true\n")
			}
		}
		return b.String()
	}
}

// foSubmit submits one testdata letter per entry of pages (1-4) to virtual printer vp, named
// prefix-NNNN, from four clients at once, and returns the job ids in submission order and the
// names by id.
func foSubmit(t *testing.T, g *gateway, vp, prefix string, pages []int) ([]int64, map[int64]string) {
	t.Helper()
	ids := make([]int64, len(pages))
	errs := make([]error, len(pages))
	var wg sync.WaitGroup
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				j, err := g.API.SubmitFile(ctx, repoFile(t, fmt.Sprintf("testdata/letter-%dp.pdf", pages[i])),
					ui.SubmitOptions{Printer: vp, Name: fmt.Sprintf("%s-%04d", prefix, i), Owner: "e2e"})
				cancel()
				if err == nil {
					ids[i] = j.ID
				}
				errs[i] = err
			}
		}()
	}
	for i := range pages {
		next <- i
	}
	close(next)
	wg.Wait()
	names := map[int64]string{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("submit letter %d: %v", i, err)
		}
		names[ids[i]] = fmt.Sprintf("%s-%04d", prefix, i)
	}
	return ids, names
}

// foPages is n page counts of 1-4 from a fixed seed.
func foPages(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]int, n)
	for i := range out {
		out[i] = 1 + rng.IntN(4)
	}
	return out
}

// foPrinterInfo reads one printer's live state from the API.
func foPrinterInfo(t *testing.T, g *gateway, name string) queue.PrinterInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var p queue.PrinterInfo
	if err := g.API.Do(ctx, http.MethodGet, "/api/v1/printers/"+url.PathEscape(name), nil, "", &p); err != nil {
		t.Fatalf("printer %s: %v", name, err)
	}
	return p
}

// foWaitPrinter polls a printer's state every 50 ms until cond holds; it returns how long that took.
func foWaitPrinter(t *testing.T, g *gateway, name string, timeout time.Duration, what string, cond func(queue.PrinterInfo) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		p := foPrinterInfo(t, g, name)
		if cond(p) {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("printer %s not %s after %s: state %s reasons %v", name, what, timeout, p.State, p.Reasons)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// foEvents lists events (oldest first) matching query (printer=, job=, kind=).
func foEvents(t *testing.T, g *gateway, query url.Values) []job.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	query.Set("limit", "10000")
	evs, err := g.API.Events(ctx, query)
	if err != nil {
		t.Fatalf("events %v: %v", query, err)
	}
	slices.Reverse(evs)
	return evs
}

// foPrintedPages sums the pages each printer's print command finished, and counts how often each
// job name was printed to the end.
func foPrintedPages(fleet []*peer.IPPEve) (map[string]int, map[string]int) {
	pages, times := map[string]int{}, map[string]int{}
	for _, e := range fleet {
		for _, j := range e.Printed() {
			pages[e.Name] += j.Pages
			times[j.JobName]++
		}
	}
	return pages, times
}

// TestFailoverFleetSplitsBySpeed: 300 letters of 1-4 pages to one virtual printer over three
// ippeveprinters of 60, 120 and 240 ppm (speeds taken from their pages-per-minute; the config
// gives none). Every letter completes exactly once, and each printer's share of the pages is
// within 15% of its share of the fleet's speed.
func TestFailoverFleetSplitsBySpeed(t *testing.T) {
	// Not parallel: the split is measured against the printers' nominal speeds, and CPU
	// contention from other tests stretches the fast printers' per-job overhead (the slow one
	// then takes more than its share, legitimately). Alone it stays within a few percent.
	speeds := []int{60, 120, 240}
	var fleet []*peer.IPPEve
	var ps []foPrinter
	var pool []string
	for _, ppm := range speeds {
		name := fmt.Sprintf("eve%d", ppm)
		e := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: name, PPM: ppm})
		fleet = append(fleet, e)
		ps = append(ps, foPrinter{name: name, uri: e.URI()})
		pool = append(pool, name)
	}
	g := startGateway(t, gatewayOptions{Config: foConfig(ps, [][2]string{{"letters", strings.Join(pool, ", ")}})})
	for _, e := range fleet {
		foWaitPrinter(t, g, e.Name, 10*time.Second, "probed", func(p queue.PrinterInfo) bool { return p.State.Usable() })
		if p := foPrinterInfo(t, g, e.Name); p.PPM != speedOf(e.Name) {
			t.Errorf("%s: ppm %d, want %d from its pages-per-minute", e.Name, p.PPM, speedOf(e.Name))
		}
	}
	pages := foPages(300, 1)
	total := 0
	for _, p := range pages {
		total += p
	}
	start := time.Now()
	ids, names := foSubmit(t, g, "letters", "fleet", pages)
	jobs := g.waitJobs(ids, 4*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	makespan := time.Since(start)

	byGateway := map[string]int{}
	var last time.Time
	for _, id := range ids {
		j := jobs[id]
		byGateway[j.Printer] += j.Pages
		if j.PossibleDuplicate || j.Attempts != 0 {
			t.Errorf("job %d: possible duplicate %v, %d attempts; nothing failed in this run", j.ID, j.PossibleDuplicate, j.Attempts)
		}
		if j.Finished.After(last) {
			last = j.Finished
		}
	}
	printed, times := foPrintedPages(fleet)
	for _, id := range ids {
		if n := times[names[id]]; n != 1 {
			t.Errorf("%s printed %d times, want once", names[id], n)
		}
	}
	sumPPM := 0
	for _, s := range speeds {
		sumPPM += s
	}
	bound := time.Duration(float64(total) / float64(sumPPM) * float64(time.Minute))
	t.Logf("%d letters, %d pages in %s (last completion %s after the first submission); lower bound %s (ratio %.2f)",
		len(ids), total, makespan.Round(time.Second), last.Sub(start).Round(time.Second), bound, float64(last.Sub(start))/float64(bound))
	for i, e := range fleet {
		if printed[e.Name] != byGateway[e.Name] {
			t.Errorf("%s printed %d pages, the gateway says it sent %d", e.Name, printed[e.Name], byGateway[e.Name])
		}
		share := float64(printed[e.Name]) / float64(total)
		want := float64(speeds[i]) / float64(sumPPM)
		dev := math.Abs(share-want) / want
		t.Logf("%s (%d ppm): %d pages, share %.3f, speed share %.3f, deviation %.1f%%", e.Name, speeds[i],
			printed[e.Name], share, want, 100*dev)
		if dev > 0.15 {
			t.Errorf("%s printed %.1f%% of the pages, want %.1f%% ± 15%% of it", e.Name, 100*share, 100*want)
		}
	}
}

// speedOf reads the ppm out of an evePPM printer name.
func speedOf(name string) int {
	var n int
	fmt.Sscanf(strings.TrimPrefix(name, "eve"), "%d", &n)
	return n
}

// TestFailoverKilledPrinter: one of three ippeveprinters gets SIGKILL in the middle of a run.
// Every letter still completes on the others; the dead printer is unreachable within two probe
// intervals; the letter it was printing is re-sent after the grace period and flagged
// possible-duplicate, and only such letters are flagged; the event log tells that story; once
// restarted, the printer is probed back into use and prints new letters.
func TestFailoverKilledPrinter(t *testing.T) {
	t.Parallel() // sleep-bound: the printers' print commands take pages/ppm of wall time
	var fleet []*peer.IPPEve
	var ps []foPrinter
	for _, name := range []string{"alpha", "bravo", "charlie"} {
		e := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: name, PPM: 240})
		fleet = append(fleet, e)
		ps = append(ps, foPrinter{name: name, uri: e.URI(), ppm: 240})
	}
	victim := fleet[1]
	g := startGateway(t, gatewayOptions{Config: foConfig(ps, [][2]string{{"letters", "alpha, bravo, charlie"}})})
	for _, e := range fleet {
		foWaitPrinter(t, g, e.Name, 10*time.Second, "probed", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	}
	ids, names := foSubmit(t, g, "letters", "kill", foPages(120, 2))

	// Mid-run: once the victim has printed a few letters and is printing another. It is frozen
	// for the check, so that the letter it prints cannot finish between the check and the kill.
	deadline := time.Now().Add(time.Minute)
	for {
		printing := false
		if len(victim.Printed()) >= 5 {
			victim.Freeze()
			for _, j := range victim.Jobs() {
				printing = printing || !j.Completed
			}
			if printing {
				break
			}
			victim.Thaw()
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never got going: printed %d", victim.Name, len(victim.Printed()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	victim.Kill()
	killed := time.Now()
	var cut []string // letters the victim was printing when it died
	for _, j := range victim.Jobs() {
		if !j.Completed {
			cut = append(cut, j.JobName)
		}
	}
	if len(cut) == 0 {
		t.Fatal("the victim was printing nothing when killed")
	}
	took := foWaitPrinter(t, g, victim.Name, 10*time.Second, "unreachable", func(p queue.PrinterInfo) bool {
		return p.State == printers.StateUnreachable
	})
	t.Logf("%s unreachable %s after SIGKILL (probe interval %s)", victim.Name, took.Round(10*time.Millisecond), foProbe)
	// Two failed probes, the first at most one interval after the kill; 500 ms for a loaded machine.
	if took > 2*foProbe+500*time.Millisecond {
		t.Errorf("%s became unreachable %s after it died, want within two probe intervals (%s)", victim.Name, took, 2*foProbe)
	}

	jobs := g.waitJobs(ids, 3*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	t.Logf("TIMING all done at %s", time.Now().Format("15:04:05.000"))
	for _, e := range fleet {
		var prevEnd time.Time
		for _, j := range e.Jobs() {
			gap := time.Duration(0)
			if !prevEnd.IsZero() {
				gap = j.Start.Sub(prevEnd)
			}
			t.Logf("JOB %s %s pages %d start %s dur %s gap %s", e.Name, j.JobName, j.Pages, j.Start.Format("05.000"), j.Duration().Round(time.Millisecond), gap.Round(time.Millisecond))
			prevEnd = j.End
		}
	}
	_, times := foPrintedPages(fleet)
	onVictim := map[string]bool{}
	for _, j := range victim.Printed() {
		onVictim[j.JobName] = true
	}
	byName := map[string]*job.Job{}
	for _, id := range ids {
		byName[names[id]] = jobs[id]
	}
	for _, name := range cut {
		j := byName[name]
		if j == nil {
			t.Fatalf("the victim printed %q, which is not one of ours", name)
		}
		if !j.PossibleDuplicate || j.Printer == victim.Name || times[name] < 1 {
			t.Errorf("%s (cut short on %s): completed on %s, flagged %v, printed %d times; want re-sent elsewhere and flagged",
				name, victim.Name, j.Printer, j.PossibleDuplicate, times[name])
		}
	}
	for _, id := range ids {
		j := jobs[id]
		if j.PossibleDuplicate && !slices.Contains(cut, names[id]) && !onVictim[names[id]] {
			// A letter waiting for the busy victim had nothing there: it moves without a flag.
			// (One the victim finished just before it died, unknown to the gateway, is rightly
			// flagged: it printed twice.)
			t.Errorf("%s flagged possible-duplicate, but the victim never had it", names[id])
		}
		if times[names[id]] != 1 && !j.PossibleDuplicate {
			t.Errorf("%s printed %d times without the possible-duplicate flag", names[id], times[names[id]])
		}
	}

	// The story in the event log: the printer went unreachable, then each cut letter was
	// requeued (after the grace period), assigned elsewhere and completed.
	sawDown := time.Time{}
	for _, e := range foEvents(t, g, url.Values{"printer": {victim.Name}, "kind": {job.EventPrinterState}}) {
		if e.To == string(printers.StateUnreachable) && e.At.After(killed.Add(-time.Second)) {
			sawDown = e.At
		}
	}
	if sawDown.IsZero() {
		t.Errorf("no printer-state event says %s went unreachable", victim.Name)
	}
	for _, name := range cut {
		j := byName[name]
		var story []string
		for _, e := range foEvents(t, g, url.Values{"job": {fmt.Sprint(j.ID)}}) {
			story = append(story, fmt.Sprintf("%s:%s>%s@%s", e.Kind, e.From, e.To, e.Printer))
			if e.Kind == job.EventFailover && e.From == string(job.StatePrinting) {
				if !strings.Contains(e.Message, "grace period") || e.At.Sub(killed) < foGrace {
					t.Errorf("job %d failover event %q at %s after the kill: want the grace period (%s) to have passed and said",
						j.ID, e.Message, e.At.Sub(killed).Round(10*time.Millisecond), foGrace)
				}
			}
		}
		want := []string{"failover:printing>pending", "job-state:pending>assigned", "job-state:printing>completed"}
		if !containsInOrder(story, want) {
			t.Errorf("job %d events %v, want in order %v", j.ID, story, want)
		}
	}

	// Restarted, the printer is probed back in and gets new work.
	t.Logf("TIMING restart at %s", time.Now().Format("15:04:05.000"))
	victim.Restart(t)
	t.Logf("TIMING restarted at %s", time.Now().Format("15:04:05.000"))
	foWaitPrinter(t, g, victim.Name, 15*time.Second, "back in use", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	before := len(victim.Printed())
	more, _ := foSubmit(t, g, "letters", "after", foPages(30, 3))
	g.waitJobs(more, 2*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	if got := len(victim.Printed()) - before; got == 0 {
		t.Errorf("%s printed nothing after its restart", victim.Name)
	} else {
		t.Logf("%s printed %d of 30 letters after its restart", victim.Name, got)
	}
}

// containsInOrder reports whether want appears in seq in order, each element a prefix match
// (the printer part may differ).
func containsInOrder(seq, want []string) bool {
	i := 0
	for _, s := range seq {
		if i < len(want) && strings.HasPrefix(s, want[i]) {
			i++
		}
	}
	return i == len(want)
}

// TestFailoverMediaEmpty: an ippeveprinter out of paper receives nothing new until it is refilled,
// and the letter it was printing when the paper ran out goes elsewhere after the grace period,
// flagged (ippeveprinter finishes a canceled job once refilled, so that letter may print twice).
func TestFailoverMediaEmpty(t *testing.T) {
	t.Parallel() // sleep-bound: the printers' print commands take pages/ppm of wall time
	a := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "paper-a", PPM: 120})
	b := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "paper-b", PPM: 120})
	ps := []foPrinter{{name: a.Name, uri: a.URI(), ppm: 120}, {name: b.Name, uri: b.URI(), ppm: 120}}
	g := startGateway(t, gatewayOptions{Config: foConfig(ps, [][2]string{{"letters", "paper-a, paper-b"}})})
	for _, e := range []*peer.IPPEve{a, b} {
		foWaitPrinter(t, g, e.Name, 10*time.Second, "probed", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	}

	// Out of paper while idle: stopped, and the run goes to b alone.
	a.SetMediaEmpty(true)
	foWaitPrinter(t, g, a.Name, 5*time.Second, "stopped", func(p queue.PrinterInfo) bool { return p.State == printers.StateStopped })
	ids, _ := foSubmit(t, g, "letters", "empty", foPages(8, 4))
	jobs := g.waitJobs(ids, 2*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	for _, id := range ids {
		if jobs[id].Printer != b.Name {
			t.Errorf("job %d printed on %s while %s was out of paper", id, jobs[id].Printer, a.Name)
		}
	}
	if n := len(a.Jobs()); n != 0 {
		t.Errorf("%s, out of paper, was given %d jobs", a.Name, n)
	}
	a.SetMediaEmpty(false)
	foWaitPrinter(t, g, a.Name, 5*time.Second, "ready", func(p queue.PrinterInfo) bool { return p.State.Usable() })

	// Out of paper in the middle of a letter: from then on nothing new for a; the letter goes to
	// b after the grace period, and b prints the rest.
	ids, names := foSubmit(t, g, "letters", "midway", []int{4, 4, 4, 4, 4, 4, 4, 4, 4, 4})
	deadline := time.Now().Add(time.Minute)
	for {
		running := false
		for _, j := range a.Jobs() {
			// The job record is written at the start and the end only: a page takes 0.5 s.
			running = running || (!j.Completed && time.Since(j.Start) > 700*time.Millisecond)
		}
		if running {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never printed a page of the second batch", a.Name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.SetMediaEmpty(true)
	emptied := time.Now()
	var cut string
	for _, j := range a.Jobs() {
		if !j.Completed {
			cut = j.JobName
		}
	}
	foWaitPrinter(t, g, a.Name, 5*time.Second, "stopped", func(p queue.PrinterInfo) bool { return p.State == printers.StateStopped })
	seen := len(a.Jobs())
	// Most of the batch is still queued; wait for b to print three more of it while a stays out.
	base := len(b.Printed())
	b.WaitPrinted(t, base+3, time.Minute)
	if n := len(a.Jobs()); n != seen {
		t.Errorf("%s was given %d new jobs while out of paper", a.Name, n-seen)
	}
	a.SetMediaEmpty(false)
	jobs = g.waitJobs(ids, 2*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	for _, id := range ids {
		j := jobs[id]
		if names[id] == cut {
			if j.Printer != b.Name || !j.PossibleDuplicate {
				t.Errorf("%s, cut short by the paper, completed on %s flagged %v; want on %s, flagged", cut, j.Printer,
					j.PossibleDuplicate, b.Name)
			}
			var requeued time.Time
			for _, e := range foEvents(t, g, url.Values{"job": {fmt.Sprint(id)}, "kind": {job.EventFailover}}) {
				requeued = e.At
			}
			if d := requeued.Sub(emptied); requeued.IsZero() || d < foGrace {
				t.Errorf("%s requeued %s after the paper ran out, want after the grace period (%s)", cut, d, foGrace)
			}
		} else if j.PossibleDuplicate {
			t.Errorf("%s flagged possible-duplicate, but only %s was cut short", names[id], cut)
		}
	}
	// The state changes are in the event log, in order.
	var path []string
	for _, e := range foEvents(t, g, url.Values{"printer": {a.Name}, "kind": {job.EventPrinterState}}) {
		to := e.To
		if printers.State(to).Usable() {
			to = "up" // ready, or busy when the probe caught the printer finishing something
		}
		path = append(path, to)
	}
	if !containsInOrder(path, []string{"up", "stopped", "up", "stopped", "up"}) {
		t.Errorf("%s state events %v, want up, stopped, up, stopped, up in order", a.Name, path)
	}
}
