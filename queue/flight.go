// A flight is one job's trip to its printer: assigned, sending, printing, done. One goroutine per
// flight makes every state change of that job, so failover, cancel and shutdown only signal it.
package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// Why a flight was stopped from outside.
var (
	errFailover   = errors.New("printer no longer usable")
	errMoved      = errors.New("moved by operator")
	errCanceled   = errors.New("canceled by an operator")
	errGraceEnded = errors.New("printer down past the grace period")
	// errCanceledElsewhere: an operator canceled the job on a gateway that does not drive the
	// printer; that gateway marked the row canceled, and this one cancels it at the printer.
	errCanceledElsewhere = errors.New("canceled on another gateway")
)

// breakerThreshold is how many send failures in a row open a printer's circuit breaker: it
// gets no new work for a while (growing with further failures), whatever its probes say.
const breakerThreshold = 3

type flight struct {
	m     *member
	jobID int64
	pages int
	// ppm is the printer's speed for the format the job is sent in (sendPPM).
	ppm int
	// state is what the flight has reached: pending (just started), assigned, sending or
	// printing. It becomes sending under s.mu before the store is told, so that once it says
	// sending an operator move no longer treats the job as merely assigned.
	state job.State
	// undelivered is true while the flight waits after a busy answer: the job is sending in the
	// store, but nothing is at the printer, so failover and drain move it at once.
	undelivered bool
	cancel      context.CancelCauseFunc
	receipt     printers.Receipt
	actor       string // who canceled or moved it
	moveTo      string // the printer an operator moved it to ("" = let the scheduler choose)
	// cancelErr is why an operator's cancel of this flight could not be recorded (read after
	// landed is closed).
	cancelErr error
	// landed is closed when the flight is over and the job's row says where it is now.
	landed chan struct{}
	// prevSent is the previous flight to this printer's sent: this one sends after it.
	prevSent <-chan struct{}
	sent     chan struct{}
	sentOnce sync.Once
	// epoch is the printer's lease epoch this flight runs under (0: no lease machinery): every
	// write it makes for its job is fenced with it, so that once the lease has moved on (a new
	// epoch, another gateway) the database refuses what this flight still tries to record. It
	// is the epoch at the flight's start, not the current one: a lapsed lease reads epoch 0.
	epoch int64
}

// fence is the lease fence of f's writes (nil without lease machinery).
func (f *flight) fence() *job.Fence {
	if f.epoch == 0 {
		return nil
	}
	return &job.Fence{Printer: f.m.spec.Name, Epoch: f.epoch}
}

// sendDone lets the next flight to the same printer send (a resumed flight has no turn).
func (f *flight) sendDone() {
	if f.sent != nil {
		f.sentOnce.Do(func() { close(f.sent) })
	}
}

// startFlight records the assignment in memory and starts the flight. Called with s.mu held.
func (s *Scheduler) startFlight(ctx context.Context, j *job.Job, m *member) {
	fctx, cancel := context.WithCancelCause(ctx)
	f := &flight{m: m, jobID: j.ID, pages: max(j.Pages, 1), ppm: s.sendPPM(m, j), state: job.StatePending, cancel: cancel,
		epoch: s.coord.Lease(m.spec.Name).Epoch, landed: make(chan struct{}), prevSent: m.lastSent, sent: make(chan struct{})}
	m.lastSent = f.sent
	m.flights[j.ID] = f
	m.backlog += f.pages
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel(nil)
		defer f.sendDone()
		s.fly(fctx, m, f, nil)
		s.land(m, f)
	}()
}

// land removes a finished flight and asks for the next pass.
func (s *Scheduler) land(m *member, f *flight) {
	s.mu.Lock()
	if m.flights[f.jobID] == f {
		delete(m.flights, f.jobID)
		m.backlog -= f.pages
	}
	s.mu.Unlock()
	close(f.landed)
	s.maybeYield(m)
	s.changed()
}

// flightLog is the part of *slog.Logger a flight uses.
type flightLog interface {
	Warn(string, ...any)
	Info(string, ...any)
}

// fly runs one job to completion at m. resume, when not nil, is a job found printing at start.
func (s *Scheduler) fly(ctx context.Context, m *member, f *flight, resume *job.Job) {
	name := m.spec.Name
	log := s.log.With("job", f.jobID, "printer", name)
	// Store writes use a context that outlives a canceled flight: the outcome must be recorded.
	bg := context.WithoutCancel(ctx)
	set := func(to job.State, c job.Change) bool {
		c.Fence = f.fence()
		if err := s.record(f.jobID, to, c); err != nil {
			logRefused(log, to, err)
			return false
		}
		s.mu.Lock()
		f.state = to
		s.mu.Unlock()
		if to == job.StatePrinting {
			// At the printer now: a yielding printer may be handed over.
			s.maybeYield(m)
		}
		s.changed()
		return true
	}
	var j *job.Job
	if resume != nil {
		j = resume
		r := printers.Receipt{UpstreamID: j.UpstreamID}
		if cp, ok := m.spec.Printer.(printers.Counted); ok && j.Evidence != nil {
			// Sent before the restart to a printer whose counter followed it: follow it again.
			if cr, ok := cp.Follow(j.ID, *j.Evidence); ok {
				r = cr
			}
		}
		s.mu.Lock()
		f.state = job.StatePrinting
		f.receipt = r
		s.mu.Unlock()
	} else {
		if !set(job.StateAssigned, job.Change{From: []job.State{job.StatePending}, Printer: &name,
			Message: fmt.Sprintf("assigned to %s", name)}) {
			return
		}
		var err error
		if j, err = s.store.Job(bg, f.jobID); err != nil {
			log.Warn("load assigned job", "err", err)
			s.requeue(log, f, job.Change{Reason: "internal-error", Message: err.Error()}, "")
			return
		}
		if !s.send(ctx, log, m, f, j, set) {
			return
		}
	}
	s.watch(ctx, log, m, f, j, set)
}

// send moves the job to "sending" and hands it to the printer, waiting while the printer says
// busy. It returns true when the printer accepted the job.
func (s *Scheduler) send(ctx context.Context, log flightLog, m *member, f *flight, j *job.Job,
	set func(job.State, job.Change) bool) bool {
	// Jobs reach a printer in the order the scheduler gave them to it (a bulk run's sequence):
	// wait until the job given before this one has been handed over or given up.
	if f.prevSent != nil {
		select {
		case <-f.prevSent:
		case <-ctx.Done():
		}
	}
	defer f.sendDone()
	s.mu.Lock()
	if ctx.Err() == nil && !s.coord.Lease(m.spec.Name).Held {
		// The lease lapsed while this job waited for its turn: not one byte from here.
		f.cancel(errLeaseLost)
	}
	if ctx.Err() != nil {
		s.mu.Unlock()
		s.stopped(f, context.Cause(ctx), job.StateAssigned, true)
		return false
	}
	f.state = job.StateSending
	s.mu.Unlock()
	if !set(job.StateSending, job.Change{From: []job.State{job.StateAssigned}}) {
		return false
	}
	pj, err := s.printJob(ctx, j)
	if err != nil {
		// The spool could not give the bytes back (a database read failed): nothing reached
		// the printer, and the job must not print without its document.
		log.Warn("could not read the job's document", "err", err)
		s.requeueOrAbort(log, f, j, job.Change{Reason: "document-unreadable", Message: err.Error(), Attempt: true})
		return false
	}
	// Documents m does not take are converted now, whole, before a byte goes to m
	// (document/convert says why); a failure has sent nothing.
	cleanup, err := s.convertFor(ctx, m, j, pj)
	if err != nil {
		if ctx.Err() != nil {
			s.stopped(f, context.Cause(ctx), job.StateSending, true)
			return false
		}
		s.conversionFailed(log, m, f, j, err)
		return false
	}
	defer cleanup()
	busy := 0
	for {
		r, err := m.spec.Printer.Send(ctx, pj)
		if err == nil {
			f.sendDone()
			s.mu.Lock()
			reopened := m.sendErrors >= breakerThreshold
			m.sendErrors = 0
			m.breakerOpen = time.Time{}
			f.receipt = r
			m.accepted(s.now(), f.pages, f.ppm, r)
			s.mu.Unlock()
			if reopened {
				s.printerEvent(m, "breaker-open", string(m.state), "circuit breaker closed: "+m.spec.Name+" accepted a job")
			}
			up := r.UpstreamID
			c := job.Change{From: []job.State{job.StateSending}, UpstreamID: &up, Message: "accepted by " + m.spec.Name}
			if cp, ok := m.spec.Printer.(printers.Counted); ok && r.Counted {
				// Where its pages are expected, kept with the job: a restart follows it from there.
				if ev, ok := cp.PeekEvidence(r); ok {
					c.Evidence = &ev
					c.Message += ", waiting for its pages on the page counter: " + ev.String()
				}
			}
			set(job.StatePrinting, c)
			return true
		}
		if errors.Is(err, printers.ErrBusy) && ctx.Err() == nil {
			// Not a fault: the printer is printing something else. Nothing is at the printer
			// while we wait, so failover, drain and moves treat the job as assigned meanwhile.
			busy++
			s.mu.Lock()
			f.undelivered = true
			if m.drained {
				// Drained while this hand-over was on the wire: Drain takes back only the jobs
				// already waiting, so take this one back now, as it would have.
				f.actor = m.drainedBy
				s.mu.Unlock()
				s.stopped(f, errMoved, job.StateSending, true)
				return false
			}
			wake := m.senderWake
			wait := s.busyWait(m, busy)
			s.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
			case <-t.C:
			case <-wake:
			}
			t.Stop()
			s.mu.Lock()
			stop := ctx.Err() != nil
			f.undelivered = stop
			s.mu.Unlock()
			if stop {
				s.stopped(f, context.Cause(ctx), job.StateSending, true)
				return false
			}
			continue
		}
		if ctx.Err() != nil {
			// Stopped while bytes may have been moving: the printer may have the job, unless its
			// page counter says otherwise.
			var cse *printers.CountedSendError
			if errors.As(err, &cse) && !errors.Is(err, printers.ErrNotDelivered) {
				s.stoppedCounted(f, context.Cause(ctx), cse.Evidence)
				return false
			}
			s.stopped(f, context.Cause(ctx), job.StateSending, errors.Is(err, printers.ErrBusy) || errors.Is(err, printers.ErrNotDelivered))
			return false
		}
		var jerr *printers.JobError
		if errors.As(err, &jerr) {
			log.Warn("printer refused the job", "err", err)
			s.requeueOrAbort(log, f, j, job.Change{Reason: "job-refused", Message: err.Error(), Attempt: true})
			return false
		}
		s.sendFailed(log, m, f, j, err)
		return false
	}
}

// busyWait is how long a flight waits after the busy-th busy answer in a row: until the printer
// should be done with what it holds, then backing off from BusyRetry/10 (doubling, at most
// BusyRetry) when the printer takes longer than its speed says or is busy with other clients'
// work. A job finishing at the printer wakes the flight earlier (senderWake). Called with s.mu
// held.
func (s *Scheduler) busyWait(m *member, busy int) time.Duration {
	if d := m.busyUntil.Sub(s.now()); d > 0 && busy == 1 {
		return d + 10*time.Millisecond
	}
	d := s.opts.BusyRetry / 10
	for i := 1; i < busy && d < s.opts.BusyRetry; i++ {
		d *= 2
	}
	return min(max(d, 5*time.Millisecond), s.opts.BusyRetry)
}

// sendFailed handles a printer fault during send: it counts against the printer (circuit
// breaker), and against the job only when something may have reached the printer.
func (s *Scheduler) sendFailed(log flightLog, m *member, f *flight, j *job.Job, err error) {
	certain := errors.Is(err, printers.ErrNotDelivered)
	s.mu.Lock()
	m.sendErrors++
	var moved []*flight
	opened := false
	if m.sendErrors >= breakerThreshold {
		wasOpen := s.now().Before(m.breakerOpen)
		m.breakerOpen = s.now().Add(time.Duration(min(m.sendErrors, 10)) * s.opts.ProbeInterval)
		opened = !wasOpen
		// Nothing else happens when it closes again: ask for a pass then.
		s.timers.set("breaker:"+m.spec.Name, m.breakerOpen.Sub(s.now())+time.Millisecond, s.kick)
		// The printer takes no new work: what waits for it goes elsewhere now.
		moved = s.takeAssignedLocked(m)
	}
	for _, mf := range moved {
		if mf != f {
			mf.cancel(errFailover)
		}
	}
	n, until := m.sendErrors, m.breakerOpen
	s.mu.Unlock()
	log.Warn("send failed", "err", err, "delivered_nothing", certain, "printer_errors", n)
	if opened {
		s.printerEvent(m, string(m.state), "breaker-open", fmt.Sprintf(
			"circuit breaker open until %s after %d send failures in a row: %v", until.Format(time.TimeOnly), n, err))
	}
	var cse *printers.CountedSendError
	if !certain && errors.As(err, &cse) {
		// The printer's page counter followed the job: it says whether any of it printed.
		// A send that broke off may have left part of the job in a printer that still prints it.
		mv := job.CountedTakenBack(cse.Evidence, fmt.Errorf("send failed: %w", err), false, true, "", "")
		if mv.To == job.StatePending && mv.Change.Attempt {
			s.requeueOrAbort(log, f, j, mv.Change)
		} else {
			s.transitionLogged(log, f, mv.To, mv.Change)
		}
		return
	}
	c := job.Change{Reason: "send-failed", Message: fmt.Sprintf("send to %s failed: %v", m.spec.Name, err),
		PossibleDuplicate: !certain, Attempt: !certain}
	if !certain {
		c.Reason = "possible-duplicate"
	}
	s.requeueOrAbort(log, f, j, c)
}

// printerEvent records a printer event outside a probe (circuit breaker).
func (s *Scheduler) printerEvent(m *member, from, to, msg string) {
	if err := s.store.RecordEvent(context.Background(), job.Event{Kind: job.EventPrinterState, Printer: m.spec.Name,
		From: from, To: to, Message: msg}); err != nil {
		s.log.Error("record printer event", "printer", m.spec.Name, "err", err)
	}
	s.changed()
}

// watch follows a printing job until the printer reports it finished.
func (s *Scheduler) watch(ctx context.Context, log flightLog, m *member, f *flight, j *job.Job,
	set func(job.State, job.Change) bool) {
	s.mu.Lock()
	r := f.receipt
	s.mu.Unlock()
	last := -1
	progress := func(n int) {
		if n == last {
			return
		}
		last = n
		err := s.store.SetProgress(context.WithoutCancel(ctx), f.jobID, n, f.fence())
		if err == nil {
			s.notify.signal()
		} else if errors.Is(err, job.ErrFenced) {
			log.Warn("progress write fenced: another gateway holds the printer's lease now", "err", err)
		}
	}
	out, err := m.spec.Printer.Watch(ctx, r, progress)
	if err != nil {
		if ctx.Err() != nil {
			s.stopped(f, context.Cause(ctx), job.StatePrinting, false)
			return
		}
		var ue *printers.UnconfirmedError
		if errors.As(err, &ue) {
			log.Warn("page counter did not confirm the job, requeueing as possible duplicate", "err", err)
			mv := job.UnconfirmedTimeout(ue.Evidence, ue.Wait, j.Attempts, s.opts.MaxAttempts)
			s.transitionLogged(log, f, mv.To, mv.Change)
			return
		}
		// The backend gave up on the job (backends keep retrying while the printer is merely
		// unreachable; the probe and the grace period decide about a dead printer).
		log.Warn("watch failed, requeueing as possible duplicate", "err", err)
		s.requeueOrAbort(log, f, j, job.Change{Kind: job.EventFailover, Reason: "possible-duplicate",
			Message: "lost track of the job at " + m.spec.Name + ": " + err.Error(), PossibleDuplicate: true, Attempt: true})
		return
	}
	s.mu.Lock()
	s.converted(f.jobID)
	if !r.Done {
		m.finished(s.now(), f)
	}
	if out == printers.OutcomeCompleted {
		m.doneHour = append(m.doneHour, doneMark{at: s.now(), pages: f.pages})
	}
	s.mu.Unlock()
	switch out {
	case printers.OutcomeCompleted:
		c := job.Change{From: []job.State{job.StatePrinting}, Message: "completed at " + m.spec.Name}
		if ev, ok := takeEvidence(m, r); ok {
			// Confirmed by the printer's page counter: the evidence stays on the job.
			c.Evidence = &ev
			c.Message = "completed at " + m.spec.Name + ", every page counted: " + ev.String()
		}
		set(job.StateCompleted, c)
	case printers.OutcomeCanceled:
		set(job.StateCanceled, job.Change{From: []job.State{job.StatePrinting}, Reason: "canceled-at-device",
			Message: "canceled at " + m.spec.Name})
	default:
		// Aborted or forgotten upstream: some pages may have printed.
		s.requeueOrAbort(log, f, j, job.Change{Kind: job.EventFailover, Reason: "possible-duplicate",
			Message: fmt.Sprintf("printer %s reported the job %s", m.spec.Name, out), PossibleDuplicate: true, Attempt: true})
	}
}

// stopped handles a flight stopped from outside while in state at. certain says nothing
// reached the printer.
func (s *Scheduler) stopped(f *flight, cause error, at job.State, certain bool) {
	log := s.log.With("job", f.jobID, "printer", f.m.spec.Name)
	s.mu.Lock()
	actor, r, moveTo := f.actor, f.receipt, f.moveTo
	s.mu.Unlock()
	switch {
	case errors.Is(cause, errCanceled):
		if at == job.StatePrinting {
			s.cancelUpstream(f, r)
			takeEvidence(f.m, r) // no longer followed
		}
		mv := job.CanceledInFlight(actor)
		err := s.transitionLogged(log, f, mv.To, mv.Change)
		s.mu.Lock()
		f.cancelErr = err // the operator's CancelJob reports it
		s.mu.Unlock()
	case errors.Is(cause, errCanceledElsewhere):
		// The row says canceled already (the other gateway's write): only the printer is left.
		if at == job.StatePrinting {
			s.cancelUpstream(f, r)
			takeEvidence(f.m, r) // no longer followed
		}
		log.Info("job canceled on another gateway: canceled at the printer", "state", at)
	case errors.Is(cause, errLeaseLost) && at == job.StatePrinting:
		// The printer has the job: the gateway that holds the lease now watches it (it resumes
		// every printing job it finds at its printer), so leave the row as it is.
	case errors.Is(cause, errMoved), errors.Is(cause, errFailover), errors.Is(cause, errGraceEnded),
		errors.Is(cause, errLeaseLost):
		if at == job.StatePrinting {
			if ev, ok := takeEvidence(f.m, r); ok {
				// The printer's page counter followed the job: it is known to the page.
				mv := job.CountedTakenBack(ev, cause, errors.Is(cause, errMoved), s.holdsBytes(f.m), actor, moveTo)
				s.transitionLogged(log, f, mv.To, mv.Change)
				return
			}
		}
		mv := job.TakenBack(f.m.spec.Name, at, cause, certain, errors.Is(cause, errMoved), actor, moveTo)
		s.transitionLogged(log, f, mv.To, mv.Change)
		if at == job.StatePrinting {
			// Best effort, after the requeue: a stopped (not dead) printer that still holds the
			// job must not print it after it went elsewhere, but a dead one must not delay it.
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.cancelUpstream(f, r)
			}()
		}
	default:
		// Shutdown: leave the row as it is; recovery at the next start knows what to do.
	}
}

// stoppedCounted handles a flight stopped from outside while sending to a printer whose page
// counter followed the job (an operator's cancel stays a cancel).
func (s *Scheduler) stoppedCounted(f *flight, cause error, ev job.Evidence) {
	if !errors.Is(cause, errMoved) && !errors.Is(cause, errFailover) && !errors.Is(cause, errGraceEnded) {
		s.stopped(f, cause, job.StateSending, false)
		return
	}
	log := s.log.With("job", f.jobID, "printer", f.m.spec.Name)
	s.mu.Lock()
	actor, moveTo := f.actor, f.moveTo
	s.mu.Unlock()
	mv := job.CountedTakenBack(ev, cause, errors.Is(cause, errMoved), s.holdsBytes(f.m), actor, moveTo)
	s.transitionLogged(log, f, mv.To, mv.Change)
}

// holdsBytes reports whether m may still hold the jobs sent to it: it is not known dead (a
// stopped printer, jammed or with its door open, prints them once cleared).
func (s *Scheduler) holdsBytes(m *member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.state != printers.StateUnreachable
}

// takeEvidence is what m's page counter says about the job of r, when it follows it.
func takeEvidence(m *member, r printers.Receipt) (job.Evidence, bool) {
	c, ok := m.spec.Printer.(printers.Counted)
	if !ok || !r.Counted {
		return job.Evidence{}, false
	}
	return c.TakeEvidence(r)
}

func (s *Scheduler) cancelUpstream(f *flight, r printers.Receipt) {
	if r.UpstreamID == "" || r.Done {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.m.spec.Printer.Cancel(ctx, r); err != nil {
		s.log.Info("could not cancel job at printer", "job", f.jobID, "printer", f.m.spec.Name, "err", err)
	}
}

// requeue puts the job back to pending, its printer set to pin ("" = any pool member).
func (s *Scheduler) requeue(log flightLog, f *flight, c job.Change, pin string) {
	c.Printer = &pin
	s.transitionLogged(log, f, job.StatePending, c)
}

// requeueOrAbort requeues the job, or aborts it when this attempt (c.Attempt) uses up its
// attempts.
func (s *Scheduler) requeueOrAbort(log flightLog, f *flight, j *job.Job, c job.Change) {
	mv := job.RetryOrAbort(c, j.Attempts, s.opts.MaxAttempts)
	s.transitionLogged(log, f, mv.To, mv.Change)
}

// transitionLogged records a move of f's job under f's lease fence.
func (s *Scheduler) transitionLogged(log flightLog, f *flight, to job.State, c job.Change) error {
	c.Fence = f.fence()
	err := s.record(f.jobID, to, c)
	if err != nil {
		logRefused(log, to, err)
	}
	s.changed()
	return err
}

// logRefused logs a flight's write the store refused. A fenced one is dropped, not retried
// (record returns it at once): the gateway that holds the printer's lease now owns the job,
// and its state is the one that stands.
func logRefused(log flightLog, to job.State, err error) {
	if errors.Is(err, job.ErrFenced) {
		log.Warn("job write fenced: another gateway holds the printer's lease now; dropped", "to", to, "err", err)
		return
	}
	log.Warn("job transition refused", "to", to, "err", err)
}

// record writes a job's move, retrying a write the store could not make (a full disk, a busy
// or failing database) until it is made or the scheduler stops: the spool, which the dashboard
// shows and a restart recovers from, must end up saying what happened to the job, not what it
// was doing before. A refusal (an illegal move, a job that moved on or is gone, a closed store)
// is an answer, not a failure, and is returned at once.
func (s *Scheduler) record(id int64, to job.State, c job.Change) error {
	delay := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.store.Transition(context.Background(), id, to, c)
		if err == nil || errors.Is(err, job.ErrStateChanged) || errors.Is(err, job.ErrIllegalTransition) ||
			errors.Is(err, job.ErrNotFound) || errors.Is(err, job.ErrClosed) {
			return err
		}
		if attempt == 1 || attempt%20 == 0 {
			s.log.Warn("job state write failed, retrying until it is recorded", "job", id, "to", to,
				"attempt", attempt, "err", err)
		}
		var stop <-chan struct{}
		if s.runCtx != nil {
			stop = s.runCtx.Done()
		}
		t := time.NewTimer(delay)
		select {
		case <-stop:
			t.Stop()
			return fmt.Errorf("queue: job %d -> %s not recorded before shutdown: %w", id, to, err)
		case <-t.C:
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// inMemoryDocument is the largest document in the database that printJob reads whole.
const inMemoryDocument = 1 << 20

// printJob converts a stored job into what a backend needs.
func (s *Scheduler) printJob(ctx context.Context, j *job.Job) (*printers.Job, error) {
	// The job's template attributes go to the backend in their one typed form, as the front
	// door stored them: a new attribute is a field of job.Attributes and nothing here.
	pj := &printers.Job{ID: j.ID, UUID: j.UUID, Name: j.Name, Owner: j.Owner, Host: j.OriginHost, Pages: j.Pages,
		Copies: max(j.Attributes.Copies, 1), Template: j.Attributes}
	for _, d := range j.Documents {
		pd := printers.Document{Path: d.Path, Name: d.Name, Format: d.Format, Size: d.Size}
		switch {
		case d.Inline && d.Size <= inMemoryDocument:
			// Small documents live in the spool database; a letter is read whole.
			data, err := s.store.DocumentBytes(ctx, d)
			if err != nil {
				return nil, err
			}
			pd.Data = data
		case d.Inline:
			// A large document in the database (the PostgreSQL spool keeps every one there)
			// is streamed to the printer, never read whole.
			pd.Opener = func() (io.ReadCloser, error) { return s.store.OpenDocument(ctx, d) }
		}
		pj.Documents = append(pj.Documents, pd)
	}
	return pj, nil
}

// cancelCanceledElsewhere stops the flights whose jobs another gateway canceled (CancelJob on a
// gateway that does not drive the printer marks the row and publishes a notice): this gateway
// holds the printer, so it cancels them there.
func (s *Scheduler) cancelCanceledElsewhere(ctx context.Context) {
	s.mu.Lock()
	var ids []int64
	for _, m := range s.members {
		for id := range m.flights {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	jobs, err := s.store.Jobs(ctx, job.JobFilter{IDs: ids, States: []job.State{job.StateCanceled}, WithoutDocuments: true})
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("look for jobs canceled on another gateway", "err", err)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range jobs {
		if f := s.flightOf(j.ID); f != nil {
			f.cancel(errCanceledElsewhere)
		}
	}
}

// resumePrinting re-attaches jobs found printing at start to their printers' flights.
func (s *Scheduler) resumePrinting(ctx context.Context) error {
	jobs, err := s.store.Jobs(ctx, job.JobFilter{States: []job.State{job.StatePrinting}, Order: "oldest"})
	if err != nil {
		return fmt.Errorf("queue: resume printing jobs: %w", err)
	}
	for _, j := range jobs {
		m := s.members[j.Printer]
		if m == nil {
			// The printer left the configuration: the job must print elsewhere, maybe twice.
			mv := job.PrinterGone(j.Printer)
			if err := s.store.Transition(ctx, j.ID, mv.To, mv.Change); err != nil {
				return fmt.Errorf("queue: resume job %d: %w", j.ID, err)
			}
			continue
		}
		if !s.coord.Lease(m.spec.Name).Held {
			// Another gateway drives that printer: it watches the job.
			continue
		}
		s.resumeFlight(ctx, m, j)
	}
	return nil
}

// resumeFlight follows job j, found printing at m, from here.
func (s *Scheduler) resumeFlight(ctx context.Context, m *member, j *job.Job) {
	s.mu.Lock()
	if m.flights[j.ID] != nil {
		// Resumed already: by an earlier try of a start that then failed (startup retries),
		// or by a lease taken again.
		s.mu.Unlock()
		return
	}
	fctx, cancel := context.WithCancelCause(ctx)
	f := &flight{m: m, jobID: j.ID, pages: max(j.Pages, 1), ppm: s.sendPPM(m, j), state: job.StatePrinting, cancel: cancel,
		epoch: s.coord.Lease(m.spec.Name).Epoch, landed: make(chan struct{})}
	m.flights[j.ID] = f
	m.backlog += f.pages
	m.accepted(s.now(), f.pages, f.ppm, printers.Receipt{})
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel(nil)
		s.fly(fctx, m, f, j)
		s.land(m, f)
	}()
}
