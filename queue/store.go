// The storage seam: what the scheduler and the service layer need from a spool driver. The
// SQLite driver (package spool) implements it; a second driver implements the same methods and
// passes the same behavioural suite (queue/storetest). A driver stores, claims and reports; the
// rules of a job's life are package job's, and the decisions the scheduler's.
package queue

import (
	"context"
	"io"
	"time"

	"github.com/printgate/printgate/job"
)

// Store is a durable spool. Its methods are safe for concurrent use; every write is durable
// when it returns (the durability protocol storetest checks), and every time-dependent write
// takes its time from the driver's injected clock.
type Store interface {
	DocumentStore
	JobStore
	EventStore
	RunStore
	ScheduleStore
	// Retention removes the documents and rows that retention allows; it returns how many
	// jobs it touched.
	Retention(ctx context.Context) (int, error)
	// Purge removes the documents of every job finished before finishedBefore, whatever the
	// retention, with an operator event naming actor; it returns how many it removed. It must
	// work on a full disk.
	Purge(ctx context.Context, finishedBefore time.Time, actor string) (int, error)
}

// DocumentStore keeps documents: staged before any job owns them, then read back for a printer.
type DocumentStore interface {
	// Stage stores r durably (counted, hashed, page-counted) for a later Submit or AddDocument;
	// the caller Discards it if it will not be submitted.
	Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error)
	OpenDocument(ctx context.Context, d job.Document) (io.ReadSeekCloser, error)
	DocumentBytes(ctx context.Context, d job.Document) ([]byte, error)
}

// JobStore keeps jobs and moves them between states, one transaction and one event a move.
type JobStore interface {
	// Submit stores a job with its staged documents, pending (or held when nj.Hold).
	Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error)
	// Create stores a job without documents, received (IPP Create-Job).
	Create(ctx context.Context, nj job.NewJob) (*job.Job, error)
	// AddDocument attaches a document to a received job; last closes it.
	AddDocument(ctx context.Context, jobID int64, doc *job.Staged, last bool) (*job.Job, error)
	// Transition moves a job, refusing an illegal move with a *job.TransitionError, a job
	// no longer in c.From with job.ErrStateChanged, and a write under an active c.Fence whose
	// lease this gateway no longer holds with job.ErrFenced (drivers shared by several
	// gateways; one a single gateway owns may ignore fences).
	Transition(ctx context.Context, id int64, to job.State, c job.Change) error
	// SetProgress records the printer's progress on a printing job; fence, when active, makes
	// it conditional on this gateway's lease of the job's printer (job.ErrFenced otherwise).
	SetProgress(ctx context.Context, id int64, impressions int, fence *job.Fence) error
	Job(ctx context.Context, id int64) (*job.Job, error)
	Jobs(ctx context.Context, f job.JobFilter) ([]*job.Job, error)
	CountJobs(ctx context.Context, f job.JobFilter) (int, error)
	Tallies(ctx context.Context, by string) ([]job.Tally, error)
	SetControl(ctx context.Context, c job.Control, message string) error
	Controls(ctx context.Context) ([]job.Control, error)
	// Duplicates lists the possible-duplicate jobs with their reviews (job.Duplicate), in run
	// and sequence order; a flagged job without a review row still appears.
	Duplicates(ctx context.Context, f job.DuplicateFilter) ([]job.Duplicate, error)
	// DecideDuplicate records an operator's decision on a possible duplicate with an operator
	// event, in one transaction: job.ErrNotFound, or job.ErrNotDuplicate for a job never flagged.
	DecideDuplicate(ctx context.Context, id int64, d job.Decision, actor, note string) (*job.Duplicate, error)
}

// EventStore keeps the audit log.
type EventStore interface {
	RecordEvent(ctx context.Context, e job.Event) error
	Events(ctx context.Context, f job.EventFilter) ([]job.Event, error)
}

// RunStore keeps bulk runs and their letters.
type RunStore interface {
	CreateRun(ctx context.Context, nr job.NewRun) (*job.Run, error)
	AddLetters(ctx context.Context, runID, firstSeq int64, letters []job.NewLetter) (*job.Run, error)
	CommitRun(ctx context.Context, runID int64, o job.CommitOptions) (*job.Run, error)
	DiscardRun(ctx context.Context, id int64, reason string) error
	ActivateRun(ctx context.Context, id int64, msg string) (*job.Run, error)
	PauseRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	ResumeRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	CancelRun(ctx context.Context, id int64, actor string) (*job.Run, []int64, error)
	FinishRuns(ctx context.Context) ([]*job.Run, error)
	HoldPausedRuns(ctx context.Context) (int64, error)
	StaleUploads(ctx context.Context, idleSince time.Time) ([]*job.Run, error)
	RecoverRuns(ctx context.Context) ([]int64, error)
	AddReprints(ctx context.Context, runID int64, reprints []job.Reprint, actor string) ([]*job.Job, error)
	Run(ctx context.Context, id int64) (*job.Run, error)
	Runs(ctx context.Context, f job.RunFilter) ([]*job.Run, error)
	RunTallies(ctx context.Context, id int64) ([]job.RunTally, error)
	RunLetters(ctx context.Context, runID, afterSeq, afterID int64, limit int) ([]job.Letter, error)
	LetterJobs(ctx context.Context, runID int64, ranges [][2]int64, limit int) ([]*job.Job, error)
}

// ScheduleStore keeps the cron schedules that make runs.
type ScheduleStore interface {
	CreateSchedule(ctx context.Context, sc job.Schedule) (*job.Schedule, error)
	Schedules(ctx context.Context) ([]*job.Schedule, error)
	DeleteSchedule(ctx context.Context, id int64, actor string) error
	ScheduleFired(ctx context.Context, id int64, fired time.Time, message string) error
	SeenByContent(ctx context.Context, scheduleID int64, hashes []string) (map[string]int64, error)
}
