// The fuzz target over the front door, seeded with the requests captured from ipptool and
// CUPS in testdata/ipp, and a replay test of those captures.
package ipp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// capturedRequests loads testdata/ipp/*.ipp (see capture_test.go).
func capturedRequests(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "testdata", "ipp", "*.ipp"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = data
	}
	return out
}

// seededService is a fake with jobs for the captured job operations to find.
func seededService() *fakeService {
	svc := newFakeService()
	for id, st := range map[int64]job.State{1: job.StateReceived, 2: job.StatePending, 3: job.StateCompleted, 4: job.StateHeld} {
		svc.jobs[id] = &job.Job{ID: id, VirtualPrinter: "letters", Owner: "root", Name: "seed", State: st,
			Documents: []job.Document{{Size: 10, Format: document.PDF}}}
	}
	svc.jobs[1].Documents = nil
	svc.nextID = 5
	return svc
}

// checkOneRequest runs data through a fresh server and checks the invariants every request
// must keep, whatever its bytes: no panic or unexplained error, an IPP answer that round-trips
// (or HTTP 400 when there is not even a header), no staged document left behind, no job created
// by a request answered with an error, no job without documents other than a Create-Job one
// (waiting, or canceled or aborted before its documents came).
func checkOneRequest(t *testing.T, data []byte, remote string) goipp.Status {
	svc := seededService()
	s, rec := newTestServer(t, svc, Options{MaxAttributeBytes: 64 << 10, MaxDocumentBytes: 1 << 20})
	before := len(svc.jobs)
	hr := httptest.NewRequest(http.MethodPost, "http://gw.example:8631/ipp/print/letters", bytes.NewReader(data))
	hr.RemoteAddr = remote
	hr.Header.Set("Content-Type", goipp.ContentType)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)

	if n, log := rec.errorCount(); n > 0 {
		t.Fatalf("server logged errors:\n%s", strings.Join(log, "\n"))
	}
	if w.Code != http.StatusOK {
		if w.Code != http.StatusBadRequest || len(data) >= 8 {
			t.Fatalf("HTTP %d for %d bytes", w.Code, len(data))
		}
		return 0
	}
	var rsp goipp.Message
	if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatalf("undecodable response: %v", err)
	}
	again, err := rsp.EncodeBytes()
	if err != nil || !bytes.Equal(again, w.Body.Bytes()) {
		t.Fatalf("response does not round-trip: %v", err)
	}
	st := goipp.Status(rsp.Code)
	if n := svc.leaked(); n > 0 {
		t.Fatalf("%d staged documents left behind (status %s)", n, st)
	}
	if st >= 0x0400 && len(svc.jobs) != before {
		t.Fatalf("status %s but a job was created", st)
	}
	for id, j := range svc.jobs {
		if len(j.Documents) == 0 && j.State != job.StateReceived && j.State != job.StateAborted && j.State != job.StateCanceled {
			t.Fatalf("job %d is %s without documents", id, j.State)
		}
	}
	return st
}

func TestCapturedRequestsReplay(t *testing.T) {
	t.Parallel()
	reqs := capturedRequests(t)
	if len(reqs) < 50 {
		t.Fatalf("only %d captured requests in testdata/ipp (regenerate with the capture test)", len(reqs))
	}
	for name, data := range reqs {
		st := checkOneRequest(t, data, "127.0.0.1:40000")
		// Captures of requests meant to fail (ipp-1.1.test's bad versions, ids and orders;
		// operations we do not offer) fail; everything else must succeed against the seed.
		if st >= 0x0500 && st != goipp.StatusErrorVersionNotSupported && st != goipp.StatusErrorOperationNotSupported {
			t.Errorf("%s: server error %s", name, st)
		}
	}
}

func FuzzServer(f *testing.F) {
	for _, data := range capturedRequests(f) {
		f.Add(data)
	}
	// Hand-made seeds for the paths captures do not take.
	f.Add([]byte{})
	f.Add([]byte{2, 0, 0, 2, 0, 0, 0, 1, 3})
	f.Add(rawRequest(0x0200, goipp.OpPrintJob, 1, rawOpGroup, rawCharset, rawLanguage, rawURI,
		rawAttr(goipp.TagKeyword, "compression", "gzip"), rawEnd, []byte("\x1f\x8b\x08\x00garbage")))
	f.Add(rawRequest(0x0200, goipp.OpPrintJob, 1, rawOpGroup, rawCharset, rawLanguage, rawURI,
		tagByte(goipp.TagJobGroup), rawAttr(goipp.TagBeginCollection, "media-col", ""),
		rawAttr(goipp.TagMemberName, "", "media-size"), rawAttr(goipp.TagBeginCollection, "", ""),
		rawAttr(goipp.TagMemberName, "", "x-dimension"), rawAttr(goipp.TagInteger, "", "\x00\x00\x52\x08"),
		rawAttr(goipp.TagEndCollection, "", ""), rawAttr(goipp.TagEndCollection, "", ""), rawEnd, []byte("%PDF-1.4\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOneRequest(t, data, "192.0.2.10:40000")
	})
}
