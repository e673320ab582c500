// Test helpers: a server on a loopback listener, request builders, and small real documents.
package ipp

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"
)

// mountServer routes the paths the gateway mounts, as the lead's router will.
func mountServer(s *Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(PathPrint, s)
	mux.Handle(PathPrint+"/", s)
	mux.Handle(PathPrinters+"/", s)
	mux.Handle(PathIcons, s.Icons())
	return mux
}

// logRecorder is a slog handler that keeps records, so tests can assert nothing was logged
// at error level (a recovered panic or an unmapped service error).
type logRecorder struct {
	mu      sync.Mutex
	records []string
	errors  int
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.records = append(l.records, b.String())
	if r.Level >= slog.LevelError {
		l.errors++
	}
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// errorCount returns how many error records were logged, and the log.
func (l *logRecorder) errorCount() (int, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.errors, append([]string(nil), l.records...)
}

// newTestServer builds a Server over svc with test defaults; opts.Service is overwritten.
func newTestServer(t testing.TB, svc Service, opts Options) (*Server, *logRecorder) {
	t.Helper()
	rec := &logRecorder{}
	opts.Service = svc
	if opts.Logger == nil {
		opts.Logger = slog.New(rec)
	}
	s, err := NewServer(opts)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	return s, rec
}

// startServer serves s on a loopback listener until the test ends.
func startServer(t testing.TB, s *Server) *httptest.Server {
	t.Helper()
	hs := httptest.NewServer(mountServer(s))
	t.Cleanup(hs.Close)
	return hs
}

// newReq builds a request with charset, natural-language and printer-uri, in that order.
func newReq(op goipp.Op, uri string) *goipp.Message {
	m := goipp.NewRequest(goipp.DefaultVersion, op, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	if uri != "" {
		m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	}
	return m
}

// addOp appends an operation attribute.
func addOp(m *goipp.Message, name string, tag goipp.Tag, v goipp.Value, more ...goipp.Value) *goipp.Message {
	m.Operation.Add(goipp.MakeAttr(name, tag, v, more...))
	return m
}

// encode encodes m, failing the test on error.
func encode(t testing.TB, m *goipp.Message) []byte {
	t.Helper()
	b, err := m.EncodeBytes()
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	return b
}

// serve runs one request through s in-process and decodes the IPP answer.
func serve(t testing.TB, s *Server, path string, body io.Reader, hdr map[string]string) (*httptest.ResponseRecorder, *goipp.Message) {
	t.Helper()
	hr := httptest.NewRequest(http.MethodPost, "http://gw.example:8631"+path, body)
	hr.Header.Set("Content-Type", goipp.ContentType)
	for k, v := range hdr {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	if w.Code != http.StatusOK {
		return w, nil
	}
	var m goipp.Message
	if err := m.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	// Every response the tests see also round-trips: decoding and re-encoding it gives the
	// same bytes (STYLE.md: goipp v1.2.0 could emit undecodable messages).
	again, err := m.EncodeBytes()
	if err != nil {
		t.Fatalf("re-encode response: %v", err)
	}
	if !bytes.Equal(again, w.Body.Bytes()) {
		t.Fatalf("response does not round-trip:\n sent %x\n again %x", w.Body.Bytes(), again)
	}
	return w, &m
}

// do sends m (plus doc) to path and returns the decoded response, failing on HTTP errors.
func do(t testing.TB, s *Server, path string, m *goipp.Message, doc []byte) *goipp.Message {
	t.Helper()
	w, rsp := serve(t, s, path, bytes.NewReader(append(encode(t, m), doc...)), nil)
	if rsp == nil {
		t.Fatalf("HTTP %d: %s", w.Code, w.Body.String())
	}
	return rsp
}

// status returns a response's status.
func status(m *goipp.Message) goipp.Status { return goipp.Status(m.Code) }

// testPDF is a small valid PDF with pages pages of A4.
func testPDF(pages int) []byte {
	var b bytes.Buffer
	var offsets []int
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.4\n")
	kids := make([]string, pages)
	for i := range pages {
		kids[i] = fmt.Sprintf("%d 0 R", 3+i)
	}
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), pages))
	for range pages {
		obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// testJPEG is a small JPEG, grey or colour.
func testJPEG(gray bool) []byte {
	var img image.Image
	if gray {
		g := image.NewGray(image.Rect(0, 0, 64, 48))
		for i := range g.Pix {
			g.Pix[i] = uint8(i)
		}
		img = g
	} else {
		c := image.NewRGBA(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				c.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 128, 255})
			}
		}
		img = c
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// newHTTPRequest is a POST as httptest makes them (remote 192.0.2.1, Host gw.example:8631).
func newHTTPRequest(t testing.TB) *http.Request {
	t.Helper()
	return httptest.NewRequest(http.MethodPost, "http://gw.example:8631/ipp/print/letters", nil)
}

// nopBody wraps bytes as a request body.
func nopBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// newRecorder is httptest.NewRecorder, named for symmetry with newHTTPRequest.
func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
