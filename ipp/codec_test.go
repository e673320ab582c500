// Tests of the message helpers: the typed accessor, the response builder (round trip), the
// job-template codec, media names and the error classes.
package ipp

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

func TestAttrsAccessor(t *testing.T) {
	t.Parallel()
	col := goipp.Collection{goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(21000))}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	a := Attrs{
		goipp.MakeAttribute("name", goipp.TagName, goipp.String("first")),
		goipp.MakeAttribute("name", goipp.TagName, goipp.String("second")),
		goipp.MakeAttribute("lang", goipp.TagNameLang, goipp.TextWithLang{Lang: "en", Text: "hello"}),
		goipp.MakeAttr("ints", goipp.TagEnum, goipp.Integer(3), goipp.Integer(4)),
		goipp.MakeAttribute("flag", goipp.TagBoolean, goipp.Boolean(true)),
		goipp.MakeAttribute("range", goipp.TagRange, goipp.Range{Lower: 1, Upper: 9}),
		goipp.MakeAttribute("when", goipp.TagDateTime, goipp.Time{Time: when}),
		goipp.MakeAttribute("col", goipp.TagBeginCollection, col),
		goipp.MakeAttribute("void", goipp.TagNoValue, goipp.Void{}),
		goipp.MakeAttr("mixed", goipp.TagKeyword, goipp.String("a"), goipp.Integer(2), goipp.String("b")),
	}
	if v, ok := a.String("name"); !ok || v != "first" {
		t.Errorf("first occurrence: %q %v", v, ok)
	}
	if v, ok := a.String("lang"); !ok || v != "hello" {
		t.Errorf("nameWithLanguage: %q", v)
	}
	if v := a.Ints("ints"); !reflect.DeepEqual(v, []int{3, 4}) {
		t.Errorf("ints %v", v)
	}
	if v, ok := a.Bool("flag"); !ok || !v {
		t.Error("bool")
	}
	if r, ok := a.Range("range"); !ok || r.Upper != 9 {
		t.Error("range")
	}
	if w, ok := a.Time("when"); !ok || !w.Equal(when) {
		t.Error("time")
	}
	if c, ok := a.Collection("col"); !ok || c.Count("x-dimension") != 1 {
		t.Error("collection")
	}
	if v := a.Strings("mixed"); !reflect.DeepEqual(v, []string{"a", "b"}) {
		t.Errorf("mixed strings %v", v)
	}
	// Out-of-band and wrong-type values read as absent, never panic.
	if _, ok := a.String("void"); ok {
		t.Error("void read as string")
	}
	if _, ok := a.Int("void"); ok {
		t.Error("void read as int")
	}
	if _, ok := a.Bool("name"); ok {
		t.Error("name read as bool")
	}
	if _, ok := a.Collection("void"); ok {
		t.Error("void read as collection")
	}
	if !a.Has("void") || a.Tag("void") != goipp.TagNoValue || a.Count("void") != 1 {
		t.Error("void is present with its tag")
	}
	if a.Has("absent") || a.Tag("absent") != goipp.TagZero || a.Strings("absent") != nil {
		t.Error("absent")
	}
	var empty Attrs
	if _, ok := empty.Int("x"); ok {
		t.Error("empty")
	}
	if _, ok := (Attrs{{Name: "novalues"}}).String("novalues"); ok {
		t.Error("attribute without values")
	}
}

// roundTrip encodes m, decodes it and checks the result is Equal to m.
func roundTrip(t *testing.T, m *goipp.Message) *goipp.Message {
	t.Helper()
	data, err := m.EncodeBytes()
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	var back goipp.Message
	if err := back.DecodeBytes(data); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !back.Equal(*m) {
		t.Fatalf("round trip differs:\n sent %v\n back %v", m.AttrGroups(), back.AttrGroups())
	}
	return &back
}

func TestResponseBuilderRoundTrip(t *testing.T) {
	t.Parallel()
	rs := newResponse(goipp.MakeVersion(1, 1), 42)
	rs.setStatus(goipp.StatusOkIgnoredOrSubstituted, "Ignoring things.")
	rs.addUnsupported(goipp.MakeAttribute("job-sheets", goipp.TagKeyword, goipp.String("standard")))
	rs.addUnsupported(goipp.MakeAttribute("job-sheets", goipp.TagKeyword, goipp.String("again")))
	rs.addUnsupported(goipp.Attribute{Name: "valueless"})
	rs.addGroup(goipp.TagJobGroup, goipp.Attributes{goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(1))})
	rs.addGroup(goipp.TagJobGroup, goipp.Attributes{goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(2))})
	rs.addGroup(goipp.TagJobGroup, nil)
	m := rs.encodeMessage()
	back := roundTrip(t, m)
	if back.Version != goipp.MakeVersion(1, 1) || back.RequestID != 42 || goipp.Status(back.Code) != goipp.StatusOkIgnoredOrSubstituted {
		t.Errorf("header %s %d %s", back.Version, back.RequestID, goipp.Status(back.Code))
	}
	var tags []goipp.Tag
	for _, g := range back.Groups {
		tags = append(tags, g.Tag)
	}
	want := []goipp.Tag{goipp.TagOperationGroup, goipp.TagUnsupportedGroup, goipp.TagJobGroup, goipp.TagJobGroup}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("groups %v, want %v (one job group per job, unsupported after operation)", tags, want)
	}
	if len(back.Unsupported) != 2 {
		t.Errorf("unsupported %v", back.Unsupported)
	}

	// A later, lower status does not hide an error; object groups go with errors.
	rs.setStatus(goipp.StatusErrorNotFound, "gone")
	rs.setStatus(goipp.StatusOk, "fine")
	back = roundTrip(t, rs.encodeMessage())
	if goipp.Status(back.Code) != goipp.StatusErrorNotFound || len(back.Job) != 0 {
		t.Errorf("status %s with %d job attributes", goipp.Status(back.Code), len(back.Job))
	}
	if msg, _ := Attrs(back.Operation).String("status-message"); msg != "gone" {
		t.Errorf("status-message %q", msg)
	}
}

func TestEveryBuiltResponseRoundTrips(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	now := time.Now()
	svc.jobs[1] = &job.Job{ID: 1, UUID: "00000000-0000-4000-8000-000000000001", VirtualPrinter: "letters",
		Name: "n", Owner: "alice", OriginHost: "10.0.0.9", State: job.StateCompleted, Printer: "p1", Pages: 2,
		Created: now, Started: now, Finished: now, StateReason: "done",
		Attributes: job.Attributes{Copies: 1, Sides: "one-sided", Media: "iso_a4_210x297mm", MediaSource: "auto",
			MediaType: "stationery", ColorMode: "auto", PrintQuality: 4, Orientation: 3, PageRanges: [][2]int{{1, 1}},
			Finishings: []int{3}, OutputBin: "face-down", PrintScaling: "auto", JobPriority: 50, HoldUntil: "no-hold",
			DocumentFormat: document.PDF, NumberUp: 1, Extra: map[string]string{"printer-resolution": "300x300dpi",
				"print-content-optimize": "auto"}}}
	s, _ := newTestServer(t, svc, Options{})
	rq := &request{printer: svc.printers["letters"], family: PathPrint, base: "/ipp/print/letters", user: "alice",
		operatorKnown: true, operator: true}
	rq.hr = newHTTPRequest(t)
	for _, req := range []requested{
		requestedAttributes(nil, "all", "media-col-database"),
		requestedAttributes(nil),
	} {
		rs := newResponse(goipp.DefaultVersion, 1)
		rs.addGroup(goipp.TagPrinterGroup, s.printerAttributes(rq, req))
		rs.addGroup(goipp.TagJobGroup, s.jobAttributes(rq, svc.jobs[1], req))
		roundTrip(t, rs.encodeMessage())
	}
}

func TestTemplateRoundTrip(t *testing.T) {
	t.Parallel()
	cases := []job.Attributes{
		{},
		{Copies: 3, Sides: "two-sided-short-edge", Media: "na_letter_8.5x11in", ColorMode: "monochrome"},
		{Media: "iso_a4_210x297mm", MediaSource: "tray-2", MediaType: "stationery-letterhead"},
		{MediaSource: "manual"},
		{PrintQuality: 5, Orientation: 4, PageRanges: [][2]int{{1, 3}, {7, 7}}, Finishings: []int{3},
			OutputBin: "face-down", PrintScaling: "fit", JobPriority: 90, HoldUntil: "indefinite",
			NumberUp: 2, Extra: map[string]string{"printer-resolution": "600x600dpi", "job-sheets": "none",
				"multiple-document-handling": "separate-documents-collated-copies"}},
		{Finishings: []int{4, 20}, FinishingTemplates: []string{"staple-top-left", "punch-dual-left"}},
		{Copies: 1, Overrides: []job.Override{
			{Pages: [][2]int{{1, 1}}, Attributes: job.Attributes{Orientation: 4, Media: "iso_a4_210x297mm"}},
			{Pages: [][2]int{{2, 5}, {9, 9}}, DocumentNumbers: [][2]int{{2, 2}},
				Attributes: job.Attributes{MediaSource: "tray-2", MediaType: "stationery-letterhead"}},
		}},
	}
	for i, a := range cases {
		enc := EncodeTemplate(a)
		m := goipp.NewRequest(goipp.DefaultVersion, goipp.OpPrintJob, 1)
		m.Operation = goipp.Attributes{goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8"))}
		m.Job = enc
		back := roundTrip(t, m)
		got := DecodeTemplate(Attrs(back.Job))
		if !reflect.DeepEqual(got, a) {
			t.Errorf("case %d:\n got %+v\nwant %+v", i, got, a)
		}
	}
	// media-source and media-type travel in media-col, as CUPS sends them.
	enc := Attrs(EncodeTemplate(job.Attributes{Media: "iso_a4_210x297mm", MediaSource: "tray-2"}))
	if enc.Has("media") || !enc.Has("media-col") {
		t.Errorf("media with a source: %v", enc)
	}
	// Extra entries we cannot encode are not forwarded.
	if enc := EncodeTemplate(job.Attributes{Extra: map[string]string{"x-unknown": "1", "number-up": "two"}}); len(enc) != 0 {
		t.Errorf("unencodable extras forwarded: %v", enc)
	}
}

func TestMediaNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		x, y int
		ok   bool
	}{
		{"iso_a4_210x297mm", 21000, 29700, true},
		{"na_letter_8.5x11in", 21590, 27940, true},
		{"na_index-4x6_4x6in", 10160, 15240, true},
		{"a4", 21000, 29700, true},
		{"Letter", 21590, 27940, true},
		{"custom_100x150mm_100x150mm", 10000, 15000, true},
		{"iso_a4", 0, 0, false},
		{"iso_a4_210x297cm", 0, 0, false},
		{"x_y_0x297mm", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tc := range cases {
		x, y, ok := mediaSize(tc.name)
		if x != tc.x || y != tc.y || ok != tc.ok {
			t.Errorf("mediaSize(%q) = %d %d %v", tc.name, x, y, ok)
		}
	}
	pool := []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}
	if m, ok := matchMedia(pool, "A4"); !ok || m != "iso_a4_210x297mm" {
		t.Errorf("A4 → %q", m)
	}
	if m, ok := matchMediaDims(pool, 21590, 27900); !ok || m != "na_letter_8.5x11in" {
		t.Errorf("letter within tolerance → %q", m)
	}
	if _, ok := matchMediaDims(pool, 29700, 42000); ok {
		t.Error("A3 matched")
	}
	if n := customMediaName(10000, 14850); n != "custom_100x148.5mm_100x148.5mm" {
		t.Errorf("custom name %q", n)
	}
}

func TestErrorClasses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		status goipp.Status
		is     []error
		isNot  []error
	}{
		{goipp.StatusErrorBusy, []error{ErrBusy}, []error{ErrJobRefused, ErrNotFound}},
		{goipp.StatusErrorDocumentFormatNotSupported, []error{ErrJobRefused}, []error{ErrBusy}},
		{goipp.StatusErrorAttributesOrValues, []error{ErrJobRefused}, []error{ErrBusy}},
		{goipp.StatusErrorCompressionError, []error{ErrJobRefused}, nil},
		{goipp.StatusErrorRequestEntity, []error{ErrJobRefused}, nil},
		{goipp.StatusErrorBadRequest, nil, []error{ErrJobRefused}},
		{goipp.StatusErrorNotFound, []error{ErrNotFound}, []error{ErrJobRefused}},
		{goipp.StatusErrorGone, []error{ErrNotFound}, nil},
		{goipp.StatusErrorNotPossible, []error{ErrNotPossible}, nil},
		{goipp.StatusErrorForbidden, []error{ErrNotAuthorized}, nil},
		{goipp.StatusErrorNotAcceptingJobs, []error{ErrNotAccepting}, []error{ErrBusy, ErrJobRefused}},
		{goipp.StatusErrorInternal, nil, []error{ErrBusy, ErrJobRefused, ErrNotFound}},
	}
	for _, tc := range cases {
		err := fmt.Errorf("printers: send: %w", &Error{Status: tc.status, Message: "m"})
		for _, want := range tc.is {
			if !errors.Is(err, want) {
				t.Errorf("%s is not %v", tc.status, want)
			}
		}
		for _, not := range tc.isNot {
			if errors.Is(err, not) {
				t.Errorf("%s is %v", tc.status, not)
			}
		}
		var ie *Error
		if !errors.As(err, &ie) || ie.Status != tc.status {
			t.Errorf("errors.As %s", tc.status)
		}
	}
	if !errors.Is(fmt.Errorf("x: %w", &HTTPError{StatusCode: 503, Status: "503 Service Unavailable"}), ErrBusy) {
		t.Error("HTTP 503 is not ErrBusy")
	}
	if errors.Is(&HTTPError{StatusCode: 500}, ErrBusy) {
		t.Error("HTTP 500 is ErrBusy")
	}
}

func TestStatusOfServiceErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		status goipp.Status
		known  bool
	}{
		{fmt.Errorf("a: %w", job.ErrNotFound), goipp.StatusErrorNotFound, true},
		{fmt.Errorf("a: %w", ErrNotFound), goipp.StatusErrorNotFound, true},
		{fmt.Errorf("a: %w", job.ErrDiskFull), goipp.StatusErrorBusy, true},
		{fmt.Errorf("a: %w", job.ErrTooLarge), goipp.StatusErrorRequestEntity, true},
		{job.ErrEmptyDocument, goipp.StatusErrorBadRequest, true},
		{fmt.Errorf("a: %w", job.ErrTruncated), goipp.StatusErrorBadRequest, true},
		{&job.TransitionError{JobID: 1, From: job.StateCompleted, To: job.StateCanceled}, goipp.StatusErrorNotPossible, true},
		{fmt.Errorf("a: %w", job.ErrStateChanged), goipp.StatusErrorNotPossible, true},
		{job.ErrClosed, goipp.StatusErrorServiceUnavailable, true},
		{context.Canceled, goipp.StatusErrorServiceUnavailable, true},
		{fmt.Errorf("q: %w", Errorf(goipp.StatusErrorNotAcceptingJobs, "x")), goipp.StatusErrorNotAcceptingJobs, true},
		{errors.New("boom"), goipp.StatusErrorInternal, false},
	}
	for _, tc := range cases {
		e, known := statusOf(tc.err)
		if e.Status != tc.status || known != tc.known {
			t.Errorf("statusOf(%v) = %s %v, want %s %v", tc.err, e.Status, known, tc.status, tc.known)
		}
	}
}
