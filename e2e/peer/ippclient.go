// A minimal IPP client for the harness's own needs: readiness and state checks, and the control
// job that makes a stopped ippeveprinter visible.
package peer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// PrinterStatus is what Get-Printer-Attributes says about a printer's state.
type PrinterStatus struct {
	State          int      // printer-state: 3 idle, 4 processing, 5 stopped
	Reasons        []string // printer-state-reasons
	AcceptingJobs  bool     // printer-is-accepting-jobs
	QueuedJobCount int      // queued-job-count
	PPM            int      // pages-per-minute, 0 when absent
}

// HasReason reports whether reason (with or without a -error/-warning/-report suffix) is set.
func (s PrinterStatus) HasReason(reason string) bool {
	for _, r := range s.Reasons {
		if r == reason || strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(r, "-error"), "-warning"), "-report") == reason {
			return true
		}
	}
	return false
}

// QueryPrinter sends Get-Printer-Attributes to an ipp:// URI and returns the state attributes.
func QueryPrinter(ctx context.Context, uri string) (PrinterStatus, error) {
	req := newIPPRequest(goipp.OpGetPrinterAttributes, uri)
	req.Operation.Add(goipp.MakeAttr("requested-attributes", goipp.TagKeyword,
		goipp.String("printer-state"), goipp.String("printer-state-reasons"),
		goipp.String("printer-is-accepting-jobs"), goipp.String("queued-job-count"),
		goipp.String("pages-per-minute")))
	resp, err := doIPP(ctx, uri, req, nil)
	if err != nil {
		return PrinterStatus{}, err
	}
	var st PrinterStatus
	for _, a := range resp.Printer {
		if len(a.Values) == 0 {
			continue
		}
		switch a.Name {
		case "printer-state":
			if v, ok := a.Values[0].V.(goipp.Integer); ok {
				st.State = int(v)
			}
		case "printer-state-reasons":
			for _, v := range a.Values {
				if s, ok := v.V.(goipp.String); ok {
					st.Reasons = append(st.Reasons, string(s))
				}
			}
		case "printer-is-accepting-jobs":
			if v, ok := a.Values[0].V.(goipp.Boolean); ok {
				st.AcceptingJobs = bool(v)
			}
		case "queued-job-count":
			if v, ok := a.Values[0].V.(goipp.Integer); ok {
				st.QueuedJobCount = int(v)
			}
		case "pages-per-minute":
			if v, ok := a.Values[0].V.(goipp.Integer); ok {
				st.PPM = int(v)
			}
		}
	}
	return st, nil
}

// JobStatus is what Get-Job-Attributes says about a job.
type JobStatus struct {
	State                int      // job-state: 3 pending ... 9 completed
	Reasons              []string // job-state-reasons
	Impressions          int      // job-impressions
	ImpressionsCompleted int      // job-impressions-completed
}

// QueryJob sends Get-Job-Attributes for jobID on the printer at uri.
func QueryJob(ctx context.Context, uri string, jobID int) (JobStatus, error) {
	req := newIPPRequest(goipp.OpGetJobAttributes, uri)
	req.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	req.Operation.Add(goipp.MakeAttr("requested-attributes", goipp.TagKeyword,
		goipp.String("job-state"), goipp.String("job-state-reasons"),
		goipp.String("job-impressions"), goipp.String("job-impressions-completed")))
	resp, err := doIPP(ctx, uri, req, nil)
	if err != nil {
		return JobStatus{}, err
	}
	var st JobStatus
	for _, a := range resp.Job {
		if len(a.Values) == 0 {
			continue
		}
		n, _ := a.Values[0].V.(goipp.Integer)
		switch a.Name {
		case "job-state":
			st.State = int(n)
		case "job-impressions":
			st.Impressions = int(n)
		case "job-impressions-completed":
			st.ImpressionsCompleted = int(n)
		case "job-state-reasons":
			for _, v := range a.Values {
				if s, ok := v.V.(goipp.String); ok {
					st.Reasons = append(st.Reasons, string(s))
				}
			}
		}
	}
	return st, nil
}

// PrintJob sends a one-document Print-Job to the printer at uri as user "peer-harness" and
// returns the job-id. A busy ippeveprinter answers with an *IPPStatusError whose Status is
// goipp.StatusErrorBusy.
func PrintJob(ctx context.Context, uri, jobName, format string, doc []byte) (int, error) {
	return printJob(ctx, uri, jobName, format, doc)
}

// IPPStatusError is a non-successful IPP status in a response.
type IPPStatusError struct {
	Op     goipp.Op     // the request's operation
	Status goipp.Status // the response's status
}

func (e *IPPStatusError) Error() string {
	return fmt.Sprintf("peer: IPP %s answered %s", e.Op, e.Status)
}

// printJob sends a one-document Print-Job and returns the job-id.
func printJob(ctx context.Context, uri, jobName, format string, doc []byte) (int, error) {
	req := newIPPRequest(goipp.OpPrintJob, uri)
	req.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("peer-harness")))
	req.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(jobName)))
	req.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
	resp, err := doIPP(ctx, uri, req, doc)
	if err != nil {
		return 0, err
	}
	for _, a := range resp.Job {
		if a.Name == "job-id" && len(a.Values) > 0 {
			if v, ok := a.Values[0].V.(goipp.Integer); ok {
				return int(v), nil
			}
		}
	}
	return 0, fmt.Errorf("peer: Print-Job to %s: no job-id in response", uri)
}

// newIPPRequest builds a request with the operation attributes every request needs.
func newIPPRequest(op goipp.Op, uri string) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	return m
}

// doIPP posts req (followed by doc) to uri and decodes the response; a non-successful status is
// an *IPPStatusError.
func doIPP(ctx context.Context, uri string, req *goipp.Message, doc []byte) (*goipp.Message, error) {
	body, err := req.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("peer: encode IPP %s: %w", goipp.Op(req.Code), err)
	}
	body = append(body, doc...)
	httpURL := "http" + strings.TrimPrefix(uri, "ipp")
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, httpURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("peer: IPP request to %s: %w", uri, err)
	}
	hreq.Header.Set("Content-Type", goipp.ContentType)
	hresp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("peer: IPP %s to %s: %w", goipp.Op(req.Code), uri, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(hresp.Body, 512))
		return nil, fmt.Errorf("peer: IPP %s to %s: HTTP %s: %q", goipp.Op(req.Code), uri, hresp.Status, b)
	}
	var resp goipp.Message
	if err := resp.Decode(hresp.Body); err != nil {
		return nil, fmt.Errorf("peer: decode IPP %s response from %s: %w", goipp.Op(req.Code), uri, err)
	}
	if st := goipp.Status(resp.Code); st >= 0x0100 {
		return &resp, &IPPStatusError{Op: goipp.Op(req.Code), Status: st}
	}
	return &resp, nil
}
