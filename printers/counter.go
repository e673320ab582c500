// Printer-confirmed completion for the backends whose protocol has none (socket, LPD): with
// SNMP, a job is completed when the printer's page counter (prtMarkerLifeCount) has counted
// its pages, not when its bytes were sent, and a job taken back from a dead printer is known to
// the page (job/rule_counted.go decides what that means). The same agent answers the probes.
package printers

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/snmp"
)

// Counted is implemented by backends that follow jobs by the printer's page counter.
type Counted interface {
	// TakeEvidence returns what the counter says now about the job of r and stops following
	// it (the job leaves the printer); ok is false when the counter does not follow that job.
	// The caller takes it once Watch returned completed (the completion's evidence), or when
	// it takes the job back.
	TakeEvidence(r Receipt) (e job.Evidence, ok bool)
	// PeekEvidence is TakeEvidence that goes on following the job (for the job's record when
	// the printer accepted it).
	PeekEvidence(r Receipt) (e job.Evidence, ok bool)
	// Follow follows again a job the gateway sent before it restarted, from the evidence
	// recorded then; ok is false when this printer's counter follows no jobs.
	Follow(jobID int64, e job.Evidence) (r Receipt, ok bool)
}

// UnconfirmedError: the printer kept answering but did not count the job's pages within the
// bounded wait (SNMPConfig.ConfirmTimeout).
type UnconfirmedError struct {
	Evidence job.Evidence
	Wait     time.Duration
}

func (e *UnconfirmedError) Error() string {
	return fmt.Sprintf("printers: %s: pages not counted within %v (%s)", e.Evidence.Printer, e.Wait, e.Evidence)
}

// CountedSendError is a failed send to a printer whose counter followed the job: Evidence says
// whether any of it can have printed.
type CountedSendError struct {
	Evidence job.Evidence
	Err      error
}

func (e *CountedSendError) Error() string { return e.Err.Error() }
func (e *CountedSendError) Unwrap() error { return e.Err }

// SNMPConfig turns on SNMP status and page-counter confirmation for a socket or LPD printer.
type SNMPConfig struct {
	// Agent is how to reach the printer's agent; an empty Host is the printer's own host.
	Agent snmp.Config
	// Confirm follows jobs by the page counter (otherwise SNMP only answers probes).
	Confirm bool
	// PollInterval is how often a job waiting for its pages reads the counter.
	PollInterval time.Duration
	// ConfirmTimeout bounds the wait for the counter after the counter last moved (or after
	// the send, if it has not): then the job is requeued as a possible duplicate.
	ConfirmTimeout time.Duration
}

// counterEntry is one job being followed.
type counterEntry struct {
	jobID  int64
	before int64
	pages  int
	sentAt time.Time
}

// counter follows one printer's page counter and the jobs sent to it, in sending order.
type counter struct {
	name   string
	client *snmp.Client
	cfg    SNMPConfig
	now    func() time.Time

	mu      sync.Mutex
	entries []counterEntry
	// lastEnd is where the last job sent ends (its pages' counter values), so that the next one
	// sent before it finished starts there.
	lastEnd int64
	// last is the latest counter reading, lastMoved when its value last changed.
	last      snmp.Reading
	haveLast  bool
	lastMoved time.Time
}

func newCounter(name, host string, c *SNMPConfig, now func() time.Time) (*counter, error) {
	if c == nil {
		return nil, nil
	}
	agent := c.Agent
	if agent.Host == "" {
		agent.Host = host
	}
	cl, err := snmp.New(agent)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", name, err)
	}
	if now == nil {
		now = time.Now
	}
	cfg := *c
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 2 * time.Second
	}
	if cfg.ConfirmTimeout <= 0 {
		cfg.ConfirmTimeout = 10 * time.Minute
	}
	return &counter{name: name, client: cl, cfg: cfg, now: now}, nil
}

// observe records a reading.
func (c *counter) observe(r snmp.Reading) {
	if !r.HasLifeCount {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveLast || r.LifeCount != c.last.LifeCount {
		c.lastMoved = c.now()
	}
	c.last, c.haveLast = r, true
}

// begin reads the counter before a job's bytes go and starts following the job; false when
// the counter cannot follow it (confirmation off, or no counter known).
func (c *counter) begin(ctx context.Context, j *Job) bool {
	if c == nil || !c.cfg.Confirm {
		return false
	}
	r, err := c.client.Counter(ctx)
	if err == nil {
		c.observe(r)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.haveLast {
		// The agent never told a counter: completion is the transfer, as without SNMP.
		return false
	}
	pages := max(j.Pages, 1) * max(j.Copies, 1)
	e := counterEntry{jobID: j.ID, before: max(c.last.LifeCount, c.lastEnd), pages: pages, sentAt: c.now()}
	c.lastEnd = e.before + int64(pages)
	c.entries = append(c.entries, e)
	if len(c.entries) == 1 {
		// The wait is bounded from when the counter could start counting this job.
		c.lastMoved = c.now()
	}
	return true
}

// evidenceLocked is what the counter says about job id now.
func (c *counter) evidenceLocked(id int64) (job.Evidence, int, bool) {
	i := slices.IndexFunc(c.entries, func(e counterEntry) bool { return e.jobID == id })
	if i < 0 {
		return job.Evidence{}, -1, false
	}
	e := c.entries[i]
	return job.Evidence{Printer: c.name, Before: e.before, Pages: e.pages, After: c.last.LifeCount,
		SentAt: e.sentAt, AfterAt: c.last.At}, i, true
}

// take stops following job id and returns its evidence. A job that never reached the printer
// (abandoned) gives its pages back, when it was the last one sent.
func (c *counter) take(id int64, undelivered bool) (job.Evidence, bool) {
	if c == nil {
		return job.Evidence{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ev, i, ok := c.evidenceLocked(id)
	if !ok {
		return ev, false
	}
	c.entries = slices.Delete(c.entries, i, i+1)
	if undelivered && c.lastEnd == ev.End() {
		c.lastEnd = ev.Before
	}
	return ev, true
}

// TakeEvidence implements Counted.
func (c *counter) TakeEvidence(r Receipt) (job.Evidence, bool) {
	if !r.Counted {
		return job.Evidence{}, false
	}
	return c.take(r.JobID, false)
}

// PeekEvidence implements Counted.
func (c *counter) PeekEvidence(r Receipt) (job.Evidence, bool) {
	if c == nil || !r.Counted {
		return job.Evidence{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ev, _, ok := c.evidenceLocked(r.JobID)
	return ev, ok
}

// Follow implements Counted: the job's pages are expected where they were when it was sent;
// a job sent later starts after them.
func (c *counter) Follow(id int64, e job.Evidence) (Receipt, bool) {
	if c == nil || !c.cfg.Confirm {
		return Receipt{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, _, ok := c.evidenceLocked(id); !ok {
		c.entries = append(c.entries, counterEntry{jobID: id, before: e.Before, pages: max(e.Pages, 1), sentAt: e.SentAt})
		slices.SortStableFunc(c.entries, func(a, b counterEntry) int { return cmp.Compare(a.before, b.before) })
	}
	c.lastEnd = max(c.lastEnd, e.End())
	if len(c.entries) == 1 {
		c.lastMoved = c.now()
	}
	return Receipt{Counted: true, JobID: id}, true
}

// failed wraps a send error with the counter's evidence.
func (c *counter) failed(id int64, err error) error {
	if c == nil {
		return err
	}
	ev, ok := c.take(id, errors.Is(err, ErrNotDelivered))
	if !ok {
		return err
	}
	return &CountedSendError{Evidence: ev, Err: err}
}

// watch reads the counter until the job of r is confirmed, the wait runs out or ctx ends.
// A counter that cannot be read is read again: the probes and the grace period decide about
// a printer that stopped answering.
func (c *counter) watch(ctx context.Context, r Receipt, progress func(int)) (Outcome, error) {
	t := time.NewTicker(c.cfg.PollInterval)
	defer t.Stop()
	for {
		if rd, err := c.client.Counter(ctx); err == nil {
			c.observe(rd)
		}
		c.mu.Lock()
		ev, _, ok := c.evidenceLocked(r.JobID)
		idle := c.last.Status == snmp.StatusIdle
		stalled := c.now().Sub(c.lastMoved)
		c.mu.Unlock()
		if !ok {
			return OutcomeUnknown, fmt.Errorf("printers: %s: job %d no longer followed by the page counter", c.name, r.JobID)
		}
		if progress != nil {
			progress(int(min(max(ev.After-ev.Before, 0), int64(ev.Pages))))
		}
		if ev.Confirmed(idle) {
			// The evidence stays until the caller takes it for the job's record (Counted).
			return OutcomeCompleted, nil
		}
		if stalled >= c.cfg.ConfirmTimeout {
			ev, _ := c.take(r.JobID, false)
			return OutcomeUnknown, &UnconfirmedError{Evidence: ev, Wait: c.cfg.ConfirmTimeout}
		}
		select {
		case <-ctx.Done():
			return OutcomeUnknown, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// probe polls the agent: the printer's state from its error bits and status.
func (c *counter) probe(ctx context.Context, ppm int, caps *Capabilities) (Status, error) {
	r, err := c.client.Poll(ctx)
	if err != nil {
		return Status{QueuedJobs: -1}, fmt.Errorf("printers: %s: %w", c.name, err)
	}
	c.observe(r)
	h := r.Health()
	st := Status{State: StateReady, Reasons: h.Reasons, Accepting: true, QueuedJobs: -1, PPM: ppm, Capabilities: caps,
		Supplies: r.Supplies, Alerts: r.Alerts, NewAlerts: r.NewAlerts}
	if r.HasLifeCount {
		lc := r.LifeCount
		st.PageCount = &lc
	}
	switch {
	case h.Stopped:
		st.State = StateStopped
	case h.Degraded:
		st.State = StateDegraded
	case r.Status == snmp.StatusPrinting || r.Status == snmp.StatusWarmup:
		st.State = StateBusy
	}
	return st, nil
}
