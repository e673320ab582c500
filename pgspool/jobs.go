// Job rows: creation, queries and validated state transitions, each with its event row.
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

const jobColumns = `id, uuid, virtual_printer, name, owner, origin_host, origin, lane, run_id, seq, state,
	state_reason, printer, pages, pages_estimated, attributes, attempts, possible_duplicate, upstream_id,
	impressions_done, created, updated, started, finished, evidence`

func laneRank(l job.Lane) int {
	if l == job.LaneBulk {
		return 1
	}
	return 0
}

// Submit records a new job with its staged documents in one durable commit and returns it.
// The job starts pending, or held when nj.Hold is set.
func (s *Store) Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("pgspool: submit: %w", job.ErrEmptyDocument)
	}
	state := job.StatePending
	if nj.Hold {
		state = job.StateHeld
	}
	return s.insertJob(ctx, nj, state, docs)
}

// Create records a job whose documents follow (IPP Create-Job); it stays "received" until
// AddDocument brings the last one.
func (s *Store) Create(ctx context.Context, nj job.NewJob) (*job.Job, error) {
	// No document comes with it, but its row takes space all the same (insertJob holds it): a
	// flood of Create-Jobs must stop at the reserve as a flood of documents does.
	return s.insertJob(ctx, nj, job.StateReceived, nil)
}

func (s *Store) insertJob(ctx context.Context, nj job.NewJob, state job.State, docs []*job.Staged) (*job.Job, error) {
	if nj.VirtualPrinter == "" {
		return nil, errors.New("pgspool: submit: no virtual printer named")
	}
	if nj.Lane == "" {
		nj.Lane = job.LaneInteractive
	}
	attrs, err := json.Marshal(nj.Attributes)
	if err != nil {
		return nil, fmt.Errorf("pgspool: submit: encode attributes: %w", err)
	}
	now := s.now()
	pages, estimated := 0, false
	for _, d := range docs {
		pages += d.Pages
		estimated = estimated || d.PagesEstimated
	}
	if c := nj.Attributes.Copies; c > 1 {
		pages *= c
	}
	prio := nj.Attributes.JobPriority
	if prio <= 0 {
		prio = 50
	}
	uuid := newUUID()
	reason := ""
	if nj.Hold {
		// A received job keeps its hold reason so that AddDocument knows to hold it.
		reason = nj.HoldReason
		if reason == "" {
			reason = "job-hold-until-specified"
		}
	}
	var id, existing int64
	var key *string
	if nj.IdempotencyKey != "" {
		key = &nj.IdempotencyKey
	}
	err = s.write(ctx, func(tx *dbtx) error {
		existing = 0
		if key != nil {
			// A retry of a submission already stored, on this gateway or another: its job.
			// Two tries racing both miss here; the unique index refuses the second insert
			// (23505), and write runs this again, which then finds the first.
			err := tx.QueryRow(`SELECT id FROM jobs WHERE idempotency_key = ?`, *key).Scan(&existing)
			if err == nil {
				return nil
			}
			if !errors.Is(err, errNoRows) {
				return err
			}
		}
		err := tx.QueryRow(`INSERT INTO jobs (uuid, virtual_printer, name, owner, origin_host, origin, lane,
			lane_rank, priority, run_id, seq, state, state_reason, pages, pages_estimated, attributes, gateway,
			idempotency_key, created, updated)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			uuid, nj.VirtualPrinter, nj.Name, nj.Owner, nj.OriginHost, nj.Origin, string(nj.Lane),
			laneRank(nj.Lane), prio, nj.RunID, nj.Seq, string(state), reason, pages, estimated, string(attrs),
			s.opts.Gateway, key, now.UnixNano(), now.UnixNano()).Scan(&id)
		if err != nil {
			return err
		}
		w := newDocWriter(tx)
		for i, d := range docs {
			if err := w.insert(id, i+1, d); err != nil {
				return err
			}
		}
		if err := w.flush(); err != nil {
			return err
		}
		return insertEvent(tx, now, job.Event{Kind: job.EventJobState, JobID: id, RunID: nj.RunID, To: string(state),
			Actor: nj.Owner, Message: "job received via " + nj.Origin})
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: submit job: %w", err)
	}
	if existing != 0 {
		for _, d := range docs {
			d.Discard()
		}
		return s.Job(ctx, existing)
	}
	j := &job.Job{
		ID: id, UUID: uuid, VirtualPrinter: nj.VirtualPrinter, Name: nj.Name, Owner: nj.Owner,
		OriginHost: nj.OriginHost, Origin: nj.Origin, Lane: nj.Lane, RunID: nj.RunID, Seq: nj.Seq,
		State: state, StateReason: reason, Pages: pages, PagesEstimated: estimated, Attributes: nj.Attributes,
		Created: now, Updated: now,
	}
	for i, d := range docs {
		j.Documents = append(j.Documents, job.Document{JobID: id, Seq: i + 1, Name: d.Name, Format: d.Format,
			Size: d.Size, SHA256: d.SHA256, Pages: d.Pages, PagesEstimated: d.PagesEstimated, Inline: true})
		committed(d) // attached: Discard must no longer remove it
	}
	return j, nil
}

// AddDocument attaches one more document to a received job (IPP Send-Document). With last set
// the job becomes pending (or held, when it was created held).
func (s *Store) AddDocument(ctx context.Context, jobID int64, doc *job.Staged, last bool) (*job.Job, error) {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		var state, reason string
		var copies int
		var attrs string
		if err := tx.QueryRow(`SELECT state, state_reason, attributes FROM jobs WHERE id = ? FOR UPDATE`, jobID).Scan(&state, &reason, &attrs); err != nil {
			if errors.Is(err, errNoRows) {
				return job.ErrNotFound
			}
			return err
		}
		if job.State(state) != job.StateReceived {
			return &job.TransitionError{JobID: jobID, From: job.State(state), To: job.StatePending}
		}
		var a job.Attributes
		_ = json.Unmarshal([]byte(attrs), &a)
		copies = max(a.Copies, 1)
		var seq int
		if err := tx.QueryRow(`SELECT coalesce(max(seq), 0) + 1 FROM documents WHERE job_id = ?`, jobID).Scan(&seq); err != nil {
			return err
		}
		w := newDocWriter(tx)
		if err := w.insert(jobID, seq, doc); err != nil {
			return err
		}
		if err := w.flush(); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE jobs SET pages = pages + ?, pages_estimated = pages_estimated OR ?, updated = ? WHERE id = ?`,
			doc.Pages*copies, doc.PagesEstimated, now.UnixNano(), jobID); err != nil {
			return err
		}
		if !last {
			return nil
		}
		// A job created held has its hold reason recorded since Create.
		mv := job.CloseReceived(reason, seq)
		mv.Change.Message = "last document received"
		return s.transitionTx(tx, now, jobID, mv.To, mv.Change)
	})
	if err != nil {
		return nil, fmt.Errorf("pgspool: add document to job %d: %w", jobID, err)
	}
	committed(doc)
	return s.Job(ctx, jobID)
}

// Transition moves job id to state to, validating the move, and records the event in the same
// transaction. An illegal move is a *TransitionError (errors.Is ErrIllegalTransition).
func (s *Store) Transition(ctx context.Context, id int64, to job.State, c job.Change) error {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error { return s.transitionTx(tx, now, id, to, c) })
	if err != nil {
		return fmt.Errorf("pgspool: job %d -> %s: %w", id, to, err)
	}
	return nil
}

// transitionTx locks the job's row and moves it. A claim (pending to assigned, guarded by
// c.From) skips a row another transaction holds, FOR UPDATE SKIP LOCKED as River's
// JobGetAvailable takes jobs: every writer of a job's state locks its row first, so a locked
// row is being moved by someone else, and the claimer is told the state changed and goes on to
// its next candidate instead of queueing behind the other gateway's claim.
func (s *Store) transitionTx(tx *dbtx, now time.Time, id int64, to job.State, c job.Change) error {
	var from, printer string
	var runID int64
	lock := ` FOR UPDATE`
	if isClaim(to, c) {
		lock = ` FOR UPDATE SKIP LOCKED`
	}
	if err := tx.QueryRow(`SELECT state, printer, run_id FROM jobs WHERE id = ?`+lock, id).Scan(&from, &printer, &runID); err != nil {
		if errors.Is(err, errNoRows) {
			if lock != ` FOR UPDATE` {
				var exists bool
				if err := tx.QueryRow(`SELECT EXISTS (SELECT 1 FROM jobs WHERE id = ?)`, id).Scan(&exists); err == nil && exists {
					return fmt.Errorf("%w: being claimed by another transaction", job.ErrStateChanged)
				}
			}
			return job.ErrNotFound
		}
		return err
	}
	if len(c.From) > 0 {
		ok := false
		for _, f := range c.From {
			ok = ok || job.State(from) == f
		}
		if !ok {
			return fmt.Errorf("%w: is %s, expected %v", job.ErrStateChanged, from, c.From)
		}
	}
	if !job.CanTransition(job.State(from), to) {
		return &job.TransitionError{JobID: id, From: job.State(from), To: to}
	}
	set := []string{"state = ?", "state_reason = ?", "updated = ?", "gateway = ?"}
	args := []any{string(to), c.Reason, now.UnixNano(), s.opts.Gateway}
	if c.Printer != nil {
		set = append(set, "printer = ?")
		args = append(args, *c.Printer)
		// The event names the printer the job goes to, or the one it leaves when cleared
		// (requeue, failover): that printer's event list must show it.
		if *c.Printer != "" {
			printer = *c.Printer
		}
	}
	if c.UpstreamID != nil {
		set = append(set, "upstream_id = ?")
		args = append(args, *c.UpstreamID)
	}
	if c.Attempt {
		set = append(set, "attempts = attempts + 1")
	}
	if c.PossibleDuplicate {
		set = append(set, "possible_duplicate = true")
	}
	evidence := ""
	if c.Evidence != nil {
		b, err := json.Marshal(c.Evidence)
		if err != nil {
			return err
		}
		evidence = string(b)
		set = append(set, "evidence = ?")
		args = append(args, evidence)
	}
	// The review names the printer of the uncertain attempt: the one the job leaves.
	left := printer
	started, finished := job.Stamps(to)
	if started {
		set = append(set, "started = CASE WHEN started = 0 THEN ? ELSE started END")
		args = append(args, now.UnixNano())
	}
	if finished {
		set = append(set, "finished = ?")
		args = append(args, now.UnixNano())
	}
	args = append(args, id)
	where, fargs := s.fenceWhere(c.Fence)
	res, err := tx.Exec(`UPDATE jobs SET `+strings.Join(set, ", ")+` WHERE id = ?`+where, append(args, fargs...)...)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 && c.Fence.Active() {
		// The row is locked above, so only the fence can have refused it: the printer's lease
		// is another gateway's now (or lapsed), and so is the job.
		return fmt.Errorf("%w (printer %s, epoch %d, gateway %s)", job.ErrFenced, c.Fence.Printer, c.Fence.Epoch, s.opts.Gateway)
	}
	kind := c.Kind
	if kind == "" {
		kind = job.EventJobState
	}
	msg := c.Message
	if msg == "" {
		msg = c.Reason
	}
	if c.PossibleDuplicate {
		if c.Evidence != nil {
			left = c.Evidence.Printer
		}
		if err := flagDuplicateTx(tx, now, id, left, evidence, msg); err != nil {
			return err
		}
	}
	return insertEvent(tx, now, job.Event{Kind: kind, JobID: id, Printer: printer, RunID: runID, From: from,
		To: string(to), Actor: c.Actor, Message: msg})
}

// fenceWhere is the condition a write under an active fence adds to its UPDATE: this gateway
// holds the printer's lease at that epoch, checked by the cluster's cluster_lease_valid in the
// same statement (see cluster/fence.go; the function is the cluster's migration's, and a gateway
// on PostgreSQL always runs the cluster, while epoch 0 — no lease machinery — never fences).
func (s *Store) fenceWhere(f *job.Fence) (string, []any) {
	if !f.Active() {
		return "", nil
	}
	return ` AND cluster_lease_valid(?, ?, ?)`, []any{f.Printer, s.opts.Gateway, f.Epoch}
}

// SetProgress records what the printer reported as printed so far (no state change, no event),
// under fence when it is active (job.ErrFenced when the lease is no longer this gateway's).
func (s *Store) SetProgress(ctx context.Context, id int64, impressions int, fence *job.Fence) error {
	err := s.write(ctx, func(tx *dbtx) error {
		where, fargs := s.fenceWhere(fence)
		res, err := tx.Exec(`UPDATE jobs SET impressions_done = ?, updated = ? WHERE id = ?`+where,
			append([]any{impressions, s.now().UnixNano(), id}, fargs...)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 && fence.Active() {
			return fmt.Errorf("%w (printer %s, epoch %d, gateway %s)", job.ErrFenced, fence.Printer, fence.Epoch, s.opts.Gateway)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgspool: job %d progress: %w", id, err)
	}
	return nil
}

// Job returns one job with its documents.
func (s *Store) Job(ctx context.Context, id int64) (*job.Job, error) {
	row := s.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id)
	j, err := scanJob(row)
	if errors.Is(err, errNoRows) {
		return nil, fmt.Errorf("pgspool: job %d: %w", id, job.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pgspool: job %d: %w", id, err)
	}
	if err := s.loadDocuments(ctx, []*job.Job{j}); err != nil {
		return nil, err
	}
	return j, nil
}

func jobWhere(f job.JobFilter) (string, []any) {
	var conds []string
	var args []any
	if len(f.IDs) > 0 {
		conds = append(conds, "id IN ("+placeholders(len(f.IDs))+")")
		for _, id := range f.IDs {
			args = append(args, id)
		}
	}
	if len(f.States) > 0 {
		conds = append(conds, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	add := func(cond string, v any) {
		conds = append(conds, cond)
		args = append(args, v)
	}
	if f.VirtualPrinter != "" {
		add("virtual_printer = ?", f.VirtualPrinter)
	}
	if len(f.NotVirtualPrinters) > 0 {
		conds = append(conds, "virtual_printer NOT IN ("+placeholders(len(f.NotVirtualPrinters))+")")
		for _, v := range f.NotVirtualPrinters {
			args = append(args, v)
		}
	}
	if f.Printer != "" {
		add("printer = ?", f.Printer)
	}
	if f.Owner != "" {
		add("owner = ?", f.Owner)
	}
	if f.RunID != 0 {
		add("run_id = ?", f.RunID)
	}
	if f.Lane != "" {
		add("lane = ?", string(f.Lane))
	}
	if f.PossibleDuplicate {
		conds = append(conds, "possible_duplicate")
	}
	if f.Search != "" {
		conds = append(conds, "(name ILIKE ? OR owner ILIKE ?)")
		like := "%" + f.Search + "%"
		args = append(args, like, like)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	if f.AfterID > 0 {
		add("id > ?", f.AfterID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// Jobs lists jobs matching f.
func (s *Store) Jobs(ctx context.Context, f job.JobFilter) ([]*job.Job, error) {
	where, args := jobWhere(f)
	order := " ORDER BY id DESC"
	switch f.Order {
	case "oldest":
		order = " ORDER BY id"
	case "schedule":
		order = " ORDER BY lane_rank, priority DESC, run_id, seq, id"
	}
	q := `SELECT ` + jobColumns + ` FROM jobs` + where + order
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgspool: list jobs: %w", err)
	}
	defer rows.Close()
	var jobs []*job.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("pgspool: list jobs: %w", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgspool: list jobs: %w", err)
	}
	if !f.WithoutDocuments {
		if err := s.loadDocuments(ctx, jobs); err != nil {
			return nil, err
		}
	}
	return jobs, nil
}

// CountJobs counts jobs matching f.
func (s *Store) CountJobs(ctx context.Context, f job.JobFilter) (int, error) {
	where, args := jobWhere(f)
	var n int
	if err := s.queryRow(ctx, `SELECT count(*) FROM jobs`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgspool: count jobs: %w", err)
	}
	return n, nil
}

// Tallies counts unfinished jobs and their pages by virtual printer (by = "virtual") or by
// printer (by = "printer"), state and lane.
func (s *Store) Tallies(ctx context.Context, by string) ([]job.Tally, error) {
	col := "virtual_printer"
	if by == "printer" {
		col = "printer"
	}
	rows, err := s.query(ctx, `SELECT `+col+`, state, lane, count(*), coalesce(sum(pages), 0)::bigint FROM jobs
		WHERE state IN (`+sqlStates(job.Unfinished)+`) GROUP BY 1, 2, 3`)
	if err != nil {
		return nil, fmt.Errorf("pgspool: tallies: %w", err)
	}
	defer rows.Close()
	var out []job.Tally
	for rows.Next() {
		var t job.Tally
		var st, lane string
		if err := rows.Scan(&t.Key, &st, &lane, &t.Jobs, &t.Pages); err != nil {
			return nil, fmt.Errorf("pgspool: tallies: %w", err)
		}
		t.State, t.Lane = job.State(st), job.Lane(lane)
		out = append(out, t)
	}
	return out, rows.Err()
}

// sqlStates is states as an SQL list of literals, for IN (...): the sets are package job's, so
// that the SQL asks the same question as the code.
func sqlStates(states []job.State) string {
	q := make([]string, len(states))
	for i, st := range states {
		q[i] = "'" + string(st) + "'"
	}
	return strings.Join(q, ", ")
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

type scanner interface{ Scan(dest ...any) error }

func scanJob(r scanner) (*job.Job, error) {
	var j job.Job
	var lane, state, attrs string
	var created, updated, started, finished int64
	var evidence string
	err := r.Scan(&j.ID, &j.UUID, &j.VirtualPrinter, &j.Name, &j.Owner, &j.OriginHost, &j.Origin, &lane,
		&j.RunID, &j.Seq, &state, &j.StateReason, &j.Printer, &j.Pages, &j.PagesEstimated, &attrs, &j.Attempts,
		&j.PossibleDuplicate, &j.UpstreamID, &j.ImpressionsDone, &created, &updated, &started, &finished, &evidence)
	if err != nil {
		return nil, err
	}
	if j.Evidence, err = decodeEvidence(evidence); err != nil {
		return nil, fmt.Errorf("decode evidence of job %d: %w", j.ID, err)
	}
	j.Lane, j.State = job.Lane(lane), job.State(state)
	if err := json.Unmarshal([]byte(attrs), &j.Attributes); err != nil {
		return nil, fmt.Errorf("decode attributes of job %d: %w", j.ID, err)
	}
	j.Created, j.Updated = time.Unix(0, created), time.Unix(0, updated)
	if started > 0 {
		j.Started = time.Unix(0, started)
	}
	if finished > 0 {
		j.Finished = time.Unix(0, finished)
	}
	return &j, nil
}

func (s *Store) loadDocuments(ctx context.Context, jobs []*job.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	byID := make(map[int64]*job.Job, len(jobs))
	// A few hundred parameters a query: well below PostgreSQL's 65535.
	for start := 0; start < len(jobs); start += 500 {
		chunk := jobs[start:min(start+500, len(jobs))]
		args := make([]any, len(chunk))
		for i, j := range chunk {
			byID[j.ID] = j
			args[i] = j.ID
		}
		rows, err := s.query(ctx, `SELECT job_id, seq, name, format, size, sha256, pages, pages_estimated,
			deleted FROM documents WHERE job_id IN (`+placeholders(len(chunk))+`) ORDER BY job_id, seq`, args...)
		if err != nil {
			return fmt.Errorf("pgspool: load documents: %w", err)
		}
		for rows.Next() {
			var d job.Document
			var deleted int64
			if err := rows.Scan(&d.JobID, &d.Seq, &d.Name, &d.Format, &d.Size, &d.SHA256, &d.Pages,
				&d.PagesEstimated, &deleted); err != nil {
				rows.Close()
				return fmt.Errorf("pgspool: load documents: %w", err)
			}
			// Every document's bytes are in the database ("inline"), until retention.
			if deleted > 0 {
				d.Deleted = time.Unix(0, deleted)
			} else {
				d.Inline = true
			}
			j := byID[d.JobID]
			j.Documents = append(j.Documents, d)
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("pgspool: load documents: %w", err)
		}
	}
	return nil
}

func insertEvent(tx *dbtx, now time.Time, e job.Event) error {
	_, err := tx.Exec(`INSERT INTO events (at, kind, job_id, printer, run_id, from_state, to_state, actor, message)
		VALUES (?,?,?,?,?,?,?,?,?)`, now.UnixNano(), e.Kind, e.JobID, e.Printer, e.RunID, e.From, e.To, e.Actor, e.Message)
	return err
}

// RecordEvent appends an event that is not a job transition (printer state, operator action).
func (s *Store) RecordEvent(ctx context.Context, e job.Event) error {
	at := e.At
	if at.IsZero() {
		at = s.now()
	}
	if err := s.write(ctx, func(tx *dbtx) error { return insertEvent(tx, at, e) }); err != nil {
		return fmt.Errorf("pgspool: record %s event: %w", e.Kind, err)
	}
	return nil
}

// Events lists events newest first (or oldest first when AfterID is set, for tailing).
func (s *Store) Events(ctx context.Context, f job.EventFilter) ([]job.Event, error) {
	var conds []string
	var args []any
	if len(f.Kinds) > 0 {
		conds = append(conds, "kind IN ("+placeholders(len(f.Kinds))+")")
		for _, k := range f.Kinds {
			args = append(args, k)
		}
	}
	add := func(c string, v any) { conds = append(conds, c); args = append(args, v) }
	if f.JobID != 0 {
		add("job_id = ?", f.JobID)
	}
	if f.Printer != "" {
		add("printer = ?", f.Printer)
	}
	if f.RunID != 0 {
		add("run_id = ?", f.RunID)
	}
	if f.AfterID > 0 {
		add("id > ?", f.AfterID)
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	q := `SELECT id, at, kind, job_id, printer, run_id, from_state, to_state, actor, message FROM events`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	if f.AfterID > 0 {
		q += " ORDER BY id"
	} else {
		q += " ORDER BY id DESC"
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += fmt.Sprintf(" LIMIT %d", limit)
	rows, err := s.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("pgspool: list events: %w", err)
	}
	defer rows.Close()
	var out []job.Event
	for rows.Next() {
		var e job.Event
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Kind, &e.JobID, &e.Printer, &e.RunID, &e.From, &e.To, &e.Actor, &e.Message); err != nil {
			return nil, fmt.Errorf("pgspool: list events: %w", err)
		}
		e.At = time.Unix(0, at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetControl records an operator switch and its event in one commit.
func (s *Store) SetControl(ctx context.Context, c job.Control, message string) error {
	now := s.now()
	err := s.write(ctx, func(tx *dbtx) error {
		if _, err := tx.Exec(`INSERT INTO controls (scope, name, paused, actor, at) VALUES (?,?,?,?,?)
			ON CONFLICT (scope, name) DO UPDATE SET paused = excluded.paused, actor = excluded.actor, at = excluded.at`,
			c.Scope, c.Name, c.Paused, c.Actor, now.UnixNano()); err != nil {
			return err
		}
		e := job.Event{Kind: job.EventOperator, Actor: c.Actor, Message: message}
		if c.Scope == "printer" {
			e.Printer = c.Name
		}
		return insertEvent(tx, now, e)
	})
	if err != nil {
		return fmt.Errorf("pgspool: set %s %s control: %w", c.Scope, c.Name, err)
	}
	return nil
}

// Controls lists the persisted operator switches.
func (s *Store) Controls(ctx context.Context) ([]job.Control, error) {
	rows, err := s.query(ctx, `SELECT scope, name, paused, actor, at FROM controls`)
	if err != nil {
		return nil, fmt.Errorf("pgspool: list controls: %w", err)
	}
	defer rows.Close()
	var out []job.Control
	for rows.Next() {
		var c job.Control
		var at int64
		if err := rows.Scan(&c.Scope, &c.Name, &c.Paused, &c.Actor, &at); err != nil {
			return nil, fmt.Errorf("pgspool: list controls: %w", err)
		}
		c.At = time.Unix(0, at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// isClaim reports whether a move is a scheduler taking pending work: to assigned, guarded by
// the job still being pending.
func isClaim(to job.State, c job.Change) bool {
	if to != job.StateAssigned {
		return false
	}
	for _, f := range c.From {
		if f == job.StatePending {
			return true
		}
	}
	return false
}
