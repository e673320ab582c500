package ipp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/document"
)

// With RequireTLS (the gateway's tls_required) a request that did not come over TLS is
// answered client-error-forbidden, naming the ipps:// address, and stores nothing; the same
// request over TLS prints.
func TestRequireTLSRefusesPlainRequests(t *testing.T) {
	t.Parallel()
	pdf := testPDF(1)
	tests := []struct {
		name string
		req  func() *goipp.Message
		doc  []byte
	}{
		{"Print-Job", func() *goipp.Message { return printReq(lettersURI, document.PDF) }, pdf},
		{"Get-Printer-Attributes", func() *goipp.Message { return newReq(goipp.OpGetPrinterAttributes, lettersURI) }, nil},
		{"Create-Job", func() *goipp.Message { return newReq(goipp.OpCreateJob, lettersURI) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			s, _ := newTestServer(t, svc, Options{RequireTLS: true})
			w, rsp := serve(t, s, "/ipp/print/letters", bytes.NewReader(append(encode(t, tt.req()), tt.doc...)), nil)
			if rsp == nil {
				t.Fatalf("HTTP %d, want 200 with an IPP status", w.Code)
			}
			msg, _ := Attrs(rsp.Operation).String("status-message")
			if status(rsp) != goipp.StatusErrorForbidden || !strings.Contains(msg, "ipps://gw.example:8631/ipp/print/letters") {
				t.Errorf("plain %s: %s %q, want client-error-forbidden naming the ipps:// address", tt.name, status(rsp), msg)
			}
			if rsp.RequestID != 1 {
				t.Errorf("request-id %d, want the request's 1", rsp.RequestID)
			}
			if w.Header().Get("Connection") != "close" {
				t.Errorf("Connection %q, want close", w.Header().Get("Connection"))
			}
			if len(svc.jobs) != 0 || svc.leaked() != 0 || len(svc.docs) != 0 {
				t.Errorf("a plain request left %d jobs, %d documents", len(svc.jobs), len(svc.docs))
			}
		})
	}
	t.Run("over TLS", func(t *testing.T) {
		t.Parallel()
		svc := newFakeService()
		s, _ := newTestServer(t, svc, Options{RequireTLS: true})
		// httptest gives an https:// request a TLS connection state, as net/http does.
		hr := httptest.NewRequest(http.MethodPost, "https://gw.example:8631/ipp/print/letters",
			bytes.NewReader(append(encode(t, printReq(lettersURI, document.PDF)), pdf...)))
		hr.Header.Set("Content-Type", goipp.ContentType)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, hr)
		var rsp goipp.Message
		if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
			t.Fatalf("HTTP %d: %v", w.Code, err)
		}
		if status(&rsp) != goipp.StatusOk || len(svc.jobs) != 1 {
			t.Errorf("Print-Job over TLS: %s, %d jobs; want it stored", status(&rsp), len(svc.jobs))
		}
	})
}
