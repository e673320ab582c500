// Printer leases as the scheduler obeys them: it plans jobs only onto printers whose lease this
// gateway holds, stops every flight at a printer the moment its lease lapses, hands a yielding
// printer over once nothing is on its way there, and takes over the jobs another gateway left
// at a printer whose lease it gained.
package queue

import (
	"context"
	"errors"
	"fmt"

	"github.com/printgate/printgate/job"
)

// errLeaseLost stops a flight whose printer's lease lapsed or was handed over: another gateway
// drives that printer now, and a printer cannot tell two senders apart.
var errLeaseLost = errors.New("lease on the printer lost")

// errLeaseTakenOver is why a job another gateway left at a printer is taken back by the
// gateway that now holds the printer's lease.
var errLeaseTakenOver = errors.New("lease taken over from the gateway that was sending it")

// drives: this gateway may start new work at m now. Called with s.mu held.
func (s *Scheduler) drives(m *member) bool {
	l := s.coord.Lease(m.spec.Name)
	return l.Held && !l.Yielding
}

// checkLeases applies the coordinator's current leases: flights at printers no longer held are
// stopped, a yielding printer with nothing on its way is handed over, and a lease newly gained
// is recorded as an event and its printer's orphaned jobs taken over.
func (s *Scheduler) checkLeases(ctx context.Context) {
	var gained []*member
	var gainedLease []Lease
	s.mu.Lock()
	for _, name := range s.order {
		m := s.members[name]
		l := s.coord.Lease(name)
		m.lease = l
		if !l.Held {
			// Cancel under the lock, as failover does: a flight checks its context under it
			// before it starts sending, so it either stops here or was already on the wire.
			for _, f := range m.flights {
				f.cancel(errLeaseLost)
			}
			continue
		}
		if l.Epoch > 0 && l.Epoch != m.adopted {
			m.adopted = l.Epoch
			gained = append(gained, m)
			gainedLease = append(gainedLease, l)
		}
	}
	s.mu.Unlock()
	for i, m := range gained {
		s.leaseGained(ctx, m, gainedLease[i])
	}
	s.checkLeadership(ctx)
	for _, m := range s.sortedMembers() {
		s.maybeYield(m)
	}
	s.changed()
}

// leaderEpocher is a Coordinator whose leadership has epochs (several gateways on one spool).
type leaderEpocher interface {
	LeaderEpoch() int64
}

// checkLeadership records, once per leader epoch, that this gateway became the cluster's
// leader: operators see in the event log (and on every gateway's dashboard) where cron
// schedules, retention and the sweep run now. A gateway alone records nothing.
func (s *Scheduler) checkLeadership(ctx context.Context) {
	le, ok := s.coord.(leaderEpocher)
	if !ok || !s.coord.Leader() {
		return
	}
	epoch := le.LeaderEpoch()
	if epoch == 0 || epoch == s.ledEpoch {
		return
	}
	s.ledEpoch = epoch
	msg := fmt.Sprintf("gateway %s leads the cluster (leader epoch %d): cron schedules, retention and the sweep of Create-Job jobs whose documents never came run here",
		s.coord.Gateway(), epoch)
	if err := s.store.RecordEvent(context.WithoutCancel(ctx), job.Event{Kind: job.EventLease, To: s.coord.Gateway(),
		Message: msg}); err != nil {
		s.log.Error("record leadership event", "err", err)
	}
}

// maybeYield tells the coordinator a yielding printer is free of this gateway's work on its
// way: no flight there is before the printer (printing jobs are watched by the next holder).
func (s *Scheduler) maybeYield(m *member) {
	s.mu.Lock()
	l := s.coord.Lease(m.spec.Name)
	busy := false
	for _, f := range m.flights {
		if f.state != job.StatePrinting || f.undelivered {
			busy = true
		}
	}
	s.mu.Unlock()
	if l.Held && l.Yielding && !busy {
		s.coord.Yielded(m.spec.Name)
	}
}

// leaseGained records that this gateway drives m now and takes over what another gateway left
// there: jobs it was sending go back to pending as possible duplicates (the printer may have
// them; the next pass re-sends them), jobs it had only assigned go back as they were, and jobs
// the printer holds are watched from here, as a restart resumes them.
func (s *Scheduler) leaseGained(ctx context.Context, m *member, l Lease) {
	name := m.spec.Name
	msg := fmt.Sprintf("gateway %s drives printer %s (lease epoch %d)", s.coord.Gateway(), name, l.Epoch)
	if l.Previous != "" {
		msg += ", taken over from gateway " + l.Previous
	}
	if err := s.store.RecordEvent(context.WithoutCancel(ctx), job.Event{Kind: job.EventLease, Printer: name,
		From: l.Previous, To: s.coord.Gateway(), Message: msg}); err != nil {
		s.log.Error("record lease event", "printer", name, "err", err)
	}
	s.log.Info("lease gained", "printer", name, "epoch", l.Epoch, "from", l.Previous)
	s.coord.Publish(NoticeLeaseMoved, name)
	jobs, err := s.store.Jobs(ctx, job.JobFilter{Printer: name, Order: "oldest",
		States: []job.State{job.StateAssigned, job.StateSending, job.StatePrinting}})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("list the jobs left at a printer whose lease moved", "printer", name, "err", err)
		}
		return
	}
	for _, j := range jobs {
		s.mu.Lock()
		_, mine := m.flights[j.ID]
		s.mu.Unlock()
		if mine {
			continue
		}
		if j.State == job.StatePrinting {
			s.resumeFlight(ctx, m, j)
			continue
		}
		mv := job.TakenBack(name, j.State, errLeaseTakenOver, false, false, "", "")
		mv.Change.From = []job.State{j.State}
		// Under the new lease: should it move on again before this lands, the write is refused.
		mv.Change.Fence = &job.Fence{Printer: name, Epoch: l.Epoch}
		if err := s.store.Transition(context.WithoutCancel(ctx), j.ID, mv.To, mv.Change); err != nil &&
			!errors.Is(err, job.ErrStateChanged) {
			s.log.Warn("take over a job left at the printer", "job", j.ID, "printer", name, "err", err)
		}
	}
}
