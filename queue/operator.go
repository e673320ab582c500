// Operator actions on single jobs beyond cancel, hold and release: retry a job that ended badly,
// and move a job that has not reached a printer yet to a chosen member of its pool.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/printgate/printgate/job"
)

// RetryJob puts an aborted or canceled job back in the queue as the same job: its id (which an
// IPP client may still be watching), its bulk-run sequence number and its event history stay,
// and the row moves canceled/aborted -> pending with an operator event. Cloning the job into a
// new one was the alternative; it would leave the client's job aborted and give a bulk run two
// rows for one letter.
//
// The job's printer is cleared (any pool member may take it). Its attempt count is kept: the
// history is not rewritten, so a job aborted for running out of attempts gets one more attempt
// per retry rather than a fresh allowance. A job whose documents retention already removed
// cannot be retried.
func (s *Scheduler) RetryJob(ctx context.Context, id int64, actor string) error {
	j, err := s.store.Job(ctx, id)
	if err != nil {
		return err
	}
	mv, err := job.Retry(j, actor)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNotPossible, err)
	}
	if len(j.Documents) == 0 {
		return fmt.Errorf("%w: job %d has no document", ErrNotPossible, id)
	}
	for _, d := range j.Documents {
		if !d.Available() {
			return fmt.Errorf("%w: job %d: its document was removed after the retention period", ErrNotPossible, id)
		}
	}
	if _, ok := s.virtual[j.VirtualPrinter]; !ok {
		return fmt.Errorf("%w: job %d: virtual printer %q is no longer configured", ErrNotPossible, id, j.VirtualPrinter)
	}
	if err = s.store.Transition(ctx, id, mv.To, mv.Change); err != nil {
		return notPossible(err)
	}
	s.changed()
	return nil
}

// MoveJob pins a job that has not reached a printer to printer, a member of the job's pool:
// a pending or held job keeps its state with the new printer set (the scheduler sends a pending
// job with a printer set only there); an assigned job, or one waiting for a busy printer, is
// taken back from its printer and requeued pinned. A job already sent or printing cannot move:
// the printer may have it. A pinned job waits for its printer as long as that printer cannot
// print; if the printer fails while it holds the job, failover sends it anywhere in the pool.
func (s *Scheduler) MoveJob(ctx context.Context, id int64, printer, actor string) error {
	m := s.members[printer]
	if m == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPrinter, printer)
	}
	j, err := s.store.Job(ctx, id)
	if err != nil {
		return err
	}
	v := s.virtual[j.VirtualPrinter]
	if v == nil || !slices.Contains(v.Pool, printer) {
		return fmt.Errorf("%w: printer %s is not in the pool of virtual printer %s", ErrNotPossible, printer, j.VirtualPrinter)
	}
	s.mu.Lock()
	ok := s.canPrint(m, j)
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: printer %s cannot print job %d as asked", ErrUnsupported, printer, id)
	}
	switch j.State {
	case job.StatePending, job.StateHeld:
		mv, _ := job.Pin(j, printer, actor) // pending and held can always be pinned
		err := s.store.Transition(ctx, id, mv.To, mv.Change)
		if err == nil {
			// A pass that read the queue before this commit must not act on its stale copy; one
			// that already started a flight for the job gets the flight moved back below.
			s.mu.Lock()
			s.planGen++
			s.mu.Unlock()
			if err := s.moveFlight(ctx, id, printer, actor); err != nil && !errors.Is(err, errNoFlight) {
				return err
			}
			s.changed()
			return nil
		}
		if !errors.Is(err, job.ErrStateChanged) {
			return notPossible(err)
		}
		// Picked up by the scheduler meanwhile: move its flight.
	case job.StateAssigned, job.StateSending:
	default:
		return fmt.Errorf("%w: job %d is %s; only pending, held, assigned or sending jobs can move (sending ones until the printer has taken them)",
			ErrNotPossible, id, j.State)
	}
	if err := s.moveFlight(ctx, id, printer, actor); err != nil {
		if errors.Is(err, errNoFlight) {
			return fmt.Errorf("%w: job %d changed state meanwhile; look at it and try again", ErrNotPossible, id)
		}
		return err
	}
	s.changed()
	return nil
}

// errNoFlight: the job has no flight to move.
var errNoFlight = errors.New("queue: job not in flight")

// moveFlight takes a job back from the printer it was assigned to and requeues it pinned to
// printer, waiting until the flight has recorded that.
func (s *Scheduler) moveFlight(ctx context.Context, id int64, printer, actor string) error {
	s.mu.Lock()
	f := s.flightOf(id)
	if f == nil {
		s.mu.Unlock()
		return errNoFlight
	}
	if !(f.state == job.StatePending || f.state == job.StateAssigned || f.undelivered) {
		at := f.m.spec.Name
		s.mu.Unlock()
		return fmt.Errorf("%w: job %d was already sent to %s", ErrNotPossible, id, at)
	}
	f.moveTo, f.actor = printer, actor
	// Under the lock, so the flight cannot start sending between the check and the cancel.
	f.cancel(errMoved)
	s.mu.Unlock()
	select {
	case <-f.landed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// notPossible turns the store's refusals of a state change into ErrNotPossible.
func notPossible(err error) error {
	if errors.Is(err, job.ErrStateChanged) || errors.Is(err, job.ErrIllegalTransition) {
		return fmt.Errorf("%w: %v", ErrNotPossible, err)
	}
	return err
}
