// A flight is one job's trip to its printer: assigned, sending, printing, done. One goroutine per
// flight makes every state change of that job, so failover, cancel and shutdown only signal it.
package queue

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// Why a flight was stopped from outside.
var (
	errFailover   = errors.New("printer no longer usable")
	errMoved      = errors.New("moved by operator")
	errCanceled   = errors.New("canceled")
	errGraceEnded = errors.New("printer down past the grace period")
)

type flight struct {
	m       *member
	jobID   int64
	pages   int
	state   spool.State // assigned, sending or printing: what the flight has recorded
	cancel  context.CancelCauseFunc
	receipt printers.Receipt
	actor   string // who canceled or moved it
}

// startFlight records the assignment in memory and starts the flight. Called with s.mu held.
func (s *Scheduler) startFlight(ctx context.Context, j *spool.Job, m *member) {
	fctx, cancel := context.WithCancelCause(ctx)
	f := &flight{m: m, jobID: j.ID, pages: max(j.Pages, 1), state: spool.StatePending, cancel: cancel}
	m.flights[j.ID] = f
	m.backlog += f.pages
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel(nil)
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
	s.changed()
}

// fly runs one job to completion at m. resume, when not nil, is a job found printing at start.
func (s *Scheduler) fly(ctx context.Context, m *member, f *flight, resume *spool.Job) {
	name := m.spec.Name
	log := s.log.With("job", f.jobID, "printer", name)
	// Store writes use a context that outlives a canceled flight: the outcome must be recorded.
	bg := context.WithoutCancel(ctx)
	set := func(to spool.State, c spool.Change) bool {
		if err := s.store.Transition(bg, f.jobID, to, c); err != nil {
			log.Warn("job transition refused", "to", to, "err", err)
			return false
		}
		s.mu.Lock()
		f.state = to
		s.mu.Unlock()
		s.changed()
		return true
	}
	var job *spool.Job
	if resume != nil {
		job = resume
		f.state = spool.StatePrinting
		f.receipt = printers.Receipt{UpstreamID: job.UpstreamID}
	} else {
		if !set(spool.StateAssigned, spool.Change{From: []spool.State{spool.StatePending}, Printer: &name,
			Message: fmt.Sprintf("assigned to %s", name)}) {
			return
		}
		var err error
		if job, err = s.store.Job(bg, f.jobID); err != nil {
			log.Error("load assigned job", "err", err)
			s.requeue(log, f, spool.Change{Reason: "internal-error", Message: err.Error()})
			return
		}
		if !s.send(ctx, log, m, f, job, set) {
			return
		}
	}
	s.watch(ctx, log, m, f, job, set)
}

// send moves the job to "sending" and hands it to the printer, retrying while the printer says
// busy. It returns true when the printer accepted the job.
func (s *Scheduler) send(ctx context.Context, log interface {
	Warn(string, ...any)
	Info(string, ...any)
}, m *member, f *flight, job *spool.Job, set func(spool.State, spool.Change) bool) bool {
	if cause := context.Cause(ctx); ctx.Err() != nil {
		s.stopped(f, cause, spool.StateAssigned, true)
		return false
	}
	if !set(spool.StateSending, spool.Change{From: []spool.State{spool.StateAssigned}}) {
		return false
	}
	pj := printJob(job)
	wait := s.opts.BusyRetry
	for {
		r, err := m.spec.Printer.Send(ctx, pj)
		if err == nil {
			s.mu.Lock()
			m.sendErrors = 0
			f.receipt = r
			s.mu.Unlock()
			up := r.UpstreamID
			set(spool.StatePrinting, spool.Change{From: []spool.State{spool.StateSending}, UpstreamID: &up,
				Message: "accepted by " + m.spec.Name})
			return true
		}
		if ctx.Err() != nil {
			// Stopped while bytes may have been moving: the printer may have the job.
			s.stopped(f, context.Cause(ctx), spool.StateSending, errors.Is(err, printers.ErrBusy) || errors.Is(err, printers.ErrNotDelivered))
			return false
		}
		if errors.Is(err, printers.ErrBusy) {
			// Not a fault: the printer holds other work. Try again shortly, as long as it is usable.
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				s.stopped(f, context.Cause(ctx), spool.StateSending, true)
				return false
			case <-t.C:
			}
			wait = min(wait*2, 5*time.Second)
			continue
		}
		var jerr *printers.JobError
		if errors.As(err, &jerr) {
			log.Warn("printer refused the job", "err", err)
			s.requeueOrAbort(log, f, job, spool.Change{Reason: "job-refused", Message: err.Error()}, false)
			return false
		}
		// A printer fault counts against the printer (circuit breaker) and the job's attempts.
		certain := errors.Is(err, printers.ErrNotDelivered)
		s.mu.Lock()
		m.sendErrors++
		if m.sendErrors >= 3 {
			m.breakerOpen = s.now().Add(time.Duration(min(m.sendErrors, 10)) * s.opts.ProbeInterval)
		}
		s.mu.Unlock()
		log.Warn("send failed", "err", err, "delivered_nothing", certain)
		s.requeueOrAbort(log, f, job, spool.Change{Reason: "send-failed", Message: err.Error(),
			PossibleDuplicate: !certain}, true)
		return false
	}
}

// watch follows a printing job until the printer reports it finished.
func (s *Scheduler) watch(ctx context.Context, log interface {
	Warn(string, ...any)
	Info(string, ...any)
}, m *member, f *flight, job *spool.Job, set func(spool.State, spool.Change) bool) {
	s.mu.Lock()
	r := f.receipt
	s.mu.Unlock()
	progress := func(n int) {
		if err := s.store.SetProgress(context.WithoutCancel(ctx), f.jobID, n); err == nil {
			s.notify.signal()
		}
	}
	out, err := m.spec.Printer.Watch(ctx, r, progress)
	if err != nil {
		if ctx.Err() != nil {
			s.stopped(f, context.Cause(ctx), spool.StatePrinting, false)
			return
		}
		// The printer stopped answering about the job. Keep waiting is the probe's call: if
		// the printer is dead, failover will stop this flight; otherwise retry the watch.
		log.Warn("watch failed, requeueing as possible duplicate", "err", err)
		s.requeue(log, f, spool.Change{Kind: spool.EventFailover, Reason: "possible-duplicate",
			Message: "lost track of the job at " + m.spec.Name + ": " + err.Error(), PossibleDuplicate: true, Attempt: true})
		return
	}
	switch out {
	case printers.OutcomeCompleted:
		s.mu.Lock()
		m.doneHour = append(m.doneHour, doneMark{at: s.now(), pages: f.pages})
		s.mu.Unlock()
		set(spool.StateCompleted, spool.Change{From: []spool.State{spool.StatePrinting}, Message: "completed at " + m.spec.Name})
	case printers.OutcomeCanceled:
		set(spool.StateCanceled, spool.Change{From: []spool.State{spool.StatePrinting}, Reason: "canceled-at-device",
			Message: "canceled at " + m.spec.Name})
	default:
		// Aborted or forgotten upstream: some pages may have printed.
		s.requeueOrAbort(log, f, job, spool.Change{Kind: spool.EventFailover, Reason: "possible-duplicate",
			Message: fmt.Sprintf("printer %s reported the job %s", m.spec.Name, out), PossibleDuplicate: true}, true)
	}
}

// stopped handles a flight stopped from outside while in state at. certain says nothing
// reached the printer.
func (s *Scheduler) stopped(f *flight, cause error, at spool.State, certain bool) {
	log := s.log.With("job", f.jobID)
	s.mu.Lock()
	actor, r := f.actor, f.receipt
	s.mu.Unlock()
	switch {
	case errors.Is(cause, errCanceled):
		if at == spool.StatePrinting {
			s.cancelUpstream(f, r)
		}
		s.transitionLogged(log, f.jobID, spool.StateCanceled, spool.Change{Actor: actor, Kind: spool.EventOperator,
			Reason: "canceled-by-user", Message: "canceled by " + actor})
	case errors.Is(cause, errMoved), errors.Is(cause, errFailover), errors.Is(cause, errGraceEnded):
		if at == spool.StatePrinting {
			s.cancelUpstream(f, r)
		}
		dup := !certain && at != spool.StateAssigned
		c := spool.Change{Kind: spool.EventFailover, Actor: actor, PossibleDuplicate: dup, Attempt: at != spool.StateAssigned,
			Message: fmt.Sprintf("%s while %s", cause, at)}
		if dup {
			c.Reason = "possible-duplicate"
		}
		s.requeue(log, f, c)
	default:
		// Shutdown: leave the row as it is; recovery at the next start knows what to do.
	}
}

func (s *Scheduler) cancelUpstream(f *flight, r printers.Receipt) {
	if r.UpstreamID == "" || r.Done {
		return
	}
	// Best effort: a stopped (not dead) printer that still holds the job must not print it
	// after it has gone elsewhere.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.m.spec.Printer.Cancel(ctx, r); err != nil {
		s.log.Info("could not cancel job at printer", "job", f.jobID, "printer", f.m.spec.Name, "err", err)
	}
}

// requeue puts the job back to pending, printer cleared.
func (s *Scheduler) requeue(log interface{ Warn(string, ...any) }, f *flight, c spool.Change) {
	empty := ""
	c.Printer = &empty
	s.transitionLogged(log, f.jobID, spool.StatePending, c)
}

// requeueOrAbort requeues the job, or aborts it once it used up its attempts.
func (s *Scheduler) requeueOrAbort(log interface{ Warn(string, ...any) }, f *flight, job *spool.Job, c spool.Change, attempt bool) {
	c.Attempt = true
	if job.Attempts+1 >= s.opts.MaxAttempts {
		c.Message = fmt.Sprintf("aborted after %d attempts: %s", job.Attempts+1, c.Message)
		c.Reason = "aborted-by-system"
		s.transitionLogged(log, f.jobID, spool.StateAborted, c)
		return
	}
	s.requeue(log, f, c)
}

func (s *Scheduler) transitionLogged(log interface{ Warn(string, ...any) }, id int64, to spool.State, c spool.Change) {
	if err := s.store.Transition(context.Background(), id, to, c); err != nil {
		log.Warn("job transition refused", "to", to, "err", err)
	}
	s.changed()
}

// printJob converts a stored job into what a backend needs.
func printJob(j *spool.Job) *printers.Job {
	pj := &printers.Job{ID: j.ID, UUID: j.UUID, Name: j.Name, Owner: j.Owner, Host: j.OriginHost, Pages: j.Pages,
		Copies: max(j.Attributes.Copies, 1), Attributes: map[string]string{}}
	a := j.Attributes
	put := func(k, v string) {
		if v != "" {
			pj.Attributes[k] = v
		}
	}
	put("sides", a.Sides)
	put("media", a.Media)
	put("media-source", a.MediaSource)
	put("media-type", a.MediaType)
	put("print-color-mode", a.ColorMode)
	put("output-bin", a.OutputBin)
	put("print-scaling", a.PrintScaling)
	if a.Copies > 1 {
		put("copies", strconv.Itoa(a.Copies))
	}
	if a.PrintQuality > 0 {
		put("print-quality", strconv.Itoa(a.PrintQuality))
	}
	if a.Orientation > 0 {
		put("orientation-requested", strconv.Itoa(a.Orientation))
	}
	for k, v := range a.Extra {
		put(k, v)
	}
	for _, d := range j.Documents {
		pj.Documents = append(pj.Documents, printers.Document{Path: d.Path, Name: d.Name, Format: d.Format, Size: d.Size})
	}
	return pj
}

// resumePrinting re-attaches jobs found printing at start to their printers' flights.
func (s *Scheduler) resumePrinting(ctx context.Context) error {
	jobs, err := s.store.Jobs(ctx, spool.JobFilter{States: []spool.State{spool.StatePrinting}, Order: "oldest"})
	if err != nil {
		return fmt.Errorf("queue: resume printing jobs: %w", err)
	}
	for _, j := range jobs {
		m := s.members[j.Printer]
		if m == nil {
			// The printer left the configuration: the job must print elsewhere, maybe twice.
			empty := ""
			if err := s.store.Transition(ctx, j.ID, spool.StatePending, spool.Change{Printer: &empty, Kind: spool.EventFailover,
				PossibleDuplicate: true, Attempt: true, Reason: "possible-duplicate",
				Message: "printer " + j.Printer + " no longer configured"}); err != nil {
				return fmt.Errorf("queue: resume job %d: %w", j.ID, err)
			}
			continue
		}
		fctx, cancel := context.WithCancelCause(ctx)
		f := &flight{m: m, jobID: j.ID, pages: max(j.Pages, 1), state: spool.StatePrinting, cancel: cancel}
		s.mu.Lock()
		m.flights[j.ID] = f
		m.backlog += f.pages
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer cancel(nil)
			s.fly(fctx, m, f, j)
			s.land(m, f)
		}()
	}
	return nil
}
