//go:build peers

package cluster

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
)

// wire is one physical printer shared by the gateways of a test: it records who is sending and
// notes every instant two gateways were sending to it at once.
type wire struct {
	name string
	mu   sync.Mutex
	// sending counts each gateway's sends in progress; senders who ever sent.
	sending map[string]int
	senders map[string]int
	overlap []string
}

func newWire(name string) *wire {
	return &wire{name: name, sending: map[string]int{}, senders: map[string]int{}}
}

func (w *wire) sentBy(gw string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.senders[gw]
}

// port is a gateway's connection to a wire (a printers.Printer).
type port struct {
	w  *wire
	gw string
}

func (p port) Name() string { return p.w.name }

func (p port) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	p.w.mu.Lock()
	for other, n := range p.w.sending {
		if other != p.gw && n > 0 {
			p.w.overlap = append(p.w.overlap, fmt.Sprintf("%s sent job %d while %s was sending", p.gw, j.ID, other))
		}
	}
	p.w.sending[p.gw]++
	p.w.senders[p.gw]++
	p.w.mu.Unlock()
	defer func() {
		p.w.mu.Lock()
		p.w.sending[p.gw]--
		p.w.mu.Unlock()
	}()
	// A transfer that takes a while: long enough to be on the wire when a lease lapses.
	t := time.NewTimer(40 * time.Millisecond)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return printers.Receipt{}, ctx.Err()
	case <-t.C:
	}
	return printers.Receipt{Done: true}, nil
}

func (p port) Watch(context.Context, printers.Receipt, func(int)) (printers.Outcome, error) {
	return printers.OutcomeCompleted, nil
}

func (p port) Cancel(context.Context, printers.Receipt) error { return nil }
func (p port) Close() error                                   { return nil }
func (p port) Probe(context.Context) (printers.Status, error) {
	return printers.Status{State: printers.StateReady, Accepting: true, PPM: 6000}, nil
}

// member is one gateway of the test: a coordinator and a scheduler on a SQLite spool of its own.
type member struct {
	coord *Coordinator
	store *spool.Store
	sched *queue.Scheduler
	stop  func()
}

func startMember(t *testing.T, c *Coordinator, wires []*wire) *member {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), Logger: log,
		PageCounter: func(io.ReadSeeker, int64, string) (int, bool) { return 1, false }})
	if err != nil {
		t.Fatal(err)
	}
	var specs []queue.PrinterSpec
	var pool []string
	for _, w := range wires {
		specs = append(specs, queue.PrinterSpec{Name: w.name, Printer: port{w, c.Gateway()}, PPM: 6000, MaxInflight: 1})
		pool = append(pool, w.name)
	}
	sched, err := queue.New(queue.Options{Store: store, Printers: specs, Coordinator: c, Logger: log,
		ProbeInterval: time.Hour, Virtual: []queue.VirtualSpec{{Name: "letters", Pool: pool, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	m := &member{coord: c, store: store, sched: sched}
	var once sync.Once
	m.stop = func() {
		once.Do(func() {
			cancel()
			<-done
			store.Close()
		})
	}
	t.Cleanup(m.stop)
	<-sched.Running()
	return m
}

func (m *member) submit(t *testing.T, n int) []int64 {
	t.Helper()
	var ids []int64
	for i := range n {
		st, err := m.sched.Stage(context.Background(), bytes.NewReader([]byte(fmt.Sprintf("%%PDF-1.4 %d", i))), "l", "application/pdf")
		if err != nil {
			t.Fatal(err)
		}
		j, err := m.sched.Submit(context.Background(), job.NewJob{Name: "letter", Origin: "test"}, []*job.Staged{st})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	return ids
}

func (m *member) allCompleted(t *testing.T, ids []int64) bool {
	for _, id := range ids {
		j, err := m.store.Job(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != job.StateCompleted {
			return false
		}
	}
	return true
}

// TestSchedulersNeverShareAPrinter: two gateways' schedulers, each obeying its Coordinator on one
// database, send to two shared printers. One is cut off from the database while sending: it
// stops on its own clock before the other can take its printer, so no printer ever has two
// gateways sending at once; the other takes the printer over (a lease event), and when the
// first comes back the printers spread again and every job of both completes.
func TestSchedulersNeverShareAPrinter(t *testing.T) {
	pool := newPool(t)
	wires := []*wire{newWire("p1"), newWire("p2")}
	names := []string{"p1", "p2"}
	ca := start(t, pool, "gw-a", names)
	cb := start(t, pool, "gw-b", names)
	a := startMember(t, ca, wires)
	b := startMember(t, cb, wires)
	waitFor(t, "one printer each", func() bool { return spread([]*Coordinator{ca, cb}, names, 1) })
	var aHeld *wire
	for _, w := range wires {
		if ca.Lease(w.name).Held {
			aHeld = w
		}
	}
	idsA := a.submit(t, 60)
	idsB := b.submit(t, 60)
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range []*member{a, b} {
				js, _ := m.store.Jobs(context.Background(), job.JobFilter{Limit: 5})
				for _, j := range js {
					t.Logf("%s job %d %s %q %s", m.coord.Gateway(), j.ID, j.State, j.Printer, j.StateReason)
				}
				t.Logf("%s leases p1 %+v p2 %+v leader %v", m.coord.Gateway(), m.coord.Lease("p1"), m.coord.Lease("p2"), m.coord.Leader())
			}
		}
	})
	waitFor(t, "a sending to its printer", func() bool { return aHeld.sentBy("gw-a") >= 3 })
	// a loses the database: no more rounds, its leases lapse on its own clock.
	ca.paused.Store(true)
	waitFor(t, "b driving a's printer", func() bool { return aHeld.sentBy("gw-b") > 0 })
	evs, err := b.store.Events(context.Background(), job.EventFilter{Kinds: []string{job.EventLease}, Printer: aHeld.name, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 || evs[0].From != "gw-a" || evs[0].To != "gw-b" {
		t.Errorf("b's lease events for %s: %+v, want one from gw-a to gw-b", aHeld.name, evs)
	}
	// a comes back: it takes its share again and finishes its jobs.
	ca.paused.Store(false)
	waitFor(t, "every job of both completed", func() bool { return a.allCompleted(t, idsA) && b.allCompleted(t, idsB) })
	for _, w := range wires {
		w.mu.Lock()
		if len(w.overlap) > 0 {
			t.Errorf("%s had two gateways sending at once: %v", w.name, w.overlap)
		}
		t.Logf("%s: sends by gateway %v", w.name, w.senders)
		w.mu.Unlock()
	}
	// a's job cut on the wire when its lease lapsed went back as a possible duplicate.
	dups, err := a.store.Jobs(context.Background(), job.JobFilter{PossibleDuplicate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("a's jobs flagged possible duplicate: %d", len(dups))
}
