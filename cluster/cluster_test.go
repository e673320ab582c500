//go:build peers

package cluster

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/goleak"

	"github.com/printgate/printgate/internal/pgtest"
	"github.com/printgate/printgate/queue"
)

// pg is the test binary's PostgreSQL server; each test takes a database of its own.
var pg *pgtest.Cluster

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{})
	cancel()
	if err != nil {
		// Built with the peers tag: a missing PostgreSQL is a failure, not a skip.
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pg = c
	code := m.Run()
	c.Stop()
	os.Exit(code)
}

// period is the lease period of the tests: short, so that a lapsed lease moves soon, and long
// enough that a loaded machine renews within it.
const period = 900 * time.Millisecond

// newPool opens a pool on a fresh database, closed with the test.
func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := pg.NewDatabase(t)
	return openPool(t, url)
}

func openPool(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func start(t *testing.T, pool *pgxpool.Pool, id string, printers []string) *Coordinator {
	t.Helper()
	c, err := Start(t.Context(), Options{Pool: pool, Gateway: id, Printers: printers, LeasePeriod: period,
		Address: "http://127.0.0.1:1/" + id})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop() })
	return c
}

// yieldFor plays the scheduler's part in a hand-over: a yielding printer is let go at once.
func yieldFor(t *testing.T, c *Coordinator) {
	ch, stop := c.Subscribe(queue.TopicLeases)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-ch:
				for _, p := range c.opts.Printers {
					if l := c.Lease(p); l.Held && l.Yielding {
						c.Yielded(p)
					}
				}
			}
		}
	}()
	t.Cleanup(func() {
		close(done)
		wg.Wait()
		stop()
	})
}

// waitFor polls cond until it holds, failing the test after a generous bound (a wait, not a
// measure of speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * period)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, 30*period)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdings maps each coordinator to the printers it holds now.
func holdings(cs []*Coordinator, printers []string) map[string][]string {
	out := map[string][]string{}
	for _, c := range cs {
		for _, p := range printers {
			if c.Lease(p).Held {
				out[c.Gateway()] = append(out[c.Gateway()], p)
			}
		}
	}
	return out
}

// spread: every printer held by exactly one coordinator, each holding n.
func spread(cs []*Coordinator, printers []string, n int) bool {
	h := holdings(cs, printers)
	seen := map[string]int{}
	for _, c := range cs {
		if len(h[c.Gateway()]) != n {
			return false
		}
		for _, p := range h[c.Gateway()] {
			seen[p]++
		}
	}
	for _, p := range printers {
		if seen[p] != 1 {
			return false
		}
	}
	return true
}

var six = []string{"p1", "p2", "p3", "p4", "p5", "p6"}

// TestLeasesSpreadAcrossGateways: three gateways on six printers end with two each, one holder a
// printer, however their starts interleave (the first alone takes all six and yields four).
func TestLeasesSpreadAcrossGateways(t *testing.T) {
	pool := newPool(t)
	var cs []*Coordinator
	for _, id := range []string{"gw-a", "gw-b", "gw-c"} {
		c := start(t, pool, id, six)
		yieldFor(t, c)
		cs = append(cs, c)
	}
	waitFor(t, "two printers each", func() bool { return spread(cs, six, 2) })
	// The database agrees: one row a printer, held by the gateway that says it holds it.
	for _, c := range cs {
		for _, p := range six {
			l := c.Lease(p)
			if !l.Held {
				continue
			}
			var holder string
			var epoch int64
			if err := pool.QueryRow(t.Context(), `SELECT holder, epoch FROM cluster_printer_leases WHERE printer = $1`, p).
				Scan(&holder, &epoch); err != nil {
				t.Fatal(err)
			}
			if holder != c.Gateway() || epoch != l.Epoch || epoch < 1 {
				t.Errorf("%s: database says %s epoch %d, %s says it holds epoch %d", p, holder, epoch, c.Gateway(), l.Epoch)
			}
		}
	}
	// Every gateway sees who drives each printer.
	for _, p := range six {
		var driver string
		for _, c := range cs {
			if c.Lease(p).Held {
				driver = c.Gateway()
			}
		}
		for _, c := range cs {
			waitFor(t, "view of "+p, func() bool { return c.Lease(p).Gateway == driver })
		}
	}
}

// TestSpreadIsStable: two gateways on three printers split two and one and stay so: the
// hysteresis keeps a spread within one printer of even from moving back and forth.
func TestSpreadIsStable(t *testing.T) {
	pool := newPool(t)
	three := six[:3]
	a := start(t, pool, "gw-a", three)
	b := start(t, pool, "gw-b", three)
	yieldFor(t, a)
	yieldFor(t, b)
	cs := []*Coordinator{a, b}
	waitFor(t, "a split of two and one", func() bool {
		h := holdings(cs, three)
		return len(h["gw-a"])+len(h["gw-b"]) == 3 && len(h["gw-a"]) >= 1 && len(h["gw-b"]) >= 1
	})
	epochs := func() map[string]int64 {
		m := map[string]int64{}
		rows, err := pool.Query(t.Context(), `SELECT printer, epoch FROM cluster_printer_leases`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var p string
			var e int64
			rows.Scan(&p, &e)
			m[p] = e
		}
		return m
	}
	before := epochs()
	// Six rounds of renewal: nothing may change hands.
	time.Sleep(2 * period)
	if after := epochs(); !mapsEqual(before, after) {
		t.Fatalf("leases moved without a gateway joining or leaving: %v -> %v", before, after)
	}
}

func mapsEqual(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLeaseMovesWhenHolderStops: a gateway that stops renewing (a crash) loses its printers to
// the other, never before its leases expired in the database, with a higher epoch; its fenced
// writes are refused and the new holder's go through.
func TestLeaseMovesWhenHolderStops(t *testing.T) {
	pool := newPool(t)
	four := six[:4]
	a := start(t, pool, "gw-a", four)
	b := start(t, pool, "gw-b", four)
	yieldFor(t, a)
	yieldFor(t, b)
	cs := []*Coordinator{a, b}
	waitFor(t, "two each", func() bool { return spread(cs, four, 2) })
	old := map[string]int64{}
	for _, p := range holdings(cs, four)["gw-a"] {
		old[p] = a.Lease(p).Epoch
	}
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE fenced_jobs (id int PRIMARY KEY, printer text, state text)`); err != nil {
		t.Fatal(err)
	}
	for i, p := range four {
		if _, err := pool.Exec(ctx, `INSERT INTO fenced_jobs VALUES ($1, $2, 'sending')`, i, p); err != nil {
			t.Fatal(err)
		}
	}
	a.stop() // no release: the leases lapse on their own
	for p := range old {
		if a.Lease(p).Held {
			t.Fatalf("a stopped gateway still says it holds %s", p)
		}
	}
	expired := map[string]time.Time{}
	for p := range old {
		var holder string
		var exp time.Time
		if err := pool.QueryRow(ctx, `SELECT holder, expires_at FROM cluster_printer_leases WHERE printer = $1`, p).
			Scan(&holder, &exp); err != nil {
			t.Fatal(err)
		}
		if holder == "gw-a" {
			expired[p] = exp
		}
	}
	waitFor(t, "b holds all four", func() bool { return len(holdings(cs, four)["gw-b"]) == 4 })
	for p, e := range old {
		l := b.Lease(p)
		if l.Epoch <= e {
			t.Errorf("%s: epoch %d after the move, %d before: it must grow when the holder changes", p, l.Epoch, e)
		}
		if l.Previous != "gw-a" {
			t.Errorf("%s: previous holder %q, want gw-a", p, l.Previous)
		}
		var acquired time.Time
		if err := pool.QueryRow(ctx, `SELECT acquired FROM cluster_printer_leases WHERE printer = $1`, p).Scan(&acquired); err != nil {
			t.Fatal(err)
		}
		if exp, ok := expired[p]; ok {
			if acquired.Before(exp) {
				t.Errorf("%s: taken at %v, before a's lease expired at %v", p, acquired, exp)
			}
			t.Logf("%s moved %v after a's lease expired (lease period %v)", p, acquired.Sub(exp), period)
		}
		// The fence: a's write with its old epoch changes nothing; b's with the new one does.
		tag, err := pool.Exec(ctx, `UPDATE fenced_jobs SET state = 'completed' WHERE printer = $1 AND `+
			`cluster_lease_valid($1, $2, $3)`, p, "gw-a", e)
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("%s: the stale holder's fenced write changed %d rows", p, tag.RowsAffected())
		}
		gw, epoch, ok := b.Fence(p)
		if !ok {
			t.Fatalf("%s: b holds it but Fence says not", p)
		}
		tag, err = pool.Exec(ctx, `UPDATE fenced_jobs SET state = 'completed' WHERE printer = $1 AND `+
			`cluster_lease_valid($1, $2, $3)`, p, gw, epoch)
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() != 1 {
			t.Errorf("%s: the holder's fenced write changed %d rows, want 1", p, tag.RowsAffected())
		}
	}
}

// TestCloseHandsLeasesOver: a gateway stopped cleanly gives its leases and the leadership back
// at once, and leaves no goroutine behind.
func TestCloseHandsLeasesOver(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	url := pg.NewDatabase(t)
	poolA, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	poolB, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	four := six[:4]
	a, err := Start(t.Context(), Options{Pool: poolA, Gateway: "gw-a", Printers: four, LeasePeriod: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Start(t.Context(), Options{Pool: poolB, Gateway: "gw-b", Printers: four, LeasePeriod: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Leader() || b.Leader() {
		t.Fatalf("leader: a %v, b %v; want a, the first", a.Leader(), b.Leader())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	// With a five-second lease, b can have these only from the hand-over (and the notice that
	// hastens its round), not from a's leases lapsing, within the wait below.
	deadline := time.Now().Add(4 * time.Second)
	for !(b.Leader() && len(holdings([]*Coordinator{b}, four)["gw-b"]) == 4) {
		if time.Now().After(deadline) {
			t.Fatalf("b did not take the released leases: leader %v, holds %v", b.Leader(), holdings([]*Coordinator{b}, four))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	poolA.Close()
	poolB.Close()
}

// TestExactlyOneLeader: of three gateways one leads at any instant; when it dies another takes
// over with a higher epoch.
func TestExactlyOneLeader(t *testing.T) {
	pool := newPool(t)
	var cs []*Coordinator
	for _, id := range []string{"gw-a", "gw-b", "gw-c"} {
		cs = append(cs, start(t, pool, id, six))
	}
	leaders := func(cs []*Coordinator) []*Coordinator {
		var out []*Coordinator
		for _, c := range cs {
			if c.Leader() {
				out = append(out, c)
			}
		}
		return out
	}
	for i := 0; i < 50; i++ {
		if n := len(leaders(cs)); n > 1 {
			t.Fatalf("%d leaders at once", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "one leader", func() bool { return len(leaders(cs)) == 1 })
	first := leaders(cs)[0]
	epoch := first.LeaderEpoch()
	first.stop()
	rest := slices.DeleteFunc(slices.Clone(cs), func(c *Coordinator) bool { return c == first })
	waitFor(t, "a new leader", func() bool { return len(leaders(rest)) == 1 })
	if e := leaders(rest)[0].LeaderEpoch(); e <= epoch {
		t.Errorf("new leader's epoch %d, old %d: it must grow", e, epoch)
	}
	for i := 0; i < 50; i++ {
		if n := len(leaders(rest)); n != 1 {
			t.Fatalf("%d leaders after the takeover", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestScheduleFiresOnceWithThreeLeadersRacing: three gateways that all believe they lead claim
// the same firings at the same instant; each firing goes to exactly one. A claim of a gateway
// that died is taken over; a live one's never.
func TestScheduleFiresOnceWithThreeLeadersRacing(t *testing.T) {
	pool := newPool(t)
	var cs []*Coordinator
	for _, id := range []string{"gw-a", "gw-b", "gw-c"} {
		cs = append(cs, start(t, pool, id, six))
	}
	due0 := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for minute := 0; minute < 20; minute++ {
		due := due0.Add(time.Duration(minute) * time.Minute)
		var wins sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		startGun := make(chan struct{})
		for _, c := range cs {
			wins.Add(1)
			go func() {
				defer wins.Done()
				<-startGun
				ok, err := c.FireOnce(t.Context(), 7, due)
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					winners = append(winners, c.Gateway())
					mu.Unlock()
				}
			}()
		}
		close(startGun)
		wins.Wait()
		if len(winners) != 1 {
			t.Fatalf("%s: fired by %v, want exactly one gateway", due.Format(time.TimeOnly), winners)
		}
		// Asking again, even by the winner, does not fire it again.
		for _, c := range cs {
			if ok, err := c.FireOnce(t.Context(), 7, due); err != nil || ok {
				t.Fatalf("%s: a second claim by %s answered %v, %v", due.Format(time.TimeOnly), c.Gateway(), ok, err)
			}
		}
	}
	// A claimer that dies before firing: once its heartbeat is stale, another may fire.
	due := due0.Add(time.Hour)
	if ok, err := cs[0].FireOnce(t.Context(), 8, due); err != nil || !ok {
		t.Fatalf("claim: %v, %v", ok, err)
	}
	if ok, _ := cs[1].FireOnce(t.Context(), 8, due); ok {
		t.Fatal("a live claimer's firing was taken over")
	}
	cs[0].stop()
	waitFor(t, "the dead claimer's firing taken over", func() bool {
		ok, err := cs[1].FireOnce(t.Context(), 8, due)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	})
	if ok, _ := cs[2].FireOnce(t.Context(), 8, due); ok {
		t.Fatal("fired a third time after the takeover")
	}
}

// TestNotifyWakesOtherGateways: a notice published on one gateway reaches the others' TopicJobs
// subscribers, also after the listener's connection was cut (it reconnects).
func TestNotifyWakesOtherGateways(t *testing.T) {
	pool := newPool(t)
	a := start(t, pool, "gw-a", six)
	b := start(t, pool, "gw-b", six)
	ch, stop := b.Subscribe(queue.TopicJobs)
	defer stop()
	<-b.notify.listening
	<-a.notify.listening
	got := func() bool {
		// Published until seen: a notice sent before the listener's LISTEN is not delivered.
		a.Publish(queue.NoticeJobAccepted, "letters")
		select {
		case <-ch:
			return true
		case <-time.After(100 * time.Millisecond):
			return false
		}
	}
	drain := func() {
		for {
			select {
			case <-ch:
			case <-time.After(3 * coalesceEvery):
				return
			}
		}
	}
	drain()
	waitFor(t, "b woken by a's notice", got)
	// Cut every LISTENing connection; b's listener reconnects and hears a again.
	if _, err := pool.Exec(t.Context(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	drain()
	waitFor(t, "b woken after its listener reconnected", got)
}

// TestMigrationConcurrent: gateways starting together on an empty database migrate it once.
func TestMigrationConcurrent(t *testing.T) {
	pool := newPool(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- migrate(t.Context(), pool)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var v, rows int
	if err := pool.QueryRow(t.Context(), `SELECT max(version), count(*) FROM cluster_schema`).Scan(&v, &rows); err != nil {
		t.Fatal(err)
	}
	if v != len(migrations) || rows != 1 {
		t.Fatalf("schema version %d in %d rows, want %d in one", v, rows, len(migrations))
	}
}
