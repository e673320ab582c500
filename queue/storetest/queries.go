// Queries: job filters and orders, the event log, operator controls and tallies.
package storetest

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// testJobFilterByVirtualPrinter: VirtualPrinter keeps one virtual printer's jobs,
// NotVirtualPrinters leaves some out, both together can select nothing.
func testJobFilterByVirtualPrinter(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	byVP := map[string]int64{}
	for _, vp := range []string{"letters", "labels", "forms"} {
		j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: vp, Origin: "test"}, []*job.Staged{f.stage([]byte("%PDF-1.4 " + vp))})
		if err != nil {
			t.Fatal(err)
		}
		byVP[vp] = j.ID
	}
	for _, tc := range []struct {
		name   string
		filter job.JobFilter
		want   []string
	}{
		{"one", job.JobFilter{VirtualPrinter: "labels"}, []string{"labels"}},
		{"all but one", job.JobFilter{NotVirtualPrinters: []string{"labels"}}, []string{"letters", "forms"}},
		{"all but two", job.JobFilter{NotVirtualPrinters: []string{"labels", "letters"}}, []string{"forms"}},
		{"none left out", job.JobFilter{NotVirtualPrinters: nil}, []string{"letters", "labels", "forms"}},
		{"both", job.JobFilter{VirtualPrinter: "forms", NotVirtualPrinters: []string{"forms"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.filter.Order = "oldest"
			jobs, err := f.s.Jobs(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			got := ids(jobs)
			var want []int64
			for _, vp := range tc.want {
				want = append(want, byVP[vp])
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got jobs %v, want %v (%v)", got, want, tc.want)
			}
			if n, err := f.s.CountJobs(ctx, tc.filter); err != nil || n != len(want) {
				t.Errorf("CountJobs = %d (%v), want %d", n, err, len(want))
			}
		})
	}
}

// testJobFilterFields: every other JobFilter field selects what its comment says, alone and
// combined, and CountJobs counts what Jobs lists.
func testJobFilterFields(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	submit := func(vp, name, owner string) *job.Job {
		t.Helper()
		j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: vp, Name: name, Owner: owner, Origin: "test"},
			[]*job.Staged{f.stage(letter(1))})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	p1, p2, empty := "p1", "p2", ""
	report := submit("letters", "Quarterly Report", "alice")
	label := submit("labels", "shipping label", "bob")
	if err := f.s.Transition(ctx, label.ID, job.StateAssigned, job.Change{Printer: &p1}); err != nil {
		t.Fatal(err)
	}
	note := submit("letters", "note for Alice", "carol")
	for _, mv := range []struct {
		to job.State
		c  job.Change
	}{
		{job.StateAssigned, job.Change{Printer: &p2}},
		{job.StateSending, job.Change{}},
		{job.StatePending, job.Change{Printer: &empty, PossibleDuplicate: true, Attempt: true}},
	} {
		if err := f.s.Transition(ctx, note.ID, mv.to, mv.c); err != nil {
			t.Fatal(err)
		}
	}
	r := f.registerRun("mailing", 2, time.Time{})
	letters, err := f.s.Jobs(ctx, job.JobFilter{RunID: r.ID, Order: "oldest"})
	if err != nil || len(letters) != 2 {
		t.Fatalf("letters of the run: %d, %v", len(letters), err)
	}
	l1, l2 := letters[0].ID, letters[1].ID

	for _, tc := range []struct {
		name   string
		filter job.JobFilter
		want   []int64
	}{
		{"everything", job.JobFilter{}, []int64{report.ID, label.ID, note.ID, l1, l2}},
		{"ids", job.JobFilter{IDs: []int64{note.ID, report.ID, 9999}}, []int64{report.ID, note.ID}},
		{"one state", job.JobFilter{States: []job.State{job.StateAssigned}}, []int64{label.ID}},
		{"two states", job.JobFilter{States: []job.State{job.StatePending, job.StateHeld}}, []int64{report.ID, note.ID, l1, l2}},
		{"printer", job.JobFilter{Printer: "p1"}, []int64{label.ID}},
		{"owner", job.JobFilter{Owner: "bob"}, []int64{label.ID}},
		{"run", job.JobFilter{RunID: r.ID}, []int64{l1, l2}},
		{"bulk lane", job.JobFilter{Lane: job.LaneBulk}, []int64{l1, l2}},
		{"interactive lane", job.JobFilter{Lane: job.LaneInteractive}, []int64{report.ID, label.ID, note.ID}},
		{"possible duplicate", job.JobFilter{PossibleDuplicate: true}, []int64{note.ID}},
		{"search name or owner, any case", job.JobFilter{Search: "alice"}, []int64{report.ID, note.ID}},
		{"search upper case", job.JobFilter{Search: "QUARTERLY"}, []int64{report.ID}},
		{"search nothing", job.JobFilter{Search: "zebra"}, nil},
		{"before id", job.JobFilter{BeforeID: note.ID}, []int64{report.ID, label.ID}},
		{"after id", job.JobFilter{AfterID: label.ID}, []int64{note.ID, l1, l2}},
		{"between ids", job.JobFilter{AfterID: report.ID, BeforeID: l1}, []int64{label.ID, note.ID}},
		{"combined", job.JobFilter{VirtualPrinter: "letters", States: []job.State{job.StatePending}, Lane: job.LaneInteractive},
			[]int64{report.ID, note.ID}},
		{"limit", job.JobFilter{Limit: 2}, []int64{report.ID, label.ID}},
	} {
		tc.filter.Order = "oldest"
		jobs, err := f.s.Jobs(ctx, tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := ids(jobs); !slices.Equal(got, tc.want) {
			t.Errorf("%s: jobs %v, want %v", tc.name, got, tc.want)
		}
		if tc.filter.Limit > 0 {
			continue
		}
		if n, err := f.s.CountJobs(ctx, tc.filter); err != nil || n != len(tc.want) {
			t.Errorf("%s: CountJobs = %d (%v), want %d", tc.name, n, err, len(tc.want))
		}
	}

	// WithoutDocuments lists the rows only; otherwise the documents come along.
	with, err := f.s.Jobs(ctx, job.JobFilter{IDs: []int64{report.ID}})
	if err != nil || len(with) != 1 || len(with[0].Documents) != 1 || with[0].Documents[0].SHA256 != sum(letter(1)) {
		t.Fatalf("job listed with its documents: %+v, %v", with, err)
	}
	without, err := f.s.Jobs(ctx, job.JobFilter{IDs: []int64{report.ID}, WithoutDocuments: true})
	if err != nil || len(without) != 1 || len(without[0].Documents) != 0 || without[0].Name != "Quarterly Report" {
		t.Fatalf("job listed without documents: %+v, %v", without, err)
	}
}

// testJobFilterOrder: newest first by default (and BeforeID pages backwards), oldest first on
// request, and the scheduler's order: interactive before bulk, higher priority first, then run,
// sequence and id.
func testJobFilterOrder(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	submit := func(prio int) int64 {
		t.Helper()
		j, err := f.s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test", Attributes: job.Attributes{JobPriority: prio}},
			[]*job.Staged{f.stage(letter(1))})
		if err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	i1 := submit(0)
	i2 := submit(80)
	r1 := f.registerRun("first", 3, time.Time{})
	i3 := submit(0)
	r2 := f.registerRun("second", 1, time.Time{})
	i4 := submit(10)
	letterIDs := func(runID int64) []int64 {
		t.Helper()
		ls, err := f.s.RunLetters(ctx, runID, 0, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, l := range ls {
			out = append(out, l.JobID)
		}
		return out
	}
	want := append(append([]int64{i2, i1, i3, i4}, letterIDs(r1.ID)...), letterIDs(r2.ID)...)
	jobs, err := f.s.Jobs(ctx, job.JobFilter{States: []job.State{job.StatePending}, Order: "schedule"})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(jobs); !slices.Equal(got, want) {
		t.Fatalf("schedule order %v, want %v", got, want)
	}

	all, err := f.s.Jobs(ctx, job.JobFilter{Order: "oldest"})
	if err != nil {
		t.Fatal(err)
	}
	oldest := ids(all)
	if !slices.IsSorted(oldest) || len(oldest) != 8 {
		t.Fatalf("oldest first: %v", oldest)
	}
	newest := slices.Clone(oldest)
	slices.Reverse(newest)
	dflt, err := f.s.Jobs(ctx, job.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(dflt); !slices.Equal(got, newest) {
		t.Fatalf("default order %v, want newest first %v", got, newest)
	}
	// Paging backwards, newest first, three at a time.
	var paged []int64
	var before int64
	for range 10 {
		page, err := f.s.Jobs(ctx, job.JobFilter{BeforeID: before, Limit: 3, WithoutDocuments: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, ids(page)...)
		before = page[len(page)-1].ID
	}
	if !slices.Equal(paged, newest) {
		t.Fatalf("paged newest first %v, want %v", paged, newest)
	}
}

// testEvents: RecordEvent stores what it is given (its time, or the clock's when none), and
// Events lists newest first, or oldest first after AfterID (tailing), filtered by kind, job,
// printer, run and id, up to Limit; the log survives a reopen.
func testEvents(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	record := func(e job.Event) {
		t.Helper()
		if err := f.s.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}
	t1 := f.clock.Now()
	record(job.Event{Kind: job.EventPrinterState, Printer: "p1", Message: "e1"})
	past := epoch.Add(-time.Hour)
	record(job.Event{Kind: job.EventOperator, Printer: "p2", Actor: "op", Message: "e2", At: past})
	j := f.submit(letter(1)) // e3: its creation
	record(job.Event{Kind: job.EventRun, RunID: 42, Message: "e4"})
	record(job.Event{Kind: job.EventFailover, JobID: j.ID, Printer: "p1", From: string(job.StateSending),
		To: string(job.StatePending), Message: "e5"})

	all, err := f.s.Events(ctx, job.EventFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 5 {
		t.Fatalf("%d events, want 5: %+v", len(all), all)
	}
	for i := 1; i < len(all); i++ {
		if all[i].ID >= all[i-1].ID {
			t.Fatalf("events not newest first: %+v", all)
		}
	}
	byMsg := map[string]job.Event{}
	for _, e := range all {
		byMsg[e.Message] = e
	}
	e3 := all[2]
	if e3.JobID != j.ID || e3.To != string(job.StatePending) || e3.Kind != job.EventJobState {
		t.Fatalf("third event %+v, want the job's creation", e3)
	}
	delete(byMsg, e3.Message)
	byMsg["e3"] = e3
	if e := byMsg["e1"]; e.Kind != job.EventPrinterState || e.Printer != "p1" || !e.At.Equal(t1) {
		t.Errorf("e1 read back %+v, want printer-state of p1 at %v", e, t1)
	}
	if e := byMsg["e2"]; e.Kind != job.EventOperator || e.Printer != "p2" || e.Actor != "op" || !e.At.Equal(past) {
		t.Errorf("e2 read back %+v, want operator event by op at %v", e, past)
	}
	if e := byMsg["e5"]; e.JobID != j.ID || e.From != string(job.StateSending) || e.To != string(job.StatePending) || e.Kind != job.EventFailover {
		t.Errorf("e5 read back %+v", e)
	}
	id := func(m string) int64 { return byMsg[m].ID }
	// Events are named by their messages, the creation event (whose message is the driver's
	// own) by its id.
	names := map[int64]string{}
	for m, e := range byMsg {
		names[e.ID] = m
	}
	check := func(name string, ef job.EventFilter, want ...string) {
		t.Helper()
		evs, err := f.s.Events(ctx, ef)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got []string
		for _, e := range evs {
			if n, ok := names[e.ID]; ok {
				got = append(got, n)
			} else {
				got = append(got, fmt.Sprintf("unknown event %+v", e))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: events %v, want %v", name, got, want)
		}
	}
	check("all", job.EventFilter{}, "e5", "e4", "e3", "e2", "e1")
	check("kinds", job.EventFilter{Kinds: []string{job.EventPrinterState, job.EventFailover}}, "e5", "e1")
	check("job", job.EventFilter{JobID: j.ID}, "e5", "e3")
	check("printer", job.EventFilter{Printer: "p1"}, "e5", "e1")
	check("run", job.EventFilter{RunID: 42}, "e4")
	check("after id, oldest first", job.EventFilter{AfterID: id("e2")}, "e3", "e4", "e5")
	check("before id", job.EventFilter{BeforeID: id("e4")}, "e3", "e2", "e1")
	check("limit", job.EventFilter{Limit: 2}, "e5", "e4")
	check("tailing with a limit", job.EventFilter{AfterID: id("e1"), Limit: 2}, "e2", "e3")
	check("kind and job", job.EventFilter{Kinds: []string{job.EventJobState}, JobID: j.ID}, "e3")

	f.reopen()
	check("after reopen", job.EventFilter{}, "e5", "e4", "e3", "e2", "e1")
}

// testControls: an operator switch is stored (one per scope and name, the newest setting
// winning) with its operator event, at the clock's time, and survives a reopen.
func testControls(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	ctx := f.ctx
	if cs, err := f.s.Controls(ctx); err != nil || len(cs) != 0 {
		t.Fatalf("controls of a new store: %+v, %v", cs, err)
	}
	set := func(c job.Control, msg string) {
		t.Helper()
		if err := f.s.SetControl(ctx, c, msg); err != nil {
			t.Fatal(err)
		}
	}
	controls := func() map[string]job.Control {
		t.Helper()
		cs, err := f.s.Controls(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]job.Control{}
		for _, c := range cs {
			k := c.Scope + "/" + c.Name
			if _, dup := out[k]; dup {
				t.Fatalf("control %s listed twice: %+v", k, cs)
			}
			out[k] = c
		}
		return out
	}
	set(job.Control{Scope: "printer", Name: "p1", Paused: true, Actor: "op"}, "p1 drained by op")
	t1 := f.clock.Now()
	cs := controls()
	if c := cs["printer/p1"]; len(cs) != 1 || !c.Paused || c.Actor != "op" || !c.At.Equal(t1) {
		t.Fatalf("after draining p1: %+v", cs)
	}
	evs, err := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventOperator}})
	if err != nil || len(evs) != 1 || evs[0].Printer != "p1" || evs[0].Actor != "op" || evs[0].Message != "p1 drained by op" {
		t.Fatalf("operator event of the drain: %+v, %v", evs, err)
	}
	f.clock.Advance(time.Minute)
	set(job.Control{Scope: "printer", Name: "p1", Paused: false, Actor: "op2"}, "p1 resumed by op2")
	set(job.Control{Scope: "virtual", Name: "letters", Paused: true, Actor: "op"}, "letters paused by op")
	t2 := f.clock.Now()
	cs = controls()
	if c := cs["printer/p1"]; len(cs) != 2 || c.Paused || c.Actor != "op2" || !c.At.Equal(t2) {
		t.Fatalf("after resuming p1: %+v", cs)
	}
	if c := cs["virtual/letters"]; !c.Paused || c.Actor != "op" {
		t.Fatalf("virtual printer control: %+v", cs)
	}
	evs, err = f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventOperator}})
	if err != nil || len(evs) != 3 || evs[0].Printer != "" || evs[0].Message != "letters paused by op" || evs[1].Printer != "p1" {
		t.Fatalf("operator events: %+v, %v", evs, err)
	}
	f.reopen()
	if again := controls(); fmt.Sprint(again) != fmt.Sprint(cs) {
		t.Fatalf("controls after reopen %+v, before %+v", again, cs)
	}
}

// testTallies: unfinished jobs and their pages counted by virtual printer or printer, state and
// lane; finished jobs are not counted.
func testTallies(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	f.jobIn(job.StatePending, letter(1))
	f.jobIn(job.StatePending, letter(2))
	f.jobIn(job.StateAssigned, letter(3))
	f.jobIn(job.StateCompleted, letter(4))
	f.jobIn(job.StateCanceled, letter(4))
	if _, err := f.s.Submit(f.ctx, job.NewJob{VirtualPrinter: "labels", Origin: "test", Hold: true}, []*job.Staged{f.stage(letter(1))}); err != nil {
		t.Fatal(err)
	}
	f.registerRun("mailing", 2, time.Time{}) // letters of 2 and 3 pages

	type key struct {
		key   string
		state job.State
		lane  job.Lane
	}
	tallies := func(by string) map[key][2]int {
		t.Helper()
		ts, err := f.s.Tallies(f.ctx, by)
		if err != nil {
			t.Fatal(err)
		}
		out := map[key][2]int{}
		for _, tl := range ts {
			k := key{tl.Key, tl.State, tl.Lane}
			if _, dup := out[k]; dup {
				t.Fatalf("tally %+v listed twice", k)
			}
			out[k] = [2]int{tl.Jobs, tl.Pages}
		}
		return out
	}
	show := func(m map[key][2]int) string {
		var lines []string
		for k, v := range m {
			lines = append(lines, fmt.Sprintf("%s/%s/%s: %d jobs %d pages", k.key, k.state, k.lane, v[0], v[1]))
		}
		sort.Strings(lines)
		return fmt.Sprint(lines)
	}
	wantVirtual := map[key][2]int{
		{"letters", job.StatePending, job.LaneInteractive}:  {2, 3},
		{"letters", job.StateAssigned, job.LaneInteractive}: {1, 3},
		{"labels", job.StateHeld, job.LaneInteractive}:      {1, 1},
		{"letters", job.StatePending, job.LaneBulk}:         {2, 5},
	}
	if got := tallies("virtual"); show(got) != show(wantVirtual) {
		t.Errorf("tallies by virtual printer:\n got  %s\n want %s", show(got), show(wantVirtual))
	}
	wantPrinter := map[key][2]int{
		{"", job.StatePending, job.LaneInteractive}:    {2, 3},
		{"p1", job.StateAssigned, job.LaneInteractive}: {1, 3},
		{"", job.StateHeld, job.LaneInteractive}:       {1, 1},
		{"", job.StatePending, job.LaneBulk}:           {2, 5},
	}
	if got := tallies("printer"); show(got) != show(wantPrinter) {
		t.Errorf("tallies by printer:\n got  %s\n want %s", show(got), show(wantPrinter))
	}
}
