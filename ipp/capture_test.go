//go:build peers && capture

// Captures real client requests into testdata/ipp/ (the fuzz seed corpus and fixtures):
// ipptool running stock test files, and CUPS' own ipp backend printing a PDF, each against the
// front door over the fake Service. Run with
//
//	go test -tags 'peers capture' -run TestCapture ./ipp/
//
// It rewrites testdata/ipp/*.ipp; commit the result.
package ipp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
)

// captureDir is testdata/ipp at the module root.
const captureDir = "../testdata/ipp"

// recorder tees every request body to a file named after its source and operation,
// skipping exact duplicates.
type recorder struct {
	next   http.Handler
	mu     sync.Mutex
	source string
	seq    int
	seen   map[[32]byte]bool
	files  []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rc.mu.Lock()
	sum := sha256.Sum256(body)
	if !rc.seen[sum] && len(body) >= 8 {
		rc.seen[sum] = true
		rc.seq++
		op := goipp.Op(uint16(body[2])<<8 | uint16(body[3]))
		name := fmt.Sprintf("%s-%03d-%s.ipp", rc.source, rc.seq, op)
		if err := os.WriteFile(filepath.Join(captureDir, name), body, 0o644); err == nil {
			rc.files = append(rc.files, name)
		}
	}
	rc.mu.Unlock()
	rc.next.ServeHTTP(w, r)
}

func (rc *recorder) setSource(s string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.source, rc.seq = s, 0
}

func TestCapture(t *testing.T) {
	ipptool := needTool(t, "ipptool")
	old, _ := filepath.Glob(filepath.Join(captureDir, "*.ipp"))
	for _, f := range old {
		os.Remove(f)
	}
	if err := os.MkdirAll(captureDir, 0o755); err != nil {
		t.Fatal(err)
	}
	svc := newFakeService()
	svc.completeAfter = 200 * time.Millisecond
	s, _ := newTestServer(t, svc, Options{})
	rc := &recorder{next: mountServer(s), seen: map[[32]byte]bool{}}
	hs := startTestHTTP(t, rc)
	uri := "ipp" + strings.TrimPrefix(hs, "http") + "/ipp/print/letters"
	dir := t.TempDir()
	writeIPPToolFiles(t, dir)

	runs := []struct {
		source string
		args   []string
	}{
		{"ipptool-everywhere", []string{"-tI", "-f", "document-a4.pdf", uri, "ipp-everywhere.test"}},
		{"ipptool-1.1-v11", []string{"-tI", "-V", "1.1", "-f", "document-a4.pdf", uri, "ipp-1.1.test"}},
		{"ipptool-gzip", []string{"-tI", "-f", "document-a4.pdf", uri, "print-job-gzip.test"}},
		{"ipptool-deflate", []string{"-tI", "-f", "document-a4.pdf", uri, "print-job-deflate.test"}},
		{"ipptool-media-col", []string{"-tI", "-f", "document-a4.pdf", uri, "print-job-media-col.test"}},
		{"ipptool-hold", []string{"-tI", "-f", "document-a4.pdf", uri, "print-job-hold.test"}},
		{"ipptool-create-job", []string{"-tI", "-f", "document-a4.pdf", uri, "create-job.test"}},
		{"ipptool-get-jobs", []string{"-tI", uri, "get-jobs.test"}},
		{"ipptool-identify", []string{"-tI", uri, "identify-printer.test"}},
		{"ipptool-validate", []string{"-tI", "-f", "document-a4.pdf", uri, "validate-job.test"}},
		{"ipptool-set-attrs-hold", []string{"-tI", "-f", "document-a4.pdf", uri, "set-attrs-hold.test"}},
	}
	for _, run := range runs {
		rc.setSource(run.source)
		args := append([]string(nil), run.args...)
		args[len(args)-1] = filepath.Join(ipptoolDir, args[len(args)-1])
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, ipptool, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("%s: exit %v, %d bytes of output", run.source, err, len(out))
	}

	// CUPS' ipp backend, run the way cupsd runs it: argv job-id user title copies options
	// file, the printer in DEVICE_URI.
	backend := "/usr/lib/cups/backend/ipp"
	if _, err := os.Stat(backend); err != nil {
		t.Fatalf("%s missing (install cups): %v", backend, err)
	}
	for i, opts := range []string{"", "sides=two-sided-long-edge media=iso_a4_210x297mm", "print-color-mode=monochrome copies=2"} {
		rc.setSource(fmt.Sprintf("cups-backend-%d", i+1))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, backend, "42", "alice", "Letter to a patient", "1", opts, filepath.Join(dir, "document-a4.pdf"))
		cmd.Env = append(os.Environ(), "DEVICE_URI="+uri, "PRINTER=letters", "CONTENT_TYPE=application/pdf",
			"FINAL_CONTENT_TYPE=application/pdf", "TMPDIR="+dir)
		out, err := cmd.CombinedOutput()
		cancel()
		t.Logf("cups backend %q: exit %v\n%s", opts, err, lastLines(string(out), 5))
	}
	t.Logf("captured %d requests into %s", len(rc.files), captureDir)
	if len(rc.files) < 50 {
		t.Errorf("only %d requests captured", len(rc.files))
	}
}

// startTestHTTP serves h on loopback and returns its URL.
func startTestHTTP(t *testing.T, h http.Handler) string {
	t.Helper()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	return hs.URL
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
