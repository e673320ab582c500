//go:build e2e

// Issue 3, acceptance 2: CUPS as the macOS/Linux client. A private cupsd adds the virtual
// printer the way "Add Printer" does (lpadmin -m everywhere: a PPD generated from the
// gateway's own IPP attributes), lp prints a PDF through it, and lpstat shows the job completed
// only once the gateway's (simulated, slow) printer finished it.
package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// cupsPPM is the gateway printers' simulated speed: a 2-page letter prints for 10 s, long
// enough to look at lpstat while it prints, and to see CUPS' ipp backend poll (its intervals
// grow 1, 1, 2, 3, 5, 8 s).
const cupsPPM = 12

// requestID matches lp's "request id is gw-1 (1 file(s))".
var requestID = regexp.MustCompile(`request id is (gw-\d+)`)

func TestIPPCupsLpadminEverywhereLpLpstat(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{Config: ippFileConfig(cupsPPM)})
	cups := peer.StartCupsd(t)
	uri := ippURI(g, "letters")

	// "Add Printer": cupsd asks the gateway for its attributes and writes a PPD from them.
	cups.MustRun(t, "lpadmin", "-p", "gw", "-E", "-v", uri, "-m", "everywhere")
	if out := cups.MustRun(t, "lpstat", "-v", "gw"); !strings.Contains(out, uri) {
		t.Fatalf("lpstat -v gw: %q, want the device %s", out, uri)
	}

	letter := repoFile(t, "testdata/letter-2p.pdf")
	before := time.Now()
	out := cups.MustRun(t, "lp", "-d", "gw", "-t", "cups letter", letter)
	m := requestID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lp printed %q, want a request id", out)
	}
	cupsJob := m[1]

	// The gateway gets the job from CUPS' ipp backend and prints it for about 10 s. While it
	// is printing there, CUPS must not call it completed.
	var gw *job.Job
	deadline := time.Now().Add(60 * time.Second)
	for gw == nil || gw.State != job.StatePrinting {
		if time.Now().After(deadline) {
			t.Fatalf("no gateway job printing 60 s after lp (last: %+v)\ncupsd error_log:\n%s", gw, tail(cups.ErrorLog(), 3000))
		}
		time.Sleep(100 * time.Millisecond)
		jobs, err := g.allJobs()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 1 {
			t.Fatalf("gateway has %d jobs, want the one lp sent", len(jobs))
		}
		if len(jobs) == 1 {
			gw = jobs[0]
		}
	}
	if gw.Origin != "ipp" || gw.Name != "cups letter" {
		t.Errorf("gateway job %d: origin %q, name %q; want ipp, %q", gw.ID, gw.Origin, gw.Name, "cups letter")
	}
	if st := lpstatJobs(t, cups, "not-completed"); !st[cupsJob] {
		t.Errorf("lpstat -W not-completed does not list %s while the gateway prints it", cupsJob)
	}

	// Then the printer finishes, and only then CUPS reports completion. Each round asks CUPS
	// first and the gateway second, so "CUPS says completed" while the gateway (asked later)
	// says otherwise is a real contradiction, not a race of the test.
	checks := 0
	deadline = time.Now().Add(120 * time.Second)
	var done *job.Job
	for {
		cupsDone := lpstatJobs(t, cups, "completed")[cupsJob]
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		j, err := g.API.Job(ctx, gw.ID)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if cupsDone && j.State != job.StateCompleted {
			t.Fatalf("lpstat -W completed lists %s while the gateway's job %d is %s", cupsJob, j.ID, j.State)
		}
		if j.State.Final() && j.State != job.StateCompleted {
			t.Fatalf("gateway job %d ended %s (%s)", j.ID, j.State, j.StateReason)
		}
		if cupsDone {
			done = j
			break
		}
		if j.State == job.StatePrinting {
			checks++
		}
		if time.Now().After(deadline) {
			t.Fatalf("lpstat -W completed does not list %s after 120 s; gateway job %d is %s\ncupsd error_log:\n%s",
				cupsJob, j.ID, j.State, tail(cups.ErrorLog(), 3000))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if checks < 5 {
		t.Errorf("CUPS was asked only %d times while the gateway printed; the test saw too little of the printing", checks)
	}
	if printing := done.Finished.Sub(done.Started); printing < 5*time.Second {
		t.Errorf("gateway job %d printed in %v; a 2-page letter at %d ppm takes 10 s", done.ID, printing, cupsPPM)
	}
	t.Logf("lp at %v; gateway job %d printing from +%v to +%v; lpstat completed by +%v", before.Format(time.TimeOnly),
		done.ID, done.Started.Sub(before).Round(time.Millisecond), done.Finished.Sub(before).Round(time.Millisecond),
		time.Since(before).Round(time.Millisecond))

	// The file printer received a valid PDF with the letter's pages. CUPS' pdftopdf rewrites
	// the file, so the bytes differ; the page count may not.
	files := outputs(t, outDirs(g)...)[done.ID]
	if len(files) != 1 || !strings.HasSuffix(files[0], ".pdf") {
		t.Fatalf("gateway job %d (format %q): printer output %v, want one .pdf", done.ID, done.Attributes.DocumentFormat, files)
	}
	if got, want := pdfPages(t, files[0]), pdfPages(t, letter); got != want {
		t.Errorf("%s has %d pages, the letter %d", files[0], got, want)
	}
	if done.Pages != 2 || done.PagesEstimated {
		t.Errorf("gateway counted %d pages (estimated %v), want 2", done.Pages, done.PagesEstimated)
	}
}

// lpstatJobs returns the request ids lpstat -W which lists for queue gw.
func lpstatJobs(t *testing.T, c *peer.Cupsd, which string) map[string]bool {
	t.Helper()
	out := c.MustRun(t, "lpstat", "-W", which, "-o", "gw")
	ids := map[string]bool{}
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "gw-") {
			ids[f[0]] = true
		}
	}
	return ids
}

// pdfPages is pdfinfo's page count; a file pdfinfo cannot read fails the test.
func pdfPages(t *testing.T, path string) int {
	t.Helper()
	out, err := exec.Command(peer.PdfinfoPath, path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfinfo %s: %v\n%s", path, err, out)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo %s: no page count:\n%s", path, out)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}
