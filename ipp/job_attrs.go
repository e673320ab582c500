// Job attributes: a spool job as IPP shows it, filtered by requested-attributes, with other
// people's job names hidden from non-operators.
package ipp

import (
	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// privateValue replaces job-name and job-originating-user-name of other people's jobs for
// non-operators (shared/DESIGN.md: names of others' jobs are hidden).
const privateValue = "(private)"

// jobAttributes builds the requested attributes of job.
func (s *Server) jobAttributes(rq *request, j *job.Job, req requested) goipp.Attributes {
	b := &attrBuilder{req: req, object: "job"}
	const d, t = classDescription, classTemplate
	state, reasons := jobStateOf(j)
	name, owner := j.Name, j.Owner
	if name == "" {
		name = "Untitled"
	}
	if !s.mayActOn(rq, j) {
		name, owner = privateValue, privateValue
	}

	b.ints(d, "job-id", goipp.TagInteger, int(j.ID))
	b.strings(d, "job-uri", goipp.TagURI, rq.jobURI(j.ID))
	b.strings(d, "job-printer-uri", goipp.TagURI, rq.jobPrinterURI())
	b.strings(d, "job-name", goipp.TagName, truncateUTF8(name, 255))
	b.strings(d, "job-originating-user-name", goipp.TagName, truncateUTF8(owner, 255))
	if j.OriginHost != "" && owner != privateValue {
		b.strings(d, "job-originating-host-name", goipp.TagName, truncateUTF8(j.OriginHost, 255))
	}
	if j.UUID != "" {
		b.strings(d, "job-uuid", goipp.TagURI, "urn:uuid:"+j.UUID)
	}
	b.ints(d, "job-state", goipp.TagEnum, int(state))
	b.strings(d, "job-state-reasons", goipp.TagKeyword, reasons...)
	// Always, in words (conforming printers send it with every job answer): where the job is,
	// and for one that waits, why its pool cannot print when it cannot.
	poolWhy := ""
	if rq.printer != nil && rq.printer.State == PrinterStopped {
		poolWhy = rq.printer.Message
	}
	b.strings(d, "job-state-message", goipp.TagText, truncateUTF8(job.StateMessage(j, poolWhy), 255))
	b.ints(d, "number-of-documents", goipp.TagInteger, len(j.Documents))
	if j.Printer != "" {
		b.strings(d, "output-device-assigned", goipp.TagName, text127(j.Printer))
	}
	b.add(d, "time-at-creation", goipp.TagInteger, unixTime(j.Created))
	b.add(d, "date-time-at-creation", goipp.TagDateTime, ippTime(j.Created))
	if j.Started.IsZero() {
		b.add(d, "time-at-processing", goipp.TagNoValue, goipp.Void{})
		b.add(d, "date-time-at-processing", goipp.TagNoValue, goipp.Void{})
	} else {
		b.add(d, "time-at-processing", goipp.TagInteger, unixTime(j.Started))
		b.add(d, "date-time-at-processing", goipp.TagDateTime, ippTime(j.Started))
	}
	if j.Finished.IsZero() || !state.Final() {
		b.add(d, "time-at-completed", goipp.TagNoValue, goipp.Void{})
		b.add(d, "date-time-at-completed", goipp.TagNoValue, goipp.Void{})
	} else {
		b.add(d, "time-at-completed", goipp.TagInteger, unixTime(j.Finished))
		b.add(d, "date-time-at-completed", goipp.TagDateTime, ippTime(j.Finished))
	}
	b.add(d, "job-printer-up-time", goipp.TagInteger, unixTime(s.now()))
	b.ints(d, "job-k-octets", goipp.TagInteger, int(min((j.Size()+1023)/1024, 1<<31-1)))
	if j.Pages > 0 {
		b.ints(d, "job-impressions", goipp.TagInteger, j.Pages)
	}
	b.ints(d, "job-impressions-completed", goipp.TagInteger, max(j.ImpressionsDone, 0))

	// Job template attributes, as stored.
	for _, at := range EncodeTemplate(j.Attributes) {
		if b.want(at.Name, t) {
			b.out.Add(at)
		}
	}
	if f := j.Attributes.DocumentFormat; f != "" {
		b.strings(d, "document-format-supplied", goipp.TagMimeType, f)
	}
	return b.out
}

// jobStatusAttributes are what Print-Job, Create-Job and Send-Document answer: job-id,
// job-uri, job-state and job-state-reasons (RFC 8011 section 4.2.1.2).
func (s *Server) jobStatusAttributes(rq *request, j *job.Job) goipp.Attributes {
	return s.jobAttributes(rq, j, requestedAttributes(nil,
		"job-id", "job-uri", "job-state", "job-state-reasons", "job-state-message"))
}
