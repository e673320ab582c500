// The IPP backend against an in-process IPP printer: what it sends, how it maps the printer's
// answers (busy, refusals, unreachable), how it follows a job, and the printer states.
package printers

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
)

// fakeIPP is a small IPP printer: it keeps what each job request carried and lets the test set
// its state, make it busy, refuse formats, and move jobs along.
type fakeIPP struct {
	t  *testing.T
	mu sync.Mutex
	// settings
	state     int
	reasons   []string
	accepting bool
	busy      bool
	noPrint   bool // operations-supported lacks Print-Job
	noCreate  bool // operations-supported lacks Create-Job and Send-Document
	failHTTP  bool // answer HTTP 500 to everything
	// what happened
	requests []fakeRequest
	jobs     map[int]*fakeJob
	nextID   int
}

type fakeRequest struct {
	op    goipp.Op
	attrs ipp.Attrs // operation and job attributes together
	doc   []byte
}

type fakeJob struct {
	state       int
	impressions int
	uuid        string
	docs        [][]byte
}

func newFakeIPP(t *testing.T) (*fakeIPP, *httptest.Server) {
	f := &fakeIPP{t: t, state: 3, accepting: true, jobs: map[int]*fakeJob{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// newFakeIPPS is newFakeIPP over TLS, with cert, or httptest's own self-signed certificate
// (for 127.0.0.1, ::1 and example.com) when nil. Its URI is fakeIPPSURI.
func newFakeIPPS(t *testing.T, cert *tls.Certificate) (*fakeIPP, *httptest.Server) {
	f := &fakeIPP{t: t, state: 3, accepting: true, jobs: map[int]*fakeJob{}}
	srv := httptest.NewUnstartedServer(f)
	if cert != nil {
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	// The handshakes the gateway refuses are what the tests are about, not news.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return f, srv
}

func fakeIPPSURI(srv *httptest.Server) string {
	return "ipps://" + srv.Listener.Addr().String() + "/ipp/print"
}

func fakeURI(srv *httptest.Server) string {
	return "ipp://" + srv.Listener.Addr().String() + "/ipp/print"
}

func (f *fakeIPP) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req goipp.Message
	if err := req.Decode(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	doc, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failHTTP {
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	}
	op := goipp.Op(req.Code)
	all := append(append(goipp.Attributes{}, req.Operation...), req.Job...)
	f.requests = append(f.requests, fakeRequest{op: op, attrs: ipp.Attrs(all), doc: doc})
	rsp := goipp.NewResponse(req.Version, goipp.StatusOk, req.RequestID)
	rsp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	rsp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	jobAttrs := func(id int, j *fakeJob) {
		rsp.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id)))
		rsp.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(j.state)))
		rsp.Job.Add(goipp.MakeAttribute("job-uuid", goipp.TagURI, goipp.String(j.uuid)))
		rsp.Job.Add(goipp.MakeAttribute("job-impressions-completed", goipp.TagInteger, goipp.Integer(j.impressions)))
	}
	jobID := func() int { n, _ := ipp.Attrs(req.Operation).Int("job-id"); return n }
	switch op {
	case goipp.OpGetPrinterAttributes:
		f.printerAttrs(&rsp.Printer)
	case goipp.OpPrintJob, goipp.OpCreateJob:
		format, _ := ipp.Attrs(req.Operation).String("document-format")
		switch {
		case f.busy:
			rsp.Code = goipp.Code(goipp.StatusErrorBusy)
		case !f.accepting:
			rsp.Code = goipp.Code(goipp.StatusErrorNotAcceptingJobs)
		case op == goipp.OpPrintJob && format == "application/x-unprintable":
			rsp.Code = goipp.Code(goipp.StatusErrorDocumentFormatNotSupported)
		default:
			f.nextID++
			j := &fakeJob{state: 3, uuid: "urn:uuid:job-" + string(rune('a'+f.nextID))}
			if op == goipp.OpPrintJob {
				j.docs = append(j.docs, doc)
			}
			f.jobs[f.nextID] = j
			jobAttrs(f.nextID, j)
		}
	case goipp.OpSendDocument:
		j := f.jobs[jobID()]
		if j == nil {
			rsp.Code = goipp.Code(goipp.StatusErrorNotFound)
			break
		}
		if format, _ := ipp.Attrs(req.Operation).String("document-format"); format == "application/x-unprintable" {
			rsp.Code = goipp.Code(goipp.StatusErrorDocumentFormatNotSupported)
			break
		}
		j.docs = append(j.docs, doc)
		jobAttrs(jobID(), j)
	case goipp.OpGetJobAttributes:
		j := f.jobs[jobID()]
		if j == nil {
			rsp.Code = goipp.Code(goipp.StatusErrorNotFound)
			break
		}
		jobAttrs(jobID(), j)
	case goipp.OpCancelJob:
		j := f.jobs[jobID()]
		if j == nil {
			rsp.Code = goipp.Code(goipp.StatusErrorNotFound)
			break
		}
		if j.state >= 7 {
			rsp.Code = goipp.Code(goipp.StatusErrorNotPossible)
			break
		}
		j.state = 7
	default:
		rsp.Code = goipp.Code(goipp.StatusErrorOperationNotSupported)
	}
	w.Header().Set("Content-Type", goipp.ContentType)
	if err := rsp.Encode(w); err != nil {
		f.t.Errorf("fake printer: encode: %v", err)
	}
}

func (f *fakeIPP) printerAttrs(g *goipp.Attributes) {
	kw := func(name string, vals ...string) {
		v := make([]goipp.Value, len(vals))
		for i, s := range vals {
			v[i] = goipp.String(s)
		}
		g.Add(goipp.MakeAttr(name, goipp.TagKeyword, v[0], v[1:]...))
	}
	g.Add(goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(f.state)))
	reasons := f.reasons
	if len(reasons) == 0 {
		reasons = []string{"none"}
	}
	kw("printer-state-reasons", reasons...)
	g.Add(goipp.MakeAttribute("printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(f.accepting)))
	g.Add(goipp.MakeAttribute("queued-job-count", goipp.TagInteger, goipp.Integer(len(f.jobs))))
	g.Add(goipp.MakeAttribute("pages-per-minute", goipp.TagInteger, goipp.Integer(30)))
	g.Add(goipp.MakeAttribute("printer-make-and-model", goipp.TagText, goipp.String("Fake IPP")))
	ops := []goipp.Op{goipp.OpGetJobAttributes, goipp.OpCancelJob, goipp.OpGetPrinterAttributes}
	if !f.noPrint {
		ops = append(ops, goipp.OpPrintJob)
	}
	if !f.noCreate {
		ops = append(ops, goipp.OpCreateJob, goipp.OpSendDocument)
	}
	ov := make([]goipp.Value, len(ops))
	for i, o := range ops {
		ov[i] = goipp.Integer(o)
	}
	g.Add(goipp.MakeAttr("operations-supported", goipp.TagEnum, ov[0], ov[1:]...))
	g.Add(goipp.MakeAttr("document-format-supported", goipp.TagMimeType, goipp.String("application/pdf"),
		goipp.String("application/octet-stream"), goipp.String("application/x-unprintable")))
	kw("sides-supported", "one-sided", "two-sided-long-edge")
	kw("media-supported", "iso_a4_210x297mm", "na_letter_8.5x11in")
	kw("print-color-mode-supported", "monochrome", "auto")
	g.Add(goipp.MakeAttribute("copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 99}))
}

func (f *fakeIPP) set(fn func(f *fakeIPP)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeIPP) lastRequest(op goipp.Op) (fakeRequest, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.requests) - 1; i >= 0; i-- {
		if f.requests[i].op == op {
			return f.requests[i], true
		}
	}
	return fakeRequest{}, false
}

func writeDoc(t *testing.T, name string, data []byte) Document {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return Document{Path: p, Name: name, Format: "application/pdf", Size: int64(len(data))}
}

func newTestIPP(t *testing.T, srv *httptest.Server) *IPP {
	t.Helper()
	p, err := Open(Config{Name: "fake", URI: fakeURI(srv)})
	if err != nil {
		t.Fatal(err)
	}
	ip := p.(*IPP)
	ip.maxPoll = 20 * time.Millisecond
	return ip
}

func TestIPPSendPassesAttributesThrough(t *testing.T) {
	t.Parallel()
	for _, printJob := range []bool{false, true} {
		name := "Create-Job and Send-Document"
		if printJob {
			name = "Print-Job (no Create-Job at the printer)"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeIPP(t)
			f.set(func(f *fakeIPP) { f.noCreate = printJob })
			p := newTestIPP(t, srv)
			data := []byte("%PDF-1.4 a letter")
			j := &Job{ID: 7, Name: "letter 7", Owner: "alice", Pages: 2, Copies: 2, Documents: []Document{writeDoc(t, "l.pdf", data)},
				Template: job.Attributes{Copies: 2, Sides: "two-sided-long-edge", Media: "iso_a4_210x297mm",
					ColorMode: "color", OutputBin: "face-up"}}
			r, err := p.Send(context.Background(), j)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if r.UpstreamID != "1" || r.Done || r.FinishAt.IsZero() {
				t.Errorf("receipt %+v, want upstream job 1, not done, with an expected finish", r)
			}
			create, doc := goipp.OpCreateJob, goipp.OpSendDocument
			if printJob {
				create, doc = goipp.OpPrintJob, goipp.OpPrintJob
			}
			creq, ok := f.lastRequest(create)
			dreq, ok2 := f.lastRequest(doc)
			if !ok || !ok2 {
				t.Fatalf("no %s / %s reached the printer", create, doc)
			}
			if _, ok := f.lastRequest(goipp.OpPrintJob); ok != printJob {
				t.Errorf("Print-Job sent: %v, want %v", ok, printJob)
			}
			if !bytes.Equal(dreq.doc, data) {
				t.Errorf("document %q, want %q", dreq.doc, data)
			}
			if got, _ := dreq.attrs.String("document-format"); got != "application/pdf" {
				t.Errorf("document-format = %q", got)
			}
			for name, want := range map[string]string{"job-name": "letter 7", "requesting-user-name": "alice",
				"sides": "two-sided-long-edge", "media": "iso_a4_210x297mm"} {
				if got, _ := creq.attrs.String(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if n, _ := creq.attrs.Int("copies"); n != 2 {
				t.Errorf("copies = %d, want 2", n)
			}
			// color is not in print-color-mode-supported and output-bin not supported at all: left out.
			for _, name := range []string{"print-color-mode", "output-bin"} {
				if creq.attrs.Has(name) {
					v, _ := creq.attrs.String(name)
					t.Errorf("%s = %q sent, but the printer does not support it", name, v)
				}
			}
		})
	}
}

func TestIPPSendErrors(t *testing.T) {
	t.Parallel()
	doc := []byte("%PDF-1.4")
	tests := []struct {
		name  string
		setup func(f *fakeIPP)
		job   func(j *Job)
		check func(t *testing.T, err error)
	}{
		{"busy", func(f *fakeIPP) { f.busy = true }, nil, func(t *testing.T, err error) {
			if !errors.Is(err, ErrBusy) {
				t.Errorf("err %v, want ErrBusy", err)
			}
		}},
		{"not accepting", func(f *fakeIPP) { f.accepting = false }, nil, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNotDelivered) || errors.Is(err, ErrBusy) {
				t.Errorf("err %v, want ErrNotDelivered", err)
			}
		}},
		{"format refused", nil, func(j *Job) { j.Documents[0].Format = "application/x-unprintable" }, func(t *testing.T, err error) {
			var je *JobError
			if !errors.As(err, &je) || je.Printer != "fake" {
				t.Errorf("err %v, want a *JobError naming the printer", err)
			}
		}},
		{"http failure", func(f *fakeIPP) { f.failHTTP = true }, nil, func(t *testing.T, err error) {
			var je *JobError
			if err == nil || errors.Is(err, ErrNotDelivered) || errors.Is(err, ErrBusy) || errors.As(err, &je) {
				t.Errorf("err %v, want a plain printer failure (outcome uncertain)", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeIPP(t)
			p := newTestIPP(t, srv)
			// Learn the printer's attributes first, as the scheduler's probes do.
			if _, err := p.Probe(context.Background()); err != nil {
				t.Fatal(err)
			}
			if tc.setup != nil {
				f.set(tc.setup)
			}
			j := &Job{ID: 1, Name: "x", Owner: "o", Pages: 1, Documents: []Document{writeDoc(t, "d.pdf", doc)}}
			if tc.job != nil {
				tc.job(j)
			}
			_, err := p.Send(context.Background(), j)
			tc.check(t, err)
		})
	}
}

func TestIPPUnreachable(t *testing.T) {
	t.Parallel()
	_, srv := newFakeIPP(t)
	p := newTestIPP(t, srv)
	srv.Close()
	j := &Job{ID: 1, Documents: []Document{writeDoc(t, "d.pdf", []byte("%PDF"))}}
	if _, err := p.Send(context.Background(), j); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("Send to a closed port: %v, want ErrNotDelivered", err)
	}
	if _, err := p.Probe(context.Background()); err == nil {
		t.Error("Probe of a closed port succeeded")
	}
}

func TestIPPMultipleDocumentsUseCreateJob(t *testing.T) {
	t.Parallel()
	f, srv := newFakeIPP(t)
	p := newTestIPP(t, srv)
	a, b := []byte("%PDF first"), []byte("%PDF second")
	r, err := p.Send(context.Background(), &Job{ID: 3, Name: "two", Documents: []Document{writeDoc(t, "a.pdf", a), writeDoc(t, "b.pdf", b)}})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	j := f.jobs[1]
	f.mu.Unlock()
	if r.UpstreamID != "1" || j == nil || len(j.docs) != 2 || !bytes.Equal(j.docs[0], a) || !bytes.Equal(j.docs[1], b) {
		t.Fatalf("printer job %+v, want both documents in order", j)
	}
	if last, ok := f.lastRequest(goipp.OpSendDocument); !ok {
		t.Error("no Send-Document")
	} else if v, _ := last.attrs.Bool("last-document"); !v {
		t.Error("the last Send-Document does not say last-document")
	}
}

func TestIPPPrinterWithoutCreateJob(t *testing.T) {
	t.Parallel()
	f, srv := newFakeIPP(t)
	f.set(func(f *fakeIPP) { f.noCreate = true })
	p := newTestIPP(t, srv)
	if _, err := p.Send(context.Background(), &Job{ID: 1, Documents: []Document{writeDoc(t, "a.pdf", []byte("%PDF"))}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := f.lastRequest(goipp.OpCreateJob); ok {
		t.Error("Create-Job sent to a printer that does not list it")
	}
	if _, ok := f.lastRequest(goipp.OpPrintJob); !ok {
		t.Error("no Print-Job")
	}
}

func TestIPPWatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// steps are applied one per Get-Job-Attributes
		steps []func(j *fakeJob)
		want  Outcome
	}{
		{"completed", []func(*fakeJob){
			func(j *fakeJob) { j.state = 5; j.impressions = 1 },
			func(j *fakeJob) { j.impressions = 2 },
			func(j *fakeJob) { j.state = 9 },
		}, OutcomeCompleted},
		{"canceled at the device", []func(*fakeJob){func(j *fakeJob) { j.state = 7 }}, OutcomeCanceled},
		{"aborted", []func(*fakeJob){func(j *fakeJob) { j.state = 5 }, func(j *fakeJob) { j.state = 8 }}, OutcomeAborted},
		{"another job under the same id", []func(*fakeJob){func(j *fakeJob) { j.state = 5 }, func(j *fakeJob) { j.uuid = "urn:uuid:other" }}, OutcomeUnknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, srv := newFakeIPP(t)
			p := newTestIPP(t, srv)
			r, err := p.Send(context.Background(), &Job{ID: 1, Pages: 2, Documents: []Document{writeDoc(t, "a.pdf", []byte("%PDF"))}})
			if err != nil {
				t.Fatal(err)
			}
			// Drive the job from the test: each poll of the backend advances it one step.
			f.set(func(f *fakeIPP) { f.requests = nil })
			stop := make(chan struct{})
			defer close(stop)
			go func() {
				step := 0
				for {
					select {
					case <-stop:
						return
					case <-time.After(time.Millisecond):
					}
					f.mu.Lock()
					polls := 0
					for _, rq := range f.requests {
						if rq.op == goipp.OpGetJobAttributes {
							polls++
						}
					}
					for step < len(tc.steps) && step < polls {
						tc.steps[step](f.jobs[1])
						step++
					}
					f.mu.Unlock()
				}
			}()
			var seen []int
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := p.Watch(ctx, r, func(n int) { seen = append(seen, n) })
			if err != nil || out != tc.want {
				t.Fatalf("Watch = %q, %v; want %q", out, err, tc.want)
			}
			if tc.want == OutcomeCompleted && !slices.Contains(seen, 2) {
				t.Errorf("progress %v never reported 2 impressions", seen)
			}
		})
	}
}

func TestIPPWatchForgottenJobAndOutage(t *testing.T) {
	t.Parallel()
	f, srv := newFakeIPP(t)
	p := newTestIPP(t, srv)
	r, err := p.Send(context.Background(), &Job{ID: 1, Documents: []Document{writeDoc(t, "a.pdf", []byte("%PDF"))}})
	if err != nil {
		t.Fatal(err)
	}
	// An outage: the printer answers nothing useful for a while. Watch must keep going (the
	// probes decide whether the printer is dead), and return once it knows.
	f.set(func(f *fakeIPP) { f.failHTTP = true })
	done := make(chan Outcome, 1)
	go func() {
		out, _ := p.Watch(context.Background(), r, nil)
		done <- out
	}()
	select {
	case out := <-done:
		t.Fatalf("Watch gave up during an outage with %q", out)
	case <-time.After(200 * time.Millisecond):
	}
	// Back, restarted: it no longer knows the job.
	f.set(func(f *fakeIPP) { f.failHTTP = false; f.jobs = map[int]*fakeJob{} })
	select {
	case out := <-done:
		if out != OutcomeUnknown {
			t.Errorf("Watch of a forgotten job = %q, want %q", out, OutcomeUnknown)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not return after the printer came back")
	}
	// And ctx ends a watch that would otherwise wait forever.
	f.set(func(f *fakeIPP) { f.jobs[1] = &fakeJob{state: 5} })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.Watch(ctx, r, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Watch after ctx ended: %v, want the context's error", err)
	}
}

func TestIPPCancel(t *testing.T) {
	t.Parallel()
	f, srv := newFakeIPP(t)
	p := newTestIPP(t, srv)
	r, err := p.Send(context.Background(), &Job{ID: 1, Documents: []Document{writeDoc(t, "a.pdf", []byte("%PDF"))}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cancel(context.Background(), r); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	f.mu.Lock()
	st := f.jobs[1].state
	f.mu.Unlock()
	if st != 7 {
		t.Errorf("job state %d at the printer, want 7 (canceled)", st)
	}
	// Canceling again (finished) or a job it forgot is not an error.
	if err := p.Cancel(context.Background(), r); err != nil {
		t.Errorf("second Cancel: %v", err)
	}
	if err := p.Cancel(context.Background(), Receipt{UpstreamID: "99"}); err != nil {
		t.Errorf("Cancel of an unknown job: %v", err)
	}
}

func TestIPPProbe(t *testing.T) {
	t.Parallel()
	f, srv := newFakeIPP(t)
	p := newTestIPP(t, srv)
	f.set(func(f *fakeIPP) { f.state = 4; f.reasons = []string{"toner-low-warning"} })
	st, err := p.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateDegraded || !slices.Equal(st.Reasons, []string{"toner-low-warning"}) || !st.Accepting ||
		st.PPM != 30 || st.QueuedJobs != 0 {
		t.Errorf("status %+v", st)
	}
	c := st.Capabilities
	if c == nil || !slices.Contains(c.Formats, "application/pdf") || !slices.Contains(c.Sides, "two-sided-long-edge") ||
		!slices.Contains(c.Media, "iso_a4_210x297mm") || !slices.Contains(c.ColorModes, "monochrome") || c.MakeModel != "Fake IPP" {
		t.Errorf("capabilities %+v", c)
	}
}

func TestIPPStateMapping(t *testing.T) {
	t.Parallel()
	tests := []struct {
		state   ipp.PrinterState
		reasons []string
		want    State
	}{
		{ipp.PrinterIdle, []string{"none"}, StateReady},
		{ipp.PrinterProcessing, nil, StateBusy},
		{ipp.PrinterStopped, []string{"none"}, StateStopped},
		{ipp.PrinterProcessing, []string{"media-empty"}, StateStopped},
		{ipp.PrinterIdle, []string{"media-empty-error"}, StateStopped},
		{ipp.PrinterIdle, []string{"media-empty-warning"}, StateDegraded},
		{ipp.PrinterIdle, []string{"media-empty-report"}, StateDegraded},
		// ippeveprinter waiting for paper in the middle of a job:
		{ipp.PrinterProcessing, []string{"media-empty-warning"}, StateStopped},
		{ipp.PrinterProcessing, []string{"media-low-warning"}, StateDegraded},
		{ipp.PrinterIdle, []string{"media-jam"}, StateStopped},
		{ipp.PrinterIdle, []string{"door-open"}, StateStopped},
		{ipp.PrinterIdle, []string{"cover-open-error"}, StateStopped},
		{ipp.PrinterIdle, []string{"toner-empty"}, StateStopped},
		{ipp.PrinterIdle, []string{"paused"}, StateStopped},
		{ipp.PrinterIdle, []string{"offline"}, StateStopped},
		{ipp.PrinterIdle, []string{"spool-area-full"}, StateStopped},
		{ipp.PrinterIdle, []string{"offline-report"}, StateDegraded},
		{ipp.PrinterProcessing, []string{"toner-low-warning"}, StateDegraded},
		{ipp.PrinterIdle, []string{"toner-low-report"}, StateDegraded},
		{ipp.PrinterIdle, []string{"some-vendor-thing-error"}, StateDegraded},
		{ipp.PrinterIdle, []string{"toner-low-warning", "media-jam-error"}, StateStopped},
	}
	for _, tc := range tests {
		got, reasons := ippState(&ipp.PrinterStatus{State: tc.state, Reasons: tc.reasons})
		if got != tc.want {
			t.Errorf("state %s reasons %v -> %s, want %s", tc.state, tc.reasons, got, tc.want)
		}
		if slices.Contains(reasons, "none") {
			t.Errorf("reasons %v keep \"none\"", reasons)
		}
	}
}
