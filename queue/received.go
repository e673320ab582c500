// Create-Job jobs whose client went away: a job stays in state received until its last document
// arrives, and nothing else ever moves it, so a client that crashed between Create-Job and its
// last Send-Document would leave a job in every queue listing for good. The sweep aborts such a
// job once it has waited longer than the multiple-operation-time-out the IPP front door
// advertises, as CUPS and PAPPL do.
package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
)

// ReceivedTimeout is how long a received job may wait for its next document: the
// multiple-operation-time-out the IPP front door advertises, so a client that honours it never
// loses a job to the sweep.
const ReceivedTimeout = ipp.DefaultMultipleOperationTimeout

// receivedSweepEvery is how often the sweep runs: a stale job is aborted at most this long
// after its time-out, a small fraction of the time-out itself.
const receivedSweepEvery = ReceivedTimeout / 4

// startReceivedSweep runs the sweep in a goroutine Run waits for.
func (s *Scheduler) startReceivedSweep(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(receivedSweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !s.coord.Leader() {
				continue // the leader sweeps for the whole cluster
			}
			if _, err := s.abortStaleReceived(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("received-job sweep failed", "err", err)
			}
		}
	}()
}

// abortStaleReceived aborts every job in state received whose last change (Create-Job, or its
// latest Send-Document) is older than ReceivedTimeout, and returns how many it aborted. It is
// the sweep's one pass, separate from the loop so tests call it with an injected clock.
//
// The transition names received as the only state it may leave, so a job whose last document
// commits first is left alone. A Send-Document without last-document that commits in the few
// milliseconds between the listing and the transition is lost with its job; that client was
// already at the edge of its time-out.
func (s *Scheduler) abortStaleReceived(ctx context.Context) (int, error) {
	jobs, err := s.store.Jobs(ctx, job.JobFilter{States: []job.State{job.StateReceived}, Order: "oldest",
		WithoutDocuments: true})
	if err != nil {
		return 0, fmt.Errorf("queue: list received jobs: %w", err)
	}
	cutoff := s.now().Add(-ReceivedTimeout)
	aborted := 0
	for _, j := range jobs {
		if !j.Updated.Before(cutoff) {
			continue
		}
		mv := job.ReceivedTimedOut(ReceivedTimeout)
		err := s.store.Transition(ctx, j.ID, mv.To, mv.Change)
		switch {
		case errors.Is(err, job.ErrStateChanged), errors.Is(err, job.ErrNotFound):
			// Its last document or a cancel got there first.
			continue
		case err != nil:
			return aborted, fmt.Errorf("queue: abort stale received job %d: %w", j.ID, err)
		}
		aborted++
		s.log.Info("aborted a job whose last document never came", "job", j.ID, "virtual_printer", j.VirtualPrinter,
			"waited", s.now().Sub(j.Updated).Round(time.Second))
	}
	if aborted > 0 {
		s.changed()
	}
	return aborted, nil
}
