// Package cluster coordinates several gateways on one PostgreSQL database: it registers each
// gateway with a heartbeat, spreads the printers' leases across the live gateways (one gateway
// drives a printer at a time, with a fencing epoch the spool driver's writes check), elects one
// leader for the work done once per cluster (cron schedules, retention, sweeps), claims each
// schedule firing once, and carries wake-ups between gateways with LISTEN/NOTIFY. It implements
// queue.Coordinator; queue knows nothing of it.
//
// Time is the database's: every expiry is computed and compared with now() in the one statement
// that acquires, renews or checks a lease, so gateways' clocks may disagree. The only local
// clock is each gateway's own deadline for a lease it holds, measured from before the statement
// that renewed it was sent and ending a fifth of the lease period before the database's expiry,
// so a gateway always stops driving a printer before another can take it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/printgate/printgate/queue"
)

// DefaultLeasePeriod is a lease's time to live when Options leave it unset: a dead gateway's
// printers move within about one and a third of it.
const DefaultLeasePeriod = 15 * time.Second

// Options configure a Coordinator.
type Options struct {
	// Pool is the shared database (the spool's pool may be shared). Required.
	Pool *pgxpool.Pool
	// Gateway is this gateway's id, unique in the cluster and stable across restarts. Required.
	Gateway string
	// Host, PID and Address describe the gateway in cluster_gateways (Address: where an
	// operator reaches its dashboard, e.g. http://10.0.0.5:8631). Host and PID default to this
	// process's.
	Host    string
	PID     int
	Address string
	// Printers are the printers of the configuration (every gateway has the same list).
	Printers []string
	// LeasePeriod is a lease's time to live; leases are renewed every third of it.
	LeasePeriod time.Duration
	// Logger receives lease and leader changes; nil is slog.Default().
	Logger *slog.Logger
}

// Coordinator is one gateway's part in the cluster.
type Coordinator struct {
	opts Options
	pool *pgxpool.Pool
	log  *slog.Logger
	ttl  time.Duration
	// margin is how much earlier than the database's expiry this gateway stops driving.
	margin time.Duration

	mu sync.Mutex
	// held are this gateway's leases: epoch, local deadline, previous holder, yielding since.
	held map[string]*held
	// leader is this gateway's leader lease (zero deadline: not leader).
	leaderEpoch    int64
	leaderDeadline time.Time
	// view is every printer's holder, cluster-wide, as the last round read it.
	view map[string]string
	// yielded are yielding printers the scheduler has let go of.
	yielded map[string]bool
	// lastState is what subscribers were last told (a change signals them).
	lastState string

	subs   *hub
	notify *Notifier
	poke   chan struct{}
	// rearm tells the lapse watcher that a deadline changed.
	rearm chan struct{}
	// paused stops the rounds (tests: a gateway cut off from the database, whose leases must
	// lapse on its own clock while the rest of it runs).
	paused atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

type held struct {
	epoch    int64
	deadline time.Time
	previous string
	yielding time.Time
}

// Start migrates the schema, registers the gateway, takes its first leases and starts the
// renewal loop and the notifier. Close stops them.
func Start(ctx context.Context, o Options) (*Coordinator, error) {
	if o.Pool == nil {
		return nil, errors.New("cluster: no database pool")
	}
	if o.Gateway == "" {
		return nil, errors.New("cluster: no gateway id")
	}
	if o.LeasePeriod <= 0 {
		o.LeasePeriod = DefaultLeasePeriod
	}
	if o.LeasePeriod < 300*time.Millisecond {
		return nil, fmt.Errorf("cluster: lease period %v: at least 300ms", o.LeasePeriod)
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Printers = slices.Clone(o.Printers)
	slices.Sort(o.Printers)
	o.Printers = slices.Compact(o.Printers)
	if err := migrate(ctx, o.Pool); err != nil {
		return nil, err
	}
	c := &Coordinator{opts: o, pool: o.Pool, log: o.Logger.With("gateway", o.Gateway), ttl: o.LeasePeriod,
		margin: o.LeasePeriod / 5, held: map[string]*held{}, view: map[string]string{}, yielded: map[string]bool{},
		subs: newHub(), poke: make(chan struct{}, 1), rearm: make(chan struct{}, 1)}
	n, err := newNotifier(o.Pool, o.Gateway, c.log, c.remote)
	if err != nil {
		return nil, err
	}
	c.notify = n
	if err := c.round(ctx); err != nil {
		n.Close()
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.loop(lctx)
	}()
	go func() {
		defer c.wg.Done()
		c.watchLapse(lctx)
	}()
	return c, nil
}

// Close stops renewing and hands every lease and the leadership back at once, so that the
// other gateways take them without waiting for them to lapse. Close the scheduler first: its
// flights must be over before the leases go.
func (c *Coordinator) Close() error {
	c.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var errs []error
	if _, err := c.pool.Exec(ctx, `UPDATE cluster_printer_leases SET expires_at = now() WHERE holder = $1 AND expires_at > now()`,
		c.opts.Gateway); err != nil {
		errs = append(errs, fmt.Errorf("cluster: release leases: %w", err))
	}
	if _, err := c.pool.Exec(ctx, `UPDATE cluster_leader SET expires_at = now() WHERE holder = $1 AND expires_at > now()`,
		c.opts.Gateway); err != nil {
		errs = append(errs, fmt.Errorf("cluster: release leadership: %w", err))
	}
	if _, err := c.pool.Exec(ctx, `DELETE FROM cluster_gateways WHERE id = $1`, c.opts.Gateway); err != nil {
		errs = append(errs, fmt.Errorf("cluster: deregister: %w", err))
	}
	if len(errs) == 0 {
		c.notify.send(ctx, queue.NoticeLeaseMoved, "")
	}
	return errors.Join(errs...)
}

// stop ends the loop and the notifier without releasing anything (what a crash leaves: the
// leases lapse on their own). Tests use it to play a gateway that died.
func (c *Coordinator) stop() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for _, h := range c.held {
		h.deadline = time.Time{}
	}
	c.leaderDeadline = time.Time{}
	c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
	c.notify.Close()
	c.signalIfChanged()
}

// Gateway is this gateway's id.
func (c *Coordinator) Gateway() string { return c.opts.Gateway }

// Lease is this gateway's lease on printer, and who drives it cluster-wide.
func (c *Coordinator) Lease(printer string) queue.Lease {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leaseLocked(printer, time.Now())
}

func (c *Coordinator) leaseLocked(printer string, now time.Time) queue.Lease {
	h := c.held[printer]
	if h == nil || !now.Before(h.deadline) {
		gw := c.view[printer]
		if gw == c.opts.Gateway {
			gw = ""
		}
		return queue.Lease{Gateway: gw}
	}
	return queue.Lease{Held: true, Yielding: !h.yielding.IsZero(), Epoch: h.epoch, Gateway: c.opts.Gateway,
		Previous: h.previous}
}

// Leader: this gateway holds the leader lease now.
func (c *Coordinator) Leader() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Before(c.leaderDeadline)
}

// LeaderEpoch is the leader lease's epoch while this gateway leads (0 otherwise).
func (c *Coordinator) LeaderEpoch() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !time.Now().Before(c.leaderDeadline) {
		return 0
	}
	return c.leaderEpoch
}

// Yielded lets a yielding printer's lease go (at the next round, which it hastens).
func (c *Coordinator) Yielded(printer string) {
	c.mu.Lock()
	if h := c.held[printer]; h != nil && !h.yielding.IsZero() {
		c.yielded[printer] = true
	}
	c.mu.Unlock()
	c.wake()
}

// Publish tells the other gateways about a change (coalesced; never blocks).
func (c *Coordinator) Publish(kind, name string) { c.notify.Publish(kind, name) }

// Subscribe returns a channel signalled on topic, and a function to stop.
func (c *Coordinator) Subscribe(t queue.Topic) (<-chan struct{}, func()) { return c.subs.subscribe(t) }

// remote is the notifier's callback for another gateway's notice.
func (c *Coordinator) remote(kind string) {
	c.subs.signal(queue.TopicJobs)
	if kind == queue.NoticeSchedulesChanged {
		c.subs.signal(queue.TopicSchedules)
	}
	if kind == queue.NoticeLeaseMoved {
		// A lease was let go or taken: look again now rather than at the next renewal.
		c.wake()
	}
}

func (c *Coordinator) wake() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// loop renews every third of the lease period, and at once when poked.
func (c *Coordinator) loop(ctx context.Context) {
	every := c.ttl / 3
	t := time.NewTimer(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		case <-t.C:
		}
		if !c.paused.Load() {
			rctx, cancel := context.WithTimeout(ctx, every)
			if err := c.round(rctx); err != nil && ctx.Err() == nil {
				c.log.Warn("cluster lease round failed; leases lapse on their own if the database stays away", "err", err)
			}
			cancel()
		}
		select {
		case c.rearm <- struct{}{}:
		default:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(every)
	}
}

// watchLapse signals subscribers the moment a lease or the leadership lapses on the local
// clock. It runs apart from the rounds, so a round stuck on an unanswering database cannot
// delay the scheduler's stop past the database's expiry.
func (c *Coordinator) watchLapse(ctx context.Context) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.armLapse(t)
		select {
		case <-ctx.Done():
			return
		case <-c.rearm:
		case <-t.C:
			c.signalIfChanged()
		}
	}
}

// armLapse sets the timer to the earliest local deadline still ahead.
func (c *Coordinator) armLapse(t *time.Timer) {
	c.mu.Lock()
	now := time.Now()
	next := c.leaderDeadline
	for _, h := range c.held {
		if h.deadline.After(now) && (next.IsZero() || !next.After(now) || h.deadline.Before(next)) {
			next = h.deadline
		}
	}
	c.mu.Unlock()
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	d := time.Hour
	if next.After(now) {
		d = next.Sub(now) + time.Millisecond
	}
	t.Reset(d)
}

// state is a fingerprint of what subscribers act on: held printers (with yielding) and
// leadership, as of now.
func (c *Coordinator) state() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	s := fmt.Sprint(now.Before(c.leaderDeadline), ";")
	for _, p := range c.opts.Printers {
		l := c.leaseLocked(p, now)
		s += fmt.Sprint(p, "=", l.Held, l.Yielding, l.Epoch, l.Gateway, ";")
	}
	return s
}

func (c *Coordinator) signalIfChanged() {
	s := c.state()
	c.mu.Lock()
	changed := s != c.lastState
	c.lastState = s
	c.mu.Unlock()
	if changed {
		c.subs.signal(queue.TopicLeases)
	}
}

// round is one renewal: heartbeat, renew held leases, let yielded ones go, read the cluster,
// take or give up printers to even the spread, renew or take the leadership.
func (c *Coordinator) round(ctx context.Context) error {
	defer c.signalIfChanged()
	start := time.Now()
	deadline := start.Add(c.ttl - c.margin)
	ttl := c.ttl.Seconds()
	me := c.opts.Gateway
	if _, err := c.pool.Exec(ctx, `
INSERT INTO cluster_gateways (id, host, pid, address) VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, address = excluded.address, last_seen = now()`,
		me, c.opts.Host, c.opts.PID, c.opts.Address); err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	// Let go of what the scheduler has finished with, before renewing the rest.
	c.mu.Lock()
	var release []string
	var releaseEpochs []int64
	for p := range c.yielded {
		if h := c.held[p]; h != nil {
			release = append(release, p)
			releaseEpochs = append(releaseEpochs, h.epoch)
		}
	}
	// A lease that lapsed on this gateway's clock is over even if the database has not let it
	// go yet (the database was out of reach for a while): the scheduler has stopped its
	// flights and left its printing jobs to the next holder, so it is let go, not renewed, and
	// taken afresh with a new epoch.
	var renew []string
	for p, h := range c.held {
		if !c.yielded[p] && !start.Before(h.deadline) {
			release = append(release, p)
			releaseEpochs = append(releaseEpochs, h.epoch)
		} else if !c.yielded[p] {
			renew = append(renew, p)
		}
	}
	c.mu.Unlock()
	for i, p := range release {
		if err := c.release(ctx, p, releaseEpochs[i]); err != nil {
			return err
		}
	}
	// Renew, in one statement, every lease still ours in the database.
	rows, err := c.pool.Query(ctx, `
UPDATE cluster_printer_leases SET expires_at = now() + make_interval(secs => $2)
 WHERE holder = $1 AND expires_at > now() AND printer = ANY($3)
RETURNING printer, epoch`, me, ttl, renew)
	if err != nil {
		return fmt.Errorf("cluster: renew leases: %w", err)
	}
	renewed := map[string]int64{}
	for rows.Next() {
		var p string
		var e int64
		if err := rows.Scan(&p, &e); err != nil {
			rows.Close()
			return fmt.Errorf("cluster: renew leases: %w", err)
		}
		renewed[p] = e
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cluster: renew leases: %w", err)
	}
	c.mu.Lock()
	for p, h := range c.held {
		e, ok := renewed[p]
		if !ok || e != h.epoch {
			delete(c.held, p) // lapsed in the database (a pause longer than the lease)
			continue
		}
		h.deadline = deadline
		if !h.yielding.IsZero() && start.Sub(h.yielding) > 2*c.ttl {
			// The scheduler never let go (a job stuck sending): stop driving now; the
			// database lease goes at the next round, once its flights have been stopped.
			h.deadline = time.Time{}
			c.yielded[p] = true
		}
	}
	c.mu.Unlock()
	if err := c.balance(ctx, start, deadline); err != nil {
		return err
	}
	return c.lead(ctx, start, deadline)
}

// release lets a lease go now: it expires in the database at once.
func (c *Coordinator) release(ctx context.Context, p string, epoch int64) error {
	if _, err := c.pool.Exec(ctx, `UPDATE cluster_printer_leases SET expires_at = now()
 WHERE printer = $1 AND holder = $2 AND epoch = $3`, p, c.opts.Gateway, epoch); err != nil {
		return fmt.Errorf("cluster: release lease on %s: %w", p, err)
	}
	c.mu.Lock()
	delete(c.held, p)
	delete(c.yielded, p)
	c.view[p] = ""
	c.mu.Unlock()
	c.log.Info("lease handed over", "printer", p, "epoch", epoch)
	c.notify.Publish(queue.NoticeLeaseMoved, p)
	return nil
}

// balance reads who holds what and evens the spread: this gateway takes free printers up to
// its share, ceil(printers / live gateways), and yields printers above its share only while a
// live gateway has fewer than its share (the hysteresis: a spread within one printer of even
// is left alone, so leases do not move back and forth).
func (c *Coordinator) balance(ctx context.Context, start, deadline time.Time) error {
	me := c.opts.Gateway
	ttl := c.ttl.Seconds()
	var live []string
	rows, err := c.pool.Query(ctx, `SELECT id FROM cluster_gateways WHERE last_seen > now() - make_interval(secs => $1) ORDER BY id`, ttl)
	if err != nil {
		return fmt.Errorf("cluster: read gateways: %w", err)
	}
	live, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("cluster: read gateways: %w", err)
	}
	if !slices.Contains(live, me) {
		live = append(live, me)
	}
	type lease struct {
		holder string
		valid  bool
	}
	leases := map[string]lease{}
	rows, err = c.pool.Query(ctx, `SELECT printer, holder, expires_at > now() FROM cluster_printer_leases WHERE printer = ANY($1)`,
		c.opts.Printers)
	if err != nil {
		return fmt.Errorf("cluster: read leases: %w", err)
	}
	for rows.Next() {
		var p, h string
		var v bool
		if err := rows.Scan(&p, &h, &v); err != nil {
			rows.Close()
			return fmt.Errorf("cluster: read leases: %w", err)
		}
		leases[p] = lease{h, v}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("cluster: read leases: %w", err)
	}
	count := map[string]int{}
	view := map[string]string{}
	var free []string
	for _, p := range c.opts.Printers {
		l, ok := leases[p]
		if !ok || !l.valid {
			free = append(free, p)
			continue
		}
		view[p] = l.holder
		count[l.holder]++
	}
	share := (len(c.opts.Printers) + len(live) - 1) / len(live)
	c.mu.Lock()
	c.view = view
	mine := len(c.held)
	yielding := 0
	for _, h := range c.held {
		if !h.yielding.IsZero() {
			yielding++
		}
	}
	c.mu.Unlock()
	for _, p := range free {
		if mine >= share {
			break
		}
		ok, err := c.acquire(ctx, p, deadline)
		if err != nil {
			return err
		}
		if ok {
			mine++
		}
	}
	// Yield what is above the share while someone live is below it.
	want := 0
	for _, g := range live {
		if g != me && count[g] < share {
			want += share - count[g]
		}
	}
	extra := min(mine-yielding-share, want-yielding)
	if extra <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Yield from the end of the sorted list, so a gateway keeps the same printers over time.
	for i := len(c.opts.Printers) - 1; i >= 0 && extra > 0; i-- {
		if h := c.held[c.opts.Printers[i]]; h != nil && h.yielding.IsZero() {
			h.yielding = start
			extra--
			c.log.Info("yielding a printer to even the spread", "printer", c.opts.Printers[i], "share", share,
				"live_gateways", len(live))
		}
	}
	return nil
}

// acquire takes printer p's lease if it is free or lapsed, in one statement; the epoch grows
// whenever the lease changes hands (or comes back to this gateway after lapsing).
func (c *Coordinator) acquire(ctx context.Context, p string, deadline time.Time) (bool, error) {
	var epoch int64
	var prev *string
	err := c.pool.QueryRow(ctx, `
WITH prev AS (SELECT holder FROM cluster_printer_leases WHERE printer = $1)
INSERT INTO cluster_printer_leases AS l (printer, holder, epoch, acquired, expires_at)
VALUES ($1, $2, 1, now(), now() + make_interval(secs => $3))
ON CONFLICT (printer) DO UPDATE SET
	holder = excluded.holder,
	epoch = l.epoch + 1,
	acquired = now(),
	expires_at = excluded.expires_at
 WHERE l.expires_at <= now()
RETURNING l.epoch, (SELECT holder FROM prev)`, p, c.opts.Gateway, c.ttl.Seconds()).Scan(&epoch, &prev)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // taken meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("cluster: acquire lease on %s: %w", p, err)
	}
	previous := ""
	if prev != nil && *prev != c.opts.Gateway {
		previous = *prev
	}
	c.mu.Lock()
	c.held[p] = &held{epoch: epoch, deadline: deadline, previous: previous}
	c.view[p] = c.opts.Gateway
	c.mu.Unlock()
	c.log.Info("lease acquired", "printer", p, "epoch", epoch, "from", previous)
	c.notify.Publish(queue.NoticeLeaseMoved, p)
	return true, nil
}

// lead renews or takes the leader lease.
func (c *Coordinator) lead(ctx context.Context, start, deadline time.Time) error {
	var epoch int64
	err := c.pool.QueryRow(ctx, `
INSERT INTO cluster_leader AS l (id, holder, epoch, acquired, expires_at)
VALUES (1, $1, 1, now(), now() + make_interval(secs => $2))
ON CONFLICT (id) DO UPDATE SET
	holder = excluded.holder,
	epoch = CASE WHEN l.holder = excluded.holder AND l.expires_at > now() THEN l.epoch ELSE l.epoch + 1 END,
	acquired = CASE WHEN l.holder = excluded.holder AND l.expires_at > now() THEN l.acquired ELSE now() END,
	expires_at = excluded.expires_at
 WHERE l.holder = excluded.holder OR l.expires_at <= now()
RETURNING l.epoch`, c.opts.Gateway, c.ttl.Seconds()).Scan(&epoch)
	c.mu.Lock()
	defer c.mu.Unlock()
	was := c.leaderEpoch != 0 && start.Before(c.leaderDeadline)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		c.leaderEpoch, c.leaderDeadline = 0, time.Time{}
		if was {
			c.log.Warn("leadership lost")
		}
		return nil
	case err != nil:
		return fmt.Errorf("cluster: leader lease: %w", err)
	}
	if !was || epoch != c.leaderEpoch {
		c.log.Info("leader", "epoch", epoch)
	}
	c.leaderEpoch, c.leaderDeadline = epoch, deadline
	return nil
}

// FireOnce claims schedule id's firing due at due: one row per (schedule, due) under a primary
// key, so however many gateways believe they lead, one of them fires it. A claim whose gateway
// has stopped heartbeating (it died between claiming and firing) may be taken over, or the
// firing would be lost; a live claimer is never overruled.
func (c *Coordinator) FireOnce(ctx context.Context, scheduleID int64, due time.Time) (bool, error) {
	var gw string
	err := c.pool.QueryRow(ctx, `
INSERT INTO cluster_schedule_fires AS f (schedule_id, due, gateway) VALUES ($1, $2, $3)
ON CONFLICT (schedule_id, due) DO UPDATE SET gateway = excluded.gateway, claimed_at = now(), takeovers = f.takeovers + 1
 WHERE f.gateway <> excluded.gateway AND NOT EXISTS (
	SELECT 1 FROM cluster_gateways g WHERE g.id = f.gateway AND g.last_seen > now() - make_interval(secs => $4))
RETURNING gateway`, scheduleID, due, c.opts.Gateway, c.ttl.Seconds()).Scan(&gw)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cluster: claim firing of schedule %d due %s: %w", scheduleID, due.Format(time.RFC3339), err)
	}
	// Old claims are no use once their schedules have moved on.
	if _, err := c.pool.Exec(ctx, `DELETE FROM cluster_schedule_fires WHERE claimed_at < now() - interval '30 days'`); err != nil {
		c.log.Warn("prune old schedule claims", "err", err)
	}
	return true, nil
}

// Member is one gateway as cluster_gateways has it.
type Member struct {
	ID       string    `json:"id"`
	Host     string    `json:"host"`
	PID      int       `json:"pid"`
	Address  string    `json:"address,omitempty"`
	Started  time.Time `json:"started"`
	LastSeen time.Time `json:"last_seen"`
	// Live: heartbeat within the lease period.
	Live bool `json:"live"`
}

// Members lists the registered gateways.
func (c *Coordinator) Members(ctx context.Context) ([]Member, error) {
	rows, err := c.pool.Query(ctx, `SELECT id, host, pid, address, started, last_seen,
	last_seen > now() - make_interval(secs => $1) FROM cluster_gateways ORDER BY id`, c.ttl.Seconds())
	if err != nil {
		return nil, fmt.Errorf("cluster: members: %w", err)
	}
	var out []Member
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.ID, &m.Host, &m.PID, &m.Address, &m.Started, &m.LastSeen, &m.Live); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cluster: members: %w", err)
		}
		out = append(out, m)
	}
	rows.Close()
	return out, rows.Err()
}
