// Draining a printer while a hand-over to it is on the wire and comes back busy.
package queue

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// gatedPrinter is a one-job-at-a-time simPrinter whose next busy answer can be held back, so a
// test can act while a Send is in progress and then let it answer busy.
type gatedPrinter struct {
	*simPrinter
	mu     sync.Mutex
	gate   chan struct{} // when set, the next busy answer waits until it is closed
	onWire chan struct{} // closed when that answer is being held
}

func (p *gatedPrinter) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	r, err := p.simPrinter.Send(ctx, j)
	if errors.Is(err, printers.ErrBusy) {
		p.mu.Lock()
		gate, onWire := p.gate, p.onWire
		p.gate = nil
		p.mu.Unlock()
		if gate != nil {
			close(onWire)
			<-gate
		}
	}
	return r, err
}

// TestDrainDuringBusyHandOver: job 2 is being handed to printer a, which is printing job 1 and
// answers busy; the operator drains a before that answer arrives. Drain takes back only the
// jobs already waiting, so job 2 must be taken back when the busy answer comes, not handed to
// the drained printer once it is free.
func TestDrainDuringBusyHandOver(t *testing.T) {
	t.Parallel()
	sa := newSimPrinter("a", 600) // 0.1 s a page
	sa.oneAtATime = true
	gate := make(chan struct{})
	a := &gatedPrinter{simPrinter: sa, gate: gate, onWire: make(chan struct{})}
	b := newSimPrinter("b", 600)
	store, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), PageCounter: simPageCounter})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := New(Options{Store: store,
		Printers:      []PrinterSpec{{Name: "a", URI: "sim://a", Printer: a, PPM: 600}, {Name: "b", URI: "sim://b", Printer: b, PPM: 600}},
		Virtual:       []VirtualSpec{{Name: "letters", Pool: []string{"a", "b"}, Default: true}},
		ProbeInterval: 20 * time.Millisecond, ProbeTimeout: 20 * time.Millisecond, FailAfter: 2, RecoverAfter: 2,
		GracePeriod: time.Second, BusyRetry: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := &simRig{store: store, sched: sched}
	r.start(t)
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the rig stops: a held Send would keep the scheduler from stopping
	ctx := context.Background()
	simWaitFor(t, 5*time.Second, "both printers usable", func() bool {
		pa, _ := sched.Printer("a")
		pb, _ := sched.Printer("b")
		return pa.State.Usable() && pb.State.Usable()
	})
	if err := sched.Drain(ctx, "b", "ops", true); err != nil {
		t.Fatal(err)
	}
	ids := r.submit(t, "letters", []int{10})               // job 1: a prints it for a second
	ids = append(ids, r.submit(t, "letters", []int{1})...) // job 2: handed to a, busy
	select {
	case <-a.onWire:
	case <-time.After(5 * time.Second):
		t.Fatal("job 2 was never handed to a while a was busy")
	}
	if err := sched.Drain(ctx, "a", "ops", true); err != nil {
		t.Fatal(err)
	}
	if err := sched.Drain(ctx, "b", "ops", false); err != nil {
		t.Fatal(err)
	}
	release()
	r.waitFinal(t, 2, 10*time.Second)
	j1, _ := store.Job(ctx, ids[0])
	j2, _ := store.Job(ctx, ids[1])
	if j1.State != job.StateCompleted || j1.Printer != "a" {
		t.Errorf("job 1 (in flight at a when drained): %s on %s, want completed on a", j1.State, j1.Printer)
	}
	if j2.State != job.StateCompleted || j2.Printer != "b" || j2.PossibleDuplicate {
		t.Errorf("job 2 (answered busy by a after the drain): %s on %s, flagged %v; want completed on b, unflagged",
			j2.State, j2.Printer, j2.PossibleDuplicate)
	}
	var moved bool
	for _, e := range simEvents(t, r, job.EventFilter{JobID: ids[1]}) {
		moved = moved || (e.Kind == job.EventOperator && e.Actor == "ops" && e.To == string(job.StatePending))
	}
	if !moved {
		t.Errorf("no operator event by ops requeued job 2")
	}
}
