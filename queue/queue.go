// Package queue is the scheduler and the service layer the front-ends, the API and the dashboard
// share: it assigns pending jobs to the printer that will finish them soonest, follows each job
// at its printer, probes printer health and fails work over when a printer dies.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/printgate/printgate/printers"
)

// PrinterSpec is one physical printer as configured.
type PrinterSpec struct {
	Name    string
	URI     string
	Printer printers.Printer
	// PPM from config; 0 takes the printer's reported speed (or DefaultPPM).
	PPM         int
	MaxInflight int
	Location    string
	Info        string
	// Formats overrides the document formats the printer reports (config formats:); NoConvert
	// keeps the format bridge from converting for it (config convert: false). bridge.go.
	Formats   []string
	NoConvert bool
	// FormatPPM is the printer's speed for a format it is sent, where that differs from PPM
	// (config format_ppm:): a printer rasterising PostScript, or one fed 600 dpi PWG raster
	// over a slow link, prints fewer pages a minute than its engine's rating (bridge.go).
	FormatPPM map[string]int
}

// VirtualSpec is one virtual printer as configured.
type VirtualSpec struct {
	Name     string
	Pool     []string
	Default  bool
	LPDQueue string
	RawPort  int
	Location string
	Info     string
	// UUID is stable per virtual printer (derived from the name by the wiring).
	UUID string
}

// Options configure a Scheduler.
type Options struct {
	Store          Store
	Printers       []PrinterSpec
	Virtual        []VirtualSpec
	MaxInflight    int
	ProbeInterval  time.Duration
	ProbeTimeout   time.Duration
	FailAfter      int
	RecoverAfter   int
	GracePeriod    time.Duration
	MaxAttempts    int
	RetentionEvery time.Duration
	// BusyRetry bounds the wait between tries at a printer that answered busy (see busyWait).
	BusyRetry time.Duration
	// Converter is the format bridge (bridge.go); nil: none.
	Converter Converter
	// Coordinator says which printers this gateway drives and whether it leads (several
	// gateways on one spool); nil is Single, one gateway alone.
	Coordinator Coordinator
	Now         func() time.Time
	Logger      *slog.Logger
}

// DefaultPPM is assumed for a printer whose speed nobody knows yet.
const DefaultPPM = 20

// Scheduler owns the live state of every printer and every job in flight.
type Scheduler struct {
	opts  Options
	store Store
	coord Coordinator
	log   *slog.Logger
	// ledEpoch is the leader epoch this gateway last recorded it leads at (checkLeases).
	ledEpoch int64
	// refusals bounds the audit events of refused attempts per client (refusal_limit.go).
	refusals refusalLimiter
	now      func() time.Time
	started  time.Time

	members map[string]*member
	order   []string // printer names in config order
	virtual map[string]*VirtualSpec
	vorder  []string

	mu     sync.Mutex // guards members' live fields, flights and paused
	paused map[string]bool
	// loadErr is the last error the scheduling pass met, for /healthz.
	loadErr error

	// planGen counts operator moves; a scheduling pass started before one re-plans (assign.go).
	planGen uint64
	// timers wake the scheduler later (handed-over jobs, circuit breakers, retries); Run stops
	// them when it returns.
	timers wakeTimers
	// letters keeps each bulk run's letters in sequence on every printer (assign.go).
	letters runOrder
	// noConvert are jobs whose document failed to convert: only members that take it as it is
	// may have them (bridge.go). Guarded by mu.
	noConvert map[int64]bool

	wake    chan struct{}
	notify  *broadcaster
	wg      sync.WaitGroup
	runCtx  context.Context
	running chan struct{}
}

// member is a printer's live state.
type member struct {
	spec        PrinterSpec
	state       printers.State
	status      printers.Status
	drained     bool
	drainedBy   string // the operator who drained it
	failures    int    // probe failures in a row
	successes   int    // probe successes in a row
	sendErrors  int    // send failures in a row (circuit breaker)
	breakerOpen time.Time
	downSince   time.Time
	lastProbe   time.Time
	probeErr    string
	flights     map[int64]*flight
	backlog     int // pages assigned, sending or printing here
	doneHour    []doneMark
	// busyUntil estimates when the printer finishes the jobs it accepted (see assign.go).
	busyUntil time.Time
	// handedOver are the estimated finish times of jobs whose completion was their transfer
	// (LPD, socket): they print inside the printer after their flight ended, and still hold
	// one of its max_inflight slots until then.
	handedOver []time.Time
	// senderWake is closed (and replaced) when a job at this printer finishes, so flights
	// waiting after a busy answer try again at once.
	senderWake chan struct{}
	// lastSent is closed once the job last started here has been handed over (or given up):
	// the next one waits for it, so the printer receives jobs in the order they were given.
	lastSent <-chan struct{}
	// lease is the lease as the last lease check saw it (lease.go); adopted is the epoch whose
	// jobs this gateway has taken over.
	lease   Lease
	adopted int64
}

type doneMark struct {
	at    time.Time
	pages int
}

// ppmFor is m's speed for documents sent to it in format: its format_ppm for that format, else
// ppm.
func (m *member) ppmFor(format string) int {
	if p := m.spec.FormatPPM[format]; p > 0 {
		return p
	}
	return m.ppm()
}

// ppm is the speed used for the cost model.
func (m *member) ppm() int {
	if m.spec.PPM > 0 {
		return m.spec.PPM
	}
	if m.status.PPM > 0 {
		return m.status.PPM
	}
	return DefaultPPM
}

// usable: may receive new work now.
func (m *member) usable(now time.Time) bool {
	return !m.drained && m.state.Usable() && !now.Before(m.breakerOpen)
}

// New validates the options and builds a scheduler; Run starts it.
func New(opts Options) (*Scheduler, error) {
	if opts.Store == nil {
		return nil, errors.New("queue: no spool store")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxInflight <= 0 {
		opts.MaxInflight = 2
	}
	if opts.ProbeInterval <= 0 {
		opts.ProbeInterval = 5 * time.Second
	}
	if opts.ProbeTimeout <= 0 {
		opts.ProbeTimeout = min(opts.ProbeInterval, 10*time.Second)
	}
	if opts.FailAfter <= 0 {
		opts.FailAfter = 2
	}
	if opts.RecoverAfter <= 0 {
		opts.RecoverAfter = 2
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = 30 * time.Second
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = 10 * time.Minute
	}
	if opts.BusyRetry <= 0 {
		opts.BusyRetry = 500 * time.Millisecond
	}
	if opts.Coordinator == nil {
		opts.Coordinator = Single{}
	}
	s := &Scheduler{
		opts: opts, store: opts.Store, coord: opts.Coordinator, log: opts.Logger, now: opts.Now,
		members: map[string]*member{}, virtual: map[string]*VirtualSpec{}, paused: map[string]bool{}, noConvert: map[int64]bool{},
		wake: make(chan struct{}, 1), notify: newBroadcaster(), running: make(chan struct{}),
	}
	for _, p := range opts.Printers {
		if p.Printer == nil {
			return nil, fmt.Errorf("queue: printer %s has no backend", p.Name)
		}
		if _, dup := s.members[p.Name]; dup {
			return nil, fmt.Errorf("queue: duplicate printer %s", p.Name)
		}
		if p.MaxInflight <= 0 {
			p.MaxInflight = opts.MaxInflight
		}
		s.members[p.Name] = &member{spec: p, state: printers.StateUnknown, flights: map[int64]*flight{},
			senderWake: make(chan struct{})}
		s.order = append(s.order, p.Name)
	}
	for i := range opts.Virtual {
		v := opts.Virtual[i]
		if _, dup := s.virtual[v.Name]; dup {
			return nil, fmt.Errorf("queue: duplicate virtual printer %s", v.Name)
		}
		for _, m := range v.Pool {
			if _, ok := s.members[m]; !ok {
				return nil, fmt.Errorf("queue: virtual printer %s: unknown pool member %s", v.Name, m)
			}
		}
		s.virtual[v.Name] = &v
		s.vorder = append(s.vorder, v.Name)
	}
	return s, nil
}

// Run probes the printers, resumes jobs the printers hold, and schedules until ctx ends. It waits
// for every goroutine it started before returning.
func (s *Scheduler) Run(ctx context.Context) error {
	s.started = s.now()
	s.runCtx = ctx
	leases, stopLeases := s.coord.Subscribe(TopicLeases)
	defer stopLeases()
	remote, stopRemote := s.coord.Subscribe(TopicJobs)
	defer stopRemote()
	if !s.startup(ctx) {
		return nil
	}
	s.checkLeases(ctx)
	for _, name := range s.order {
		m := s.members[name]
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.probeLoop(ctx, m)
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.retentionLoop(ctx)
	}()
	s.startReceivedSweep(ctx)
	// Another gateway's notice may be a cancel of a job this one is printing: looked for off
	// the loop, so that a slow database never delays a lease check.
	recheck := make(chan struct{}, 1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-recheck:
				s.cancelCanceledElsewhere(ctx)
			}
		}
	}()
	close(s.running)
	s.kick()
	for {
		select {
		case <-ctx.Done():
			s.timers.stop()
			s.wg.Wait()
			// Counted refusals are audit records too: write their summaries before the store
			// is closed.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.flushRefusals(fctx)
			cancel()
			return nil
		case <-leases:
			s.checkLeases(ctx)
		case <-remote:
			// Another gateway accepted or moved jobs: refresh the live views, and plan.
			s.notify.signal()
			s.kick()
			select {
			case recheck <- struct{}{}:
			default:
			}
		case <-s.wake:
			if err := s.schedule(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("scheduling pass failed", "err", err)
				s.mu.Lock()
				s.loadErr = err
				s.mu.Unlock()
				// Try again soon rather than wait for the next event.
				s.timers.set("retry", time.Second, s.kick)
			}
		}
	}
}

// startup reads the operators' controls, probes the printers and resumes the jobs that were
// printing, retrying while the store fails (a database restarting as the gateway starts, a
// network blip to PostgreSQL): the gateway stays up, /healthz says why it is not ready, and it
// starts scheduling as soon as the store answers, instead of exiting and leaving a restart to
// whoever supervises it. false: ctx ended first.
func (s *Scheduler) startup(ctx context.Context) bool {
	wait := 250 * time.Millisecond
	probed := false
	for attempt := 1; ; attempt++ {
		err := s.loadControls(ctx)
		if err == nil {
			if !probed { // once: the probe loops keep the printers' states after that
				s.probeAll(ctx)
				s.mu.Lock()
				for _, m := range s.members {
					m.lease = s.coord.Lease(m.spec.Name)
				}
				s.mu.Unlock()
				probed = true
			}
			err = s.resumePrinting(ctx)
		}
		if err == nil {
			s.mu.Lock()
			s.loadErr = nil
			s.mu.Unlock()
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		s.log.Error("scheduler start failed, retrying", "attempt", attempt, "in", wait, "err", err)
		s.mu.Lock()
		s.loadErr = fmt.Errorf("starting: %w", err)
		s.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Running is closed once Run has finished starting.
func (s *Scheduler) Running() <-chan struct{} { return s.running }

// kick asks for a scheduling pass; coalesces with one already asked for.
func (s *Scheduler) kick() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// changed tells subscribers (dashboard, SSE) that something moved, and asks for a pass.
func (s *Scheduler) changed() {
	s.coord.Publish(NoticeJobChanged, "")
	s.notify.signal()
	s.kick()
}

// Subscribe returns a channel signalled (coalesced) whenever jobs or printers change, and a
// function to stop.
func (s *Scheduler) Subscribe() (<-chan struct{}, func()) { return s.notify.subscribe() }

func (s *Scheduler) loadControls(ctx context.Context) error {
	cs, err := s.store.Controls(ctx)
	if err != nil {
		return fmt.Errorf("queue: load operator controls: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range cs {
		switch c.Scope {
		case "printer":
			if m, ok := s.members[c.Name]; ok {
				m.drained, m.drainedBy = c.Paused, c.Actor
			}
		case "virtual":
			s.paused[c.Name] = c.Paused
		}
	}
	return nil
}

func (s *Scheduler) retentionLoop(ctx context.Context) {
	t := time.NewTicker(s.opts.RetentionEvery)
	defer t.Stop()
	for {
		if !s.coord.Leader() {
			// Another gateway's turn: retention runs once for the cluster.
		} else if n, err := s.store.Retention(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("retention failed", "err", err)
		} else if n > 0 {
			s.log.Info("retention removed documents", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sortedMembers returns members in config order.
func (s *Scheduler) sortedMembers() []*member {
	out := make([]*member, 0, len(s.order))
	for _, n := range s.order {
		out = append(out, s.members[n])
	}
	return out
}

// broadcaster fans a coalesced signal out to subscribers.
type broadcaster struct {
	mu   sync.Mutex
	subs map[int]chan struct{}
	next int
}

func newBroadcaster() *broadcaster { return &broadcaster{subs: map[int]chan struct{}{}} }

func (b *broadcaster) subscribe() (<-chan struct{}, func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.next
	b.next++
	ch := make(chan struct{}, 1)
	b.subs[id] = ch
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, id)
		b.mu.Unlock()
	}
}

func (b *broadcaster) signal() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// names returns the sorted keys of a set.
func names(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
