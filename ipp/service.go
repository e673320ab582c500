// The Service the IPP front door needs from the rest of the gateway (implemented by package
// queue), and the virtual printer description it returns.
package ipp

import (
	"context"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/printgate/printgate/job"
)

// Service is what the IPP server needs from the gateway: virtual printers and their spooled jobs.
//
// Errors: return ErrNotFound (or job.ErrNotFound) for an unknown printer or job, the spool's
// sentinels as they come (ErrDiskFull, ErrTooLarge, ErrIllegalTransition, ...), or an *Error to
// choose the IPP status yourself (e.g. server-error-not-accepting-jobs). Anything else is
// answered server-error-internal-error and logged.
type Service interface {
	// VirtualPrinter describes the named virtual printer; name "" is the default one. Every
	// request calls it, so it must be cheap: what costs a query is asked for separately.
	VirtualPrinter(ctx context.Context, name string) (*PrinterInfo, error)
	// QueuedJobs counts the named virtual printer's unfinished jobs (queued-job-count); only
	// Get-Printer-Attributes asks, and only when the client wants that attribute.
	QueuedJobs(ctx context.Context, name string) (int, error)

	// Stage streams a document durably into the spool (spool.Store.Stage).
	Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error)
	// Discard removes a staged document that will not be submitted (job.Staged.Discard). The
	// server calls it for every staged document not handed to Submit or AddDocument.
	Discard(doc *job.Staged)
	// Submit stores a job with its documents and returns only after the commit (Print-Job).
	Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error)
	// Create stores a job without documents, in state received (Create-Job).
	Create(ctx context.Context, nj job.NewJob) (*job.Job, error)
	// AddDocument attaches a document to a received job; last closes it (Send-Document).
	AddDocument(ctx context.Context, jobID int64, doc *job.Staged, last bool) (*job.Job, error)
	// CloseJob closes a received job without another document (Close-Job, or Send-Document with
	// last-document and no data). A job closed with no document at all should be aborted.
	CloseJob(ctx context.Context, jobID int64) (*job.Job, error)

	// Job returns one job, in any state (finished jobs stay queryable).
	Job(ctx context.Context, id int64) (*job.Job, error)
	// Jobs lists jobs of one virtual printer; see JobQuery for filter and order.
	Jobs(ctx context.Context, q JobQuery) ([]*job.Job, error)

	// CancelJob cancels a job; actor is recorded in the event log. The server has already
	// checked that actor owns the job or is an operator.
	CancelJob(ctx context.Context, id int64, actor string) error
	// HoldJob and ReleaseJob hold a job back from the scheduler and let it go again.
	HoldJob(ctx context.Context, id int64, actor string) error
	ReleaseJob(ctx context.Context, id int64, actor string) error
	// PausePrinter holds new jobs of a virtual printer; ResumePrinter releases them.
	PausePrinter(ctx context.Context, name, actor string) error
	ResumePrinter(ctx context.Context, name, actor string) error
	// Identify asks the virtual printer to make itself known (identify-actions keywords).
	Identify(ctx context.Context, name string, actions []string) error
}

// JobQuery selects jobs for Get-Jobs and Cancel-My-Jobs.
type JobQuery struct {
	// Printer is the virtual printer name (never empty).
	Printer string
	// States keeps only jobs in these states; nil means every state.
	States []job.State
	// Owner keeps only jobs of this owner; "" means everyone's.
	Owner string
	// Limit caps the result when > 0. Jobs come in the order Get-Jobs shows them: unfinished
	// jobs oldest first (queue order), then finished jobs most recent first.
	Limit int
}

// PrinterInfo describes a virtual printer as the Service sees it now.
type PrinterInfo struct {
	// Name is the virtual printer's configured name (also its URL path segment).
	Name string
	// UUID is stable for the life of the virtual printer (RFC 4122 form, without urn:uuid:).
	UUID string
	// Info, Location and MakeModel are free text (printer-info, printer-location,
	// printer-make-and-model); at most 127 characters are sent.
	Info, Location, MakeModel string
	// State is idle, processing or stopped (stopped with a reason when no pool member is usable).
	State PrinterState
	// Reasons are printer-state-reasons keywords; empty means "none".
	Reasons []string
	// Message is printer-state-message, may be empty.
	Message string
	// Accepting is printer-is-accepting-jobs. A paused (hold-new-jobs) printer still accepts.
	Accepting bool
	// UpSince is when the gateway started serving this printer.
	UpSince time.Time
	// StateChanged and ConfigChanged are when State and the configuration last changed; zero
	// means UpSince.
	StateChanged, ConfigChanged time.Time
	// Caps are the union of what the pool's usable members can do.
	Caps Capabilities
}

// Capabilities are a virtual printer's capabilities: the union over its pool's usable members.
// Zero fields get the defaults documented on each.
type Capabilities struct {
	// Formats are the MIME types passed through to printers (document-format-supported, besides
	// application/octet-stream which is always accepted).
	Formats []string
	// Media are PWG self-describing size names (media-supported); default iso_a4_210x297mm and
	// na_letter_8.5x11in.
	Media []string
	// MediaDefault is media-default; default the first of Media.
	MediaDefault string
	// MediaReady is media-ready; default Media.
	MediaReady []string
	// MediaSources are media-source keywords; default "auto".
	MediaSources []string
	// MediaTypes are media-type keywords; default "stationery".
	MediaTypes []string
	// OutputBins are output-bin keywords; default "face-down".
	OutputBins []string
	// Sides are sides keywords; default one-sided only.
	Sides []string
	// ColorModes are print-color-mode keywords; "color" means colour is offered. "auto" and
	// "monochrome" are always offered (any printer prints grey).
	ColorModes []string
	// Resolutions are the square resolutions in dpi for printer-resolution and PWG raster;
	// default 300.
	Resolutions []int
	// RasterTypes are pwg-raster-document-type-supported keywords; default sgray_8, plus srgb_8
	// when colour is offered.
	RasterTypes []string
	// URF are urf-supported keywords; derived from the rest when empty.
	URF []string
	// PPM and PPMColor are pages per minute (the pool's sum); PPM default 1.
	PPM, PPMColor int
	// MaxCopies bounds copies; default 999.
	MaxCopies int
	// Finishings, FinishingTemplates, NumberUp and Overrides are the pool's finishings enums,
	// finishing-template keywords, number-up values and overrides members; "none" (3), 1 and
	// the members ipp-everywhere.test requires are always offered (finishings.go).
	Finishings         []int
	FinishingTemplates []string
	NumberUp           []int
	Overrides          []string
}

// Authorizer reports whether the client making r, claiming to be user, is an operator: allowed
// to cancel others' jobs, hold and release jobs, pause and resume printers. The dashboard adds
// real logins later; until then DefaultOperator trusts the local machine.
type Authorizer func(r *http.Request, user string) bool

// DefaultOperator treats requests from the loopback interface as operators: the gateway host's
// own administrators (ipptool, cupsd, the CLI) and nobody on the network.
func DefaultOperator(r *http.Request, _ string) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
