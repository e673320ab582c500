// The format bridge as the scheduler uses it: which members can print a document once it is
// converted, what the conversion costs in the plan, and converting at dispatch.
package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/document/convert"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// Converter is the format bridge (document/convert.Converter implements it). A nil
// Converter in Options turns the bridge off: every job goes only to members that take its
// format, as before the bridge.
type Converter interface {
	// Route is the format to send a document of format from to a printer taking accepts
	// (from itself when taken); ok false when there is none.
	Route(from string, accepts []string) (to string, ok bool)
	// Sources are the formats a printer taking accepts can be given, its own included.
	Sources(accepts []string) []string
	// Cost is the expected time to convert a document of pages pages.
	Cost(from, to string, pages int) time.Duration
	// Convert writes the converted document to a file the caller removes.
	Convert(ctx context.Context, in convert.Input, to string, p convert.Params) (*convert.Output, error)
}

// formats are the document formats m takes: its configuration's formats: list when there is
// one (it overrides what an IPP printer reports), else what the printer reports. Empty is
// unknown: the printer is trusted with anything. Called with s.mu held.
func (m *member) formats() []string {
	if len(m.spec.Formats) > 0 {
		return m.spec.Formats
	}
	if c := m.status.Capabilities; c != nil {
		return c.Formats
	}
	return nil
}

// route is what m would be sent for a document of format f: f itself when m takes it (or
// says nothing of its formats), else the bridge's conversion target, else f as it is when m
// lists application/octet-stream. Octet-stream is "I detect the format among those I print"
// (ippeveprinter and most IPP Everywhere printers list it beside PWG raster), not "I print
// anything": a format m does not list is converted when it can be. A job whose document
// already failed to convert (noConvert) goes only where it needs none. jobID is 0 for a job
// not yet submitted. Called with s.mu held.
func (s *Scheduler) route(m *member, f string, jobID int64) (to string, ok bool) {
	accepts := m.formats()
	if f == "" || f == document.Octet || len(accepts) == 0 || slices.Contains(accepts, f) {
		return f, true
	}
	if s.opts.Converter != nil && !m.spec.NoConvert {
		if to, ok := s.opts.Converter.Route(f, accepts); ok {
			// Not as octet-stream either: m takes only what the conversion would have made.
			return to, !(jobID != 0 && s.noConvert[jobID])
		}
	}
	if slices.Contains(accepts, document.Octet) {
		return f, true
	}
	return "", false
}

// canPrint: m can print j as asked, its features (supports) and its format, converted if need
// be. Called with s.mu held.
func (s *Scheduler) canPrint(m *member, j *job.Job) bool {
	_, ok := s.route(m, jobFormat(j), j.ID)
	return ok && supports(m.status.Capabilities, j)
}

// jobFormat is the format the job is routed by: its first document's (sniffed) format when
// loaded, else the document-format it was submitted with.
func jobFormat(j *job.Job) string {
	if len(j.Documents) > 0 && j.Documents[0].Format != "" {
		return j.Documents[0].Format
	}
	return j.Attributes.DocumentFormat
}

// convertMinutes is the expected time to convert j for m (0 when m takes it as it is). Called
// with s.mu held.
func (s *Scheduler) convertMinutes(m *member, j *job.Job) float64 {
	f := jobFormat(j)
	to, ok := s.route(m, f, j.ID)
	if !ok || to == f || s.opts.Converter == nil {
		return 0
	}
	return s.opts.Converter.Cost(f, to, j.Pages).Minutes()
}

// finishAt is when m would be done with j, in minutes from now, when what m holds takes avail
// minutes: the conversion runs in the gateway while m prints what it holds, so it delays j
// only when it takes longer; then m prints j at its speed. Called with s.mu held.
func (s *Scheduler) finishAt(avail float64, m *member, j *job.Job) float64 {
	return max(avail, s.convertMinutes(m, j)) + pageMinutes(s.sendPPM(m, j), j.Pages)
}

// sendPPM is m's speed for j in the format j would be sent to it (converted or not). Called
// with s.mu held.
func (s *Scheduler) sendPPM(m *member, j *job.Job) int {
	to, ok := s.route(m, jobFormat(j), j.ID)
	if !ok {
		return m.ppm()
	}
	return m.ppmFor(to)
}

// bridgeFormats adds to formats what the bridge can deliver to m. Called with s.mu held.
func (s *Scheduler) bridgeFormats(formats []string, m *member) []string {
	if s.opts.Converter == nil || m.spec.NoConvert || len(m.formats()) == 0 {
		return formats
	}
	return union(formats, s.opts.Converter.Sources(m.formats()))
}

// convertFor replaces each document of pj that m does not take by its conversion. The
// returned cleanup removes the converted files (after the send). A conversion error is a
// *convert.Error (or the context's cause).
func (s *Scheduler) convertFor(ctx context.Context, m *member, j *job.Job, pj *printers.Job) (cleanup func(), err error) {
	var outs []*convert.Output
	cleanup = func() {
		for _, o := range outs {
			if err := o.Remove(); err != nil {
				s.log.Warn("remove converted document", "job", j.ID, "err", err)
			}
		}
	}
	for i, d := range pj.Documents {
		s.mu.Lock()
		to, ok := s.route(m, d.Format, j.ID)
		p := convertParams(m, j, to)
		s.mu.Unlock()
		if !ok || to == d.Format {
			continue // taken as it is, or no route: sent as it is and the printer says
		}
		if len(pj.Documents) == 1 {
			p.Pages = j.Pages
		} else if i < len(j.Documents) {
			p.Pages = j.Documents[i].Pages
		}
		o, err := s.opts.Converter.Convert(ctx, convert.Input{Path: d.Path, Data: d.Data, Format: d.Format}, to, p)
		if err != nil {
			cleanup()
			return nil, err
		}
		if !j.PagesEstimated && len(pj.Documents) == 1 && o.Pages != j.Pages {
			// The spool counted the pages exactly and the output says otherwise: the
			// printer's impressions will not match the job's pages; worth an operator's look.
			s.log.Warn("converted document has another page count", "job", j.ID, "printer", m.spec.Name,
				"pages", j.Pages, "converted_pages", o.Pages)
		}
		s.log.Info("converted for printer", "job", j.ID, "printer", m.spec.Name, "from", d.Format, "to", to,
			"pages", o.Pages, "bytes", o.Size, "took", o.Took.Round(time.Millisecond))
		outs = append(outs, o)
		pj.Documents[i] = printers.Document{Path: o.Path, Name: d.Name, Format: o.Format, Size: o.Size}
	}
	return cleanup, nil
}

// convertParams are the output parameters m and j ask for in format to: the resolution m
// takes that format at (pwg-raster-document-resolution-supported, urf-supported's RS, else
// printer-resolution-supported): 300 dpi when it lists it or says nothing, else its lowest,
// the smallest raster it takes; colour when j asks for it or leaves it to a colour printer;
// j's sides. Called with s.mu held.
func convertParams(m *member, j *job.Job, to string) convert.Params {
	p := convert.Params{DPI: 300, Sides: j.Attributes.Sides}
	if c := m.status.Capabilities; c != nil {
		res := c.Resolutions
		switch {
		case to == document.PWGRaster && len(c.PWGResolutions) > 0:
			res = c.PWGResolutions
		case to == document.URF && len(c.URFResolutions) > 0:
			res = c.URFResolutions
		}
		if len(res) > 0 && !slices.Contains(res, 300) {
			p.DPI = slices.Min(res)
		}
		colour := slices.Contains(c.ColorModes, "color")
		switch j.Attributes.ColorMode {
		case "color":
			p.Color = colour || len(c.ColorModes) == 0
		case "", "auto":
			p.Color = colour
		}
	}
	return p
}

// conversionFailed handles a failed conversion for m: requeued for the members that take the
// document as it is when there is one, else aborted with the converter's reason.
func (s *Scheduler) conversionFailed(log flightLog, m *member, f *flight, j *job.Job, err error) {
	why := err.Error()
	var ce *convert.Error
	if errors.As(err, &ce) {
		why = fmt.Sprintf("%s to %s with %s failed: %s", ce.From, ce.To, ce.Tool, ce.Reason)
	}
	s.mu.Lock()
	s.noConvert[j.ID] = true
	asIs := false
	if v := s.virtual[j.VirtualPrinter]; v != nil {
		for _, name := range v.Pool {
			if o := s.members[name]; o != nil && s.canPrint(o, j) {
				asIs = true
			}
		}
	}
	if !asIs {
		delete(s.noConvert, j.ID)
	}
	s.mu.Unlock()
	log.Warn("conversion failed", "err", err, "requeued_for_unconverted", asIs)
	mv := job.ConversionFailed(m.spec.Name, why, asIs, j.Attempts, s.opts.MaxAttempts)
	if mv.To == job.StateAborted {
		s.mu.Lock()
		delete(s.noConvert, j.ID)
		s.mu.Unlock()
	}
	s.transitionLogged(log, f, mv.To, mv.Change)
}

// converted forgets that j's document failed to convert once j is done. Called with s.mu held.
func (s *Scheduler) converted(jobID int64) { delete(s.noConvert, jobID) }
