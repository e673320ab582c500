// The mail room's duplicate review through the service layer: the list, the operator's
// decision (audited by the store in the same transaction), and which printer's stack of a bulk
// run may hold a second copy.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/printgate/printgate/job"
)

// Duplicates lists the possible-duplicate jobs with their evidence and reviews.
func (s *Scheduler) Duplicates(ctx context.Context, f job.DuplicateFilter) ([]job.Duplicate, error) {
	return s.store.Duplicates(ctx, f)
}

// DecideDuplicate records an operator's decision ("printed-once" or "printed-twice") on job
// id's review; the store writes it with an operator event.
func (s *Scheduler) DecideDuplicate(ctx context.Context, id int64, decision, actor, note string) (*job.Duplicate, error) {
	d, err := job.ParseDecision(decision)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotPossible, err)
	}
	if len(note) > 500 {
		return nil, fmt.Errorf("%w: note longer than 500 characters", ErrNotPossible)
	}
	out, err := s.store.DecideDuplicate(ctx, id, d, actor, note)
	if err != nil {
		if errors.Is(err, job.ErrNotDuplicate) {
			return nil, fmt.Errorf("%w: job %d was never flagged possible-duplicate", ErrNotPossible, id)
		}
		return nil, err
	}
	s.log.Info("duplicate review", "job", id, "decision", d, "actor", actor)
	s.notify.signal()
	return out, nil
}

// suspectRanges are, per printer, the sequence numbers of a run's letters whose uncertain
// attempt was at that printer: its stack may hold a copy of each (undecided or printed twice).
func (b *Bulk) suspectRanges(ctx context.Context, id int64) (map[string][][2]int64, error) {
	dups, err := b.store.Duplicates(ctx, job.DuplicateFilter{RunID: id})
	if err != nil {
		return nil, err
	}
	seqs := map[string][]int64{}
	for _, d := range dups {
		if d.Printer == "" || d.Decision == job.DecisionPrintedOnce {
			continue
		}
		seqs[d.Printer] = append(seqs[d.Printer], d.Seq)
	}
	out := map[string][][2]int64{}
	for p, ss := range seqs {
		slices.Sort(ss)
		var rs [][2]int64
		for _, q := range ss {
			if n := len(rs); n > 0 && rs[n-1][1] >= q-1 {
				rs[n-1][1] = max(rs[n-1][1], q)
			} else {
				rs = append(rs, [2]int64{q, q})
			}
		}
		out[p] = rs
	}
	return out, nil
}
