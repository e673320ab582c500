// Tests of job submission: Print-Job, Validate-Job, Create-Job + Send-Document + Close-Job,
// compression, size limits, feature routing and staged-document cleanup.
package ipp

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// printReq builds a Print-Job for alice with a document format.
func printReq(uri, format string) *goipp.Message {
	m := newReq(goipp.OpPrintJob, uri)
	addOp(m, "requesting-user-name", goipp.TagName, goipp.String("alice"))
	addOp(m, "job-name", goipp.TagName, goipp.String("letter 1"))
	if format != "" {
		addOp(m, "document-format", goipp.TagMimeType, goipp.String(format))
	}
	return m
}

func jobID(t *testing.T, rsp *goipp.Message) int64 {
	t.Helper()
	id, ok := Attrs(rsp.Job).Int("job-id")
	if !ok || id <= 0 {
		msg, _ := Attrs(rsp.Operation).String("status-message")
		t.Fatalf("no job-id in response (status %s: %s)", status(rsp), msg)
	}
	return int64(id)
}

func TestPrintJobStoresDocumentAndAttributes(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	pdf := testPDF(3)
	m := printReq(lettersURI, document.PDF)
	m.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(2)))
	m.Job.Add(goipp.MakeAttribute("sides", goipp.TagKeyword, goipp.String("two-sided-long-edge")))
	m.Job.Add(goipp.MakeAttribute("media", goipp.TagKeyword, goipp.String("a4")))
	m.Job.Add(goipp.MakeAttribute("print-color-mode", goipp.TagKeyword, goipp.String("monochrome")))
	m.Job.Add(goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 1, Upper: 2}))
	rsp := do(t, s, "/ipp/print/letters", m, pdf)
	if status(rsp) != goipp.StatusOk {
		t.Fatalf("status %s", status(rsp))
	}
	id := jobID(t, rsp)
	ja := Attrs(rsp.Job)
	if uri, _ := ja.String("job-uri"); uri != fmt.Sprintf("ipp://gw.example:8631/ipp/print/letters/%d", id) {
		t.Errorf("job-uri %q", uri)
	}
	if st, _ := ja.Int("job-state"); JobState(st) != JobPending {
		t.Errorf("job-state %d, want pending", st)
	}
	if !ja.Has("job-state-reasons") {
		t.Error("no job-state-reasons")
	}
	j := svc.job(id)
	if j == nil {
		t.Fatal("job not stored")
	}
	if !bytes.Equal(svc.document(id, 0), pdf) {
		t.Error("stored document differs from the one sent")
	}
	want := job.Attributes{Copies: 2, Sides: "two-sided-long-edge", Media: "iso_a4_210x297mm",
		ColorMode: "monochrome", PageRanges: [][2]int{{1, 2}}, DocumentFormat: document.PDF}
	if fmt.Sprint(j.Attributes) != fmt.Sprint(want) {
		t.Errorf("stored attributes\n got %+v\nwant %+v", j.Attributes, want)
	}
	if j.Owner != "alice" || j.Name != "letter 1" || j.Origin != "ipp" || j.Lane != job.LaneInteractive {
		t.Errorf("job %+v", j)
	}
	if svc.leaked() != 0 {
		t.Error("staged document leaked")
	}
}

func TestPrintJobDefaultPrinterAndAlias(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	for _, path := range []string{"/ipp/print", "/printers/letters"} {
		rsp := do(t, s, path, printReq("http://whatever/", document.PDF), testPDF(1))
		id := jobID(t, rsp)
		if j := svc.job(id); j.VirtualPrinter != "letters" {
			t.Errorf("%s: job on %q", path, j.VirtualPrinter)
		}
		uri, _ := Attrs(rsp.Job).String("job-uri")
		wantPrefix := "ipp://gw.example:8631/ipp/print/letters/"
		if path == "/printers/letters" {
			wantPrefix = "ipp://gw.example:8631/printers/letters/"
		}
		if uri != fmt.Sprintf("%s%d", wantPrefix, id) {
			t.Errorf("%s: job-uri %q", path, uri)
		}
	}
}

func TestPrintJobCompression(t *testing.T) {
	t.Parallel()
	pdf := testPDF(2)
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	deflate := func(data []byte) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.DefaultCompression)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	cases := []struct {
		name        string
		compression string
		body        []byte
		status      goipp.Status
	}{
		{"none", "none", pdf, goipp.StatusOk},
		{"gzip", "gzip", gz(pdf), goipp.StatusOk},
		{"gzip with junk after the stream", "gzip", append(gz(pdf), "trailing junk"...), goipp.StatusOk},
		{"deflate", "deflate", deflate(pdf), goipp.StatusOk},
		{"gzip not gzip", "gzip", pdf, goipp.StatusErrorCompressionError},
		{"gzip truncated", "gzip", gz(pdf)[:40], goipp.StatusErrorCompressionError},
		{"deflate garbage", "deflate", []byte("\xff\xff\xff\xff garbage"), goipp.StatusErrorCompressionError},
		{"compress unsupported", "compress", pdf, goipp.StatusErrorCompressionNotSupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			s, rec := newTestServer(t, svc, Options{})
			m := printReq(lettersURI, document.PDF)
			addOp(m, "compression", goipp.TagKeyword, goipp.String(tc.compression))
			rsp := do(t, s, "/ipp/print/letters", m, tc.body)
			if status(rsp) != tc.status {
				msg, _ := Attrs(rsp.Operation).String("status-message")
				t.Fatalf("status %s (%s), want %s", status(rsp), msg, tc.status)
			}
			if tc.status == goipp.StatusOk {
				if got := svc.document(jobID(t, rsp), 0); !bytes.Equal(got, pdf) {
					t.Errorf("stored %d bytes, want the %d decompressed bytes", len(got), len(pdf))
				}
			} else if len(svc.jobs) != 0 {
				t.Error("a job was stored for a refused document")
			}
			if tc.status == goipp.StatusErrorCompressionNotSupported && !Attrs(rsp.Unsupported).Has("compression") {
				t.Error("compression not in the unsupported group")
			}
			if svc.leaked() != 0 {
				t.Error("staged document leaked")
			}
			if n, log := rec.errorCount(); n > 0 {
				t.Errorf("logged errors: %v", log)
			}
		})
	}
}

// TestPrintJobGzipBomb: 500 KB of gzip that would become 500 MB is refused as it expands,
// with request-entity-too-large, and nothing is stored; a highly compressible but small document
// and a real one at the ratio's edge still print. The spool's own limit is not what stops it:
// MaxDocumentBytes is left at the 512 MiB default the gateway ships.
func TestPrintJobGzipBomb(t *testing.T) {
	t.Parallel()
	gz := func(data []byte) []byte {
		var b bytes.Buffer
		w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		w.Write(data)
		w.Close()
		return b.Bytes()
	}
	// 500 MiB of zeros after a PDF header, as gzip -9 makes it (509 KB); made once with
	//   (printf '%%PDF-1.4\n'; head -c 524288000 /dev/zero) | gzip -9 > testdata/gzip-bomb-500MiB.gz
	// rather than compressed here, which takes a minute under -race.
	bomb, err := os.ReadFile("../testdata/gzip-bomb-500MiB.gz")
	if err != nil {
		t.Fatal(err)
	}
	text := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("Dear patient, "), 40000)...) // 560 KB, ~1000x
	cases := []struct {
		name   string
		body   []byte
		status goipp.Status
	}{
		{"500 KB bomb", bomb, goipp.StatusErrorRequestEntity},
		{"small very compressible letter", gz(text), goipp.StatusOk},
		{"real letter", gz(testPDF(3)), goipp.StatusOk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			s, _ := newTestServer(t, svc, Options{MaxDocumentBytes: 512 << 20})
			m := printReq(lettersURI, document.PDF)
			addOp(m, "compression", goipp.TagKeyword, goipp.String("gzip"))
			rsp := do(t, s, "/ipp/print/letters", m, tc.body)
			if status(rsp) != tc.status {
				msg, _ := Attrs(rsp.Operation).String("status-message")
				t.Fatalf("status %s (%s), want %s", status(rsp), msg, tc.status)
			}
			if tc.status != goipp.StatusOk && len(svc.jobs) != 0 {
				t.Error("a job was stored for a refused document")
			}
			if svc.leaked() != 0 {
				t.Error("staged document leaked")
			}
		})
	}
}

func TestPrintJobTooLarge(t *testing.T) {
	t.Parallel()
	const max = 1000
	doc := bytes.Repeat([]byte("x"), max)
	cases := []struct {
		name    string
		opts    Options
		svcMax  int64
		doc     []byte
		gzipped bool
		status  goipp.Status
	}{
		{"exactly the server limit", Options{MaxDocumentBytes: max}, 0, doc, false, goipp.StatusOk},
		{"one byte over the server limit", Options{MaxDocumentBytes: max}, 0, append(doc, 'y'), false, goipp.StatusErrorRequestEntity},
		{"over the limit once decompressed", Options{MaxDocumentBytes: max}, 0, append(doc, doc...), true, goipp.StatusErrorRequestEntity},
		{"over the spool limit", Options{}, max, append(doc, 'y'), false, goipp.StatusErrorRequestEntity},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			svc.maxDoc = tc.svcMax
			s, _ := newTestServer(t, svc, tc.opts)
			m := printReq(lettersURI, document.Octet)
			body := tc.doc
			if tc.gzipped {
				var b bytes.Buffer
				w := gzip.NewWriter(&b)
				w.Write(body)
				w.Close()
				body = b.Bytes()
				addOp(m, "compression", goipp.TagKeyword, goipp.String("gzip"))
			}
			w, rsp := serve(t, s, "/ipp/print/letters", bytes.NewReader(append(encode(t, m), body...)), nil)
			if rsp == nil {
				t.Fatalf("HTTP %d", w.Code)
			}
			if status(rsp) != tc.status {
				t.Fatalf("status %s, want %s", status(rsp), tc.status)
			}
			if tc.status != goipp.StatusOk && len(svc.jobs) != 0 {
				t.Error("a job was stored for a too large document")
			}
			if svc.leaked() != 0 {
				t.Error("staged document leaked")
			}
		})
	}
}

func TestPrintJobRefusals(t *testing.T) {
	t.Parallel()
	attr := func(name string, tag goipp.Tag, v goipp.Value) goipp.Attribute {
		return goipp.MakeAttribute(name, tag, v)
	}
	mediaCol := func(members ...goipp.Attribute) goipp.Attribute {
		return goipp.MakeAttribute("media-col", goipp.TagBeginCollection, goipp.Collection(members))
	}
	cases := []struct {
		name        string
		printer     string
		format      string
		fidelity    bool
		job         []goipp.Attribute
		status      goipp.Status
		unsupported string
	}{
		{"duplex on a simplex pool", "mono", document.PDF, false, []goipp.Attribute{attr("sides", goipp.TagKeyword, goipp.String("two-sided-long-edge"))}, goipp.StatusErrorAttributesOrValues, "sides"},
		{"letter on an A4 pool", "mono", document.PDF, false, []goipp.Attribute{attr("media", goipp.TagKeyword, goipp.String("na_letter_8.5x11in"))}, goipp.StatusErrorAttributesOrValues, "media"},
		{"colour on a mono pool", "mono", document.PDF, false, []goipp.Attribute{attr("print-color-mode", goipp.TagKeyword, goipp.String("color"))}, goipp.StatusErrorAttributesOrValues, "print-color-mode"},
		{"monochrome on a mono pool", "mono", document.PDF, false, []goipp.Attribute{attr("print-color-mode", goipp.TagKeyword, goipp.String("monochrome"))}, goipp.StatusOk, ""},
		{"JPEG on a PDF-only pool", "mono", document.JPEG, false, nil, goipp.StatusErrorDocumentFormatNotSupported, "document-format"},
		{"media-col A3 by size", "mono", document.PDF, false, []goipp.Attribute{mediaCol(goipp.MakeAttribute("media-size", goipp.TagBeginCollection, mediaSizeCol(29700, 42000)))}, goipp.StatusErrorAttributesOrValues, "media-col"},
		{"media-col A4 by size", "mono", document.PDF, false, []goipp.Attribute{mediaCol(goipp.MakeAttribute("media-size", goipp.TagBeginCollection, mediaSizeCol(21000, 29700)))}, goipp.StatusOk, ""},
		{"copies 0", "letters", document.PDF, false, []goipp.Attribute{attr("copies", goipp.TagInteger, goipp.Integer(0))}, goipp.StatusErrorAttributesOrValues, "copies"},
		{"copies as keyword", "letters", document.PDF, false, []goipp.Attribute{attr("copies", goipp.TagKeyword, goipp.String("2"))}, goipp.StatusErrorAttributesOrValues, "copies"},
		{"copies out-of-band", "letters", document.PDF, false, []goipp.Attribute{attr("copies", goipp.TagUnknown, goipp.Void{})}, goipp.StatusErrorAttributesOrValues, "copies"},
		{"job-sheets ignored", "letters", document.PDF, false, []goipp.Attribute{attr("job-sheets", goipp.TagKeyword, goipp.String("standard"))}, goipp.StatusOkIgnoredOrSubstituted, "job-sheets"},
		{"job-sheets under fidelity", "letters", document.PDF, true, []goipp.Attribute{attr("job-sheets", goipp.TagKeyword, goipp.String("standard"))}, goipp.StatusErrorAttributesOrValues, "job-sheets"},
		{"unknown attribute ignored", "letters", document.PDF, false, []goipp.Attribute{attr("x-vendor-thing", goipp.TagKeyword, goipp.String("on"))}, goipp.StatusOkIgnoredOrSubstituted, "x-vendor-thing"},
		{"finishings staple ignored", "letters", document.PDF, false, []goipp.Attribute{attr("finishings", goipp.TagEnum, goipp.Integer(4))}, goipp.StatusOkIgnoredOrSubstituted, "finishings"},
		{"bad page-ranges", "letters", document.PDF, false, []goipp.Attribute{attr("page-ranges", goipp.TagRange, goipp.Range{Lower: 3, Upper: 1})}, goipp.StatusErrorAttributesOrValues, "page-ranges"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			s, _ := newTestServer(t, svc, Options{})
			uri := "ipp://gw.example:8631/ipp/print/" + tc.printer
			m := printReq(uri, tc.format)
			if tc.fidelity {
				addOp(m, "ipp-attribute-fidelity", goipp.TagBoolean, goipp.Boolean(true))
			}
			m.Job = append(m.Job, tc.job...)
			doc := testPDF(1)
			rsp := do(t, s, "/ipp/print/"+tc.printer, m, doc)
			if status(rsp) != tc.status {
				msg, _ := Attrs(rsp.Operation).String("status-message")
				t.Fatalf("status %s (%s), want %s", status(rsp), msg, tc.status)
			}
			if tc.unsupported != "" && !Attrs(rsp.Unsupported).Has(tc.unsupported) {
				t.Errorf("%s not in the unsupported group %v", tc.unsupported, rsp.Unsupported)
			}
			stored := len(svc.jobs) > 0
			if ok := tc.status < 0x0400; stored != ok {
				t.Errorf("job stored = %v, want %v", stored, ok)
			}
			if svc.leaked() != 0 {
				t.Error("staged document leaked")
			}
			// Validate-Job gives the same verdict without storing anything; it is exact, so
			// what Print-Job ignores it refuses.
			m.Code = goipp.Code(goipp.OpValidateJob)
			before := len(svc.jobs)
			vrsp := do(t, s, "/ipp/print/"+tc.printer, m, nil)
			want := tc.status
			if want == goipp.StatusOkIgnoredOrSubstituted {
				want = goipp.StatusErrorAttributesOrValues
			}
			if status(vrsp) != want {
				t.Errorf("Validate-Job status %s, want %s", status(vrsp), want)
			}
			if len(svc.jobs) != before {
				t.Error("Validate-Job stored a job")
			}
		})
	}
}

func TestPrintJobWithoutDocument(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	rsp := do(t, s, "/ipp/print/letters", printReq(lettersURI, document.PDF), nil)
	if status(rsp) != goipp.StatusErrorBadRequest || len(svc.jobs) != 0 {
		t.Fatalf("status %s, %d jobs", status(rsp), len(svc.jobs))
	}
}

func TestPrintJobFormatDetection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		printer string
		doc     []byte
		status  goipp.Status
		format  string
	}{
		{"letters", testPDF(1), goipp.StatusOk, document.PDF},
		{"letters", testJPEG(true), goipp.StatusOk, document.JPEG},
		{"letters", []byte("plain bytes of unknown kind"), goipp.StatusOk, document.Octet},
		{"mono", testJPEG(false), goipp.StatusErrorDocumentFormatNotSupported, ""},
		// One sniffer for every front-end (document.Sniff): a PDF header within the first KiB,
		// PWG raster, and PNG, which letters does not print.
		{"letters", append([]byte("\r\n\r\n"), testPDF(1)...), goipp.StatusOk, document.PDF},
		{"letters", []byte("RaS2PwgRaster\x00"), goipp.StatusOk, document.PWGRaster},
		{"letters", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), goipp.StatusErrorDocumentFormatNotSupported, ""},
		{"letters", []byte("\x1b%-12345X@PJL ENTER LANGUAGE = PCL\r\n\x1bE"), goipp.StatusErrorDocumentFormatNotSupported, ""},
	}
	for _, tc := range cases {
		svc := newFakeService()
		s, _ := newTestServer(t, svc, Options{})
		rsp := do(t, s, "/ipp/print/"+tc.printer, printReq("ipp://x/", ""), tc.doc)
		if status(rsp) != tc.status {
			t.Errorf("%s %q: status %s, want %s", tc.printer, tc.doc[:4], status(rsp), tc.status)
			continue
		}
		if tc.status == goipp.StatusOk {
			if got := svc.job(jobID(t, rsp)).Documents[0].Format; got != tc.format {
				t.Errorf("detected %s, want %s", got, tc.format)
			}
		}
		if svc.leaked() != 0 {
			t.Error("staged document leaked")
		}
	}
}

func TestPrintJobServiceFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		stageErr  error
		submitErr error
		status    goipp.Status
		logged    bool
	}{
		{"disk full", fmt.Errorf("spool: stage: %w", job.ErrDiskFull), nil, goipp.StatusErrorBusy, false},
		{"commit fails", nil, errors.New("database is locked"), goipp.StatusErrorInternal, true},
		{"store closed", nil, job.ErrClosed, goipp.StatusErrorServiceUnavailable, false},
		{"service chooses the status", nil, &Error{Status: goipp.StatusErrorNotAcceptingJobs, Message: "draining"}, goipp.StatusErrorNotAcceptingJobs, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			svc.stageErr, svc.submitErr = tc.stageErr, tc.submitErr
			s, rec := newTestServer(t, svc, Options{})
			rsp := do(t, s, "/ipp/print/letters", printReq(lettersURI, document.PDF), testPDF(1))
			if status(rsp) != tc.status {
				t.Fatalf("status %s, want %s", status(rsp), tc.status)
			}
			if svc.leaked() != 0 {
				t.Error("staged document leaked after a failed submit")
			}
			if n, _ := rec.errorCount(); (n > 0) != tc.logged {
				t.Errorf("logged %d errors, want logged=%v", n, tc.logged)
			}
		})
	}
}

func TestPrintJobNotAccepting(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	svc.printers["letters"].Accepting = false
	s, _ := newTestServer(t, svc, Options{})
	for _, op := range []goipp.Op{goipp.OpPrintJob, goipp.OpCreateJob, goipp.OpValidateJob} {
		m := printReq(lettersURI, document.PDF)
		m.Code = goipp.Code(op)
		var doc []byte
		if op == goipp.OpPrintJob {
			doc = testPDF(1)
		}
		if rsp := do(t, s, "/ipp/print/letters", m, doc); status(rsp) != goipp.StatusErrorNotAcceptingJobs {
			t.Errorf("%s: status %s", op, status(rsp))
		}
	}
	if len(svc.jobs) != 0 {
		t.Error("job stored while not accepting")
	}
}

func TestJobHoldUntil(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	m := printReq(lettersURI, document.PDF)
	m.Job.Add(goipp.MakeAttribute("job-hold-until", goipp.TagKeyword, goipp.String("indefinite")))
	rsp := do(t, s, "/ipp/print/letters", m, testPDF(1))
	j := svc.job(jobID(t, rsp))
	if j.State != job.StateHeld || j.Attributes.HoldUntil != "indefinite" {
		t.Fatalf("job %s hold %q", j.State, j.Attributes.HoldUntil)
	}
	if st, _ := Attrs(rsp.Job).Int("job-state"); JobState(st) != JobPendingHeld {
		t.Errorf("job-state %d, want pending-held", st)
	}
	if fwd := ForwardTemplate(j.Attributes); Attrs(fwd).Has("job-hold-until") {
		t.Error("ForwardTemplate passes job-hold-until on to the printer")
	}

	// CUPS' print-job-hold.test sends it in the operation group; CUPS and PAPPL accept that.
	m = printReq(lettersURI, document.PDF)
	addOp(m, "job-hold-until", goipp.TagKeyword, goipp.String("indefinite"))
	addOp(m, "copies", goipp.TagInteger, goipp.Integer(2))
	m.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(3)))
	rsp = do(t, s, "/ipp/print/letters", m, testPDF(1))
	j = svc.job(jobID(t, rsp))
	if j.State != job.StateHeld || j.Attributes.Copies != 2 {
		t.Errorf("template in the operation group: job %s, copies %d (first occurrence wins)", j.State, j.Attributes.Copies)
	}
}

func TestCreateJobSendDocumentCloseJob(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	create := func() int64 {
		m := printReq(lettersURI, "")
		m.Code = goipp.Code(goipp.OpCreateJob)
		rsp := do(t, s, "/ipp/print/letters", m, nil)
		id := jobID(t, rsp)
		if st, _ := Attrs(rsp.Job).Int("job-state"); JobState(st) != JobPendingHeld {
			t.Errorf("created job-state %d, want pending-held (job-incoming)", st)
		}
		if r := Attrs(rsp.Job).Strings("job-state-reasons"); !slices.Contains(r, "job-incoming") {
			t.Errorf("reasons %v", r)
		}
		return id
	}
	send := func(id int64, user string, last *bool, doc []byte) *goipp.Message {
		m := newReq(goipp.OpSendDocument, lettersURI)
		addOp(m, "job-id", goipp.TagInteger, goipp.Integer(id))
		addOp(m, "requesting-user-name", goipp.TagName, goipp.String(user))
		if last != nil {
			addOp(m, "last-document", goipp.TagBoolean, goipp.Boolean(*last))
		}
		addOp(m, "document-format", goipp.TagMimeType, goipp.String(document.PDF))
		return do(t, s, "/ipp/print/letters", m, doc)
	}
	yes, no := true, false

	id := create()
	if rsp := send(id, "alice", &no, testPDF(1)); status(rsp) != goipp.StatusOk {
		t.Fatalf("first Send-Document: %s", status(rsp))
	}
	if svc.job(id).State != job.StateReceived {
		t.Fatal("job closed by a non-last document")
	}
	if rsp := send(id, "alice", &yes, testPDF(2)); status(rsp) != goipp.StatusOk {
		t.Fatalf("last Send-Document: %s", status(rsp))
	}
	if j := svc.job(id); j.State != job.StatePending || len(j.Documents) != 2 {
		t.Fatalf("job %s with %d documents", j.State, len(j.Documents))
	}
	// Create-Job named no format (as CUPS sends it): none is stored for the job, and each
	// document keeps the format its Send-Document gave.
	if j := svc.job(id); j.Attributes.DocumentFormat != "" || j.Documents[1].Format != document.PDF {
		t.Errorf("job format %q, document format %q", j.Attributes.DocumentFormat, j.Documents[1].Format)
	}
	if rsp := send(id, "alice", &yes, testPDF(1)); status(rsp) != goipp.StatusErrorNotPossible {
		t.Errorf("Send-Document to a closed job: %s", status(rsp))
	}

	id2 := create()
	if rsp := send(id2, "alice", nil, testPDF(1)); status(rsp) != goipp.StatusErrorBadRequest {
		t.Errorf("Send-Document without last-document: %s", status(rsp))
	}
	// httptest requests come from 192.0.2.1, not loopback: mallory is no operator.
	if rsp := send(id2, "mallory", &yes, testPDF(1)); status(rsp) != goipp.StatusErrorNotAuthenticated {
		t.Errorf("another user's Send-Document: %s, want not-authenticated", status(rsp))
	}
	if rsp := send(id2, "alice", &no, nil); status(rsp) != goipp.StatusErrorBadRequest {
		t.Errorf("empty non-last Send-Document: %s", status(rsp))
	}
	if rsp := send(id2, "alice", &no, testPDF(1)); status(rsp) != goipp.StatusOk {
		t.Fatalf("Send-Document: %s", status(rsp))
	}
	closeJob := newReq(goipp.OpCloseJob, lettersURI)
	addOp(closeJob, "job-id", goipp.TagInteger, goipp.Integer(id2))
	addOp(closeJob, "requesting-user-name", goipp.TagName, goipp.String("alice"))
	if rsp := do(t, s, "/ipp/print/letters", closeJob, nil); status(rsp) != goipp.StatusOk {
		t.Fatalf("Close-Job: %s", status(rsp))
	}
	if svc.job(id2).State != job.StatePending {
		t.Error("Close-Job did not close the job")
	}
	if rsp := do(t, s, "/ipp/print/letters", closeJob, nil); status(rsp) != goipp.StatusErrorNotPossible {
		t.Errorf("second Close-Job: %s", status(rsp))
	}

	id3 := create()
	if rsp := send(id3, "alice", &yes, nil); status(rsp) != goipp.StatusOk {
		t.Errorf("last-document without data: %s", status(rsp))
	}
	if j := svc.job(id3); j.State != job.StateAborted {
		t.Errorf("job closed with no document is %s, want aborted by the service", j.State)
	}
	if svc.leaked() != 0 {
		t.Error("staged documents leaked")
	}
}
