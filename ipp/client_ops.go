// The IPP client's operations: Print-Job, Validate-Job, Create-Job + Send-Document,
// Get-Job-Attributes, Get-Printer-Attributes and Cancel-Job, with typed results.
package ipp

import (
	"context"
	"io"
	"slices"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// JobRequest describes a job to create upstream.
type JobRequest struct {
	// Name is job-name.
	Name string
	// User is requesting-user-name (the job's owner); the client's UserName when empty.
	User string
	// Template are the job-template attributes, e.g. ForwardTemplate of the stored ones,
	// narrowed with PrinterStatus.SupportedTemplate.
	Template goipp.Attributes
}

// Document is one document to send.
type Document struct {
	// Reader streams the bytes; it is read once, never buffered whole.
	Reader io.Reader
	// Size is the length in bytes, -1 when unknown (then sent chunked).
	Size int64
	// Format is document-format; application/octet-stream when empty.
	Format string
	// Name is document-name, left out when empty.
	Name string
}

// JobStatus is what a printer says about a job.
type JobStatus struct {
	ID      int
	URI     string
	State   JobState
	Reasons []string
	Message string
	// ImpressionsCompleted is job-impressions-completed, 0 when not reported.
	ImpressionsCompleted int
	// Attrs is the whole job group, for anything else.
	Attrs Attrs
}

// PrinterStatus is what a printer says about itself.
type PrinterStatus struct {
	State     PrinterState
	Reasons   []string
	Message   string
	Accepting bool
	// QueuedJobs is queued-job-count, -1 when not reported.
	QueuedJobs int
	// PPM and PPMColor are pages-per-minute(-color), 0 when not reported.
	PPM, PPMColor int
	MakeModel     string
	UUID          string
	Formats       []string
	Media         []string
	Sides         []string
	ColorModes    []string
	Color         bool
	// Attrs is the whole printer group, for anything else.
	Attrs Attrs
}

// ForwardTemplate is EncodeTemplate without job-hold-until: the gateway holds jobs itself, and
// a job it has released must not be held again by the printer.
func ForwardTemplate(a job.Attributes) goipp.Attributes {
	a.HoldUntil = ""
	return EncodeTemplate(a)
}

// PrintJob creates a job with one document, streamed from doc.Reader.
func (c *Client) PrintJob(ctx context.Context, jr JobRequest, doc Document) (*JobStatus, error) {
	m := c.jobRequest(goipp.OpPrintJob, jr)
	addDocumentAttrs(m, doc)
	return c.jobOp(ctx, m, doc.Reader, doc.Size)
}

// ValidateJob asks whether the printer would accept a job of format with jr's attributes. A
// refusal is an *Error matching ErrJobRefused.
func (c *Client) ValidateJob(ctx context.Context, jr JobRequest, format string) error {
	m := c.jobRequest(goipp.OpValidateJob, jr)
	addDocumentAttrs(m, Document{Format: format})
	_, err := c.Do(ctx, m, nil, 0)
	return err
}

// CreateJob creates a job that waits for SendDocument.
func (c *Client) CreateJob(ctx context.Context, jr JobRequest) (*JobStatus, error) {
	return c.jobOp(ctx, c.jobRequest(goipp.OpCreateJob, jr), nil, 0)
}

// SendDocument adds a document to a created job; last closes it.
func (c *Client) SendDocument(ctx context.Context, jobID int, doc Document, last bool) (*JobStatus, error) {
	m := c.NewRequest(goipp.OpSendDocument, "")
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	m.Operation.Add(goipp.MakeAttribute("last-document", goipp.TagBoolean, goipp.Boolean(last)))
	addDocumentAttrs(m, doc)
	return c.jobOp(ctx, m, doc.Reader, doc.Size)
}

// GetJobAttributes asks for a job's attributes; without requested, its state, reasons,
// message and progress.
func (c *Client) GetJobAttributes(ctx context.Context, jobID int, requested ...string) (*JobStatus, error) {
	if len(requested) == 0 {
		requested = []string{"job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message",
			"job-impressions-completed"}
	}
	m := c.NewRequest(goipp.OpGetJobAttributes, "")
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	m.Operation.Add(goipp.MakeAttr("requested-attributes", goipp.TagKeyword, goipp.String(requested[0]),
		stringValues(requested[1:])...))
	return c.jobOp(ctx, m, nil, 0)
}

// GetPrinterAttributes asks for printer attributes; without requested, "all".
func (c *Client) GetPrinterAttributes(ctx context.Context, requested ...string) (*PrinterStatus, error) {
	if len(requested) == 0 {
		requested = []string{"all"}
	}
	m := c.NewRequest(goipp.OpGetPrinterAttributes, "")
	m.Operation.Add(goipp.MakeAttr("requested-attributes", goipp.TagKeyword, goipp.String(requested[0]),
		stringValues(requested[1:])...))
	rsp, err := c.Do(ctx, m, nil, 0)
	if err != nil {
		return nil, err
	}
	return parsePrinterStatus(Attrs(rsp.Printer)), nil
}

// CancelJob cancels a job. Canceling a finished job is an *Error matching ErrNotPossible.
func (c *Client) CancelJob(ctx context.Context, jobID int) error {
	m := c.NewRequest(goipp.OpCancelJob, "")
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	_, err := c.Do(ctx, m, nil, 0)
	return err
}

// jobRequest builds Print-Job, Validate-Job or Create-Job without document attributes.
func (c *Client) jobRequest(op goipp.Op, jr JobRequest) *goipp.Message {
	m := c.NewRequest(op, jr.User)
	if jr.Name != "" {
		m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(truncateUTF8(jr.Name, 255))))
	}
	if len(jr.Template) > 0 {
		m.Job = jr.Template.DeepCopy()
	}
	return m
}

// addDocumentAttrs adds document-name and document-format.
func addDocumentAttrs(m *goipp.Message, doc Document) {
	if doc.Name != "" {
		m.Operation.Add(goipp.MakeAttribute("document-name", goipp.TagName, goipp.String(truncateUTF8(doc.Name, 255))))
	}
	format := doc.Format
	if format == "" {
		format = document.Octet
	}
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
}

// jobOp sends a job request and reads the job group of the answer.
func (c *Client) jobOp(ctx context.Context, m *goipp.Message, doc io.Reader, size int64) (*JobStatus, error) {
	rsp, err := c.Do(ctx, m, doc, size)
	if err != nil {
		return nil, err
	}
	return parseJobStatus(Attrs(rsp.Job)), nil
}

func parseJobStatus(a Attrs) *JobStatus {
	js := &JobStatus{Attrs: a}
	js.ID, _ = a.Int("job-id")
	js.URI, _ = a.String("job-uri")
	if st, ok := a.Int("job-state"); ok {
		js.State = JobState(st)
	}
	js.Reasons = a.Strings("job-state-reasons")
	js.Message, _ = a.String("job-state-message")
	js.ImpressionsCompleted, _ = a.Int("job-impressions-completed")
	return js
}

func parsePrinterStatus(a Attrs) *PrinterStatus {
	ps := &PrinterStatus{Attrs: a, QueuedJobs: -1}
	if st, ok := a.Int("printer-state"); ok {
		ps.State = PrinterState(st)
	}
	ps.Reasons = a.Strings("printer-state-reasons")
	ps.Message, _ = a.String("printer-state-message")
	ps.Accepting, _ = a.Bool("printer-is-accepting-jobs")
	if n, ok := a.Int("queued-job-count"); ok {
		ps.QueuedJobs = n
	}
	ps.PPM, _ = a.Int("pages-per-minute")
	ps.PPMColor, _ = a.Int("pages-per-minute-color")
	ps.MakeModel, _ = a.String("printer-make-and-model")
	ps.UUID, _ = a.String("printer-uuid")
	ps.Formats = a.Strings("document-format-supported")
	ps.Media = a.Strings("media-supported")
	ps.Sides = a.Strings("sides-supported")
	ps.ColorModes = a.Strings("print-color-mode-supported")
	ps.Color, _ = a.Bool("color-supported")
	return ps
}

// SupportedTemplate keeps the job-template attributes whose values the printer lists as
// supported (xxx-supported, media-col-supported, page-ranges-supported, ...) and names the
// ones dropped. An attribute the printer says nothing about is dropped: sending it could make a
// strict printer refuse the whole job.
func (p *PrinterStatus) SupportedTemplate(t goipp.Attributes) (kept goipp.Attributes, dropped []string) {
	for _, at := range t {
		if a, ok := p.supportedAttr(at); ok {
			kept = append(kept, a)
		} else {
			dropped = append(dropped, at.Name)
		}
	}
	return kept, dropped
}

// supportedAttr checks one attribute against the printer's xxx-supported values.
func (p *PrinterStatus) supportedAttr(at goipp.Attribute) (goipp.Attribute, bool) {
	a := p.Attrs
	supported := at.Name + "-supported"
	if len(at.Values) == 0 {
		return at, false
	}
	switch at.Name {
	case "media-col":
		col, ok := Attrs{at}.Collection(at.Name)
		members := a.Strings("media-col-supported")
		if !ok || len(members) == 0 {
			return at, false
		}
		var out goipp.Collection
		for _, m := range col {
			if !slices.Contains(members, m.Name) {
				continue
			}
			if m.Name == "media-source" || m.Name == "media-type" {
				v, _ := Attrs{m}.String(m.Name)
				if !slices.Contains(a.Strings(m.Name+"-supported"), v) {
					continue
				}
			}
			out = append(out, m)
		}
		if len(out) == 0 {
			return at, false
		}
		return goipp.MakeAttribute(at.Name, goipp.TagBeginCollection, out), true
	case "finishings-col":
		members := a.Strings("finishings-col-supported")
		for _, col := range (Attrs{at}).Collections(at.Name) {
			for _, m := range col {
				if !slices.Contains(members, m.Name) {
					return at, false
				}
			}
			if f, ok := col.String("finishing-template"); ok && !slices.Contains(a.Strings("finishing-template-supported"), f) {
				return at, false
			}
		}
		return at, len(members) > 0
	case "overrides":
		// Every member of every override must be one the printer does, with values it takes:
		// an override it would drop in part prints those pages wrongly.
		members := a.Strings("overrides-supported")
		for _, col := range (Attrs{at}).Collections(at.Name) {
			for _, m := range col {
				if !slices.Contains(members, m.Name) {
					return at, false
				}
				if m.Name == "pages" || m.Name == "document-numbers" {
					continue
				}
				if kept, ok := p.supportedAttr(m); !ok || kept.Values.String() != m.Values.String() {
					return at, false
				}
			}
		}
		return at, len(members) > 0
	case "page-ranges":
		ok, _ := a.Bool("page-ranges-supported")
		return at, ok
	case "job-priority":
		return at, a.Has(supported)
	}
	if !a.Has(supported) {
		return at, false
	}
	sup, _ := a.Get(supported)
	for _, v := range at.Values {
		if !valueSupported(v.V, sup) {
			return at, false
		}
	}
	return at, true
}

// valueSupported reports whether v is among sup's values (equal, or within a range).
func valueSupported(v goipp.Value, sup goipp.Attribute) bool {
	for _, s := range sup.Values {
		if goipp.ValueEqual(v, s.V) {
			return true
		}
		if r, ok := s.V.(goipp.Range); ok {
			if i, ok := v.(goipp.Integer); ok && int(i) >= r.Lower && int(i) <= r.Upper {
				return true
			}
		}
	}
	return false
}
