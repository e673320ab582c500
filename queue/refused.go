// The audit of refused attempts: every front-end hands its refusals here, one event each.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/printgate/printgate/job"
)

// Refusal is one refused attempt as the front-ends report it.
type Refusal struct {
	// Frontend is "ipp", "lpd", "api" or "dashboard".
	Frontend string
	// What was tried, Who tried (signed-in or claimed), Remote from where, and Why it was refused.
	What, Who, Remote, Why string
	// JobID and Printer are its target, when it had one.
	JobID   int64
	Printer string
}

// RecordRefusal writes r to the event log (kind job.EventRefused). Past a burst per client
// host and minute (refusal_limit.go) a host's refusals are counted and written as one summary
// event instead. A failure is returned for the caller to log: the attempt stays refused either
// way.
func (s *Scheduler) RecordRefusal(ctx context.Context, r Refusal) error {
	write, done := s.refusals.admit(s.now(), r)
	var errs []error
	for _, sum := range done {
		errs = append(errs, s.recordRefusalSummary(ctx, sum))
	}
	if write {
		errs = append(errs, s.recordRefusal(ctx, r))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("queue: record refusal: %w", err)
	}
	return nil
}

func (s *Scheduler) recordRefusal(ctx context.Context, r Refusal) error {
	who := r.Who
	if who == "" {
		who = "(nobody)"
	}
	msg := fmt.Sprintf("%s: %s refused for %s from %s: %s", r.Frontend, r.What, who, r.Remote, r.Why)
	return s.store.RecordEvent(ctx, job.Event{Kind: job.EventRefused, JobID: r.JobID, Printer: r.Printer,
		Actor: r.Who, Message: msg})
}

func (s *Scheduler) recordRefusalSummary(ctx context.Context, sum refusalSummary) error {
	who := sum.last.Who
	if who == "" {
		who = "(nobody)"
	}
	msg := fmt.Sprintf("%d more refusals from %s since %s not written one by one (over %d a minute); the last: %s: %s refused for %s from %s: %s",
		sum.count, sum.host, sum.since.UTC().Format(time.RFC3339), refusalBurst,
		sum.last.Frontend, sum.last.What, who, sum.last.Remote, sum.last.Why)
	return s.store.RecordEvent(ctx, job.Event{Kind: job.EventRefused, Actor: sum.last.Who, Message: msg})
}

// flushRefusals writes the summaries still counted, when the scheduler stops.
func (s *Scheduler) flushRefusals(ctx context.Context) {
	for _, sum := range s.refusals.flush() {
		if err := s.recordRefusalSummary(ctx, sum); err != nil {
			s.log.Error("refusal summary not recorded", "host", sum.host, "count", sum.count, "err", err)
		}
	}
}
