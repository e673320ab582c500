// A cancel answered by a gateway that does not drive the job's printer: it marks the row
// canceled, and the gateway that drives the printer, woken by the notice, cancels it there.
package queue

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// cancelPrinter is a holdPrinter that says which jobs it was asked to cancel.
type cancelPrinter struct {
	*holdPrinter
	canceled chan string
}

func (p *cancelPrinter) Cancel(_ context.Context, r printers.Receipt) error {
	p.canceled <- r.UpstreamID
	return nil
}

// TestCancelOnNonHolderMarksTheRow: CancelJob on a gateway whose lease of the job's printer
// is another's records the cancel (it used to refuse it: the job was not "before the
// printer") and leaves the printer to the holder.
func TestCancelOnNonHolderMarksTheRow(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("a", Lease{Gateway: "gw-other"})
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "a", Printer: newHoldPrinter("a", 60)})
	j := r.submit(t)
	ctx := context.Background()
	name := "a"
	// The other gateway's flight took it to its printer.
	for _, st := range []job.State{job.StateAssigned, job.StateSending, job.StatePrinting} {
		if err := r.store.Transition(ctx, j.ID, st, job.Change{Printer: &name}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.sched.CancelJob(ctx, j.ID, "alice"); err != nil {
		t.Fatalf("CancelJob on the non-holder: %v", err)
	}
	if got := r.job(t, j.ID); got.State != job.StateCanceled {
		t.Fatalf("after the cancel: %s, want canceled", got.State)
	}
}

// TestHolderCancelsAtPrinterWhatAnotherGatewayCanceled: the holder's flight of a printing job
// whose row another gateway marked canceled is stopped when that gateway's notice comes, the
// job is canceled at the printer, and the row stays as the other gateway wrote it.
func TestHolderCancelsAtPrinterWhatAnotherGatewayCanceled(t *testing.T) {
	t.Parallel()
	coord := newFakeCoord()
	coord.set("a", held)
	p := &cancelPrinter{holdPrinter: newHoldPrinter("a", 60), canceled: make(chan string, 10)}
	r := newCoordRig(t, coord, nil, nil, PrinterSpec{Name: "a", Printer: p})
	j := r.submit(t)
	p.waitSend(t)
	r.waitJob(t, j.ID, "printing", func(j *job.Job) bool { return j.State == job.StatePrinting })
	// The other gateway's CancelJob: the row, then its notice.
	mv := job.CanceledInFlight("alice")
	mv.Change.From = []job.State{job.StatePrinting}
	if err := r.store.Transition(context.Background(), j.ID, mv.To, mv.Change); err != nil {
		t.Fatal(err)
	}
	coord.topics[TopicJobs].signal()
	select {
	case up := <-p.canceled:
		if up != strconv.FormatInt(j.ID, 10) {
			t.Fatalf("canceled %q at the printer", up)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the holder never canceled the job at the printer")
	}
	waitLanded(t, r.sched, "a")
	evs, err := r.store.Events(context.Background(), job.EventFilter{JobID: j.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.job(t, j.ID); got.State != job.StateCanceled || evs[0].Actor != "alice" {
		t.Fatalf("job %s, last event %+v; want canceled by alice, nothing written after", got.State, evs[0])
	}
}
