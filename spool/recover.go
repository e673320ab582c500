// Crash recovery at start, exactly as shared/DESIGN.md says, and cleanup of orphan files.
package spool

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/printgate/printgate/job"
)

// recover runs before the committer starts, directly on the writer connection, and applies the
// restart rule (job.OnRestart: received aborted, assigned and sending requeued, printing left to
// the scheduler) to every job it moves. Files in tmp/ and documents without a row (staged but
// never committed) are removed.
func (s *Store) recover(ctx context.Context) error {
	now := s.now()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("spool: recover: %w", err)
	}
	defer tx.Rollback()
	counts := map[job.State]int{}
	for _, from := range job.All {
		mv, moves := job.OnRestart(from)
		if !moves {
			continue
		}
		rows, err := tx.Query(`SELECT id FROM jobs WHERE state = ?`, string(from))
		if err != nil {
			return fmt.Errorf("spool: recover %s jobs: %w", from, err)
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("spool: recover: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		for _, id := range ids {
			if err := transitionTx(tx, now, id, mv.To, mv.Change); err != nil {
				return fmt.Errorf("spool: recover job %d: %w", id, err)
			}
		}
		counts[from] = len(ids)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("spool: recover: commit: %w", err)
	}
	if counts[job.StateReceived]+counts[job.StateAssigned]+counts[job.StateSending] > 0 {
		s.log.Warn("spool recovered jobs after restart", "aborted_received", counts[job.StateReceived],
			"requeued_assigned", counts[job.StateAssigned], "requeued_sending", counts[job.StateSending])
	}
	return s.removeOrphans(ctx)
}

// removeOrphans deletes tmp/ files and docs/ files that no document row names: their client
// never got an "accepted", so nothing is lost.
func (s *Store) removeOrphans(ctx context.Context) error {
	tmp, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return fmt.Errorf("spool: recover: read tmp: %w", err)
	}
	for _, e := range tmp {
		os.Remove(filepath.Join(s.tmpDir, e.Name()))
	}
	docs, err := os.ReadDir(s.docsDir)
	if err != nil {
		return fmt.Errorf("spool: recover: read docs: %w", err)
	}
	if len(docs) == 0 {
		return nil
	}
	known := make(map[string]bool)
	rows, err := s.wdb.QueryContext(ctx, `SELECT path FROM documents WHERE deleted = 0`)
	if err != nil {
		return fmt.Errorf("spool: recover: list documents: %w", err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("spool: recover: %w", err)
		}
		known[filepath.Base(p)] = true
	}
	rows.Close()
	removed := 0
	for _, e := range docs {
		if !known[e.Name()] {
			if err := os.Remove(filepath.Join(s.docsDir, e.Name())); err == nil {
				removed++
			}
		}
	}
	if removed > 0 {
		s.log.Info("spool removed uncommitted documents", "count", removed)
	}
	return nil
}

// Retention removes the files of documents whose job finished more than Retention ago, keeping
// the rows (hash, size, pages) for the record. It returns how many files it removed.
func (s *Store) Retention(ctx context.Context) (int, error) {
	if s.opts.Retention <= 0 {
		return 0, nil
	}
	return s.removeFinished(ctx, s.now().Add(-s.opts.Retention), "", "past retention")
}

// Purge removes, as Retention does, the documents of every job that finished before
// finishedBefore, whatever the retention: an operator freeing space on a full disk. It never
// refuses for lack of space (it only frees it) and records one operator event per batch.
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

// purgeBatch is how many documents one removeFinished takes.
const purgeBatch = 5000

func (s *Store) removeFinished(ctx context.Context, before time.Time, actor, why string) (int, error) {
	cutoff := before.UnixNano()
	rows, err := s.rdb.QueryContext(ctx, `SELECT d.job_id, d.seq, d.path, d.inline FROM documents d JOIN jobs j ON j.id = d.job_id
		WHERE d.deleted = 0 AND j.state IN (`+sqlStates(job.Finished)+`) AND j.finished > 0 AND j.finished < ?
		LIMIT ?`, cutoff, purgeBatch)
	if err != nil {
		return 0, fmt.Errorf("spool: retention: %w", err)
	}
	type doc struct {
		job    int64
		seq    int
		path   string
		inline bool
	}
	var docs []doc
	for rows.Next() {
		var d doc
		if err := rows.Scan(&d.job, &d.seq, &d.path, &d.inline); err != nil {
			rows.Close()
			return 0, fmt.Errorf("spool: retention: %w", err)
		}
		docs = append(docs, d)
	}
	rows.Close()
	if len(docs) == 0 {
		return 0, nil
	}
	// Mark first, then delete the files: a crash in between leaves a file that removeOrphans
	// cleans up, never a row pointing at a missing file. Inline bytes go in the same commit.
	now := s.now()
	err = s.write(ctx, func(tx *sql.Tx) error {
		for _, d := range docs {
			if _, err := tx.Exec(`UPDATE documents SET deleted = ? WHERE job_id = ? AND seq = ?`, now.UnixNano(), d.job, d.seq); err != nil {
				return err
			}
			if d.inline {
				if _, err := tx.Exec(`DELETE FROM document_bytes WHERE job_id = ? AND seq = ?`, d.job, d.seq); err != nil {
					return err
				}
			}
		}
		kind := job.EventRetention
		if actor != "" {
			kind = job.EventOperator
		}
		return insertEvent(tx, now, job.Event{Kind: kind, Actor: actor, Message: fmt.Sprintf("removed %d documents %s", len(docs), why)})
	})
	if err != nil {
		return 0, fmt.Errorf("spool: retention: %w", err)
	}
	for _, d := range docs {
		if d.inline {
			continue
		}
		if err := os.Remove(s.abs(d.path)); err != nil && !os.IsNotExist(err) {
			s.log.Warn("spool retention: remove document", "job", d.job, "path", d.path, "err", err)
		}
	}
	return len(docs), nil
}
