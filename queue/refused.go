// The audit of refused attempts: every front-end hands its refusals here, one event each.
package queue

import (
	"context"
	"fmt"

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

// RecordRefusal writes r to the event log (kind job.EventRefused). A failure is returned for
// the caller to log: the attempt stays refused either way.
func (s *Scheduler) RecordRefusal(ctx context.Context, r Refusal) error {
	who := r.Who
	if who == "" {
		who = "(nobody)"
	}
	msg := fmt.Sprintf("%s: %s refused for %s from %s: %s", r.Frontend, r.What, who, r.Remote, r.Why)
	if err := s.store.RecordEvent(ctx, job.Event{Kind: job.EventRefused, JobID: r.JobID, Printer: r.Printer,
		Actor: r.Who, Message: msg}); err != nil {
		return fmt.Errorf("queue: record refusal: %w", err)
	}
	return nil
}
