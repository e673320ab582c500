// Refused uploads through the real HTTP stack over loopback: a body that ends early, a full
// disk, an empty or too large document each get their status and leave nothing in the spool.
package ui

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
	"github.com/printgate/printgate/spool/spooltest"
)

// operatorAuth treats every caller as the operator "tester".
type operatorAuth struct{}

func (operatorAuth) Operator(*http.Request) (string, bool) { return "tester", true }

// uploadServer is the API over a real store on a loopback listener. Its scheduler is not run:
// these tests are about what is stored, not printed.
type uploadServer struct {
	dir   string
	store *spool.Store
	srv   *httptest.Server
	free  atomic.Uint64
	// handled counts requests whose handler has returned.
	mu      sync.Mutex
	handled int
	cond    *sync.Cond
}

func newUploadServer(t *testing.T) *uploadServer {
	t.Helper()
	u := &uploadServer{dir: t.TempDir()}
	u.cond = sync.NewCond(&u.mu)
	u.free.Store(1 << 40)
	store, err := spool.Open(context.Background(), spool.Options{Dir: u.dir, Logger: uploadLog, MinFreeBytes: 64 << 20,
		MaxDocumentBytes: 64 << 10, FreeSpace: func(string) (uint64, error) { return u.free.Load(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	u.store = store
	p, err := printers.NewFile("p1", filepath.Join(u.dir, "out"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := queue.New(queue.Options{Store: store, Logger: uploadLog,
		Printers: []queue.PrinterSpec{{Name: "p1", URI: "file://" + p.Dir(), Printer: p}},
		Virtual:  []queue.VirtualSpec{{Name: "letters", Pool: []string{"p1"}, Default: true}}})
	if err != nil {
		t.Fatal(err)
	}
	router := mux.NewRouter()
	NewAPI(sched, operatorAuth{}, uploadLog).Register(router)
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			u.mu.Lock()
			u.handled++
			u.cond.Broadcast()
			u.mu.Unlock()
		}()
		router.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		u.srv.Close()
		store.Close()
	})
	return u
}

// waitHandled waits (bounded) until n requests have been fully handled.
func (u *uploadServer) waitHandled(t *testing.T, n int) {
	t.Helper()
	timer := time.AfterFunc(10*time.Second, func() {
		u.mu.Lock()
		u.cond.Broadcast()
		u.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(10 * time.Second)
	u.mu.Lock()
	defer u.mu.Unlock()
	for u.handled < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests handled, want %d", u.handled, n)
		}
		u.cond.Wait()
	}
}

// submit posts body as a job and returns the status and the decoded answer.
func (u *uploadServer) submit(t *testing.T, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(u.srv.URL+"/api/v1/jobs?name=letter", "application/pdf", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return resp.StatusCode, out
}

// checkNothingStored: the spool holds the earlier job's document and nothing else (no file in
// tmp/ or docs/, no row inside spool.db), and the earlier job is intact, bytes included.
func (u *uploadServer) checkNothingStored(t *testing.T, earlier int64, earlierDoc []byte) {
	t.Helper()
	ej, err := u.store.Job(context.Background(), earlier)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := u.store.DocumentBytes(context.Background(), ej.Documents[0]); err != nil || !bytes.Equal(b, earlierDoc) {
		t.Errorf("earlier job's document: %d bytes read back (%v), want the %d uploaded", len(b), err, len(earlierDoc))
	}
	if n := spooltest.Documents(t, u.dir); n != 1 {
		t.Errorf("the spool holds %d documents, want only the earlier job's", n)
	}
	if n, _ := u.store.CountJobs(context.Background(), job.JobFilter{}); n != 1 {
		t.Errorf("%d jobs stored, want only the earlier one", n)
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/jobs/%d", u.srv.URL, earlier))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var j job.Job
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("earlier job: status %d, %v", resp.StatusCode, err)
	}
	if j.State != job.StatePending || j.SHA256() != sha(earlierDoc) {
		t.Errorf("earlier job harmed: %+v", j)
	}
}

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// uploadLog drops the gateway's log lines.
var uploadLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func readLetter(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "letter-2p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUploadTruncatedOverHTTP: the client announces more bytes than it sends and half-closes
// the connection; the gateway answers 400 "truncated" and stores nothing.
func TestUploadTruncatedOverHTTP(t *testing.T) {
	t.Parallel()
	u := newUploadServer(t)
	doc := readLetter(t)
	status, out := u.submit(t, doc)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d %v", status, out)
	}
	earlier := int64(out["id"].(float64))

	conn, err := net.Dial("tcp", u.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/jobs?name=cut HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/pdf\r\n"+
		"Content-Length: %d\r\n\r\n", len(doc)+5000)
	if _, err := conn.Write(doc); err != nil {
		t.Fatal(err)
	}
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the truncated upload: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"truncated"`) {
		t.Fatalf("truncated upload: %d %s, want 400 truncated", resp.StatusCode, body)
	}
	u.waitHandled(t, 2)
	u.checkNothingStored(t, earlier, doc)
}

// errAfter is a request body that fails after n bytes: the Go client aborts the request.
type errAfter struct {
	r io.Reader
	n int
}

func (e *errAfter) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, errors.New("client crashed")
	}
	k, err := e.r.Read(p[:min(len(p), e.n)])
	e.n -= k
	return k, err
}

// TestUploadAbortedByClient: a net/http client whose body fails mid-way (chunked, so the server
// cannot know the length) drops the connection; the gateway stores nothing.
func TestUploadAbortedByClient(t *testing.T) {
	t.Parallel()
	u := newUploadServer(t)
	doc := readLetter(t)
	status, out := u.submit(t, doc)
	if status != http.StatusCreated {
		t.Fatalf("first upload: %d %v", status, out)
	}
	earlier := int64(out["id"].(float64))
	big := bytes.Repeat(doc, 8)
	req, err := http.NewRequest(http.MethodPost, u.srv.URL+"/api/v1/jobs?name=aborted", &errAfter{r: bytes.NewReader(big), n: len(big) / 2})
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/pdf")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("aborted upload answered %d", resp.StatusCode)
	}
	u.waitHandled(t, 2)
	u.checkNothingStored(t, earlier, doc)
}

// TestUploadRefusals: disk below the minimum is 507, an empty body 400, an oversized one 413;
// each stores nothing, and once space is back uploads work again.
func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	doc := readLetter(t)
	tests := []struct {
		name   string
		free   uint64
		body   []byte
		status int
		code   string
	}{
		{"disk below the minimum", 64<<20 - 1, doc, http.StatusInsufficientStorage, "disk-full"},
		{"empty document", 1 << 40, nil, http.StatusBadRequest, "empty-document"},
		{"too large", 1 << 40, bytes.Repeat([]byte("x"), 64<<10+1), http.StatusRequestEntityTooLarge, "too-large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUploadServer(t)
			status, out := u.submit(t, doc)
			if status != http.StatusCreated {
				t.Fatalf("first upload: %d %v", status, out)
			}
			earlier := int64(out["id"].(float64))
			u.free.Store(tt.free)
			status, out = u.submit(t, tt.body)
			if status != tt.status || out["code"] != tt.code {
				t.Fatalf("status %d %v, want %d %s", status, out, tt.status, tt.code)
			}
			if msg, _ := out["error"].(string); msg == "" {
				t.Errorf("no error message in %v", out)
			}
			u.waitHandled(t, 2)
			u.checkNothingStored(t, earlier, doc)
			u.free.Store(1 << 40)
			if status, out := u.submit(t, doc); status != http.StatusCreated {
				t.Fatalf("upload after the refusal: %d %v", status, out)
			}
		})
	}
}

// TestUploadFormatFromContentType: a Content-Type naming the document's format is stored as
// it is; one that says nothing about it (none, octet-stream, or the form type curl
// --data-binary sends by default) is replaced by the format sniffed from the first bytes.
func TestUploadFormatFromContentType(t *testing.T) {
	t.Parallel()
	pdf := readLetter(t)
	ps := []byte("%!PS-Adobe-3.0\nshowpage\n")
	tests := []struct {
		name, contentType string
		body              []byte
		want              string
	}{
		{"pdf as pdf", "application/pdf", pdf, "application/pdf"},
		{"named format kept", "application/postscript", ps, "application/postscript"},
		{"no type", "", pdf, "application/pdf"},
		{"octet-stream", "application/octet-stream", pdf, "application/pdf"},
		{"curl --data-binary", "application/x-www-form-urlencoded", pdf, "application/pdf"},
		{"form type with parameters", "Application/X-WWW-Form-URLEncoded; charset=utf-8", ps, "application/postscript"},
		{"form type, unknown bytes", "application/x-www-form-urlencoded", []byte("hello"), "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := newUploadServer(t)
			req, err := http.NewRequest(http.MethodPost, u.srv.URL+"/api/v1/jobs?name=letter", bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Del("Content-Type")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var j job.Job
			if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || resp.StatusCode != http.StatusCreated {
				t.Fatalf("status %d, %v", resp.StatusCode, err)
			}
			if len(j.Documents) != 1 || j.Documents[0].Format != tt.want || j.Attributes.DocumentFormat != tt.want {
				t.Errorf("stored as %+v, attributes %+v; want %s", j.Documents, j.Attributes, tt.want)
			}
			// What is stored is the whole body, sniffed bytes included.
			if j.SHA256() != sha(tt.body) {
				t.Errorf("stored document differs from the body sent")
			}
		})
	}
}
