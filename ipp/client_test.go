// Tests of the IPP client against our own server and against scripted handlers: operations,
// streaming, error classes and URI mapping.
package ipp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

func TestEndpointURL(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"ipp://printer.example/ipp/print", "http://printer.example:631/ipp/print"},
		{"ipp://10.1.2.3:8631/printers/q", "http://10.1.2.3:8631/printers/q"},
		{"ipps://printer.example/ipp/print", "https://printer.example:631/ipp/print"},
		{"IPP://[fe80::1]/ipp/print", "http://[fe80::1]:631/ipp/print"},
		{"ipp://printer.example", "http://printer.example:631/"},
		{"http://gw:8631/ipp/print/letters", "http://gw:8631/ipp/print/letters"},
		{"https://gw/ipp/print", "https://gw/ipp/print"},
		{"lpd://printer/queue", ""},
		{"ipp:///ipp/print", ""},
		{"::", ""},
	}
	for _, tc := range cases {
		got, err := endpointURL(tc.in)
		if tc.want == "" {
			if err == nil {
				t.Errorf("%q: want an error, got %q", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%q → %q %v, want %q", tc.in, got, err, tc.want)
		}
	}
}

// clientFor returns a client for the letters printer of a test server.
func clientFor(t *testing.T, hs *httptest.Server, path string) *Client {
	t.Helper()
	c, err := NewClient("ipp"+strings.TrimPrefix(hs.URL, "http")+path, ClientOptions{UserName: "gateway"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestClientAgainstOwnServer(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	// The client cancels as its own user name ("printgate"), not the job's owner: as the
	// gateway's backend it is the host's operator, which takes trust_loopback.
	s, _ := newTestServer(t, svc, Options{TrustLoopback: true})
	hs := startServer(t, s)
	c := clientFor(t, hs, "/ipp/print/letters")
	ctx := testCtx(t)

	ps, err := c.GetPrinterAttributes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ps.State != PrinterIdle || !ps.Accepting || ps.PPM != 60 || !ps.Color || ps.QueuedJobs != 0 ||
		!slices.Contains(ps.Formats, document.PDF) || !slices.Contains(ps.Sides, "two-sided-long-edge") ||
		ps.UUID != "urn:uuid:"+svc.printers["letters"].UUID {
		t.Errorf("printer status %+v", ps)
	}
	ps, err = c.GetPrinterAttributes(ctx, "printer-state")
	if err != nil || len(ps.Attrs) != 1 || ps.QueuedJobs != -1 {
		t.Errorf("requested printer-state: %v %v", ps, err)
	}

	tmpl := ForwardTemplate(job.Attributes{Copies: 2, Sides: "two-sided-long-edge", Media: "iso_a4_210x297mm", HoldUntil: "indefinite"})
	pdf := testPDF(2)
	js, err := c.PrintJob(ctx, JobRequest{Name: "letter", User: "alice", Template: tmpl},
		Document{Reader: bytes.NewReader(pdf), Size: int64(len(pdf)), Format: document.PDF, Name: "letter.pdf"})
	if err != nil {
		t.Fatal(err)
	}
	if js.ID <= 0 || js.State != JobPending || !strings.HasSuffix(js.URI, "/ipp/print/letters/1") {
		t.Errorf("job status %+v", js)
	}
	jb := svc.job(int64(js.ID))
	if jb.Owner != "alice" || jb.Name != "letter" || jb.State != job.StatePending ||
		jb.Attributes.Copies != 2 || jb.Attributes.Sides != "two-sided-long-edge" || jb.Attributes.HoldUntil != "" {
		t.Errorf("stored job %+v", jb)
	}
	if !bytes.Equal(svc.document(jb.ID, 0), pdf) {
		t.Error("document differs")
	}

	got, err := c.GetJobAttributes(ctx, js.ID)
	if err != nil || got.ID != js.ID || got.State != JobPending || !slices.Contains(got.Reasons, "job-queued") {
		t.Errorf("Get-Job-Attributes %+v %v", got, err)
	}
	if err := c.CancelJob(ctx, js.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.GetJobAttributes(ctx, js.ID); got.State != JobCanceled {
		t.Errorf("after cancel: %s", got.State)
	}
	err = c.CancelJob(ctx, js.ID)
	if !errors.Is(err, ErrNotPossible) {
		t.Errorf("cancel of a canceled job: %v", err)
	}
	if _, err := c.GetJobAttributes(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown job: %v", err)
	}

	cj, err := c.CreateJob(ctx, JobRequest{Name: "two docs"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendDocument(ctx, cj.ID, Document{Reader: bytes.NewReader(pdf), Size: -1, Format: document.PDF}, false); err != nil {
		t.Fatal(err)
	}
	last, err := c.SendDocument(ctx, cj.ID, Document{Reader: bytes.NewReader(pdf), Size: int64(len(pdf)), Format: document.PDF}, true)
	if err != nil || last.State != JobPending {
		t.Fatalf("last Send-Document: %+v %v", last, err)
	}
	if j := svc.job(int64(cj.ID)); len(j.Documents) != 2 || j.Owner != "gateway" {
		t.Errorf("created job %+v", j)
	}

	if err := c.ValidateJob(ctx, JobRequest{}, document.PDF); err != nil {
		t.Errorf("Validate-Job PDF: %v", err)
	}
	mono := clientFor(t, hs, "/ipp/print/mono")
	err = mono.ValidateJob(ctx, JobRequest{Template: EncodeTemplate(job.Attributes{Sides: "two-sided-long-edge"})}, document.PDF)
	var ie *Error
	if !errors.Is(err, ErrJobRefused) || errors.Is(err, ErrBusy) || !errors.As(err, &ie) || ie.Status != goipp.StatusErrorAttributesOrValues {
		t.Errorf("Validate-Job duplex on mono: %v", err)
	}
	_, err = mono.PrintJob(ctx, JobRequest{}, Document{Reader: bytes.NewReader(testJPEG(true)), Size: -1, Format: document.JPEG})
	if !errors.Is(err, ErrJobRefused) || !errors.As(err, &ie) || ie.Status != goipp.StatusErrorDocumentFormatNotSupported || ie.Message == "" {
		t.Errorf("JPEG to a PDF-only printer: %v", err)
	}
	if svc.leaked() != 0 {
		t.Error("staged documents leaked")
	}
}

// scripted serves fixed IPP statuses or HTTP codes, recording what it received.
type scripted struct {
	mu            sync.Mutex
	httpCode      int
	status        goipp.Status
	contentLength int64
	chunked       bool
	docBytes      int
}

func (sc *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.contentLength = r.ContentLength
	sc.chunked = slices.Contains(r.TransferEncoding, "chunked")
	var m goipp.Message
	if err := m.Decode(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, _ := io.Copy(io.Discard, r.Body)
	sc.docBytes = int(n)
	if sc.httpCode != 0 {
		http.Error(w, "scripted", sc.httpCode)
		return
	}
	rsp := goipp.NewResponse(m.Version, sc.status, m.RequestID)
	rsp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	rsp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	rsp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String("scripted")))
	if sc.status < 0x400 {
		rsp.Job.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(9)))
		rsp.Job.Add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(5)))
	}
	w.Header().Set("Content-Type", goipp.ContentType)
	_ = rsp.Encode(w)
}

func TestClientErrorsAndLengths(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		httpCode  int
		status    goipp.Status
		size      int64
		busy      bool
		refused   bool
		isIPP     bool
		wantLen   bool
		wantChunk bool
	}{
		{"ok with size", 0, goipp.StatusOk, 5000, false, false, false, true, false},
		{"ok size unknown", 0, goipp.StatusOk, -1, false, false, false, false, true},
		{"busy", 0, goipp.StatusErrorBusy, 5000, true, false, true, true, false},
		{"format refused", 0, goipp.StatusErrorDocumentFormatNotSupported, 5000, false, true, true, true, false},
		{"values refused", 0, goipp.StatusErrorAttributesOrValues, 5000, false, true, true, true, false},
		{"printer fault", 0, goipp.StatusErrorDevice, 5000, false, false, true, true, false},
		{"HTTP 503", 503, 0, 5000, true, false, false, true, false},
		{"HTTP 401", 401, 0, 5000, false, false, false, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := &scripted{httpCode: tc.httpCode, status: tc.status}
			hs := httptest.NewServer(sc)
			t.Cleanup(hs.Close)
			c := clientFor(t, hs, "/ipp/print")
			doc := bytes.Repeat([]byte("d"), 5000)
			js, err := c.PrintJob(testCtx(t), JobRequest{}, Document{Reader: bytes.NewReader(doc), Size: tc.size})
			if got := errors.Is(err, ErrBusy); got != tc.busy {
				t.Errorf("busy = %v (%v)", got, err)
			}
			if got := errors.Is(err, ErrJobRefused); got != tc.refused {
				t.Errorf("refused = %v (%v)", got, err)
			}
			var ie *Error
			if got := errors.As(err, &ie); got != tc.isIPP {
				t.Errorf("*Error = %v (%v)", got, err)
			}
			if err == nil && (js.ID != 9 || js.State != JobProcessing) {
				t.Errorf("job status %+v", js)
			}
			sc.mu.Lock()
			defer sc.mu.Unlock()
			if sc.docBytes != len(doc) {
				t.Errorf("server got %d document bytes", sc.docBytes)
			}
			if got := sc.contentLength > 0; got != tc.wantLen {
				t.Errorf("Content-Length %d", sc.contentLength)
			}
			if sc.chunked != tc.wantChunk {
				t.Errorf("chunked = %v", sc.chunked)
			}
		})
	}
}

// gatedReader hands out its first part, then blocks until the gate opens: a client that read
// the whole document before sending would never get past it.
type gatedReader struct {
	first, rest []byte
	gate        <-chan struct{}
	passed      bool
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if len(g.first) > 0 {
		n := copy(p, g.first)
		g.first = g.first[n:]
		return n, nil
	}
	if !g.passed {
		<-g.gate
		g.passed = true
	}
	if len(g.rest) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.rest)
	g.rest = g.rest[n:]
	return n, nil
}

func TestClientStreamsDocument(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	const head = 64 << 10
	var received atomic.Int64
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m goipp.Message
		if err := m.Decode(r.Body); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		// The first part arrives while the client still holds the rest: it streams.
		if _, err := io.ReadFull(r.Body, make([]byte, head)); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		close(gate)
		n, _ := io.Copy(io.Discard, r.Body)
		received.Store(head + n)
		rsp := goipp.NewResponse(m.Version, goipp.StatusOk, m.RequestID)
		rsp.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
		rsp.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
		_ = rsp.Encode(w)
	}))
	t.Cleanup(hs.Close)
	c := clientFor(t, hs, "/ipp/print")
	doc := &gatedReader{first: bytes.Repeat([]byte("a"), head), rest: bytes.Repeat([]byte("b"), 1<<20), gate: gate}
	if _, err := c.PrintJob(testCtx(t), JobRequest{}, Document{Reader: doc, Size: head + 1<<20}); err != nil {
		t.Fatal(err)
	}
	if n := received.Load(); n != head+1<<20 {
		t.Errorf("server received %d bytes", n)
	}
}

func TestSupportedTemplate(t *testing.T) {
	t.Parallel()
	printer := parsePrinterStatus(Attrs{
		goipp.MakeAttribute("copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 99}),
		goipp.MakeAttr("sides-supported", goipp.TagKeyword, goipp.String("one-sided"), goipp.String("two-sided-long-edge")),
		goipp.MakeAttr("media-supported", goipp.TagKeyword, goipp.String("iso_a4_210x297mm")),
		goipp.MakeAttr("media-col-supported", goipp.TagKeyword, goipp.String("media-size"), goipp.String("media-source")),
		goipp.MakeAttr("media-source-supported", goipp.TagKeyword, goipp.String("tray-1")),
		goipp.MakeAttr("print-quality-supported", goipp.TagEnum, goipp.Integer(4)),
		goipp.MakeAttribute("page-ranges-supported", goipp.TagBoolean, goipp.Boolean(false)),
	})
	tmpl := EncodeTemplate(job.Attributes{Copies: 5, Sides: "two-sided-short-edge", PrintQuality: 4,
		Media: "iso_a4_210x297mm", MediaSource: "tray-1", MediaType: "labels", PageRanges: [][2]int{{1, 2}},
		ColorMode: "color"})
	kept, dropped := printer.SupportedTemplate(tmpl)
	if got := names(Attrs(kept)); !slices.Equal(got, []string{"copies", "media-col", "print-quality"}) {
		t.Errorf("kept %v", got)
	}
	if !slices.Equal(dropped, []string{"page-ranges", "print-color-mode", "sides"}) {
		t.Errorf("dropped %v", dropped)
	}
	col, _ := Attrs(kept).Collection("media-col")
	if !col.Has("media-size") || !col.Has("media-source") || col.Has("media-type") {
		t.Errorf("media-col narrowed to %v", col)
	}
	if _, dropped := printer.SupportedTemplate(EncodeTemplate(job.Attributes{Copies: 100})); !slices.Equal(dropped, []string{"copies"}) {
		t.Errorf("copies beyond the range kept")
	}
}
