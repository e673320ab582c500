//go:build e2e

// Tests of the real-peer harness itself (e2e/peer): each helper drives the real program and the
// result is checked from the other side. Run: go test -tags e2e ./e2e/ -run Harness -v
package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/e2e/peer"
)

// harnessFixtures makes the ipptool documents once per test that needs them.
func harnessFixtures(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	peer.IPPToolFixtures(t, dir, peer.PWGRasterSupport{Resolutions: []int{300}, Types: []string{"sgray_8"}})
	return dir
}

func harnessSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestHarnessIPPEvePrinterConformsAndPrints(t *testing.T) {
	t.Parallel()
	// 600 ppm advertised speed scaled down 2×: 0.05 s per impression keeps the test quick while
	// still measurable.
	p := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "harness-fast", PPM: 600, TimeScale: 0.5})
	if got, want := p.URI(), "ipp://127.0.0.1:"; !strings.HasPrefix(got, want) {
		t.Fatalf("URI() = %q, want prefix %q", got, want)
	}

	out, err := peer.RunIPPTool(t, t.TempDir(), p.URI(), "get-printer-attributes.test")
	if err != nil {
		t.Fatalf("get-printer-attributes.test failed: %v\n%s", err, out)
	}
	if sum, ok := peer.ParseIPPToolSummary(out); !ok && !strings.Contains(out, "[PASS]") {
		t.Fatalf("no PASS in ipptool output (summary %+v):\n%s", sum, out)
	}

	st, err := p.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.PPM != 600 {
		t.Errorf("pages-per-minute = %d, want the advertised 600", st.PPM)
	}

	dir := harnessFixtures(t)
	doc := filepath.Join(dir, "document-a4.pdf")
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	out, err = peer.RunIPPTool(t, dir, p.URI(), "print-job.test", "-f", doc)
	if err != nil {
		t.Fatalf("print-job.test failed: %v\n%s", err, out)
	}
	jobs := p.WaitPrinted(t, 1, 30*time.Second)
	if len(jobs) != 1 {
		t.Fatalf("printed %d jobs, want 1: %+v", len(jobs), jobs)
	}
	j := jobs[0]
	if j.SHA256 != harnessSHA256(data) || j.Size != int64(len(data)) {
		t.Errorf("printed sha256 %s size %d, want %s size %d", j.SHA256, j.Size, harnessSHA256(data), len(data))
	}
	if j.Printer != "harness-fast" || j.Format != "application/pdf" {
		t.Errorf("printed by %q as %q, want harness-fast as application/pdf", j.Printer, j.Format)
	}
	if j.Pages != 2 || j.PagesEstimated || j.Impressions != 2 || j.ImpressionsDone != 2 {
		t.Errorf("pages %d (estimated %v), impressions %d done %d; want 2 counted pages and 2 impressions",
			j.Pages, j.PagesEstimated, j.Impressions, j.ImpressionsDone)
	}
	// The print command's own clock: at least pages × seconds-per-page, and of that order
	// (generous slack for a loaded machine; no wall-clock assertion on the test side).
	want := time.Duration(float64(j.Impressions) * j.SecondsPerPage * float64(time.Second))
	if j.SecondsPerPage != 0.05 {
		t.Errorf("seconds per page = %v, want 60/600×0.5 = 0.05", j.SecondsPerPage)
	}
	if d := j.Duration(); d < want || d > want+10*time.Second {
		t.Errorf("print took %v by its own log, want about %v (pages/ppm)", d, want)
	}

	// ippeveprinter took in the ATTR: progress lines. It marks the job completed only once the
	// print command has exited, a moment after the command logged it.
	var js peer.JobStatus
	if err := harnessWaitUntil(10*time.Second, func() bool {
		js, err = peer.QueryJob(context.Background(), p.URI(), j.JobID)
		return err == nil && js.State == 9
	}); err != nil || js.ImpressionsCompleted != 2 {
		t.Errorf("job %d: state %d impressions-completed %d (err %v), want completed (9) with 2", j.JobID, js.State, js.ImpressionsCompleted, err)
	}
}

func TestHarnessIPPEveSpeedIsProportionalToPages(t *testing.T) {
	t.Parallel()
	p := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "harness-slow", PPM: 120}) // 0.5 s per page
	// Not a countable PDF: the print command treats it as one estimated page.
	one := []byte("%PDF-1.4\n")
	ctx := context.Background()
	if _, err := peer.PrintJob(ctx, p.URI(), "one-page", "application/pdf", one); err != nil {
		t.Fatal(err)
	}
	jobs := p.WaitPrinted(t, 1, 30*time.Second)
	j := jobs[0]
	if !j.PagesEstimated || j.Pages != 1 || j.JobName != "one-page" || j.User != "peer-harness" {
		t.Errorf("got %+v, want an estimated single page named one-page by peer-harness", j)
	}
	if d := j.Duration(); d < 500*time.Millisecond || d > 10*time.Second {
		t.Errorf("one page at 120 ppm took %v by its own log, want about 0.5 s", d)
	}
	// ippeveprinter calls the job completed only once the print command has exited, a few
	// milliseconds after its record says done: wait until it is idle again, or the next
	// Print-Job is answered busy (seen on a loaded machine).
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := p.Status(ctx)
		if err == nil && st.State == 3 && st.QueuedJobCount == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ippeveprinter not idle 30 s after its first job printed (last: %+v, %v)", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// While a job prints, ippeveprinter refuses the next one: the fact the gateway must cope with.
	if _, err := peer.PrintJob(ctx, p.URI(), "first", "application/pdf", one); err != nil {
		t.Fatal(err)
	}
	_, err := peer.PrintJob(ctx, p.URI(), "second", "application/pdf", one)
	var ipe *peer.IPPStatusError
	if !errors.As(err, &ipe) || ipe.Status != goipp.StatusErrorBusy {
		t.Errorf("second Print-Job while printing: err %v, want server-error-busy", err)
	}
	p.WaitPrinted(t, 2, 30*time.Second)
}

func TestHarnessIPPEveMediaEmpty(t *testing.T) {
	t.Parallel()
	p := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "harness-paper", PPM: 300}) // 0.2 s per page
	ctx := context.Background()

	// Idle printer runs out of paper: visible at once, and it takes nothing new.
	p.SetMediaEmpty(true)
	st, err := p.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.HasReason("media-empty") {
		t.Fatalf("printer-state-reasons %v, want media-empty", st.Reasons)
	}
	_, err = peer.PrintJob(ctx, p.URI(), "refused", "application/pdf", []byte("%PDF-1.4\n"))
	var ipe *peer.IPPStatusError
	if !errors.As(err, &ipe) || ipe.Status != goipp.StatusErrorBusy {
		t.Errorf("Print-Job while out of paper: err %v, want server-error-busy", err)
	}
	p.SetMediaEmpty(false)
	if st, err = p.Status(ctx); err != nil || st.HasReason("media-empty") {
		t.Fatalf("after refill: reasons %v err %v, want no media-empty", st.Reasons, err)
	}
	if jobs := p.Jobs(); len(jobs) != 0 {
		t.Errorf("control job was logged as printed: %+v", jobs)
	}

	// Running out in the middle of a job: it stops between pages and resumes after refill.
	data, err := os.ReadFile(peer.MakePDF(t, filepath.Join(t.TempDir(), "letter.pdf"), "interrupted letter", 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.PrintJob(ctx, p.URI(), "interrupted", "application/pdf", data); err != nil {
		t.Fatal(err)
	}
	p.SetMediaEmpty(true)
	jobs := p.Jobs()
	if len(jobs) != 1 || jobs[0].Completed {
		t.Fatalf("while out of paper: jobs %+v, want one unfinished", jobs)
	}
	time.Sleep(300 * time.Millisecond) // a stop that lasts longer than a page, to see it in the record
	p.SetMediaEmpty(false)
	done := p.WaitPrinted(t, 1, 30*time.Second)
	if done[0].JobName != "interrupted" || done[0].Stopped < 300*time.Millisecond || done[0].ImpressionsDone != 2 {
		t.Errorf("resumed job %+v, want 2 impressions with at least 300ms stopped", done[0])
	}
}

func TestHarnessIPPEveKillAndRestart(t *testing.T) {
	t.Parallel()
	p := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "harness-dies", PPM: 60})
	uri := p.URI()
	p.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := peer.QueryPrinter(ctx, uri); err == nil {
		t.Fatalf("killed printer still answers")
	}
	p.Restart(t)
	if p.URI() != uri {
		t.Errorf("restarted at %s, want the same %s", p.URI(), uri)
	}
	if _, err := p.Status(context.Background()); err != nil {
		t.Fatalf("restarted printer: %v", err)
	}
}

func TestHarnessCupsdFileQueues(t *testing.T) {
	t.Parallel()
	c := peer.StartCupsd(t)
	dir := t.TempDir()
	doc := peer.MakePDF(t, filepath.Join(dir, "a4.pdf"), "file queue letter", 3)
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "rawfile.out")
	c.AddRawFileQueue(t, "rawfile", out)
	if got := c.MustRun(t, "lp", "-d", "rawfile", doc); !strings.Contains(got, "request id is rawfile-") {
		t.Fatalf("lp said %q", got)
	}
	var got []byte
	if err := harnessWaitUntil(30*time.Second, func() bool {
		got, _ = os.ReadFile(out)
		return bytes.Equal(got, data)
	}); err != nil {
		t.Fatalf("file queue output: %d bytes, want %d identical bytes", len(got), len(data))
	}
	if err := harnessWaitUntil(30*time.Second, func() bool {
		s, _ := c.Run(t, "lpstat", "-W", "completed", "-o", "rawfile")
		return strings.Contains(s, "rawfile-")
	}); err != nil {
		t.Errorf("lpstat -W completed never listed the job")
	}

	q := c.AddCaptureQueue(t, "captured")
	text := []byte("Dear Carol,\nplain text goes through unchanged.\n")
	txt := filepath.Join(dir, "note.txt")
	if err := os.WriteFile(txt, text, 0o644); err != nil {
		t.Fatal(err)
	}
	c.MustRun(t, "lp", "-d", "captured", "-t", "first", doc)
	c.MustRun(t, "lp", "-d", "captured", "-t", "second", txt)
	docs := q.WaitDocs(t, 2, 30*time.Second)
	if !bytes.Equal(docs[0].Data, data) || docs[0].Title != "first" || docs[0].User != "root" {
		t.Errorf("first captured doc: title %q user %q %d bytes", docs[0].Title, docs[0].User, len(docs[0].Data))
	}
	if !bytes.Equal(docs[1].Data, text) || docs[1].Title != "second" || docs[1].Format != "text/plain" {
		t.Errorf("second captured doc: title %q format %q %d bytes", docs[1].Title, docs[1].Format, len(docs[1].Data))
	}
}

func TestHarnessCupsLPDFromLPDBackendAndLPRng(t *testing.T) {
	t.Parallel()
	c := peer.StartCupsd(t)
	q := c.AddCaptureQueue(t, "letters")
	port := peer.StartCupsLPD(t, c)
	doc := peer.MakePDF(t, filepath.Join(t.TempDir(), "letter.pdf"), "LPD letter", 2)
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}

	// CUPS' lpd backend, run as cupsd would, into cups-lpd.
	stderr, err := peer.RunLPDBackendOutput(t, "lpd://127.0.0.1:"+strconv.Itoa(port)+"/letters", doc, "alice", "Letter to Bob")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "Data file sent successfully") {
		t.Errorf("lpd backend stderr lacks success line:\n%s", stderr)
	}
	docs := q.WaitDocs(t, 1, 30*time.Second)
	if !bytes.Equal(docs[0].Data, data) || docs[0].User != "alice" || docs[0].Title != "Letter to Bob" {
		t.Errorf("via lpd backend: user %q title %q, %d bytes (identical %v)", docs[0].User, docs[0].Title,
			len(docs[0].Data), bytes.Equal(docs[0].Data, data))
	}
	// An unknown queue is refused, and the backend says so.
	if err := peer.RunLPDBackend(t, "lpd://127.0.0.1:"+strconv.Itoa(port)+"/nosuchqueue", doc, "alice", "x"); err == nil {
		t.Errorf("lpd backend to an unknown queue succeeded")
	}

	// LPRng's lpr into the same queue.
	l := peer.LPRng(t)
	if out, err := l.Lpr(t, "letters", port, "-J", "Letter to Carol", doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	docs = q.WaitDocs(t, 2, 30*time.Second)
	if !bytes.Equal(docs[1].Data, data) || docs[1].Title != "Letter to Carol" {
		t.Errorf("via LPRng lpr: title %q format %q, %d bytes (identical %v)", docs[1].Title, docs[1].Format, len(docs[1].Data), bytes.Equal(docs[1].Data, data))
	}

	// lpq lists a held job and lprm removes it.
	c.MustRun(t, "cupsdisable", "letters")
	if out, err := l.Lpr(t, "letters", port, "-J", "held letter", doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var listing string
	if err := harnessWaitUntil(10*time.Second, func() bool {
		listing, _ = l.Lpq(t, "letters", port)
		return strings.Contains(listing, "held letter")
	}); err != nil {
		t.Fatalf("lpq never listed the held job:\n%s", listing)
	}
	id := regexp.MustCompile(`\[job (\d+)`).FindStringSubmatch(listing)
	if id == nil {
		t.Fatalf("no job id in lpq listing:\n%s", listing)
	}
	if out, err := l.Lprm(t, "letters", port, id[1]); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := harnessWaitUntil(10*time.Second, func() bool {
		listing, _ = l.Lpq(t, "letters", port)
		return !strings.Contains(listing, "held letter")
	}); err != nil {
		t.Fatalf("lprm did not remove job %s:\n%s", id[1], listing)
	}
}

func TestHarnessRawListener(t *testing.T) {
	t.Parallel()
	s := peer.RawListener(t)
	first := []byte("\x1b%-12345X@PJL raw job one\r\n")
	conn, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(first); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// netcat as a real client: -N shuts down the sending side at end of input.
	doc := peer.MakePDF(t, filepath.Join(t.TempDir(), "raw.pdf"), "raw letter", 1)
	data, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(doc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	nc := exec.Command("nc", "-N", "127.0.0.1", strconv.Itoa(s.Port()))
	nc.Stdin = f
	if out, err := nc.CombinedOutput(); err != nil {
		t.Fatalf("nc: %v: %s", err, out)
	}
	jobs := s.WaitJobs(t, 2, 10*time.Second)
	if !bytes.Equal(jobs[0], first) || !bytes.Equal(jobs[1], data) {
		t.Errorf("raw sink jobs of %d and %d bytes, want %d and %d identical", len(jobs[0]), len(jobs[1]), len(first), len(data))
	}

	// CUPS' socket backend through a raw queue.
	c := peer.StartCupsd(t)
	c.AddRawQueue(t, "jetdirect", s.URI())
	c.MustRun(t, "lp", "-d", "jetdirect", doc)
	jobs = s.WaitJobs(t, 3, 30*time.Second)
	if !bytes.Equal(jobs[2], data) {
		t.Errorf("socket backend delivered %d bytes, want %d identical", len(jobs[2]), len(data))
	}
	if errs := s.Errors(); len(errs) > 0 {
		t.Errorf("raw sink errors: %v", errs)
	}
}

func TestHarnessIPPToolFixtures(t *testing.T) {
	t.Parallel()
	dir := harnessFixtures(t) // 300 dpi sgray_8 advertised

	// An independent reading of the test files: every FILE without a variable, through INCLUDEs.
	fileRE := regexp.MustCompile(`(?m)^\s*FILE\s+"?([^"\s$]+)"?\s*$`)
	var named []string
	for _, tf := range []string{"ipp-everywhere.test", "ipp-2.0.test", "ipp-1.1.test"} {
		b, err := os.ReadFile(filepath.Join(peer.IPPToolDir, tf))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fileRE.FindAllStringSubmatch(string(b), -1) {
			named = append(named, m[1])
		}
	}
	pwg := map[string]bool{}
	for _, name := range named {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("ipptool names %s, not created: %v", name, err)
			continue
		}
		if strings.HasPrefix(name, "pwg-raster-samples-") {
			pwg[name] = true
			real := strings.Contains(name, "-300dpi/sgray-8/")
			if real != (fi.Size() > 0) {
				t.Errorf("%s: %d bytes; want a real raster only for the advertised 300 dpi sgray-8", name, fi.Size())
			}
			if real {
				harnessCheckPWGRaster(t, filepath.Join(dir, name), 300, 18, 8)
			}
		} else if fi.Size() == 0 {
			t.Errorf("%s is empty", name)
		}
	}
	if len(pwg) != 144 {
		t.Errorf("%d distinct PWG raster samples named, want 144", len(pwg))
	}

	for name, pages := range map[string]string{"document-a4.pdf": "595 x 842", "document-letter.pdf": "612 x 792"} {
		out, err := exec.Command(peer.PdfinfoPath, filepath.Join(dir, name)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Pages:           2") || !strings.Contains(string(out), pages) {
			t.Errorf("pdfinfo %s: %v\n%s", name, err, out)
		}
	}
	for _, name := range []string{"color.jpg", "gray.jpg"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.HasPrefix(b, []byte{0xff, 0xd8}) {
			t.Errorf("%s is not a JPEG (err %v)", name, err)
		}
	}

	// ipptool itself accepts the set: a run that names every file does not abort on a missing one
	// (Validate-Job only, so nothing prints).
	p := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "harness-fixtures", PPM: 600})
	out, _ := peer.RunIPPTool(t, dir, p.URI(), "validate-job.test", "-f", filepath.Join(dir, "document-a4.pdf"))
	if strings.Contains(out, "cannot be read") || !strings.Contains(out, "[PASS]") {
		t.Errorf("ipptool with the fixtures:\n%s", out)
	}
}

// harnessCheckPWGRaster checks the first page header of a PWG raster file.
func harnessCheckPWGRaster(t *testing.T, path string, dpi, colorSpace, bitsPerColor uint32) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 4+1796 || string(b[:4]) != "RaS2" || string(b[4:13]) != "PwgRaster" {
		t.Errorf("%s: not a PWG raster", path)
		return
	}
	h := b[4:]
	xres, yres := binary.BigEndian.Uint32(h[276:]), binary.BigEndian.Uint32(h[280:])
	bpc, cs := binary.BigEndian.Uint32(h[384:]), binary.BigEndian.Uint32(h[400:])
	if xres != dpi || yres != dpi || bpc != bitsPerColor || cs != colorSpace {
		t.Errorf("%s: %dx%d dpi, %d bits, colour space %d; want %d dpi, %d bits, space %d", path, xres, yres, bpc, cs, dpi, bitsPerColor, colorSpace)
	}
}

func TestHarnessChromium(t *testing.T) {
	t.Parallel()
	path := peer.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := append(peer.ChromiumFlags(), "--user-data-dir="+t.TempDir(), "--dump-dom", "data:text/html,<p id=x>printgate</p>")
	out, err := exec.CommandContext(ctx, path, args...).Output()
	if err != nil || !strings.Contains(string(out), `<p id="x">printgate</p>`) {
		t.Errorf("headless chromium: %v\n%s", err, out)
	}
}

// harnessWaitUntil polls cond every 50ms until it holds or timeout passes.
func harnessWaitUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}
