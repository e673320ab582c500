// Package printers reaches physical printers: one backend per URI scheme (file, ipp, lpd, socket),
// each able to send a job, follow it to completion and report the printer's status.
package printers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/printgate/printgate/job"
)

// Printer is one physical printer or print-server queue.
//
// The scheduler calls Send once the job is in state "sending"; a nil error means the printer
// accepted the whole job (the job becomes "printing"). Watch then blocks until the printer reports
// the job finished. Backends whose protocol has no completion report (LPD, socket, file without
// simulated speed) return a Receipt with Done set, and Watch returns at once.
type Printer interface {
	// Name is the configured printer name.
	Name() string
	// Send transfers the job. It returns ErrBusy when the printer asks to try again shortly
	// (not a fault), a *JobError when the job itself is unprintable, any other error when the
	// printer failed.
	Send(ctx context.Context, job *Job) (Receipt, error)
	// Watch follows an accepted job until it completes, is canceled or aborted upstream.
	// progress, if not nil, is called with the impressions printed so far.
	Watch(ctx context.Context, r Receipt, progress func(impressions int)) (Outcome, error)
	// Cancel asks the printer to cancel an accepted job; best effort.
	Cancel(ctx context.Context, r Receipt) error
	// Probe asks the printer for its current status.
	Probe(ctx context.Context) (Status, error)
	// Close releases the backend's resources.
	Close() error
}

// Job is what a backend needs to print: the documents and the attributes to pass on.
type Job struct {
	ID        int64
	UUID      string
	Name      string
	Owner     string
	Host      string
	Documents []Document
	// Pages is the page count of all documents (for simulated speed and progress).
	Pages int
	// Template are the job-template attributes the client chose (copies, sides, media,
	// page-ranges, job-priority, ...), in the one typed form the front door stored; a backend
	// passes on those its printer supports.
	Template job.Attributes
	// Copies is Template.Copies, at least 1 (for simulated speed).
	Copies int
}

// Document is one file of a job on local disk.
type Document struct {
	// Path is the document's file; Data holds the bytes instead for a small document the
	// spool keeps in its database. Exactly one of them is set.
	Path   string
	Data   []byte
	Name   string
	Format string // MIME type, e.g. application/pdf
	Size   int64
}

// Open returns the document's bytes from the start.
func (d Document) Open() (io.ReadCloser, error) {
	if d.Data != nil {
		return io.NopCloser(bytes.NewReader(d.Data)), nil
	}
	return os.Open(d.Path)
}

// Receipt identifies an accepted job at the printer.
type Receipt struct {
	// UpstreamID is the printer's own id for the job (IPP job-uri or job-id), empty when none.
	UpstreamID string `json:"upstream_id,omitempty"`
	// Done is true when acceptance is completion (LPD, socket).
	Done bool `json:"done,omitempty"`
	// FinishAt is when a simulated printer will be done (file backend; with Done, when it
	// already is); zero when the printer cannot say.
	FinishAt time.Time `json:"finish_at,omitzero"`
}

// Outcome is how an accepted job ended at the printer.
type Outcome string

const (
	// The three known outcomes are the job states they end the job in.
	OutcomeCompleted = Outcome(job.StateCompleted)
	OutcomeCanceled  = Outcome(job.StateCanceled)
	OutcomeAborted   = Outcome(job.StateAborted)
	// OutcomeUnknown: the printer no longer knows the job (restarted, history expired).
	OutcomeUnknown Outcome = "unknown"
)

// State is a printer's health as the scheduler sees it.
type State string

const (
	StateReady       State = "ready"
	StateBusy        State = "busy"
	StateDegraded    State = "degraded"
	StateStopped     State = "stopped"
	StateUnreachable State = "unreachable"
	StateDrained     State = "drained"
	// StateUnknown: not probed yet.
	StateUnknown State = "unknown"
)

// Usable reports whether a printer in state s may receive new work.
func (s State) Usable() bool {
	return s == StateReady || s == StateBusy || s == StateDegraded
}

// Status is one probe's answer.
type Status struct {
	State State `json:"state"`
	// Reasons are IPP printer-state-reasons style keywords (media-empty, toner-low-warning, ...).
	Reasons   []string `json:"reasons,omitempty"`
	Accepting bool     `json:"accepting"`
	// QueuedJobs is the printer's own queue length, -1 when unknown.
	QueuedJobs int `json:"queued_jobs"`
	// PPM is the speed the printer reports, 0 when unknown.
	PPM          int           `json:"ppm,omitempty"`
	Message      string        `json:"message,omitempty"`
	Capabilities *Capabilities `json:"capabilities,omitempty"`
}

// Capabilities is what a printer can do, for feature routing and the virtual printer's attributes.
type Capabilities struct {
	Formats    []string `json:"formats,omitempty"`
	Media      []string `json:"media,omitempty"`
	Sides      []string `json:"sides,omitempty"`
	ColorModes []string `json:"color_modes,omitempty"`
	// MediaSources and MediaTypes are the trays and media kinds (media-source-supported,
	// media-type-supported); empty when the printer cannot say.
	MediaSources []string `json:"media_sources,omitempty"`
	MediaTypes   []string `json:"media_types,omitempty"`
	// OutputBins are output-bin-supported; Resolutions the square resolutions (dpi) of
	// printer-resolution-supported.
	OutputBins  []string `json:"output_bins,omitempty"`
	Resolutions []int    `json:"resolutions,omitempty"`
	// Finishings are finishings-supported (enums), FinishingTemplates finishing-template-supported,
	// NumberUp the number-up values the printer imposes, Overrides the overrides-supported
	// members. Empty finishings and number-up lists mean "cannot say" (LPD, socket, file; an
	// IPP printer always says, "none" and 1 when it lists nothing); an empty Overrides means the
	// printer does no overrides (a job with overrides needs a printer that says it does).
	Finishings         []int    `json:"finishings,omitempty"`
	FinishingTemplates []string `json:"finishing_templates,omitempty"`
	NumberUp           []int    `json:"number_up,omitempty"`
	Overrides          []string `json:"overrides,omitempty"`
	MakeModel          string   `json:"make_model,omitempty"`
}

// ErrBusy means the printer asked to try again shortly (IPP server-error-busy). Not a fault,
// and nothing was printed.
var ErrBusy = errors.New("printers: printer busy, try again shortly")

// ErrNotDelivered wraps a send failure that certainly delivered nothing (connection refused,
// name lookup failed): the job can go elsewhere without the possible-duplicate flag.
var ErrNotDelivered = errors.New("printers: nothing delivered")

// JobError is a failure caused by the job, not the printer (bad document, unsupported format):
// sending it elsewhere would fail the same way.
type JobError struct {
	Printer string
	Err     error
}

func (e *JobError) Error() string {
	return fmt.Sprintf("printers: %s refused the job: %v", e.Printer, e.Err)
}
func (e *JobError) Unwrap() error { return e.Err }
