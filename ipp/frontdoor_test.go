// Tests of the front door: every malformed or misaddressed request gets the right IPP status
// (or HTTP error) and never a panic.
package ipp

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

const lettersURI = "ipp://gw.example:8631/ipp/print/letters"

// rawRequest builds request bytes by hand, for what goipp refuses to encode.
func rawRequest(version uint16, op goipp.Op, id uint32, body ...[]byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, version)
	_ = binary.Write(&b, binary.BigEndian, uint16(op))
	_ = binary.Write(&b, binary.BigEndian, id)
	for _, p := range body {
		b.Write(p)
	}
	return b.Bytes()
}

// rawAttr encodes one attribute with one value.
func rawAttr(tag goipp.Tag, name, value string) []byte {
	var b bytes.Buffer
	b.WriteByte(byte(tag))
	_ = binary.Write(&b, binary.BigEndian, uint16(len(name)))
	b.WriteString(name)
	_ = binary.Write(&b, binary.BigEndian, uint16(len(value)))
	b.WriteString(value)
	return b.Bytes()
}

func tagByte(t goipp.Tag) []byte { return []byte{byte(t)} }

var (
	rawCharset  = rawAttr(goipp.TagCharset, "attributes-charset", "utf-8")
	rawLanguage = rawAttr(goipp.TagLanguage, "attributes-natural-language", "en")
	rawURI      = rawAttr(goipp.TagURI, "printer-uri", lettersURI)
	rawOpGroup  = tagByte(goipp.TagOperationGroup)
	rawEnd      = tagByte(goipp.TagEnd)
)

func TestFrontDoorOrder(t *testing.T) {
	t.Parallel()
	gpa := goipp.OpGetPrinterAttributes
	cases := []struct {
		name   string
		path   string
		body   []byte
		status goipp.Status
		// version is the expected response version (0: don't check).
		version goipp.Version
	}{
		{"ok 2.0", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0x0200},
		{"ok 1.0 as Windows sends", "/ipp/print/letters", rawRequest(0x0100, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0x0100},
		{"ok 1.1", "/ipp/print/letters", rawRequest(0x0101, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0x0101},
		{"ok 2.2 answered as 2.0", "/ipp/print/letters", rawRequest(0x0202, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0x0200},
		{"version 0.0", "/ipp/print/letters", rawRequest(0x0000, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorVersionNotSupported, 0x0101},
		{"version 3.0", "/ipp/print/letters", rawRequest(0x0300, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorVersionNotSupported, 0x0200},
		{"version checked before request-id", "/ipp/print/letters", rawRequest(0x0000, gpa, 0, rawOpGroup, rawEnd), goipp.StatusErrorVersionNotSupported, 0},
		{"request-id 0", "/ipp/print/letters", rawRequest(0x0200, gpa, 0, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"request-id above int32", "/ipp/print/letters", rawRequest(0x0200, gpa, 0x80000000, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"no groups", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"empty operation group", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"first group not operation", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, tagByte(goipp.TagJobGroup), rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"groups out of order", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI,
			tagByte(goipp.TagJobGroup), rawAttr(goipp.TagKeyword, "sides", "one-sided"), rawOpGroup, rawAttr(goipp.TagName, "job-name", "x"), rawEnd), goipp.StatusErrorBadRequest, 0},
		{"missing charset", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"missing natural-language", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"language before charset", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawLanguage, rawCharset, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"charset with wrong tag", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawAttr(goipp.TagKeyword, "attributes-charset", "utf-8"), rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"unsupported charset", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawAttr(goipp.TagCharset, "attributes-charset", "iso-8859-1"), rawLanguage, rawURI, rawEnd), goipp.StatusErrorCharset, 0},
		{"charset US-ASCII", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawAttr(goipp.TagCharset, "attributes-charset", "US-ASCII"), rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0},
		{"no printer-uri", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"printer-uri not a URI", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawAttr(goipp.TagURI, "printer-uri", "::not a uri"), rawEnd), goipp.StatusErrorAttributesOrValues, 0},
		{"printer-uri as keyword", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawAttr(goipp.TagKeyword, "printer-uri", lettersURI), rawEnd), goipp.StatusErrorBadRequest, 0},
		{"foreign host and path in printer-uri: route on URL path", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawAttr(goipp.TagURI, "printer-uri", "http://10.9.9.9/printers/elsewhere"), rawEnd), goipp.StatusOk, 0},
		{"default printer", "/ipp/print", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0},
		{"CUPS alias", "/printers/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0},
		{"unknown printer", "/ipp/print/nosuch", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorNotFound, 0},
		{"unknown path", "/ipp/other", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorNotFound, 0},
		{"unsupported operation", "/ipp/print/letters", rawRequest(0x0200, goipp.OpPrintURI, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorOperationNotSupported, 0},
		{"job operation without job-id", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorBadRequest, 0},
		{"job-id of wrong syntax", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawAttr(goipp.TagKeyword, "job-id", "1"), rawEnd), goipp.StatusErrorBadRequest, 0},
		{"job-id out-of-band", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawAttr(goipp.TagNoValue, "job-id", ""), rawEnd), goipp.StatusErrorBadRequest, 0},
		{"unknown job", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawAttr(goipp.TagInteger, "job-id", "\x00\x00\x03\xe7"), rawEnd), goipp.StatusErrorNotFound, 0},
		{"job of another printer", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawAttr(goipp.TagInteger, "job-id", "\x00\x00\x00\x02"), rawEnd), goipp.StatusErrorNotFound, 0},
		{"job by job-uri", "/ipp/print/letters", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawAttr(goipp.TagURI, "job-uri", "ipp://x/ipp/print/letters/1"), rawEnd), goipp.StatusOk, 0},
		{"job by URL path", "/ipp/print/letters/1", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusOk, 0},
		{"job path of another printer", "/printers/mono/1", rawRequest(0x0200, goipp.OpGetJobAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd), goipp.StatusErrorNotFound, 0},
		{"out-of-band requesting-user-name is no panic", "/ipp/print/letters", rawRequest(0x0200, gpa, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawAttr(goipp.TagNoValue, "requesting-user-name", ""), rawEnd), goipp.StatusOk, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Owner: "alice", State: job.StatePending}
			svc.jobs[2] = &job.Job{ID: 2, VirtualPrinter: "mono", Owner: "alice", State: job.StatePending}
			s, rec := newTestServer(t, svc, Options{})
			w, rsp := serve(t, s, tc.path, bytes.NewReader(tc.body), nil)
			if rsp == nil {
				t.Fatalf("HTTP %d, want 200 with IPP status", w.Code)
			}
			if got := status(rsp); got != tc.status {
				msg, _ := Attrs(rsp.Operation).String("status-message")
				t.Fatalf("status %s (%s), want %s", got, msg, tc.status)
			}
			if tc.version != 0 && rsp.Version != tc.version {
				t.Errorf("response version %s, want %s", rsp.Version, tc.version)
			}
			if want := binary.BigEndian.Uint32(tc.body[4:8]); rsp.RequestID != want {
				t.Errorf("request-id %d, want %d", rsp.RequestID, want)
			}
			op := Attrs(rsp.Operation)
			if cs, _ := op.String("attributes-charset"); cs != "utf-8" || op.Tag("attributes-natural-language") != goipp.TagLanguage {
				t.Errorf("response operation group lacks charset/natural-language: %v", rsp.Operation)
			}
			if tc.status >= 0x0400 {
				if !op.Has("status-message") {
					t.Error("error without status-message")
				}
				if len(rsp.Printer) > 0 || len(rsp.Job) > 0 {
					t.Error("error response carries object attributes")
				}
			}
			if n, log := rec.errorCount(); n > 0 {
				t.Errorf("logged errors: %v", log)
			}
		})
	}
}

func TestMalformedHTTP(t *testing.T) {
	t.Parallel()
	valid := rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawURI, rawEnd)
	cases := []struct {
		name        string
		method      string
		contentType string
		body        []byte
		httpCode    int
		status      goipp.Status
		closes      bool
	}{
		{"GET", http.MethodGet, goipp.ContentType, nil, http.StatusMethodNotAllowed, 0, false},
		{"wrong content type", http.MethodPost, "text/plain", valid, http.StatusUnsupportedMediaType, 0, false},
		{"content type with parameters", http.MethodPost, "application/ipp; charset=utf-8", valid, http.StatusOK, goipp.StatusOk, false},
		{"empty body", http.MethodPost, goipp.ContentType, nil, http.StatusBadRequest, 0, true},
		{"truncated header", http.MethodPost, goipp.ContentType, valid[:5], http.StatusBadRequest, 0, true},
		{"truncated attributes", http.MethodPost, goipp.ContentType, valid[:len(valid)-10], http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"missing end tag", http.MethodPost, goipp.ContentType, valid[:len(valid)-1], http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"tag zero", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, rawCharset, []byte{0x00}, rawEnd), http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"attribute before any group", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawCharset, rawEnd), http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"member name outside collection", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, rawAttr(goipp.TagMemberName, "", "x"), rawEnd), http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"value without preceding attribute", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, rawAttr(goipp.TagKeyword, "", "x"), rawEnd), http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"bad integer length", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, rawCharset, rawLanguage, rawAttr(goipp.TagInteger, "copies", "\x01"), rawEnd), http.StatusOK, goipp.StatusErrorBadRequest, true},
		{"value length past the end", http.MethodPost, goipp.ContentType, rawRequest(0x0200, goipp.OpGetPrinterAttributes, 7, rawOpGroup, []byte{byte(goipp.TagKeyword), 0, 1, 'x', 0xff, 0xff, 'y'}), http.StatusOK, goipp.StatusErrorBadRequest, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, rec := newTestServer(t, newFakeService(), Options{})
			hr := httptest.NewRequest(tc.method, "http://gw.example:8631/ipp/print/letters", bytes.NewReader(tc.body))
			hr.Header.Set("Content-Type", tc.contentType)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, hr)
			if w.Code != tc.httpCode {
				t.Fatalf("HTTP %d, want %d: %s", w.Code, tc.httpCode, w.Body.String())
			}
			if got := w.Header().Get("Connection") == "close"; got != tc.closes {
				t.Errorf("Connection: close = %v, want %v", got, tc.closes)
			}
			if n, log := rec.errorCount(); n > 0 {
				t.Errorf("logged errors: %v", log)
			}
			if tc.httpCode != http.StatusOK {
				return
			}
			var rsp goipp.Message
			if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got := goipp.Status(rsp.Code); got != tc.status {
				t.Fatalf("status %s, want %s", got, tc.status)
			}
		})
	}
}

func TestOversizedAttributeSection(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, newFakeService(), Options{MaxAttributeBytes: 4096})
	// A long run of values: well-formed, but more than the server accepts.
	m := newReq(goipp.OpGetPrinterAttributes, lettersURI)
	vals := make([]goipp.Value, 600)
	for i := range vals {
		vals[i] = goipp.String("printer-name")
	}
	addOp(m, "requested-attributes", goipp.TagKeyword, vals[0], vals[1:]...)
	w, rsp := serve(t, s, "/ipp/print/letters", bytes.NewReader(encode(t, m)), nil)
	if rsp == nil {
		t.Fatalf("HTTP %d", w.Code)
	}
	if status(rsp) != goipp.StatusErrorRequestEntity {
		t.Fatalf("status %s, want request-entity-too-large", status(rsp))
	}
	if w.Header().Get("Connection") != "close" {
		t.Error("oversized request must close the connection")
	}
	// The same request under the default limit is fine.
	s2, _ := newTestServer(t, newFakeService(), Options{})
	if rsp := do(t, s2, "/ipp/print/letters", m, nil); status(rsp) != goipp.StatusOk {
		t.Fatalf("status %s under the default limit", status(rsp))
	}
}

func TestURIsFollowHostAndScheme(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, newFakeService(), Options{})
	cases := []struct{ path, host, wantPrinter, wantMore string }{
		{"/ipp/print/letters", "gw.example:8631", "ipp://gw.example:8631/ipp/print/letters", "http://gw.example:8631/ui/printers/letters"},
		{"/ipp/print", "10.0.0.1:8631", "ipp://10.0.0.1:8631/ipp/print", "http://10.0.0.1:8631/ui/printers/letters"},
		{"/printers/letters", "[::1]:631", "ipp://[::1]:631/printers/letters", "http://[::1]:631/ui/printers/letters"},
	}
	for _, tc := range cases {
		m := newReq(goipp.OpGetPrinterAttributes, "http://whatever/ignored")
		hr := httptest.NewRequest(http.MethodPost, "http://x"+tc.path, bytes.NewReader(encode(t, m)))
		hr.Host = tc.host
		hr.Header.Set("Content-Type", goipp.ContentType)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, hr)
		var rsp goipp.Message
		if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
			t.Fatal(err)
		}
		p := Attrs(rsp.Printer)
		if got, _ := p.String("printer-uri-supported"); got != tc.wantPrinter {
			t.Errorf("%s via %s: printer-uri-supported %q, want %q", tc.path, tc.host, got, tc.wantPrinter)
		}
		if got, _ := p.String("printer-more-info"); got != tc.wantMore {
			t.Errorf("%s via %s: printer-more-info %q, want %q", tc.path, tc.host, got, tc.wantMore)
		}
		if icons := p.Strings("printer-icons"); len(icons) != 3 || !strings.HasPrefix(icons[0], "http://"+tc.host+PathIcons) {
			t.Errorf("printer-icons %v", icons)
		}
	}
}

func TestParsePath(t *testing.T) {
	t.Parallel()
	cases := []struct {
		path               string
		name, family, base string
		job                int64
		ok                 bool
	}{
		{"/ipp/print", "", PathPrint, "/ipp/print", 0, true},
		{"/ipp/print/", "", PathPrint, "/ipp/print", 0, true},
		{"/ipp/print/letters", "letters", PathPrint, "/ipp/print/letters", 0, true},
		{"/ipp/print/letters/42", "letters", PathPrint, "/ipp/print/letters", 42, true},
		{"/printers/letters", "letters", PathPrinters, "/printers/letters", 0, true},
		{"/printers/letters/7/", "letters", PathPrinters, "/printers/letters", 7, true},
		{"/printers", "", "", "", 0, false},
		{"/printers/", "", "", "", 0, false},
		{"/ipp/print/letters/x", "", "", "", 0, false},
		{"/ipp/print/letters/0", "", "", "", 0, false},
		{"/ipp/print/letters/1/2", "", "", "", 0, false},
		{"/ipp/printer", "", "", "", 0, false},
		{"/", "", "", "", 0, false},
	}
	for _, tc := range cases {
		name, family, base, j, ok := parsePath(tc.path)
		if name != tc.name || family != tc.family || base != tc.base || j != tc.job || ok != tc.ok {
			t.Errorf("parsePath(%q) = %q %q %q %d %v, want %q %q %q %d %v", tc.path, name, family, base, j, ok,
				tc.name, tc.family, tc.base, tc.job, tc.ok)
		}
	}
}
