// The mail room's duplicate reviews: every possible-duplicate job with the evidence of its
// uncertain attempt, and the operators' decisions (job/duplicate.go has the rule).
package spool

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/printgate/printgate/job"
)

func decodeEvidence(s string) (*job.Evidence, error) {
	if s == "" {
		return nil, nil
	}
	var e job.Evidence
	if err := json.Unmarshal([]byte(s), &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// flagDuplicateTx opens (or reopens, with the new attempt's evidence) the review of job id.
func flagDuplicateTx(tx *sql.Tx, now time.Time, id int64, printer, evidence, msg string) error {
	_, err := tx.Exec(`INSERT INTO duplicate_reviews (job_id, printer, evidence, message, flagged) VALUES (?,?,?,?,?)
		ON CONFLICT (job_id) DO UPDATE SET printer = excluded.printer, evidence = excluded.evidence,
		message = excluded.message, flagged = excluded.flagged, decision = '', decided_by = '', decided = 0, note = ''`,
		id, printer, evidence, msg, now.UnixNano())
	return err
}

const duplicateColumns = `j.id, j.name, j.owner, j.run_id, j.seq, j.pages, j.state, j.printer, j.updated,
	coalesce(r.printer, ''), coalesce(r.evidence, ''), coalesce(r.message, ''), coalesce(r.flagged, 0),
	coalesce(r.decision, ''), coalesce(r.decided_by, ''), coalesce(r.decided, 0), coalesce(r.note, '')`

type queryer interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryDuplicates(ctx context.Context, db queryer, where string, args []any, limit int) ([]job.Duplicate, error) {
	q := `SELECT ` + duplicateColumns + ` FROM jobs j LEFT JOIN duplicate_reviews r ON r.job_id = j.id
		WHERE j.possible_duplicate = 1` + where + ` ORDER BY j.run_id, j.seq, j.id`
	if limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", limit)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []job.Duplicate
	for rows.Next() {
		var d job.Duplicate
		var state, evidence, decision string
		var updated, flagged, decided int64
		if err := rows.Scan(&d.JobID, &d.Name, &d.Owner, &d.RunID, &d.Seq, &d.Pages, &state, &d.CurrentPrinter, &updated,
			&d.Printer, &evidence, &d.Message, &flagged, &decision, &d.DecidedBy, &decided, &d.Note); err != nil {
			return nil, err
		}
		d.State, d.Decision = job.State(state), job.Decision(decision)
		if d.Evidence, err = decodeEvidence(evidence); err != nil {
			return nil, fmt.Errorf("decode evidence of job %d: %w", d.JobID, err)
		}
		// A job flagged before reviews existed (or by a driver path without one) still shows,
		// dated by its last change.
		d.FlaggedAt = unixOrZero(flagged)
		if d.FlaggedAt.IsZero() {
			d.FlaggedAt = time.Unix(0, updated)
		}
		d.DecidedAt = unixOrZero(decided)
		out = append(out, d)
	}
	return out, rows.Err()
}

// Duplicates lists the possible-duplicate jobs with their reviews, in run and sequence order.
func (s *Store) Duplicates(ctx context.Context, f job.DuplicateFilter) ([]job.Duplicate, error) {
	var conds []string
	var args []any
	if f.RunID != 0 {
		conds = append(conds, "j.run_id = ?")
		args = append(args, f.RunID)
	}
	if f.Undecided {
		conds = append(conds, "coalesce(r.decision, '') = ''")
	}
	where := ""
	if len(conds) > 0 {
		where = " AND " + strings.Join(conds, " AND ")
	}
	out, err := queryDuplicates(ctx, s.rdb, where, args, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("spool: duplicates: %w", err)
	}
	return out, nil
}

// DecideDuplicate records an operator's decision on job id's review, with an operator event,
// in one transaction, and returns the review.
func (s *Store) DecideDuplicate(ctx context.Context, id int64, d job.Decision, actor, note string) (*job.Duplicate, error) {
	if d != job.DecisionPrintedOnce && d != job.DecisionPrintedTwice {
		return nil, fmt.Errorf("spool: job %d: %w", id, errBadDecision)
	}
	now := s.now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		var dup bool
		var printer string
		var runID int64
		err := tx.QueryRow(`SELECT possible_duplicate, printer, run_id FROM jobs WHERE id = ?`, id).Scan(&dup, &printer, &runID)
		if errors.Is(err, sql.ErrNoRows) {
			return job.ErrNotFound
		}
		if err != nil {
			return err
		}
		if !dup {
			return job.ErrNotDuplicate
		}
		if _, err := tx.Exec(`INSERT INTO duplicate_reviews (job_id, printer, flagged, decision, decided_by, decided, note)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET decision = excluded.decision,
			decided_by = excluded.decided_by, decided = excluded.decided, note = excluded.note`,
			id, printer, now.UnixNano(), string(d), actor, now.UnixNano(), note); err != nil {
			return err
		}
		e := job.DecisionEvent(id, d, actor, note)
		e.RunID = runID
		var rp string
		if err := tx.QueryRow(`SELECT printer FROM duplicate_reviews WHERE job_id = ?`, id).Scan(&rp); err == nil {
			e.Printer = rp
		}
		return insertEvent(tx, now, e)
	})
	if err != nil {
		return nil, fmt.Errorf("spool: decide duplicate %d: %w", id, err)
	}
	out, err := queryDuplicates(ctx, s.rdb, " AND j.id = ?", []any{id}, 1)
	if err != nil || len(out) == 0 {
		return nil, fmt.Errorf("spool: duplicate %d: %w", id, errors.Join(err, job.ErrNotFound))
	}
	return &out[0], nil
}

var errBadDecision = errors.New("decision must be printed-once or printed-twice")
