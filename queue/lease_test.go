// The scheduler obeying a Coordinator (several gateways on one spool), with a fake one the test
// turns: it sends only to printers it holds, stops a send the moment the lease lapses, takes
// over what another gateway left at a printer it gains, hands a yielding printer over only
// once nothing is on its way there, and fires schedules and runs retention only as leader.
package queue

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// fakeCoord is a Coordinator the test turns.
type fakeCoord struct {
	mu      sync.Mutex
	leases  map[string]Lease
	leader  bool
	claim   func(id int64, due time.Time) bool
	yielded []string
	// claims are the FireOnce calls, with whether this gateway led at the time.
	claims []bool
	topics map[Topic]*broadcaster
}

func newFakeCoord() *fakeCoord {
	return &fakeCoord{leases: map[string]Lease{}, topics: map[Topic]*broadcaster{TopicLeases: newBroadcaster(),
		TopicJobs: newBroadcaster(), TopicSchedules: newBroadcaster()}}
}

func (f *fakeCoord) Gateway() string { return "gw-test" }

func (f *fakeCoord) Lease(p string) Lease {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leases[p]
}

func (f *fakeCoord) Leader() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.leader
}

func (f *fakeCoord) Yielded(p string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.yielded = append(f.yielded, p)
}

func (f *fakeCoord) FireOnce(_ context.Context, id int64, due time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.claims = append(f.claims, f.leader)
	if f.claim == nil {
		return true, nil
	}
	return f.claim(id, due), nil
}

func (f *fakeCoord) Publish(string, string) {}

func (f *fakeCoord) Subscribe(t Topic) (<-chan struct{}, func()) { return f.topics[t].subscribe() }

// set changes printer p's lease and tells the subscribers, as a lease round would.
func (f *fakeCoord) set(p string, l Lease) {
	f.mu.Lock()
	f.leases[p] = l
	f.mu.Unlock()
	f.topics[TopicLeases].signal()
}

func (f *fakeCoord) setLeader(v bool) {
	f.mu.Lock()
	f.leader = v
	f.mu.Unlock()
	f.topics[TopicLeases].signal()
}

func (f *fakeCoord) yieldedList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.yielded...)
}

// wirePrinter's Send blocks, as a long transfer does, until the test lets it finish or its
// context ends; it says when a send starts and how each ended.
type wirePrinter struct {
	*holdPrinter
	started chan int64
	finish  chan struct{}
	ended   chan error
}

func newWirePrinter(name string) *wirePrinter {
	return &wirePrinter{holdPrinter: newHoldPrinter(name, 60), started: make(chan int64, 10),
		finish: make(chan struct{}), ended: make(chan error, 10)}
}

func (p *wirePrinter) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	p.started <- j.ID
	select {
	case <-ctx.Done():
		// Bytes were on the wire: the printer may have part of the job.
		p.ended <- ctx.Err()
		return printers.Receipt{}, ctx.Err()
	case <-p.finish:
	}
	p.ended <- nil
	return p.holdPrinter.Send(ctx, j)
}

// coordRig is a SQLite spool and a running scheduler obeying coord.
type coordRig struct {
	store *spool.Store
	sched *Scheduler
	seq   int
}

func newCoordRig(t *testing.T, coord Coordinator, wrap func(Store) Store, edit func(*Options), specs ...PrinterSpec) *coordRig {
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
	o := Options{Store: seam, Printers: specs, MaxInflight: 2, Logger: log, ProbeInterval: time.Hour,
		Coordinator: coord, Virtual: []VirtualSpec{{Name: "letters", Pool: pool, Default: true}}}
	if edit != nil {
		edit(&o)
	}
	sched, err := New(o)
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
	return &coordRig{store: store, sched: sched}
}

func (r *coordRig) submit(t *testing.T) *job.Job {
	t.Helper()
	r.seq++
	ctx := context.Background()
	st, err := r.sched.Stage(ctx, bytes.NewReader([]byte("%PDF-1.4 letter pages=1")), "letter", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := r.sched.Submit(ctx, job.NewJob{Name: "letter", Origin: "test"}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (r *coordRig) job(t *testing.T, id int64) *job.Job {
	t.Helper()
	j, err := r.store.Job(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// waitJob polls job id until cond holds (bounded).
func (r *coordRig) waitJob(t *testing.T, id int64, what string, cond func(*job.Job) bool) *job.Job {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j := r.job(t, id)
		if cond(j) {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d: timed out waiting for %s (state %s, printer %q)", id, what, j.State, j.Printer)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var held = Lease{Held: true, Epoch: 1, Gateway: "gw-test"}

// TestSchedulerSendsOnlyToHeldPrinters: a printer whose lease another gateway holds gets
// nothing from this one, even when it is the faster and idle; once the lease comes here, it
// gets work.
func TestSchedulerSendsOnlyToHeldPrinters(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("slow", held)
	coord.set("fast", Lease{Gateway: "gw-other"})
	slow, fast := newHoldPrinter("slow", 10), newHoldPrinter("fast", 100)
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "slow", Printer: slow, PPM: 10},
		PrinterSpec{Name: "fast", Printer: fast, PPM: 100})
	var ids []int64
	for range 4 {
		ids = append(ids, r.submit(t).ID)
	}
	// slow takes its two (max_inflight), the other two wait: fast is not this gateway's.
	slow.waitSend(t)
	slow.waitSend(t)
	r.waitJob(t, ids[3], "the last job still pending", func(j *job.Job) bool { return j.State == job.StatePending })
	if sent, _ := fast.stats(); len(sent) != 0 {
		t.Fatalf("the printer another gateway drives was sent %v", sent)
	}
	if p, _ := r.sched.Printer("fast"); p.Gateway != "gw-other" {
		t.Errorf("printers API says fast is driven by %q, want gw-other", p.Gateway)
	}
	coord.set("fast", held)
	fast.waitSend(t)
	fast.waitSend(t)
	for _, id := range ids {
		r.waitJob(t, id, "printing", func(j *job.Job) bool { return j.State == job.StatePrinting })
	}
}

// TestLeaseLapseStopsTheSend: the moment the lease lapses the send in flight is canceled (not
// left to finish), and the job goes back to pending as a possible duplicate, as any job taken
// back while bytes may have reached the printer; nothing more is sent there.
func TestLeaseLapseStopsTheSend(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("a", held)
	a := newWirePrinter("a")
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "a", Printer: a})
	j := r.submit(t)
	select {
	case <-a.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no send started")
	}
	coord.set("a", Lease{Gateway: "gw-other"})
	select {
	case err := <-a.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the send ended with %v, want its context canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the send went on after the lease lapsed")
	}
	got := r.waitJob(t, j.ID, "pending again", func(j *job.Job) bool { return j.State == job.StatePending })
	if !got.PossibleDuplicate || got.Attempts != 1 {
		t.Errorf("job after the lapse: possible duplicate %v, attempts %d; want flagged, 1", got.PossibleDuplicate, got.Attempts)
	}
	evs, err := r.store.Events(context.Background(), job.EventFilter{JobID: j.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		if e.Kind == job.EventFailover && strings.Contains(e.Message, errLeaseLost.Error()) {
			found = true
		}
	}
	if !found {
		t.Errorf("no failover event naming the lost lease: %+v", evs)
	}
	// Not held: the job waits, it is not sent to a again.
	r.sched.kick()
	select {
	case id := <-a.started:
		t.Fatalf("job %d sent to a printer whose lease is gone", id)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestGainedLeaseTakesOverOrphans: a lease gained from a gateway that died is an event naming
// both; the dead gateway's job that was sending is re-sent here as a possible duplicate, and its
// job the printer holds is watched here to its end, not sent again.
func TestGainedLeaseTakesOverOrphans(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("other", held)
	a, other := newHoldPrinter("a", 60), newHoldPrinter("other", 60)
	// The orphans' virtual printer has only a, which this gateway does not drive yet: nothing
	// here moves them until it gains a's lease.
	r := newCoordRig(t, coord, nil, func(o *Options) {
		o.MaxInflight = 4
		o.Virtual = append(o.Virtual, VirtualSpec{Name: "only-a", Pool: []string{"a"}})
	}, PrinterSpec{Name: "a", Printer: a}, PrinterSpec{Name: "other", Printer: other})
	ctx := context.Background()
	// What the dead gateway left at a: one job sending, one printing (upstream id 99001).
	leave := func(to job.State) *job.Job {
		st, err := r.store.Stage(ctx, bytes.NewReader([]byte("%PDF-1.4 orphan pages=1")), "orphan", "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		j, err := r.store.Submit(ctx, job.NewJob{Name: "orphan", Origin: "test", VirtualPrinter: "only-a"}, []*job.Staged{st})
		if err != nil {
			t.Fatal(err)
		}
		name, up := "a", "99001"
		steps := []struct {
			to job.State
			c  job.Change
		}{
			{job.StateAssigned, job.Change{From: []job.State{job.StatePending}, Printer: &name}},
			{job.StateSending, job.Change{From: []job.State{job.StateAssigned}}},
			{job.StatePrinting, job.Change{From: []job.State{job.StateSending}, UpstreamID: &up}},
		}
		for _, s := range steps {
			if err := r.store.Transition(ctx, j.ID, s.to, s.c); err != nil {
				t.Fatalf("leave job at %s: %v", s.to, err)
			}
			if s.to == to {
				break
			}
		}
		return j
	}
	sending := leave(job.StateSending)
	a.mu.Lock()
	a.held[99001] = make(chan struct{})
	a.mu.Unlock()
	printing := leave(job.StatePrinting)
	coord.set("a", Lease{Held: true, Epoch: 7, Gateway: "gw-test", Previous: "gw-dead"})
	got := r.waitJob(t, sending.ID, "re-sent to a as a possible duplicate", func(j *job.Job) bool {
		return j.State == job.StatePrinting && j.PossibleDuplicate
	})
	if got.Attempts != 1 {
		t.Errorf("the re-sent job has %d attempts, want 1", got.Attempts)
	}
	if p := r.job(t, printing.ID); p.State != job.StatePrinting || p.PossibleDuplicate {
		t.Fatalf("the job the printer holds is %s (duplicate %v), want printing, not re-sent", p.State, p.PossibleDuplicate)
	}
	a.release(99001)
	r.waitJob(t, printing.ID, "completed, watched from here", func(j *job.Job) bool { return j.State == job.StateCompleted })
	if sent, _ := a.stats(); len(sent) != 1 || sent[0] != sending.ID {
		t.Errorf("a was sent %v, want only the orphan that was sending (%d)", sent, sending.ID)
	}
	evs, err := r.store.Events(ctx, job.EventFilter{Kinds: []string{job.EventLease}, Printer: "a", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 1 || evs[0].Printer != "a" || evs[0].From != "gw-dead" || evs[0].To != "gw-test" ||
		!strings.Contains(evs[0].Message, "epoch 7") {
		t.Fatalf("lease events %+v, want one: a from gw-dead to gw-test, epoch 7", evs)
	}
}

// TestYieldWaitsForTheSendInFlight: a yielding printer is handed over only once nothing is on
// its way there: not while a send is on the wire, at once when the job is at the printer.
func TestYieldWaitsForTheSendInFlight(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("a", held)
	a := newWirePrinter("a")
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "a", Printer: a})
	j := r.submit(t)
	select {
	case <-a.started:
	case <-time.After(10 * time.Second):
		t.Fatal("no send started")
	}
	coord.set("a", Lease{Held: true, Yielding: true, Epoch: 1, Gateway: "gw-test"})
	r.sched.checkLeases(context.Background())
	if y := coord.yieldedList(); len(y) != 0 {
		t.Fatalf("yielded %v while a send was on the wire", y)
	}
	// A yielding printer gets nothing new.
	j2 := r.submit(t)
	close(a.finish)
	r.waitJob(t, j.ID, "printing", func(j *job.Job) bool { return j.State == job.StatePrinting })
	deadline := time.Now().Add(10 * time.Second)
	for len(coord.yieldedList()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("not yielded once the job was at the printer")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := r.job(t, j2.ID).State; s != job.StatePending {
		t.Errorf("a job submitted while yielding is %s, want pending", s)
	}
}

// retentionCounter counts Retention calls at the Store seam.
type retentionCounter struct {
	Store
	n atomic.Int64
}

func (c *retentionCounter) Retention(ctx context.Context) (int, error) {
	c.n.Add(1)
	return c.Store.Retention(ctx)
}

// TestRetentionOnlyOnTheLeader: a gateway that does not lead never runs retention; it starts
// when it becomes the leader.
func TestRetentionOnlyOnTheLeader(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	counter := &retentionCounter{}
	newCoordRig(t, coord, func(s Store) Store { counter.Store = s; return counter },
		func(o *Options) { o.RetentionEvery = 5 * time.Millisecond }, PrinterSpec{Name: "a", Printer: newHoldPrinter("a", 60)})
	// Forty ticks' worth as follower.
	time.Sleep(200 * time.Millisecond)
	if n := counter.n.Load(); n != 0 {
		t.Fatalf("retention ran %d times on a gateway that does not lead", n)
	}
	coord.setLeader(true)
	deadline := time.Now().Add(10 * time.Second)
	for counter.n.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("retention never ran on the leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScheduleFiresOnlyWhenClaimed: a firing the cluster gave another gateway makes no run
// here; a claimed one does.
func TestScheduleFiresOnlyWhenClaimed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	clock := fakeclock.New(time.Date(2026, 12, 1, 1, 0, 0, 0, time.Local))
	r := newBulkRig(t, t.TempDir(), clock)
	coord := newFakeCoord()
	coord.leader = true
	mine := false
	coord.claim = func(int64, time.Time) bool { return mine }
	r.sched.coord = coord
	dropLetter(t, drop, "a.pdf", "one")
	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "nightly", Owner: "mailroom", Spec: "0 2 * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.Local)
	next := r.bulk.fireDue(ctx, at, false)
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 0 {
		t.Fatalf("%d runs from a firing another gateway claimed", len(runs))
	}
	if !next.Equal(at.Add(claimRecheck)) {
		t.Errorf("next look %v, want %v (a recheck soon)", next, at.Add(claimRecheck))
	}
	mine = true
	r.bulk.fireDue(ctx, at, false)
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 1 {
		t.Fatalf("%d runs from the claimed firing, want 1", len(runs))
	}
}

// TestScheduleLoopFiresOnlyAsLeader: the schedule loop of a gateway that does not lead does not
// even claim a firing; once it leads, it fires.
func TestScheduleLoopFiresOnlyAsLeader(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	r := newBulkRig(t, t.TempDir(), nil)
	coord := newFakeCoord()
	r.sched.coord = coord
	dropLetter(t, drop, "one.pdf", "loop one")
	r.start(t)
	sc, err := r.bulk.CreateSchedule(ctx, ScheduleRequest{Name: "every second", Spec: "* * * * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	// Two firings' worth as follower.
	time.Sleep(2200 * time.Millisecond)
	coord.mu.Lock()
	claims := len(coord.claims)
	coord.mu.Unlock()
	if claims != 0 {
		t.Fatalf("a follower claimed %d firings", claims)
	}
	if runs := scheduleRuns(t, r, sc.ID); len(runs) != 0 {
		t.Fatalf("a follower fired %d runs", len(runs))
	}
	coord.setLeader(true)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if runs := scheduleRuns(t, r, sc.ID); len(runs) == 1 && runs[0].State != job.RunUploading {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not fire")
		}
		time.Sleep(20 * time.Millisecond)
	}
	coord.mu.Lock()
	defer coord.mu.Unlock()
	for i, leading := range coord.claims {
		if !leading {
			t.Errorf("claim %d made while not leading", i)
		}
	}
}

// epochCoord is a fakeCoord whose leadership has epochs, as the cluster's has.
type epochCoord struct {
	*fakeCoord
	epoch int64
}

func (e *epochCoord) LeaderEpoch() int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.leader {
		return 0
	}
	return e.epoch
}

// lead makes the gateway the leader at epoch (or not, at 0) and tells the subscribers.
func (e *epochCoord) lead(epoch int64) {
	e.mu.Lock()
	e.leader, e.epoch = epoch > 0, epoch
	e.mu.Unlock()
	e.topics[TopicLeases].signal()
}

// TestLeadershipIsAnEvent: a gateway that becomes the cluster's leader says so once per leader
// epoch in the event log, where every gateway's dashboard shows it; losing the leadership says
// nothing (the next leader speaks), and a gateway alone never does.
func TestLeadershipIsAnEvent(t *testing.T) {
	t.Parallel()
	leads := func(t *testing.T, r *coordRig) []job.Event {
		t.Helper()
		evs, err := r.store.Events(context.Background(), job.EventFilter{Kinds: []string{job.EventLease}, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var out []job.Event
		for _, e := range evs {
			if e.Printer == "" && strings.Contains(e.Message, "leads the cluster") {
				out = append(out, e)
			}
		}
		return out
	}
	waitLeads := func(t *testing.T, r *coordRig, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for len(leads(t, r)) < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d leadership events, want %d", len(leads(t, r)), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	coord := &epochCoord{fakeCoord: newFakeCoord()}
	coord.set("a", held)
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "a", Printer: newWirePrinter("a")})
	coord.lead(3)
	waitLeads(t, r, 1)
	if e := leads(t, r)[0]; e.To != "gw-test" || !strings.Contains(e.Message, "epoch 3") {
		t.Fatalf("leadership event %+v, want gw-test at epoch 3", e)
	}
	coord.lead(3) // the same epoch again (a lease round): nothing new
	coord.lead(0) // lost: nothing
	coord.lead(5) // led again at a new epoch
	waitLeads(t, r, 2)
	time.Sleep(100 * time.Millisecond)
	if n := len(leads(t, r)); n != 2 {
		t.Fatalf("%d leadership events after epochs 3, 3, none, 5; want 2", n)
	}

	alone := newCoordRig(t, Single{Name: "solo"}, nil, nil, PrinterSpec{Name: "a", Printer: newWirePrinter("a")})
	time.Sleep(100 * time.Millisecond)
	if n := len(leads(t, alone)); n != 0 {
		t.Fatalf("a gateway alone recorded %d leadership events, want none", n)
	}
}

// TestScheduleMadeOnAnotherGatewayFires: the leader hears of a schedule another gateway made
// (the schedules topic) and fires it; it slept on before, until some lease change woke it.
func TestScheduleMadeOnAnotherGatewayFires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drop := t.TempDir()
	r := newBulkRig(t, t.TempDir(), nil)
	coord := newFakeCoord()
	coord.leader = true
	r.sched.coord = coord
	dropLetter(t, drop, "one.pdf", "made elsewhere")
	r.start(t)
	time.Sleep(200 * time.Millisecond) // the loop has looked and found no schedule
	// Made by another gateway: straight into the shared store, no local wake-up.
	sc, err := r.store.CreateSchedule(ctx, job.Schedule{Name: "elsewhere", VirtualPrinter: "letters", Owner: "mailroom",
		Spec: "* * * * * *", Dir: drop})
	if err != nil {
		t.Fatal(err)
	}
	coord.topics[TopicSchedules].signal() // its notice
	deadline := time.Now().Add(20 * time.Second)
	for {
		if runs := scheduleRuns(t, r, sc.ID); len(runs) == 1 && runs[0].State != job.RunUploading {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not fire a schedule made on another gateway")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
