// The IPP backend: network printers and print-server queues (a CUPS queue
// ipp://host:631/printers/q is just another IPP printer) over ipp:// and ipps://. Jobs go with
// Create-Job + Send-Document when the printer supports them, else Print-Job, and are followed
// with Get-Job-Attributes until the printer says they ended.
package printers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/ipp"
)

// IPP is one IPP printer or print-server queue.
type IPP struct {
	name   string
	ppm    int // configured speed, 0 = use the printer's
	client *ipp.Client
	// tr is the client's own transport, its idle connections closed by Close.
	tr *http.Transport
	// caFile is the printer's tls_ca_file, named in certificate errors; "" for none.
	caFile string
	log    *slog.Logger
	now    func() time.Time
	// maxPoll is the longest wait between two Get-Job-Attributes of a watched job.
	maxPoll time.Duration

	mu   sync.Mutex
	last *ipp.PrinterStatus // the last Get-Printer-Attributes answer: supported values, speed
}

// probeAttrs are what Probe asks for: state, speed, capabilities, and the xxx-supported
// attributes Send needs to keep only job-template values the printer takes.
var probeAttrs = []string{
	"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs",
	"queued-job-count", "pages-per-minute", "pages-per-minute-color", "printer-make-and-model", "printer-uuid",
	"operations-supported", "document-format-supported", "media-supported", "sides-supported",
	"print-color-mode-supported", "color-supported", "copies-supported", "media-col-supported",
	"media-source-supported", "media-type-supported", "output-bin-supported", "print-quality-supported",
	"orientation-requested-supported", "print-scaling-supported", "page-ranges-supported",
	"job-priority-supported", "finishings-supported", "number-up-supported", "printer-resolution-supported",
	"print-content-optimize-supported", "print-rendering-intent-supported", "multiple-document-handling-supported",
	"finishings-col-supported", "finishing-template-supported", "overrides-supported",
}

// NewIPP returns the backend for an ipp://, ipps://, http:// or https:// printer URI. Over TLS
// it trusts what c.TLSCAFile and c.TLSSkipVerify say (tls.go).
func NewIPP(c Config) (*IPP, error) {
	tr, err := httpTransport(c)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", c.Name, err)
	}
	cl, err := ipp.NewClient(c.URI, ipp.ClientOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", c.Name, err)
	}
	now := c.Now
	if now == nil {
		now = time.Now
	}
	log := logger(c)
	if c.TLSSkipVerify {
		log.Warn("the printer's TLS certificate is not verified (tls_skip_verify): anyone answering at its address is taken for it")
	}
	return &IPP{name: c.Name, ppm: c.PPM, client: cl, tr: tr, caFile: c.TLSCAFile, log: log, now: now, maxPoll: time.Second}, nil
}

// Name implements Printer.
func (p *IPP) Name() string { return p.name }

// status returns the last probe's answer, asking now when there is none yet.
func (p *IPP) status(ctx context.Context) (*ipp.PrinterStatus, error) {
	p.mu.Lock()
	st := p.last
	p.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := p.client.GetPrinterAttributes(ctx, probeAttrs...)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.last = st
	p.mu.Unlock()
	return st, nil
}

// Send implements Printer. Job-template attributes the printer does not list as supported are
// left out rather than risk a refusal of the whole job.
func (p *IPP) Send(ctx context.Context, j *Job) (Receipt, error) {
	if len(j.Documents) == 0 {
		return Receipt{}, &JobError{Printer: p.name, Err: errors.New("job has no document")}
	}
	st, err := p.status(ctx)
	if err != nil {
		return Receipt{}, p.sendError(err)
	}
	tmpl, dropped := st.SupportedTemplate(ipp.ForwardTemplate(j.Template))
	if len(dropped) > 0 {
		p.log.Debug("attributes the printer does not support left out", "job", j.ID, "attributes", dropped)
	}
	jr := ipp.JobRequest{Name: j.Name, User: j.Owner, Template: tmpl}
	ops := st.Attrs.Ints("operations-supported")
	hasOp := func(op goipp.Op) bool { return len(ops) == 0 || slices.Contains(ops, int(op)) }
	// Create-Job + Send-Document where the printer has both, as CUPS' ipp backend does: a busy
	// printer then refuses the small Create-Job instead of a whole document, which matters when
	// the scheduler asks again and again while the printer finishes another job.
	createSend := len(ops) > 0 && hasOp(goipp.OpCreateJob) && hasOp(goipp.OpSendDocument)
	var js *ipp.JobStatus
	if len(j.Documents) == 1 && hasOp(goipp.OpPrintJob) && !createSend {
		js, err = p.printJob(ctx, st, jr, j.Documents[0])
	} else {
		js, err = p.createAndSend(ctx, st, jr, j.Documents)
	}
	if err != nil {
		return Receipt{}, err
	}
	r := Receipt{UpstreamID: strconv.Itoa(js.ID)}
	if ppm := p.speed(st); ppm > 0 {
		r.FinishAt = p.now().Add(time.Duration(float64(max(j.Pages, 1)) / float64(ppm) * float64(time.Minute)))
	}
	return r, nil
}

func (p *IPP) printJob(ctx context.Context, st *ipp.PrinterStatus, jr ipp.JobRequest, d Document) (*ipp.JobStatus, error) {
	f, err := d.Open()
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", p.name, err)
	}
	defer f.Close()
	js, err := p.client.PrintJob(ctx, jr, ipp.Document{Reader: f, Size: d.Size, Format: sendFormat(st, d.Format), Name: d.Name})
	if err != nil {
		return nil, p.sendError(err)
	}
	return js, nil
}

// createAndSend creates the job, then sends each document; a failure after Create-Job cancels
// the half-made job upstream.
func (p *IPP) createAndSend(ctx context.Context, st *ipp.PrinterStatus, jr ipp.JobRequest, docs []Document) (*ipp.JobStatus, error) {
	js, err := p.client.CreateJob(ctx, jr)
	if err != nil {
		return nil, p.sendError(err)
	}
	for i, d := range docs {
		f, err := d.Open()
		if err == nil {
			_, err = p.client.SendDocument(ctx, js.ID, ipp.Document{Reader: f, Size: d.Size,
				Format: sendFormat(st, d.Format), Name: d.Name}, i == len(docs)-1)
			f.Close()
		}
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if cerr := p.client.CancelJob(cctx, js.ID); cerr != nil {
				p.log.Info("could not cancel half-sent job", "upstream_job", js.ID, "err", cerr)
			}
			cancel()
			if i == 0 && (errors.Is(err, ipp.ErrBusy) || notDelivered(err) || certError(err)) {
				// No document reached the printer: the job is empty there.
				return nil, p.sendError(err)
			}
			var je *JobError
			if e := p.sendError(err); errors.As(e, &je) || errors.Is(e, ErrNotDelivered) {
				return nil, e
			}
			return nil, fmt.Errorf("printers: %s: document %d of %d: %w", p.name, i+1, len(docs), err)
		}
	}
	return js, nil
}

// sendError maps a client error of a job-creating request to what the scheduler acts on.
func (p *IPP) sendError(err error) error {
	switch {
	case errors.Is(err, ipp.ErrBusy):
		return fmt.Errorf("%w: %s: %w", ErrBusy, p.name, err)
	case errors.Is(err, ipp.ErrJobRefused):
		return &JobError{Printer: p.name, Err: err}
	case errors.Is(err, ipp.ErrNotAccepting), notDelivered(err):
		return fmt.Errorf("%w: %s: %w", ErrNotDelivered, p.name, err)
	case certError(err):
		// Refused in the TLS handshake: the request never left the gateway.
		return fmt.Errorf("%w: %s: %w", ErrNotDelivered, p.name, p.trustHint(err))
	}
	return fmt.Errorf("printers: %s: %w", p.name, err)
}

// sendFormat is the document-format to send: the document's own when the printer lists it,
// else application/octet-stream when the printer auto-detects, else the document's own (and
// the printer's refusal says why).
func sendFormat(st *ipp.PrinterStatus, format string) string {
	if format == "" || len(st.Formats) == 0 || slices.Contains(st.Formats, format) {
		return format
	}
	if slices.Contains(st.Formats, document.Octet) {
		return document.Octet
	}
	return format
}

// speed is the configured ppm, else the printer's own.
func (p *IPP) speed(st *ipp.PrinterStatus) int {
	if p.ppm > 0 {
		return p.ppm
	}
	if st != nil {
		return st.PPM
	}
	return 0
}

// Watch implements Printer: polls Get-Job-Attributes until the job is completed, canceled or
// aborted, passing job-impressions-completed on. Polls come often near the expected finish
// (Receipt.FinishAt) and at most maxPoll apart otherwise. While the printer does not answer, Watch
// keeps trying: whether the printer is dead is for the probes and the grace period to decide.
// A job the printer no longer knows (restarted, history expired), or a job id that now names
// another job (job-uuid changed), is OutcomeUnknown.
func (p *IPP) Watch(ctx context.Context, r Receipt, progress func(int)) (Outcome, error) {
	id, err := strconv.Atoi(r.UpstreamID)
	if err != nil || id <= 0 {
		return OutcomeUnknown, nil
	}
	uuid := ""
	for {
		if err := sleepCtx(ctx, p.pollWait(r.FinishAt)); err != nil {
			return "", err
		}
		js, err := p.client.GetJobAttributes(ctx, id, "job-id", "job-uuid", "job-state", "job-state-reasons",
			"job-impressions-completed")
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			if errors.Is(err, ipp.ErrNotFound) {
				return OutcomeUnknown, nil
			}
			p.log.Debug("job status not available", "upstream_job", id, "err", err)
			continue
		}
		if u, _ := js.Attrs.String("job-uuid"); u != "" {
			if uuid != "" && u != uuid {
				return OutcomeUnknown, nil
			}
			uuid = u
		}
		if progress != nil {
			progress(js.ImpressionsCompleted)
		}
		switch js.State {
		case ipp.JobCompleted:
			return OutcomeCompleted, nil
		case ipp.JobCanceled:
			return OutcomeCanceled, nil
		case ipp.JobAborted:
			return OutcomeAborted, nil
		}
	}
}

// pollWait is the wait before the next Get-Job-Attributes: until the expected finish while it
// is ahead (at most maxPoll), a tenth of maxPoll in the few seconds after it, maxPoll later: the
// scheduler sends a printer its next job when it learns the last one is done.
func (p *IPP) pollWait(finishAt time.Time) time.Duration {
	if finishAt.IsZero() {
		return p.maxPoll
	}
	ahead := finishAt.Sub(p.now())
	switch {
	case ahead > 0:
		return min(max(ahead, 20*time.Millisecond), p.maxPoll)
	case ahead > -5*time.Second:
		return p.maxPoll / 10
	}
	return p.maxPoll
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Cancel implements Printer. A job the printer already finished or forgot needs no canceling.
func (p *IPP) Cancel(ctx context.Context, r Receipt) error {
	id, err := strconv.Atoi(r.UpstreamID)
	if err != nil || id <= 0 {
		return nil
	}
	err = p.client.CancelJob(ctx, id)
	if err == nil || errors.Is(err, ipp.ErrNotPossible) || errors.Is(err, ipp.ErrNotFound) {
		return nil
	}
	return fmt.Errorf("printers: %s: cancel job %d: %w", p.name, id, err)
}

// Probe implements Printer with Get-Printer-Attributes.
func (p *IPP) Probe(ctx context.Context) (Status, error) {
	st, err := p.client.GetPrinterAttributes(ctx, probeAttrs...)
	if err != nil {
		return Status{QueuedJobs: -1}, fmt.Errorf("printers: %s: %w", p.name, p.trustHint(err))
	}
	p.mu.Lock()
	p.last = st
	p.mu.Unlock()
	state, reasons := ippState(st)
	return Status{State: state, Reasons: reasons, Accepting: st.Accepting, QueuedJobs: st.QueuedJobs, PPM: st.PPM,
		Message: st.Message, Capabilities: &Capabilities{Formats: st.Formats, Media: st.Media, Sides: st.Sides,
			ColorModes: st.ColorModes, MediaSources: st.Attrs.Strings("media-source-supported"),
			MediaTypes: st.Attrs.Strings("media-type-supported"), OutputBins: st.Attrs.Strings("output-bin-supported"),
			Resolutions: squareDPI(st.Attrs), MakeModel: st.MakeModel,
			Finishings: finishings(st.Attrs), FinishingTemplates: finishingTemplates(st.Attrs),
			NumberUp: numberUp(st.Attrs), Overrides: st.Attrs.Strings("overrides-supported")}}, nil
}

// stoppingReasons are printer-state-reasons (without severity suffix) that keep a printer from
// printing: it gets no new work while one of them is reported at error level.
var stoppingReasons = map[string]bool{
	"media-empty": true, "media-jam": true, "media-needed": true, "door-open": true, "cover-open": true,
	"interlock-open": true, "toner-empty": true, "marker-supply-empty": true, "marker-waste-full": true,
	"developer-empty": true, "paused": true, "moving-to-paused": true, "offline": true, "shutdown": true,
	"spool-area-full": true, "input-tray-missing": true, "output-tray-missing": true, "output-area-full": true,
	"fuser-over-temp": true, "fuser-under-temp": true, "opc-life-over": true, "stopped-partly": true,
	"printer-stopped": true, "cups-missing-filter": true,
}

// ippState maps printer-state and printer-state-reasons to a State. By RFC 8011 a reason
// without a severity suffix is an error, like one ending in -error: a stopping one stops the
// printer, any other error makes it degraded (it prints, but someone should look). -warning
// and -report reasons make it degraded, with one exception: a stopping reason at -warning level
// while the printer is processing means the job in it is not moving (a printer that is out of
// paper, jammed or open cannot print), so the printer is stopped. ippeveprinter, for one,
// suffixes its reasons by its state (-report idle, -warning processing, -error stopped) and
// reports media-empty-warning while a job waits for paper. printer-state stopped is stopped
// whatever the reasons. The reasons come back without "none".
func ippState(st *ipp.PrinterStatus) (State, []string) {
	var reasons []string
	stopped, degraded := st.State == ipp.PrinterStopped, false
	for _, r := range st.Reasons {
		if r == "" || r == "none" {
			continue
		}
		reasons = append(reasons, r)
		base, severity := r, ""
		for _, suffix := range []string{"-error", "-warning", "-report"} {
			if strings.HasSuffix(r, suffix) {
				base, severity = strings.TrimSuffix(r, suffix), suffix
			}
		}
		stopping := stoppingReasons[base]
		switch {
		case stopping && (severity == "" || severity == "-error"):
			stopped = true
		case stopping && severity == "-warning" && st.State == ipp.PrinterProcessing:
			stopped = true
		default:
			degraded = true
		}
	}
	switch {
	case stopped:
		return StateStopped, reasons
	case degraded:
		return StateDegraded, reasons
	case st.State == ipp.PrinterProcessing:
		return StateBusy, reasons
	}
	return StateReady, reasons
}

// Close implements Printer.
func (p *IPP) Close() error {
	p.tr.CloseIdleConnections()
	return nil
}

// squareDPI lists the square resolutions in dpi of printer-resolution-supported (the ones a
// virtual printer can offer for PDF and PWG raster alike).
func squareDPI(a ipp.Attrs) []int {
	var out []int
	for _, at := range a {
		if at.Name != "printer-resolution-supported" {
			continue
		}
		for _, v := range at.Values {
			if r, ok := v.V.(goipp.Resolution); ok && r.Units == goipp.UnitsDpi && r.Xres == r.Yres && r.Xres > 0 {
				out = append(out, r.Xres)
			}
		}
	}
	return out
}

// An IPP printer that does not list finishings-supported, finishing-template-supported or
// number-up-supported does none of them (and the backend would leave them out of the job):
// it is reported as doing none, 1-up, not as unable to say, so that routing never sends it a
// stapled or 2-up job (an LPD or socket printer, which cannot say, is trusted instead).

// finishings are finishings-supported; "none" (3) when the printer lists none.
func finishings(a ipp.Attrs) []int {
	if f := a.Ints("finishings-supported"); len(f) > 0 {
		return f
	}
	return []int{3}
}

// finishingTemplates are the finishing-template keywords a printer takes in finishings-col:
// "none" only unless it lists finishing-template among finishings-col-supported.
func finishingTemplates(a ipp.Attrs) []string {
	if !slices.Contains(a.Strings("finishings-col-supported"), "finishing-template") {
		return []string{"none"}
	}
	if t := a.Strings("finishing-template-supported"); len(t) > 0 {
		return t
	}
	return []string{"none"}
}

// maxNumberUp bounds the values read from a number-up-supported range (1-16 is usual).
const maxNumberUp = 100

// numberUp lists number-up-supported, whether the printer gives values or a range; 1 when the
// printer lists none.
func numberUp(a ipp.Attrs) []int {
	at, _ := a.Get("number-up-supported")
	out := []int{1}
	for _, v := range at.Values {
		switch v := v.V.(type) {
		case goipp.Integer:
			if v > 1 {
				out = append(out, int(v))
			}
		case goipp.Range:
			for i := max(v.Lower, 2); i <= min(v.Upper, maxNumberUp); i++ {
				out = append(out, i)
			}
		}
	}
	return out
}
