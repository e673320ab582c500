// Tests on a real loopback listener: chunked bodies, Expect: 100-continue, draining leftover
// document bytes so the connection stays usable, and the icons.
package ipp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/document"
)

// rawConn dials hs and returns the connection with a deadline so a hung server fails the test.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

// readIPP reads one HTTP response from br and decodes its IPP body.
func readIPP(t *testing.T, br *bufio.Reader) (*http.Response, *goipp.Message) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m goipp.Message
	if err := m.DecodeBytes(body); err != nil {
		t.Fatalf("HTTP %s, decode: %v", resp.Status, err)
	}
	return resp, &m
}

func TestChunkedBodyWithExpectContinue(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	hs := startServer(t, s)
	addr := strings.TrimPrefix(hs.URL, "http://")
	c, br := rawConn(t, addr)

	pdf := testPDF(2)
	body := append(encode(t, printReq(lettersURI, document.PDF)), pdf...)
	fmt.Fprintf(c, "POST /ipp/print/letters HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ipp\r\n"+
		"Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n", addr)
	// The server must say 100 Continue before we send a byte of the body.
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("want 100 Continue first, got %q %v", line, err)
	}
	if blank, _ := br.ReadString('\n'); blank != "\r\n" {
		t.Fatalf("after 100 Continue: %q", blank)
	}
	for len(body) > 0 {
		n := min(len(body), 97) // odd chunk sizes split attributes and document anywhere
		fmt.Fprintf(c, "%x\r\n%s\r\n", n, body[:n])
		body = body[n:]
	}
	fmt.Fprint(c, "0\r\n\r\n")
	resp, rsp := readIPP(t, br)
	if resp.StatusCode != http.StatusOK || status(rsp) != goipp.StatusOk {
		t.Fatalf("HTTP %d, IPP %s", resp.StatusCode, status(rsp))
	}
	if got := svc.document(jobID(t, rsp), 0); !bytes.Equal(got, pdf) {
		t.Error("chunked document stored wrong")
	}
}

func TestLeftoverBytesDrainedConnectionReused(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	hs := startServer(t, s)
	addr := strings.TrimPrefix(hs.URL, "http://")
	c, br := rawConn(t, addr)

	// Validate-Job with a document attached (some clients do), then a refused Print-Job with a
	// document: both leave bytes the operation never reads. Each answer must come, and the
	// connection must still serve the next request.
	validate := printReq(lettersURI, document.PDF)
	validate.Code = goipp.Code(goipp.OpValidateJob)
	refused := printReq(lettersURI, "application/x-unknown")
	big := bytes.Repeat([]byte("%PDF-1.4 filler "), 1<<14) // 256 KiB, more than any buffer
	requests := []struct {
		m      *goipp.Message
		doc    []byte
		status goipp.Status
	}{
		{validate, big, goipp.StatusOk},
		{refused, big, goipp.StatusErrorDocumentFormatNotSupported},
		{newReq(goipp.OpGetPrinterAttributes, lettersURI), nil, goipp.StatusOk},
	}
	for i, r := range requests {
		body := append(encode(t, r.m), r.doc...)
		fmt.Fprintf(c, "POST /ipp/print/letters HTTP/1.1\r\nHost: %s\r\nContent-Type: application/ipp\r\nContent-Length: %d\r\n\r\n", addr, len(body))
		if _, err := c.Write(body); err != nil {
			t.Fatalf("request %d: write: %v", i, err)
		}
		resp, rsp := readIPP(t, br)
		if status(rsp) != r.status {
			t.Fatalf("request %d: status %s, want %s", i, status(rsp), r.status)
		}
		if resp.Close {
			t.Fatalf("request %d: server closed a connection it could keep", i)
		}
	}
	if len(svc.jobs) != 0 {
		t.Error("jobs stored")
	}
}

func TestIcons(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, newFakeService(), Options{})
	hs := startServer(t, s)
	a := func() Attrs {
		rsp := do(t, s, "/ipp/print/letters", newReq(goipp.OpGetPrinterAttributes, lettersURI), nil)
		return Attrs(rsp.Printer)
	}()
	for _, u := range a.Strings("printer-icons") {
		path := strings.TrimPrefix(u, "http://gw.example:8631")
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(data, []byte("\x89PNG")) {
			t.Errorf("%s: HTTP %d %s %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Type"), len(data))
		}
	}
	for _, path := range []string{PathIcons + "nosuch.png", PathIcons + "../icons.go"} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: HTTP %d", path, resp.StatusCode)
		}
	}
}
