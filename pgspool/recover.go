// Recovery at open and retention.
package pgspool

import (
	"context"
	"fmt"
	"time"

	"github.com/printgate/printgate/job"
)

// recover applies the restart rule (job.OnRestart) to the jobs this gateway moved last: another
// gateway's assigned and sending jobs are its own, and it is running. Staged documents need no
// sweep: none reaches the database before its commit.
func (s *Store) recover(ctx context.Context) error {
	now := s.now()
	counts := map[job.State]int{}
	err := s.write(ctx, func(tx *dbtx) error {
		clear(counts)
		for _, from := range job.All {
			mv, moves := job.OnRestart(from)
			if !moves {
				continue
			}
			rows, err := tx.Query(`SELECT id FROM jobs WHERE state = ? AND gateway = ? ORDER BY id FOR UPDATE`, string(from), s.opts.Gateway)
			if err != nil {
				return err
			}
			var ids []int64
			for rows.Next() {
				var id int64
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				ids = append(ids, id)
			}
			if err := rows.Close(); err != nil {
				return err
			}
			for _, id := range ids {
				if err := s.transitionTx(tx, now, id, mv.To, mv.Change); err != nil {
					return fmt.Errorf("job %d: %w", id, err)
				}
			}
			counts[from] = len(ids)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgspool: recover: %w", err)
	}
	if counts[job.StateReceived]+counts[job.StateAssigned]+counts[job.StateSending] > 0 {
		s.log.Warn("spool recovered jobs after restart", "gateway", s.opts.Gateway, "aborted_received", counts[job.StateReceived],
			"requeued_assigned", counts[job.StateAssigned], "requeued_sending", counts[job.StateSending])
	}
	return nil
}

// Retention removes the bytes of documents whose job finished more than Retention ago, keeping
// the rows (hash, size, pages) for the record. It returns how many documents it removed.
func (s *Store) Retention(ctx context.Context) (int, error) {
	if s.opts.Retention <= 0 {
		return 0, nil
	}
	return s.removeFinished(ctx, s.now().Add(-s.opts.Retention), "", "past retention")
}

// Purge removes the documents of every job finished before finishedBefore, whatever the
// retention, with one operator event per batch.
func (s *Store) Purge(ctx context.Context, finishedBefore time.Time, actor string) (int, error) {
	total := 0
	for {
		n, err := s.removeFinished(ctx, finishedBefore, actor, "purged by "+actor)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}

const purgeBatch = 5000

// removeFinished marks up to purgeBatch documents deleted and deletes their chunks in one
// transaction. The space goes back to the database's free space map when autovacuum has
// been through (docs/OPERATIONS.md).
func (s *Store) removeFinished(ctx context.Context, before time.Time, actor, why string) (int, error) {
	now := s.now()
	n := 0
	err := s.write(ctx, func(tx *dbtx) error {
		// Data-changing WITH clauses all run, referenced or not: one statement marks the rows
		// and deletes their bytes.
		err := tx.QueryRow(`WITH gone AS (
				SELECT d.job_id, d.seq FROM documents d JOIN jobs j ON j.id = d.job_id
				WHERE d.deleted = 0 AND j.state IN (`+sqlStates(job.Finished)+`) AND j.finished > 0 AND j.finished < ?
				ORDER BY d.job_id, d.seq LIMIT ? FOR UPDATE OF d SKIP LOCKED),
			marked AS (UPDATE documents d SET deleted = ? FROM gone WHERE d.job_id = gone.job_id AND d.seq = gone.seq RETURNING 1),
			bytes AS (DELETE FROM document_chunks c USING gone WHERE c.job_id = gone.job_id AND c.seq = gone.seq)
			SELECT count(*) FROM marked`, before.UnixNano(), purgeBatch, now.UnixNano()).Scan(&n)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kind := job.EventRetention
		if actor != "" {
			kind = job.EventOperator
		}
		return insertEvent(tx, now, job.Event{Kind: kind, Actor: actor, Message: fmt.Sprintf("removed %d documents %s", n, why)})
	})
	if err != nil {
		return 0, fmt.Errorf("pgspool: retention: %w", err)
	}
	return n, nil
}
