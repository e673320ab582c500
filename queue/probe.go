// Printer health: periodic probes with hysteresis, state events, and failover of the work of a
// printer that stopped or went away.
package queue

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// probeAll probes every printer once, in parallel, so the first pass knows who is up.
func (s *Scheduler) probeAll(ctx context.Context) {
	var wg sync.WaitGroup
	for _, m := range s.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ProbeOnce(ctx, m.spec.Name)
		}()
	}
	wg.Wait()
}

func (s *Scheduler) probeLoop(ctx context.Context, m *member) {
	t := time.NewTicker(s.opts.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.ProbeOnce(ctx, m.spec.Name)
		}
	}
}

// ProbeOnce probes one printer now and applies the result (tests call it directly).
func (s *Scheduler) ProbeOnce(ctx context.Context, name string) {
	m := s.members[name]
	if m == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, s.opts.ProbeTimeout)
	st, err := m.spec.Printer.Probe(pctx)
	cancel()
	if ctx.Err() != nil {
		return
	}
	s.applyProbe(ctx, m, st, err)
}

// applyProbe updates m from one probe, with hysteresis: FailAfter failures in a row make it
// unreachable, RecoverAfter successes in a row bring an unreachable printer back. A printer that
// answers is whatever state it reports (stopped, degraded, ...) at once: its answer is certain.
//
// Failover: when m stops being usable, the jobs waiting for it (assigned, or waiting after a busy
// answer) move at once; once it has been unusable for GracePeriod, the jobs it holds (sending,
// printing) are requeued elsewhere as possible duplicates, and canceled at the printer if it
// still answers. A job the printer reports completed before then is completed, not requeued.
func (s *Scheduler) applyProbe(ctx context.Context, m *member, st printers.Status, err error) {
	now := s.now()
	s.mu.Lock()
	old := m.state
	oldReasons := m.status.Reasons
	m.lastProbe = now
	next := old
	if err != nil {
		m.failures++
		m.successes = 0
		m.probeErr = err.Error()
		switch {
		case st.State == printers.StateStopped:
			// The backend reached the printer and knows it cannot print (e.g. unwritable).
			next = printers.StateStopped
			m.status.Reasons = st.Reasons
		case m.failures >= s.opts.FailAfter:
			next = printers.StateUnreachable
		}
	} else {
		m.successes++
		m.failures = 0
		m.probeErr = ""
		caps := st.Capabilities
		if caps == nil {
			caps = m.status.Capabilities
		}
		m.status = st
		m.status.Capabilities = caps
		next = st.State
		if !st.Accepting && st.State.Usable() {
			next = printers.StateStopped
		}
		if old == printers.StateUnreachable && m.successes < s.opts.RecoverAfter {
			next = printers.StateUnreachable
		}
	}
	m.state = next
	wasUsable, isUsable := old.Usable(), next.Usable()
	if isUsable {
		m.downSince = time.Time{}
		if !wasUsable {
			// Back from stopped or unreachable: a fresh start for the circuit breaker, and no
			// stale estimate of work a restarted printer may have lost.
			m.sendErrors = 0
			m.breakerOpen = time.Time{}
			if len(m.flights) == 0 {
				m.busyUntil = time.Time{}
			}
		}
	} else if wasUsable || m.downSince.IsZero() {
		m.downSince = now
	}
	reasonsChanged := !slices.Equal(oldReasons, m.status.Reasons)
	var moved []*flight
	if !isUsable {
		moved = s.takeAssignedLocked(m)
	}
	var graceEnded []*flight
	if !isUsable && !m.downSince.IsZero() && now.Sub(m.downSince) >= s.opts.GracePeriod {
		for _, f := range m.flights {
			if (f.state == job.StatePrinting || f.state == job.StateSending) && !f.undelivered {
				graceEnded = append(graceEnded, f)
			}
		}
	}
	// Cancel under the lock: a flight checks its context under it before it starts sending,
	// so an assigned job is either taken back here or already on its way, never half of each.
	for _, f := range moved {
		f.cancel(errFailover)
	}
	for _, f := range graceEnded {
		f.cancel(errGraceEnded)
	}
	s.mu.Unlock()

	// ready <-> busy is load, not health: it shows in the live state but would flood the log.
	load := func(st printers.State) bool { return st == printers.StateReady || st == printers.StateBusy }
	if (old != next && !(load(old) && load(next))) || (reasonsChanged && next != printers.StateUnreachable) {
		msg := fmt.Sprintf("%s -> %s (reasons: %s)", old, next, reasonList(m.status.Reasons))
		if err != nil {
			msg = fmt.Sprintf("%s -> %s: %v", old, next, err)
		}
		if rerr := s.store.RecordEvent(ctx, job.Event{Kind: job.EventPrinterState, Printer: m.spec.Name,
			From: string(old), To: string(next), Message: msg}); rerr != nil {
			s.log.Error("record printer event", "printer", m.spec.Name, "err", rerr)
		}
		s.log.Info("printer state", "printer", m.spec.Name, "from", old, "to", next, "reasons", reasonList(m.status.Reasons))
	}
	// New rows of the printer's alert table (SNMP) go to the event log as they appear.
	for _, a := range st.NewAlerts {
		if err == nil {
			if rerr := s.store.RecordEvent(ctx, job.Event{Kind: job.EventPrinterState, Printer: m.spec.Name,
				From: string(next), To: string(next), Message: fmt.Sprintf("printer alert %d (%s, group %d, code %d): %s",
					a.Index, a.SeverityName(), a.Group, a.Code, a.Description)}); rerr != nil {
				s.log.Error("record printer alert", "printer", m.spec.Name, "err", rerr)
			}
		}
	}
	if old != next || reasonsChanged {
		s.changed()
	}
}

// takeAssignedLocked returns the flights not yet handed to m: assigned ones, and ones waiting
// after a busy answer. They move the moment m is unusable or drained.
func (s *Scheduler) takeAssignedLocked(m *member) []*flight {
	var out []*flight
	for _, f := range m.flights {
		if f.state == job.StatePending || f.state == job.StateAssigned || f.undelivered {
			out = append(out, f)
		}
	}
	return out
}
