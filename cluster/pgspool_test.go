//go:build peers

// Gateways on one PostgreSQL spool (pgspool) with real Coordinators and schedulers: the lease
// fence in the driver's UPDATE, and a cancel on the gateway that does not drive the printer.
package cluster

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/pgspool"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

// holdWire is one printer both gateways reach: it keeps every job it accepts printing until
// canceled, and says which jobs it was asked to cancel and by which gateway.
type holdWire struct {
	sent     chan string // gateway that sent a job
	canceled chan string // "gateway job" of each cancel
	// release, closed, lets the printing jobs complete (nil: they print until canceled).
	release chan struct{}
}

type holdPort struct {
	w  *holdWire
	gw string
}

func (p holdPort) Name() string { return "a" }
func (p holdPort) Send(_ context.Context, j *printers.Job) (printers.Receipt, error) {
	p.w.sent <- p.gw
	return printers.Receipt{UpstreamID: strconv.FormatInt(j.ID, 10)}, nil
}
func (p holdPort) Watch(ctx context.Context, _ printers.Receipt, _ func(int)) (printers.Outcome, error) {
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case <-p.w.release:
		return printers.OutcomeCompleted, nil
	}
}
func (p holdPort) Cancel(_ context.Context, r printers.Receipt) error {
	p.w.canceled <- p.gw + " " + r.UpstreamID
	return nil
}
func (p holdPort) Close() error { return nil }
func (p holdPort) Probe(context.Context) (printers.Status, error) {
	return printers.Status{State: printers.StateReady, Accepting: true, PPM: 60}, nil
}

// pgMember is a gateway on the shared PostgreSQL spool: its Coordinator, store and scheduler.
type pgMember struct {
	coord *Coordinator
	store *pgspool.Store
	sched *queue.Scheduler
}

func startPGMember(t *testing.T, url, id string, w *holdWire, lease time.Duration) *pgMember {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := Start(t.Context(), Options{Pool: openPool(t, url), Gateway: id, Printers: []string{"a"}, LeasePeriod: lease})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.stop() })
	store, err := pgspool.Open(context.Background(), pgspool.Options{URL: url, Gateway: id, TempDir: t.TempDir(),
		MaxConns: 4, Logger: log, PageCounter: func(io.ReadSeeker, int64, string) (int, bool) { return 1, false }})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := queue.New(queue.Options{Store: store, Coordinator: c, Logger: log, ProbeInterval: time.Hour,
		Printers: []queue.PrinterSpec{{Name: "a", Printer: holdPort{w, id}, PPM: 60, MaxInflight: 1}},
		Virtual:  []queue.VirtualSpec{{Name: "letters", Pool: []string{"a"}, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		store.Close()
	})
	<-sched.Running()
	return &pgMember{coord: c, store: store, sched: sched}
}

// TestCancelOnNonHolderReachesThePrinter: two gateways on one PostgreSQL spool; a job printing
// at the printer gateway X drives is canceled on gateway Y. Y records the cancel, and X, woken
// by Y's NOTIFY, cancels the job at the printer and writes nothing over Y's cancel. (X's own
// writes to get the job there went through cluster_lease_valid at its epoch.)
func TestCancelOnNonHolderReachesThePrinter(t *testing.T) {
	t.Parallel()
	url := pg.NewDatabase(t)
	w := &holdWire{sent: make(chan string, 10), canceled: make(chan string, 10)}
	a := startPGMember(t, url, "gw-a", w, period)
	b := startPGMember(t, url, "gw-b", w, period)
	waitFor(t, "one gateway holding the printer", func() bool {
		return a.coord.Lease("a").Held != b.coord.Lease("a").Held
	})
	holder, other := a, b
	if b.coord.Lease("a").Held {
		holder, other = b, a
	}
	st, err := other.sched.Stage(context.Background(), bytes.NewReader([]byte("%PDF-1.4 letter")), "l", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := other.sched.Submit(context.Background(), job.NewJob{Name: "letter", Origin: "test"}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case gw := <-w.sent:
		if gw != holder.coord.Gateway() {
			t.Fatalf("sent by %s, not by the holder %s", gw, holder.coord.Gateway())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job was never sent")
	}
	waitFor(t, "the job printing", func() bool {
		got, err := other.store.Job(context.Background(), j.ID)
		return err == nil && got.State == job.StatePrinting
	})
	if err := other.sched.CancelJob(context.Background(), j.ID, "alice"); err != nil {
		t.Fatalf("cancel on the gateway that does not drive the printer: %v", err)
	}
	select {
	case c := <-w.canceled:
		if want := holder.coord.Gateway() + " " + strconv.FormatInt(j.ID, 10); c != want {
			t.Fatalf("printer cancel %q, want %q", c, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job was never canceled at the printer")
	}
	got, err := holder.store.Job(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.StateCanceled {
		t.Fatalf("job after the cancel: %s, want canceled", got.State)
	}
}

// TestTakenOverGatewayCannotRecordCompletion: gateway X drives printer a; cut off from the
// database (its rounds paused, its own clock still saying held), it loses the lease there to
// gateway Y at a new epoch. The completion X's flight then sees is refused by the fence in the
// same UPDATE: the row stays as Y found it (printing, Y watches it), with no completed event.
func TestTakenOverGatewayCannotRecordCompletion(t *testing.T) {
	t.Parallel()
	url := pg.NewDatabase(t)
	w := &holdWire{sent: make(chan string, 10), canceled: make(chan string, 10), release: make(chan struct{})}
	// A long lease: X's own clock must not see the lapse during the test, as a gateway
	// that is merely cut off would not yet.
	x := startPGMember(t, url, "gw-x", w, 30*time.Second)
	waitFor(t, "gw-x holding the printer", func() bool { return x.coord.Lease("a").Held })
	st, err := x.sched.Stage(context.Background(), bytes.NewReader([]byte("%PDF-1.4 letter")), "l", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := x.sched.Submit(context.Background(), job.NewJob{Name: "letter", Origin: "test"}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	<-w.sent
	waitFor(t, "the job printing", func() bool {
		got, err := x.store.Job(context.Background(), j.ID)
		return err == nil && got.State == job.StatePrinting
	})
	x.coord.paused.Store(true)
	pool := openPool(t, url)
	if _, err := pool.Exec(context.Background(), `UPDATE cluster_printer_leases SET holder = 'gw-y', epoch = epoch + 1,
		acquired = now(), expires_at = now() + interval '1 hour' WHERE printer = 'a'`); err != nil {
		t.Fatal(err)
	}
	if !x.coord.Lease("a").Held {
		t.Fatal("gw-x saw the lapse already: the test cannot show the fence")
	}
	close(w.release) // the printer reports the job completed to gw-x's flight
	waitFor(t, "gw-x's flight to land", func() bool {
		evs, err := x.store.Events(context.Background(), job.EventFilter{JobID: j.ID, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.To == string(job.StateCompleted) {
				t.Fatalf("gw-x recorded the completion after losing the lease: %+v", e)
			}
		}
		p, err := x.sched.Printer("a")
		return err == nil && p.Inflight == 0
	})
	got, err := x.store.Job(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != job.StatePrinting {
		t.Fatalf("job after the fenced completion: %s, want printing (the new holder's)", got.State)
	}
}
