// Bulk runs: a run, its letters, its reprints and the cron schedules that create runs.
package job

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// RunState is a bulk run's persisted state.
type RunState string

// The run states. A run is registered atomically: its letters are held while it is uploading,
// and one commit makes all of them schedulable (or none, when the upload is discarded).
const (
	// RunUploading: letters are arriving; none of them can print.
	RunUploading RunState = "uploading"
	// RunScheduled: committed, letters held until StartAt.
	RunScheduled RunState = "scheduled"
	// RunActive: letters pending or printing.
	RunActive RunState = "active"
	// RunPaused: pending letters held by an operator; letters already at a printer finish.
	RunPaused RunState = "paused"
	// RunCompleted, RunCanceled and RunDiscarded are final. Discarded: the upload never
	// committed and its letters were removed.
	RunCompleted RunState = "completed"
	RunCanceled  RunState = "canceled"
	RunDiscarded RunState = "discarded"
)

// Final reports whether the run can no longer change by itself.
func (s RunState) Final() bool {
	return s == RunCompleted || s == RunCanceled || s == RunDiscarded
}

// runTransitions lists, for each run state, the states it may move to: an upload commits
// (scheduled, or active at once) or is discarded; a scheduled run starts, or is paused or
// canceled; an active one is paused, canceled or completes; a paused one resumes (active, or
// scheduled when its start is still ahead), is canceled or completes (its last letters
// finished at printers); a completed run is active again for reprints. Canceled and discarded
// are final for good.
var runTransitions = map[RunState][]RunState{
	RunUploading: {RunScheduled, RunActive, RunDiscarded},
	RunScheduled: {RunActive, RunPaused, RunCanceled},
	RunActive:    {RunPaused, RunCanceled, RunCompleted},
	RunPaused:    {RunActive, RunScheduled, RunCanceled, RunCompleted},
	RunCompleted: {RunActive},
}

// CanRunTransition reports whether a run may move from → to.
func CanRunTransition(from, to RunState) bool { return slices.Contains(runTransitions[from], to) }

// Origins of letter jobs: the letter itself, or a reprint an operator asked for.
const (
	OriginBulk        = "bulk"
	OriginBulkReprint = "bulk-reprint"
)

// Hold reasons of letters, so that a run's resume never releases a letter an operator held
// by hand.
const (
	ReasonRunUploading = "run-uploading"
	ReasonRunScheduled = "run-scheduled"
	ReasonRunPaused    = "run-paused"
)

// EventSchedule is the event kind of cron schedules (created, fired, late, deleted).
const EventSchedule = "run-schedule"

// Run errors callers act on.
var (
	ErrRunNotFound      = errors.New("spool: run not found")
	ErrScheduleNotFound = errors.New("spool: schedule not found")
	ErrRunState         = errors.New("spool: not possible in the run's state")
	ErrEmptyRun         = errors.New("spool: run has no letters")
	ErrLetterSequence   = errors.New("spool: letters out of sequence")
)

// RunStateError says which run action was refused in which state.
type RunStateError struct {
	RunID  int64
	State  RunState
	Action string
}

func (e *RunStateError) Error() string {
	return fmt.Sprintf("spool: run %d is %s: cannot %s", e.RunID, e.State, e.Action)
}

// Unwrap lets errors.Is(err, ErrRunState) match.
func (e *RunStateError) Unwrap() error { return ErrRunState }

// SequenceError: a batch of letters did not start where the run's letters end (a retried
// batch that was already registered, or one that was lost). Want is the next sequence number.
type SequenceError struct {
	RunID     int64
	Want, Got int64
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("spool: run %d: batch starts at letter %d, next letter is %d", e.RunID, e.Got, e.Want)
}

// Unwrap lets errors.Is(err, ErrLetterSequence) match.
func (e *SequenceError) Unwrap() error { return ErrLetterSequence }

// Run is one bulk run as stored.
type Run struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	VirtualPrinter string     `json:"virtual_printer"`
	Owner          string     `json:"owner"`
	OriginHost     string     `json:"origin_host,omitempty"`
	Source         string     `json:"source,omitempty"`
	State          RunState   `json:"state"`
	ScheduleID     int64      `json:"schedule_id,omitempty"`
	StartAt        time.Time  `json:"start_at,omitzero"`
	Attributes     Attributes `json:"attributes"`
	Separator      bool       `json:"separator,omitempty"`
	// Letters and Pages count the registered letters (reprints not included).
	Letters   int       `json:"letters"`
	Pages     int       `json:"pages"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	Committed time.Time `json:"committed,omitzero"`
	Finished  time.Time `json:"finished,omitzero"`
}

// NewRun is what is known about a run before its letters arrive.
type NewRun struct {
	Name           string
	VirtualPrinter string
	Owner          string
	OriginHost     string
	Source         string
	// StartAt holds the letters until then; zero starts at commit.
	StartAt    time.Time
	ScheduleID int64
	Attributes Attributes
	Separator  bool
	// IdempotencyKey, when set, names the request: a second CreateRun with the same key (a
	// client retrying after a lost answer) returns the run the first one made.
	IdempotencyKey string
}

// NewLetter is one letter about to be registered: its durable document and where it came from.
type NewLetter struct {
	// Source names the letter for people: the file name, or the merged file and page range.
	Source string
	Doc    *Staged
}

// CommitOptions qualify a CommitRun.
type CommitOptions struct {
	Actor string
	// Fired, for a run made by a cron schedule, is the firing it handles: recorded as the
	// schedule's last firing in the same commit, so a crash before it makes the firing count as
	// missed (and fire again at start) rather than lost.
	Fired time.Time
	// FiredMessage, with Fired, is the schedule event recorded in the same commit, so whoever
	// sees the run also sees why it was made.
	FiredMessage string
}

// RunFilter selects runs; zero fields do not filter.
type RunFilter struct {
	States     []RunState
	ScheduleID int64
	BeforeID   int64
	Limit      int
}

// RunTally counts a run's letters by printer, state and origin.
type RunTally struct {
	Printer string `json:"printer"`
	State   State  `json:"state"`
	Reprint bool   `json:"reprint,omitempty"`
	Letters int    `json:"letters"`
	Pages   int    `json:"pages"`
	// FirstSeq and LastSeq bound the sequence numbers counted.
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
}

// Letter is one line of a run's manifest.
type Letter struct {
	JobID             int64  `json:"job_id"`
	Seq               int64  `json:"seq"`
	Source            string `json:"source"`
	Pages             int    `json:"pages"`
	SHA256            string `json:"sha256"`
	Size              int64  `json:"size"`
	State             State  `json:"state"`
	StateReason       string `json:"state_reason,omitempty"`
	Printer           string `json:"printer,omitempty"`
	UpstreamID        string `json:"upstream_id,omitempty"`
	Attempts          int    `json:"attempts"`
	PossibleDuplicate bool   `json:"possible_duplicate"`
	Reprint           bool   `json:"reprint"`
	// Evidence is the page counter's evidence of the last attempt (nil: none). For a possible
	// duplicate, DuplicatePrinter is where the uncertain attempt was and Decision, DecidedBy
	// and DecidedAt the mail room's review of it.
	Evidence         *Evidence `json:"evidence,omitempty"`
	DuplicatePrinter string    `json:"duplicate_printer,omitempty"`
	Decision         Decision  `json:"duplicate_decision,omitempty"`
	DecidedBy        string    `json:"duplicate_decided_by,omitempty"`
	DecidedAt        time.Time `json:"duplicate_decided_at,omitzero"`
	Created          time.Time `json:"created"`
	Started          time.Time `json:"started,omitzero"`
	Finished         time.Time `json:"finished,omitzero"`
}

// Reprint is a new letter job cloned from letter Seq of a run.
type Reprint struct {
	Of  int64 // the original letter's job id
	Seq int64
	NewLetter
}

// Schedule is a persisted cron schedule that makes a run from a drop folder at each firing.
type Schedule struct {
	ID             int64      `json:"id"`
	Name           string     `json:"name"`
	VirtualPrinter string     `json:"virtual_printer"`
	Owner          string     `json:"owner"`
	Spec           string     `json:"cron"`
	Dir            string     `json:"dir"`
	Attributes     Attributes `json:"attributes"`
	Separator      bool       `json:"separator,omitempty"`
	Created        time.Time  `json:"created"`
	// LastFired is the firing last handled; zero before the first.
	LastFired time.Time `json:"last_fired,omitzero"`
}
