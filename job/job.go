// Package job is a print job's model, apart from any storage: jobs, documents, events, their
// states and the legal transitions between them. Stores (spool, the SQLite driver) keep them;
// front-ends, the scheduler and the dashboard read and change them through a store.
package job

import (
	"errors"
	"fmt"
	"time"
)

// Lane orders work: interactive jobs go ahead of bulk-run letters.
type Lane string

const (
	LaneInteractive Lane = "interactive"
	LaneBulk        Lane = "bulk"
)

// Sentinel errors callers act on.
var (
	ErrNotFound          = errors.New("spool: job not found")
	ErrDiskFull          = errors.New("spool: free disk space below the configured minimum")
	ErrTooLarge          = errors.New("spool: document larger than the configured maximum")
	ErrEmptyDocument     = errors.New("spool: empty document")
	ErrTruncated         = errors.New("spool: document truncated")
	ErrClosed            = errors.New("spool: store closed")
	ErrStateChanged      = errors.New("spool: job is no longer in the expected state")
	ErrIllegalTransition = errors.New("spool: illegal state transition")
	// ErrFenced: a write under a Fence was refused because the writing gateway no longer holds
	// the printer's lease at that epoch (another gateway drives the printer now, or the lease
	// lapsed). It matches ErrStateChanged too: the job is someone else's to move, and the
	// write must be dropped, never retried.
	ErrFenced error = fencedError{}
)

type fencedError struct{}

func (fencedError) Error() string {
	return "spool: fenced: this gateway no longer holds the printer's lease at that epoch"
}

// Is lets errors.Is(err, ErrStateChanged) match a fenced write.
func (fencedError) Is(target error) bool { return target == ErrStateChanged }

// TransitionError says which move was refused.
type TransitionError struct {
	JobID    int64
	From, To State
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("spool: job %d: illegal transition %s -> %s", e.JobID, e.From, e.To)
}

// Unwrap lets errors.Is(err, ErrIllegalTransition) match.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }

// Attributes are the job-template attributes a client asked for, kept as given and forwarded to
// the printer where it supports them. Keys are IPP attribute names.
type Attributes struct {
	Copies       int      `json:"copies,omitempty"`
	Sides        string   `json:"sides,omitempty"`
	Media        string   `json:"media,omitempty"`
	MediaSource  string   `json:"media-source,omitempty"`
	MediaType    string   `json:"media-type,omitempty"`
	ColorMode    string   `json:"print-color-mode,omitempty"`
	PrintQuality int      `json:"print-quality,omitempty"`
	Orientation  int      `json:"orientation-requested,omitempty"`
	PageRanges   [][2]int `json:"page-ranges,omitempty"`
	Finishings   []int    `json:"finishings,omitempty"`
	// FinishingTemplates are the finishing-template members of finishings-col (PWG 5100.1),
	// one per collection, as "staple-top-left".
	FinishingTemplates []string `json:"finishing-templates,omitempty"`
	// NumberUp is number-up: pages per side, imposed by the printer.
	NumberUp       int    `json:"number-up,omitempty"`
	OutputBin      string `json:"output-bin,omitempty"`
	PrintScaling   string `json:"print-scaling,omitempty"`
	JobPriority    int    `json:"job-priority,omitempty"`
	HoldUntil      string `json:"job-hold-until,omitempty"`
	DocumentFormat string `json:"document-format,omitempty"`
	// Overrides are the overrides collections (PWG 5100.6): other attributes for some pages or
	// documents of the job, passed on to a printer that does them itself.
	Overrides []Override `json:"overrides,omitempty"`
	// Extra holds other attributes as text, for forwarding and display.
	Extra map[string]string `json:"extra,omitempty"`
}

// Override is one value of overrides (PWG 5100.6): the attributes that apply to the pages (of
// every document, or of the documents numbered) named, instead of the job's own.
type Override struct {
	// Pages and DocumentNumbers are the ranges the override applies to (1-based, inclusive);
	// no DocumentNumbers means every document.
	Pages           [][2]int `json:"pages,omitempty"`
	DocumentNumbers [][2]int `json:"document-numbers,omitempty"`
	// Attributes are the job-template attributes that apply there (not Overrides again).
	Attributes Attributes `json:"attributes"`
}

// OverrideNames are the overrides members (overrides-supported keywords) the job's overrides
// use: pages, document-numbers and the name of each attribute set.
func (a Attributes) OverrideNames() []string {
	var names []string
	add := func(n string) {
		for _, x := range names {
			if x == n {
				return
			}
		}
		names = append(names, n)
	}
	for _, o := range a.Overrides {
		if len(o.Pages) > 0 {
			add("pages")
		}
		if len(o.DocumentNumbers) > 0 {
			add("document-numbers")
		}
		for _, n := range o.Attributes.SetNames() {
			add(n)
		}
	}
	return names
}

// SetNames are the IPP names of the job-template attributes a sets (media-col for a media
// source or type, media otherwise), in a fixed order.
func (a Attributes) SetNames() []string {
	var n []string
	add := func(set bool, name string) {
		if set {
			n = append(n, name)
		}
	}
	add(a.Copies > 0, "copies")
	add(len(a.Finishings) > 0, "finishings")
	add(len(a.FinishingTemplates) > 0, "finishings-col")
	add(a.JobPriority > 0, "job-priority")
	add(a.MediaSource != "" || a.MediaType != "", "media-col")
	add(a.Media != "" && a.MediaSource == "" && a.MediaType == "", "media")
	add(a.NumberUp > 0, "number-up")
	add(a.Orientation > 0, "orientation-requested")
	add(a.OutputBin != "", "output-bin")
	add(len(a.PageRanges) > 0, "page-ranges")
	add(a.ColorMode != "", "print-color-mode")
	add(a.PrintQuality > 0, "print-quality")
	add(a.PrintScaling != "", "print-scaling")
	add(a.Sides != "", "sides")
	return n
}

// Document is one stored document of a job.
type Document struct {
	JobID  int64  `json:"job_id"`
	Seq    int    `json:"seq"`
	Name   string `json:"name,omitempty"`
	Format string `json:"format"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Pages  int    `json:"pages"`
	// PagesEstimated is true when Pages was guessed from the size (formats we cannot count).
	PagesEstimated bool `json:"pages_estimated,omitempty"`
	// Path is the document file; empty for an inline document and once retention removed it.
	Path string `json:"-"`
	// Inline is true when the bytes are kept inside the database (Store.OpenDocument reads
	// them) rather than in a file.
	Inline bool `json:"-"`
	// Deleted is when retention removed the document's bytes; zero while they exist.
	Deleted time.Time `json:"deleted,omitzero"`
}

// Available reports whether the document's bytes are still in the spool.
func (d Document) Available() bool { return d.Deleted.IsZero() && (d.Path != "" || d.Inline) }

// Job is one print job as stored.
type Job struct {
	ID             int64      `json:"id"`
	UUID           string     `json:"uuid"`
	VirtualPrinter string     `json:"virtual_printer"`
	Name           string     `json:"name"`
	Owner          string     `json:"owner"`
	OriginHost     string     `json:"origin_host,omitempty"`
	Origin         string     `json:"origin"` // front-end: ipp, lpd, raw, api, bulk
	Lane           Lane       `json:"lane"`
	RunID          int64      `json:"run_id,omitempty"`
	Seq            int64      `json:"seq,omitempty"`
	State          State      `json:"state"`
	StateReason    string     `json:"state_reason,omitempty"`
	Printer        string     `json:"printer,omitempty"`
	Pages          int        `json:"pages"`
	PagesEstimated bool       `json:"pages_estimated,omitempty"`
	Attributes     Attributes `json:"attributes"`
	Attempts       int        `json:"attempts"`
	// PossibleDuplicate: the job was re-sent after an uncertain outcome and may print twice.
	PossibleDuplicate bool   `json:"possible_duplicate"`
	UpstreamID        string `json:"upstream_id,omitempty"`
	// Evidence is what the page counter of the last attempt's printer said (nil: none).
	Evidence *Evidence `json:"evidence,omitempty"`
	// ImpressionsDone is what the printer reported as printed so far.
	ImpressionsDone int        `json:"impressions_completed"`
	Documents       []Document `json:"documents,omitempty"`
	Created         time.Time  `json:"created"`
	Updated         time.Time  `json:"updated"`
	Started         time.Time  `json:"started,omitzero"`
	Finished        time.Time  `json:"finished,omitzero"`
}

// Size is the total document size in bytes.
func (j *Job) Size() int64 {
	var n int64
	for _, d := range j.Documents {
		n += d.Size
	}
	return n
}

// SHA256 is the hash of the first document (most jobs have exactly one).
func (j *Job) SHA256() string {
	if len(j.Documents) == 0 {
		return ""
	}
	return j.Documents[0].SHA256
}

// NewJob is what a front-end knows about a job it is about to store.
type NewJob struct {
	VirtualPrinter string
	Name           string
	Owner          string
	OriginHost     string
	Origin         string
	Lane           Lane
	RunID          int64
	Seq            int64
	Attributes     Attributes
	// Hold stores the job held instead of pending (paused printer, job-hold-until, bulk schedule).
	Hold       bool
	HoldReason string
	// IdempotencyKey, when set, names the submission: a second Submit with the same key
	// (a client retrying after its answer was lost) returns the job the first one stored
	// instead of storing another, and discards its own staged documents.
	IdempotencyKey string
}

// MaxIdempotencyKey bounds an idempotency key's length.
const MaxIdempotencyKey = 200

// Event is one row of the event log: a state change, a printer transition, a failover or an
// operator action.
type Event struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	JobID   int64     `json:"job_id,omitempty"`
	Printer string    `json:"printer,omitempty"`
	RunID   int64     `json:"run_id,omitempty"`
	From    string    `json:"from,omitempty"`
	To      string    `json:"to,omitempty"`
	Actor   string    `json:"actor,omitempty"`
	Message string    `json:"message,omitempty"`
}

// Event kinds.
const (
	EventJobState     = "job-state"
	EventFailover     = "failover"
	EventPrinterState = "printer-state"
	EventOperator     = "operator"
	EventRecovery     = "recovery"
	EventRetention    = "retention"
	EventRun          = "run"
	// EventLease: a printer's lease moved to another gateway (several gateways on one spool).
	EventLease = "lease"
)
