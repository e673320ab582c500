//go:build peers

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
	<-ctx.Done()
	return "", ctx.Err()
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

func startPGMember(t *testing.T, url, id string, w *holdWire) *pgMember {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := start(t, openPool(t, url), id, []string{"a"})
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
	a := startPGMember(t, url, "gw-a", w)
	b := startPGMember(t, url, "gw-b", w)
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
