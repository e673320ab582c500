// Bulk runs: a run's row, its letters registered in batches, its life (commit, pause, resume,
// cancel, completion), the manifest query, and the cron schedules that create runs.
package pgspool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/printgate/printgate/job"
)

const runColumns = `id, name, virtual_printer, owner, origin_host, source, state, schedule_id, start_at,
	attributes, separator, letters, pages, created, updated, committed, finished`

func scanRun(r scanner) (*job.Run, error) {
	var run job.Run
	var state, attrs string
	var startAt, created, updated, committed, finished int64
	err := r.Scan(&run.ID, &run.Name, &run.VirtualPrinter, &run.Owner, &run.OriginHost, &run.Source, &state,
		&run.ScheduleID, &startAt, &attrs, &run.Separator, &run.Letters, &run.Pages, &created, &updated,
		&committed, &finished)
	if err != nil {
		return nil, err
	}
	run.State = job.RunState(state)
	if err := json.Unmarshal([]byte(attrs), &run.Attributes); err != nil {
		return nil, fmt.Errorf("decode attributes of run %d: %w", run.ID, err)
	}
	run.StartAt = unixOrZero(startAt)
	run.Created, run.Updated = time.Unix(0, created), time.Unix(0, updated)
	run.Committed, run.Finished = unixOrZero(committed), unixOrZero(finished)
	return &run, nil
}

func unixOrZero(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

func nsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func runTx(tx *dbtx, id int64) (*job.Run, error) {
	r, err := scanRun(tx.QueryRow(`SELECT `+runColumns+` FROM runs WHERE id = ? FOR UPDATE`, id))
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("run %d: %w", id, job.ErrRunNotFound)
	}
	return r, err
}

// CreateRun records a run in state uploading. Its letters follow with AddLetters; CommitRun
// makes them schedulable.
func (s *Store) CreateRun(ctx context.Context, nr job.NewRun) (*job.Run, error) {
	if nr.Name == "" || nr.VirtualPrinter == "" {
		return nil, errors.New("pgspool: create run: name and virtual printer are required")
	}
	attrs, err := json.Marshal(nr.Attributes)
	if err != nil {
		return nil, fmt.Errorf("pgspool: create run: encode attributes: %w", err)
	}
	now := s.now()
	var id int64
	var key *string
	if nr.IdempotencyKey != "" {
		key = &nr.IdempotencyKey
	}
	err = s.write(ctx, func(tx *dbtx) error {
		if key != nil {
			// A retried request: the run the first one made (a racing twin is refused by the
			// unique index, and write runs this again).
			err := tx.QueryRow(`SELECT id FROM runs WHERE idempotency_key = ?`, *key).Scan(&id)
			if err == nil {
				return nil
			}
			if !errors.Is(err, errNoRows) {
				return err
			}
		}
		err := tx.QueryRow(`INSERT INTO runs (name, virtual_printer, owner, origin_host, source, state, schedule_id,
			start_at, attributes, separator, gateway, idempotency_key, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			nr.Name, nr.VirtualPrinter, nr.Owner, nr.OriginHost, nr.Source, string(job.RunUploading), nr.ScheduleID,
			nsOrZero(nr.StartAt), string(attrs), nr.Separator, s.opts.Gateway, key, now.UnixNano(), now.UnixNano()).Scan(&id)
		if err != nil {
			return err
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventRun, RunID: id, To: string(job.RunUploading), Actor: nr.Owner,
			Message: fmt.Sprintf("run %q created for %s, uploading", nr.Name, nr.VirtualPrinter)})
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: create run: %w", err)
	}
	return s.Run(ctx, id)
}

// AddLetters registers a batch of letters of an uploading run in one commit, as sequence
// numbers firstSeq, firstSeq+1, ... The batch must continue the run exactly (*SequenceError
// otherwise), which makes a retried batch harmless. The letters stay held until CommitRun.
// On error the staged documents are left to the caller to discard.
func (s *Store) AddLetters(ctx context.Context, runID, firstSeq int64, letters []job.NewLetter) (*job.Run, error) {
	now := s.now()
	var out *job.Run
	err := s.write(ctx, func(tx *dbtx) error {
		r, err := runTx(tx, runID)
		if err != nil {
			return err
		}
		if r.State != job.RunUploading {
			return &job.RunStateError{RunID: runID, State: r.State, Action: "add letters"}
		}
		if want := int64(r.Letters) + 1; firstSeq != want {
			return &job.SequenceError{RunID: runID, Want: want, Got: firstSeq}
		}
		pages, _, err := s.insertLetters(tx, now, r, letters, func(i int) (int64, string, string, string) {
			return firstSeq + int64(i), job.OriginBulk, job.ReasonRunUploading, "letter received via bulk upload"
		}, job.StateHeld)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE runs SET letters = letters + ?, pages = pages + ?, updated = ? WHERE id = ?`,
			len(letters), pages, now.UnixNano(), runID); err != nil {
			return err
		}
		r.Letters += len(letters)
		r.Pages += pages
		r.Updated = now
		out = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: run %d: add %d letters: %w", runID, len(letters), err)
	}
	for _, l := range letters {
		committed(l.Doc) // attached: Discard must no longer remove it
	}
	return out, nil
}

// insertLetters inserts letter jobs of run r with one document each; meta gives each letter's
// sequence number, origin, state reason and event message. It returns the pages and job ids
// inserted.
func (s *Store) insertLetters(tx *dbtx, now time.Time, r *job.Run, letters []job.NewLetter,
	meta func(i int) (seq int64, origin, reason, message string), state job.State) (int, []int64, error) {
	attrs, err := json.Marshal(r.Attributes)
	if err != nil {
		return 0, nil, err
	}
	prio := r.Attributes.JobPriority
	if prio <= 0 {
		prio = 50
	}
	copies := max(r.Attributes.Copies, 1)
	docs := newDocWriter(tx)
	total := 0
	ids := make([]int64, 0, len(letters))
	for i, l := range letters {
		if !attachable(l.Doc) {
			return 0, nil, fmt.Errorf("letter %d (%s): %w", i+1, l.Source, job.ErrEmptyDocument)
		}
		seq, origin, reason, msg := meta(i)
		pages := l.Doc.Pages * copies
		// The job row and its event in one statement: a thousand letters of a batch cost a
		// thousand round trips, not two thousand.
		var id int64
		if err := tx.QueryRow(`WITH j AS (INSERT INTO jobs (uuid, virtual_printer, name, owner, origin_host, origin, lane,
			lane_rank, priority, run_id, seq, state, state_reason, pages, pages_estimated, attributes, gateway, created, updated)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id),
			e AS (INSERT INTO events (at, kind, job_id, printer, run_id, from_state, to_state, actor, message)
			SELECT ?, ?, id, '', ?, '', ?, ?, ? FROM j) SELECT id FROM j`,
			newUUID(), r.VirtualPrinter, l.Source, r.Owner, r.OriginHost, origin, string(job.LaneBulk),
			laneRank(job.LaneBulk), prio, r.ID, seq, string(state), reason, pages, l.Doc.PagesEstimated, string(attrs),
			s.opts.Gateway, now.UnixNano(), now.UnixNano(),
			now.UnixNano(), job.EventJobState, r.ID, string(state), r.Owner, msg).Scan(&id); err != nil {
			return 0, nil, err
		}
		if err := docs.insert(id, 1, l.Doc); err != nil {
			return 0, nil, err
		}
		total += pages
		ids = append(ids, id)
	}
	if err := docs.flush(); err != nil {
		return 0, nil, err
	}
	return total, ids, nil
}

// CommitRun ends an upload: in one transaction every letter becomes schedulable (pending), or
// stays held until StartAt (state scheduled). For a run made by a schedule the letters' hashes
// are recorded as seen in the same transaction.
func (s *Store) CommitRun(ctx context.Context, runID int64, o job.CommitOptions) (*job.Run, error) {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		r, err := runTx(tx, runID)
		if err != nil {
			return err
		}
		if r.State != job.RunUploading {
			return &job.RunStateError{RunID: runID, State: r.State, Action: "commit"}
		}
		if r.Letters == 0 {
			return fmt.Errorf("run %d: %w", runID, job.ErrEmptyRun)
		}
		to := job.RunActive
		msg := fmt.Sprintf("run %q committed: %d letters, %d pages", r.Name, r.Letters, r.Pages)
		if r.StartAt.After(now) {
			to = job.RunScheduled
			msg += ", held until " + r.StartAt.Format(time.RFC3339)
			if _, err := tx.Exec(`UPDATE jobs SET state_reason = ?, updated = ? WHERE run_id = ? AND state IN (`+sqlStates([]job.State{job.StateHeld})+`)
				AND state_reason = ?`, job.ReasonRunScheduled, now.UnixNano(), runID, job.ReasonRunUploading); err != nil {
				return err
			}
		} else if _, err := moveLetters(tx, now, runID, job.StateHeld, []string{job.ReasonRunUploading}, job.StatePending, "",
			o.Actor, fmt.Sprintf("run %d committed", runID)); err != nil {
			return err
		}
		if !job.CanRunTransition(r.State, to) {
			return &job.RunStateError{RunID: runID, State: r.State, Action: "become " + string(to)}
		}
		if _, err := tx.Exec(`UPDATE runs SET state = ?, committed = ?, updated = ? WHERE id = ?`,
			string(to), now.UnixNano(), now.UnixNano(), runID); err != nil {
			return err
		}
		if r.ScheduleID != 0 {
			if _, err := tx.Exec(`INSERT INTO run_schedule_seen (schedule_id, sha256, run_id, source, seen)
				SELECT ?, d.sha256, j.run_id, j.name, ? FROM jobs j JOIN documents d ON d.job_id = j.id
				WHERE j.run_id = ? ON CONFLICT DO NOTHING`, r.ScheduleID, now.UnixNano(), runID); err != nil {
				return err
			}
			if !o.Fired.IsZero() {
				if _, err := tx.Exec(`UPDATE run_schedules SET last_fired = ? WHERE id = ?`, o.Fired.UnixNano(), r.ScheduleID); err != nil {
					return err
				}
				if o.FiredMessage != "" {
					if err := insertEvent(tx, now, job.Event{Kind: job.EventSchedule, RunID: runID, Actor: o.Actor,
						Message: o.FiredMessage}); err != nil {
						return err
					}
				}
			}
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventRun, RunID: runID, From: string(job.RunUploading), To: string(to),
			Actor: o.Actor, Message: msg})
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: commit run %d: %w", runID, err)
	}
	return s.Run(ctx, runID)
}

// moveLetters moves a run's letters in state from (and, when reasons is not empty, with one of
// those state reasons) to state to, with one job-state event per letter, set-based so that a
// 100,000-letter run changes in one statement pair. It returns how many letters moved.
func moveLetters(tx *dbtx, now time.Time, runID int64, from job.State, reasons []string, to job.State, toReason, actor, msg string) (int64, error) {
	if !job.CanTransition(from, to) {
		return 0, &job.TransitionError{From: from, To: to}
	}
	cond := `run_id = ? AND state = ?`
	args := []any{runID, string(from)}
	if len(reasons) > 0 {
		cond += ` AND state_reason IN (` + placeholders(len(reasons)) + `)`
		for _, r := range reasons {
			args = append(args, r)
		}
	}
	evArgs := append([]any{now.UnixNano(), job.EventJobState, string(from), string(to), actor, msg}, args...)
	if _, err := tx.Exec(`INSERT INTO events (at, kind, job_id, printer, run_id, from_state, to_state, actor, message)
		SELECT ?, ?, id, printer, run_id, ?, ?, ?, ? FROM jobs WHERE `+cond, evArgs...); err != nil {
		return 0, err
	}
	set := `state = ?, state_reason = ?, updated = ?`
	setArgs := []any{string(to), toReason, now.UnixNano()}
	if started, _ := job.Stamps(to); started {
		// No letter moves into sending this way; one that did would need transitionTx's
		// keep-the-first-start rule here too.
		return 0, fmt.Errorf("pgspool: letters cannot move to %s as a set", to)
	}
	if _, finished := job.Stamps(to); finished {
		set += `, finished = ?`
		setArgs = append(setArgs, now.UnixNano())
	}
	res, err := tx.Exec(`UPDATE jobs SET `+set+` WHERE `+cond, append(setArgs, args...)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// setRunState updates a run's state with its event.
func setRunState(tx *dbtx, now time.Time, r *job.Run, to job.RunState, actor, msg string) error {
	if !job.CanRunTransition(r.State, to) {
		return &job.RunStateError{RunID: r.ID, State: r.State, Action: "become " + string(to)}
	}
	fin := int64(0)
	if to.Final() {
		fin = now.UnixNano()
	}
	if _, err := tx.Exec(`UPDATE runs SET state = ?, updated = ?, finished = ? WHERE id = ?`,
		string(to), now.UnixNano(), fin, r.ID); err != nil {
		return err
	}
	return insertEvent(tx, now, job.Event{Kind: job.EventRun, RunID: r.ID, From: string(r.State), To: string(to), Actor: actor, Message: msg})
}

// runAction runs fn on run id inside one write and returns the run as it is afterwards.
func (s *Store) runAction(ctx context.Context, id int64, what string, fn func(tx *dbtx, now time.Time, r *job.Run) error) (*job.Run, error) {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		r, err := runTx(tx, id)
		if err != nil {
			return err
		}
		return fn(tx, now, r)
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: %s run %d: %w", what, id, err)
	}
	return s.Run(ctx, id)
}

// ActivateRun starts a scheduled run whose time has come: its letters become pending.
func (s *Store) ActivateRun(ctx context.Context, id int64, msg string) (*job.Run, error) {
	return s.runAction(ctx, id, "activate", func(tx *dbtx, now time.Time, r *job.Run) error {
		if r.State != job.RunScheduled {
			return &job.RunStateError{RunID: id, State: r.State, Action: "start"}
		}
		if _, err := moveLetters(tx, now, id, job.StateHeld, []string{job.ReasonRunScheduled}, job.StatePending, "", "", msg); err != nil {
			return err
		}
		return setRunState(tx, now, r, job.RunActive, "", msg)
	})
}

// PauseRun holds a run's pending letters; letters already at a printer finish. Pausing a
// paused run changes nothing.
func (s *Store) PauseRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	return s.runAction(ctx, id, "pause", func(tx *dbtx, now time.Time, r *job.Run) error {
		switch r.State {
		case job.RunPaused:
			return nil
		case job.RunActive, job.RunScheduled:
		default:
			return &job.RunStateError{RunID: id, State: r.State, Action: "pause"}
		}
		msg := fmt.Sprintf("run %d paused by %s", id, actor)
		if _, err := moveLetters(tx, now, id, job.StatePending, nil, job.StateHeld, job.ReasonRunPaused, actor, msg); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE jobs SET state_reason = ?, updated = ? WHERE run_id = ? AND state IN (`+sqlStates([]job.State{job.StateHeld})+`)
			AND state_reason = ?`, job.ReasonRunPaused, now.UnixNano(), id, job.ReasonRunScheduled); err != nil {
			return err
		}
		return setRunState(tx, now, r, job.RunPaused, actor, msg)
	})
}

// ResumeRun undoes PauseRun: the held letters become pending again (or stay held until the
// run's start time, when that is still ahead). Resuming a running run changes nothing.
func (s *Store) ResumeRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	return s.runAction(ctx, id, "resume", func(tx *dbtx, now time.Time, r *job.Run) error {
		switch r.State {
		case job.RunActive, job.RunScheduled:
			return nil
		case job.RunPaused:
		default:
			return &job.RunStateError{RunID: id, State: r.State, Action: "resume"}
		}
		msg := fmt.Sprintf("run %d resumed by %s", id, actor)
		if r.StartAt.After(now) {
			if _, err := tx.Exec(`UPDATE jobs SET state_reason = ?, updated = ? WHERE run_id = ? AND state IN (`+sqlStates([]job.State{job.StateHeld})+`)
				AND state_reason = ?`, job.ReasonRunScheduled, now.UnixNano(), id, job.ReasonRunPaused); err != nil {
				return err
			}
			return setRunState(tx, now, r, job.RunScheduled, actor, msg+", held until "+r.StartAt.Format(time.RFC3339))
		}
		if _, err := moveLetters(tx, now, id, job.StateHeld, []string{job.ReasonRunPaused}, job.StatePending, "", actor, msg); err != nil {
			return err
		}
		return setRunState(tx, now, r, job.RunActive, actor, msg)
	})
}

// CancelRun cancels every letter not yet at a printer and returns the ids of those that are
// (assigned, sending or printing): the scheduler cancels them where they are.
func (s *Store) CancelRun(ctx context.Context, id int64, actor string) (*job.Run, []int64, error) {
	var inflight []int64
	r, err := s.runAction(ctx, id, "cancel", func(tx *dbtx, now time.Time, r *job.Run) error {
		inflight = inflight[:0]
		switch r.State {
		case job.RunScheduled, job.RunActive, job.RunPaused:
		default:
			return &job.RunStateError{RunID: id, State: r.State, Action: "cancel"}
		}
		msg := fmt.Sprintf("run %d canceled by %s", id, actor)
		for _, from := range []job.State{job.StatePending, job.StateHeld} {
			if _, err := moveLetters(tx, now, id, from, nil, job.StateCanceled, "canceled-by-user", actor, msg); err != nil {
				return err
			}
		}
		rows, err := tx.Query(`SELECT id FROM jobs WHERE run_id = ? AND state IN (`+sqlStates(job.AtPrinter)+`) ORDER BY seq`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var jid int64
			if err := rows.Scan(&jid); err != nil {
				return err
			}
			inflight = append(inflight, jid)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return setRunState(tx, now, r, job.RunCanceled, actor, msg)
	})
	if err != nil {
		return nil, nil, err
	}
	return r, inflight, nil
}

// openStates are the letter states that keep a run from finishing.
var openStates = sqlStates(job.Unfinished)

// FinishRuns marks active and paused runs without open letters completed and returns them.
func (s *Store) FinishRuns(ctx context.Context) ([]*job.Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs WHERE state IN ('active', 'paused') AND NOT EXISTS
		(SELECT 1 FROM jobs WHERE jobs.run_id = runs.id AND jobs.state IN (` + openStates + `))`
	done, err := s.queryRuns(ctx, q)
	if err != nil || len(done) == 0 {
		return nil, err
	}
	var out []*job.Run
	for _, r := range done {
		fin, err := s.runAction(ctx, r.ID, "finish", func(tx *dbtx, now time.Time, r *job.Run) error {
			if r.State != job.RunActive && r.State != job.RunPaused {
				return nil
			}
			var open int
			if err := tx.QueryRow(`SELECT count(*) FROM jobs WHERE run_id = ? AND state IN (`+openStates+`)`, r.ID).Scan(&open); err != nil {
				return err
			}
			if open > 0 { // a reprint arrived since the read
				return nil
			}
			tallies, err := runTalliesTx(tx, r.ID)
			if err != nil {
				return err
			}
			return setRunState(tx, now, r, job.RunCompleted, "", fmt.Sprintf("run %d completed: %s", r.ID, tallies))
		})
		if err != nil {
			return out, err
		}
		if fin.State == job.RunCompleted {
			out = append(out, fin)
		}
	}
	return out, nil
}

func runTalliesTx(tx *dbtx, id int64) (string, error) {
	rows, err := tx.Query(`SELECT state, count(*) FROM jobs WHERE run_id = ? GROUP BY state ORDER BY state`, id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("%d %s", n, st))
	}
	return strings.Join(parts, ", "), rows.Err()
}

// HoldPausedRuns holds letters of paused runs that became pending after the pause (a letter
// in flight at the pause that was requeued by a failover). It returns how many it held.
func (s *Store) HoldPausedRuns(ctx context.Context) (int64, error) {
	var ids []int64
	rows, err := s.query(ctx, `SELECT id FROM runs WHERE state = 'paused' AND EXISTS
		(SELECT 1 FROM jobs WHERE jobs.run_id = runs.id AND jobs.state IN (`+sqlStates([]job.State{job.StatePending})+`))`)
	if err != nil {
		return 0, fmt.Errorf("pgspool: hold paused runs: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("pgspool: hold paused runs: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var total int64
	for _, id := range ids {
		now := s.now()
		err := s.write(ctx, func(tx *dbtx) error {
			var st string
			if err := tx.QueryRow(`SELECT state FROM runs WHERE id = ? FOR UPDATE`, id).Scan(&st); err != nil {
				return err
			}
			if job.RunState(st) != job.RunPaused {
				return nil
			}
			n, err := moveLetters(tx, now, id, job.StatePending, nil, job.StateHeld, job.ReasonRunPaused, "",
				fmt.Sprintf("run %d is paused", id))
			total += n
			return err
		})
		if err != nil {
			return total, fmt.Errorf("pgspool: hold letters of paused run %d: %w", id, err)
		}
	}
	return total, nil
}

// DiscardRun removes an upload that was never committed: its letters' rows and document files
// go, the run row stays (state discarded) with an event saying why.
func (s *Store) DiscardRun(ctx context.Context, id int64, reason string) error {
	_, err := s.runAction(ctx, id, "discard", func(tx *dbtx, now time.Time, r *job.Run) error {
		if r.State != job.RunUploading {
			return &job.RunStateError{RunID: id, State: r.State, Action: "discard"}
		}
		for _, q := range []string{
			`DELETE FROM events WHERE run_id = ? AND job_id <> 0`,
			`DELETE FROM document_chunks WHERE job_id IN (SELECT id FROM jobs WHERE run_id = ?)`,
			`DELETE FROM documents WHERE job_id IN (SELECT id FROM jobs WHERE run_id = ?)`,
			`DELETE FROM jobs WHERE run_id = ?`,
		} {
			if _, err := tx.Exec(q, id); err != nil {
				return err
			}
		}
		return setRunState(tx, now, r, job.RunDiscarded, "", fmt.Sprintf("upload of run %d discarded (%d letters removed): %s",
			id, r.Letters, reason))
	})
	return err
}

// StaleUploads lists runs still uploading whose last batch arrived before idleSince.
func (s *Store) StaleUploads(ctx context.Context, idleSince time.Time) ([]*job.Run, error) {
	return s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE state = 'uploading' AND updated < ?`,
		idleSince.UnixNano())
}

// RecoverRuns discards every upload left uncommitted by a previous process: its client never got
// the commit's answer, and a half-registered run must not print.
func (s *Store) RecoverRuns(ctx context.Context) ([]int64, error) {
	// Only this gateway's: another one may be receiving its upload right now.
	runs, err := s.queryRuns(ctx, `SELECT `+runColumns+` FROM runs WHERE state = 'uploading' AND gateway = ?`, s.opts.Gateway)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, r := range runs {
		if err := s.DiscardRun(ctx, r.ID, "gateway restarted before the upload was committed"); err != nil {
			return ids, err
		}
		ids = append(ids, r.ID)
	}
	return ids, nil
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (*job.Run, error) {
	r, err := scanRun(s.queryRow(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("pgspool: run %d: %w", id, job.ErrRunNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgspool: run %d: %w", id, err)
	}
	return r, nil
}

// Runs lists runs newest first.
func (s *Store) Runs(ctx context.Context, f job.RunFilter) ([]*job.Run, error) {
	var conds []string
	var args []any
	if len(f.States) > 0 {
		conds = append(conds, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if f.ScheduleID != 0 {
		conds = append(conds, "schedule_id = ?")
		args = append(args, f.ScheduleID)
	}
	if f.BeforeID > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.BeforeID)
	}
	q := `SELECT ` + runColumns + ` FROM runs`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	return s.queryRuns(ctx, q, args...)
}

func (s *Store) queryRuns(ctx context.Context, q string, args ...any) ([]*job.Run, error) {
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgspool: list runs: %w", err)
	}
	defer rows.Close()
	var out []*job.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("pgspool: list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunTallies groups a run's letters by printer, state and origin.
func (s *Store) RunTallies(ctx context.Context, id int64) ([]job.RunTally, error) {
	rows, err := s.query(ctx, `SELECT printer, state, origin = ?, count(*), coalesce(sum(pages), 0)::bigint,
		coalesce(min(seq), 0), coalesce(max(seq), 0) FROM jobs WHERE run_id = ? GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
		job.OriginBulkReprint, id)
	if err != nil {
		return nil, fmt.Errorf("pgspool: run %d tallies: %w", id, err)
	}
	defer rows.Close()
	var out []job.RunTally
	for rows.Next() {
		var t job.RunTally
		var st string
		if err := rows.Scan(&t.Printer, &st, &t.Reprint, &t.Letters, &t.Pages, &t.FirstSeq, &t.LastSeq); err != nil {
			return nil, fmt.Errorf("pgspool: run %d tallies: %w", id, err)
		}
		t.State = job.State(st)
		out = append(out, t)
	}
	return out, rows.Err()
}

// RunLetters returns up to limit letters of a run after (afterSeq, afterID) in sequence order
// (a reprint follows its original), for paging through a manifest of any size.
func (s *Store) RunLetters(ctx context.Context, runID, afterSeq, afterID int64, limit int) ([]job.Letter, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := s.query(ctx, `SELECT j.id, j.seq, j.name, j.pages, coalesce(d.sha256, ''), coalesce(d.size, 0),
		j.state, j.state_reason, j.printer, j.upstream_id, j.attempts, j.possible_duplicate, j.origin = ?, j.created,
		j.started, j.finished, j.evidence, coalesce(r.printer, ''), coalesce(r.decision, ''), coalesce(r.decided_by, ''),
		coalesce(r.decided, 0) FROM jobs j LEFT JOIN documents d ON d.job_id = j.id AND d.seq = 1
		LEFT JOIN duplicate_reviews r ON r.job_id = j.id
		WHERE j.run_id = ? AND (j.seq > ? OR (j.seq = ? AND j.id > ?)) ORDER BY j.seq, j.id LIMIT ?`,
		job.OriginBulkReprint, runID, afterSeq, afterSeq, afterID, limit)
	if err != nil {
		return nil, fmt.Errorf("pgspool: run %d letters: %w", runID, err)
	}
	defer rows.Close()
	var out []job.Letter
	for rows.Next() {
		var l job.Letter
		var st string
		var created, started, finished, decided int64
		var evidence, decision string
		if err := rows.Scan(&l.JobID, &l.Seq, &l.Source, &l.Pages, &l.SHA256, &l.Size, &st, &l.StateReason, &l.Printer,
			&l.UpstreamID, &l.Attempts, &l.PossibleDuplicate, &l.Reprint, &created, &started, &finished, &evidence,
			&l.DuplicatePrinter, &decision, &l.DecidedBy, &decided); err != nil {
			return nil, fmt.Errorf("pgspool: run %d letters: %w", runID, err)
		}
		var err error
		if l.Evidence, err = decodeEvidence(evidence); err != nil {
			return nil, fmt.Errorf("pgspool: run %d letter %d evidence: %w", runID, l.JobID, err)
		}
		l.Decision, l.DecidedAt = job.Decision(decision), unixOrZero(decided)
		l.State = job.State(st)
		l.Created, l.Started, l.Finished = time.Unix(0, created), unixOrZero(started), unixOrZero(finished)
		out = append(out, l)
	}
	return out, rows.Err()
}

// LetterJobs returns the original letters (not reprints) of a run whose sequence numbers fall
// in one of the inclusive ranges, with their documents, in sequence order; at most limit.
func (s *Store) LetterJobs(ctx context.Context, runID int64, ranges [][2]int64, limit int) ([]*job.Job, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	var conds []string
	args := []any{runID, job.OriginBulk}
	for _, r := range ranges {
		conds = append(conds, "seq BETWEEN ? AND ?")
		args = append(args, r[0], r[1])
	}
	rows, err := s.query(ctx, `SELECT id FROM jobs WHERE run_id = ? AND origin = ? AND (`+
		strings.Join(conds, " OR ")+fmt.Sprintf(`) ORDER BY seq, id LIMIT %d`, limit+1), args...)
	if err != nil {
		return nil, fmt.Errorf("pgspool: run %d letters by sequence: %w", runID, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("pgspool: run %d letters by sequence: %w", runID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) > limit {
		return nil, fmt.Errorf("pgspool: run %d: more than %d letters selected", runID, limit)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	jobs, err := s.Jobs(ctx, job.JobFilter{IDs: ids})
	if err != nil {
		return nil, err
	}
	// Jobs lists newest first; a manifest reads in sequence order.
	byID := make(map[int64]*job.Job, len(jobs))
	for _, j := range jobs {
		byID[j.ID] = j
	}
	out := make([]*job.Job, 0, len(ids))
	for _, id := range ids {
		if j := byID[id]; j != nil {
			out = append(out, j)
		}
	}
	return out, nil
}

// AddReprints registers reprints of a run's letters in one commit: jobs of origin bulk-reprint
// with the original's sequence number, pending (held while the run is paused or scheduled).
// A completed run becomes active again until they finish.
func (s *Store) AddReprints(ctx context.Context, runID int64, reprints []job.Reprint, actor string) ([]*job.Job, error) {
	now := s.now()
	var ids []int64
	err := s.write(ctx, func(tx *dbtx) error {
		r, err := runTx(tx, runID)
		if err != nil {
			return err
		}
		state, reason := job.StatePending, ""
		switch r.State {
		case job.RunActive, job.RunCompleted:
		case job.RunPaused:
			state, reason = job.StateHeld, job.ReasonRunPaused
		case job.RunScheduled:
			state, reason = job.StateHeld, job.ReasonRunScheduled
		default:
			return &job.RunStateError{RunID: runID, State: r.State, Action: "reprint"}
		}
		letters := make([]job.NewLetter, len(reprints))
		for i, rp := range reprints {
			letters[i] = rp.NewLetter
		}
		_, ids, err = s.insertLetters(tx, now, r, letters, func(i int) (int64, string, string, string) {
			return reprints[i].Seq, job.OriginBulkReprint, reason,
				fmt.Sprintf("reprint of letter %d (job %d) by %s", reprints[i].Seq, reprints[i].Of, actor)
		}, state)
		if err != nil {
			return err
		}
		if r.State == job.RunCompleted {
			if err := setRunState(tx, now, r, job.RunActive, actor, fmt.Sprintf("run %d active again for %d reprints", runID, len(reprints))); err != nil {
				return err
			}
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventRun, RunID: runID, Actor: actor,
			Message: fmt.Sprintf("%d letters of run %d queued for reprint by %s", len(reprints), runID, actor)})
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: reprint letters of run %d: %w", runID, err)
	}
	for _, rp := range reprints {
		committed(rp.Doc)
	}
	jobs, err := s.Jobs(ctx, job.JobFilter{IDs: ids, Order: "oldest"})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

const scheduleColumns = `id, name, virtual_printer, owner, spec, dir, attributes, separator, created, last_fired`

func scanSchedule(r scanner) (*job.Schedule, error) {
	var sc job.Schedule
	var attrs string
	var created, last int64
	if err := r.Scan(&sc.ID, &sc.Name, &sc.VirtualPrinter, &sc.Owner, &sc.Spec, &sc.Dir, &attrs, &sc.Separator,
		&created, &last); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &sc.Attributes); err != nil {
		return nil, fmt.Errorf("decode attributes of schedule %d: %w", sc.ID, err)
	}
	sc.Created, sc.LastFired = time.Unix(0, created), unixOrZero(last)
	return &sc, nil
}

// CreateSchedule records a schedule (the caller has validated spec and dir).
func (s *Store) CreateSchedule(ctx context.Context, sc job.Schedule) (*job.Schedule, error) {
	if sc.Name == "" || sc.VirtualPrinter == "" || sc.Spec == "" || sc.Dir == "" {
		return nil, errors.New("pgspool: create schedule: name, virtual printer, cron spec and folder are required")
	}
	attrs, err := json.Marshal(sc.Attributes)
	if err != nil {
		return nil, fmt.Errorf("pgspool: create schedule: encode attributes: %w", err)
	}
	now := s.now()
	var id int64
	err = s.write(ctx, func(tx *dbtx) error {
		err := tx.QueryRow(`INSERT INTO run_schedules (name, virtual_printer, owner, spec, dir, attributes, separator, created)
			VALUES (?,?,?,?,?,?,?,?) RETURNING id`, sc.Name, sc.VirtualPrinter, sc.Owner, sc.Spec, sc.Dir, string(attrs), sc.Separator, now.UnixNano()).Scan(&id)
		if err != nil {
			return err
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventSchedule, Actor: sc.Owner,
			Message: fmt.Sprintf("schedule %d %q created: %q reading %s for %s", id, sc.Name, sc.Spec, sc.Dir, sc.VirtualPrinter)})
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: create schedule: %w", err)
	}
	return s.Schedule(ctx, id)
}

// Schedule returns one schedule that was not deleted.
func (s *Store) Schedule(ctx context.Context, id int64) (*job.Schedule, error) {
	sc, err := scanSchedule(s.queryRow(ctx, `SELECT `+scheduleColumns+` FROM run_schedules WHERE id = ? AND deleted = 0`, id))
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("pgspool: schedule %d: %w", id, job.ErrScheduleNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgspool: schedule %d: %w", id, err)
	}
	return sc, nil
}

// Schedules lists the schedules not deleted, oldest first.
func (s *Store) Schedules(ctx context.Context) ([]*job.Schedule, error) {
	rows, err := s.query(ctx, `SELECT `+scheduleColumns+` FROM run_schedules WHERE deleted = 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pgspool: list schedules: %w", err)
	}
	defer rows.Close()
	var out []*job.Schedule
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("pgspool: list schedules: %w", err)
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// DeleteSchedule stops a schedule; the runs it made stay.
func (s *Store) DeleteSchedule(ctx context.Context, id int64, actor string) error {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		res, err := tx.Exec(`UPDATE run_schedules SET deleted = ? WHERE id = ? AND deleted = 0`, now.UnixNano(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return job.ErrScheduleNotFound
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventSchedule, Actor: actor, Message: fmt.Sprintf("schedule %d deleted by %s", id, actor)})
	})
	if err != nil {
		return fmt.Errorf("pgspool: delete schedule %d: %w", id, err)
	}
	return nil
}

// ScheduleFired records a firing that made no run (nothing new in the folder, or an error),
// with its event.
func (s *Store) ScheduleFired(ctx context.Context, id int64, fired time.Time, message string) error {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		if _, err := tx.Exec(`UPDATE run_schedules SET last_fired = ? WHERE id = ?`, fired.UnixNano(), id); err != nil {
			return err
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventSchedule, Message: message})
	})
	if err != nil {
		return fmt.Errorf("pgspool: schedule %d fired: %w", id, err)
	}
	return nil
}

// SeenByContent reports which of hashes a schedule has already registered (hash → run id).
func (s *Store) SeenByContent(ctx context.Context, scheduleID int64, hashes []string) (map[string]int64, error) {
	out := map[string]int64{}
	for start := 0; start < len(hashes); start += 500 {
		chunk := hashes[start:min(start+500, len(hashes))]
		args := []any{scheduleID}
		for _, h := range chunk {
			args = append(args, h)
		}
		rows, err := s.query(ctx, `SELECT sha256, run_id FROM run_schedule_seen WHERE schedule_id = ? AND sha256 IN (`+
			placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("pgspool: schedule %d seen letters: %w", scheduleID, err)
		}
		for rows.Next() {
			var h string
			var run int64
			if err := rows.Scan(&h, &run); err != nil {
				rows.Close()
				return nil, fmt.Errorf("pgspool: schedule %d seen letters: %w", scheduleID, err)
			}
			out[h] = run
		}
		rows.Close()
	}
	return out, nil
}
