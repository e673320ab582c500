//go:build e2e

// Issue 3, acceptance 1: CUPS' ipptool runs the stock ipp-1.1, ipp-2.0 and ipp-everywhere test
// files against a real `printgate serve` whose virtual printer pools file printers, with no
// FAIL. The three files run in parallel against three gateways (the "until job complete" tests
// poll every 5 s, so together they take about as long as the slowest one alone).
package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// ippRaster is what a pool of file printers advertises for PWG raster (ipp.Capabilities'
// defaults: 300 dpi, sgray_8 and srgb_8 with colour). Few on purpose: ipp-everywhere.test
// prints one job per advertised resolution, type and sample document.
var ippRaster = peer.PWGRasterSupport{Resolutions: []int{300}, Types: []string{"sgray_8", "srgb_8"}}

// ippFileConfig renders a gateway with virtual printer "letters" over two file printers at the
// given speed (0: no simulated engine, a job is done when its file is written), loopback
// callers as operators.
func ippFileConfig(ppm int) func(listen, spool string) string {
	return func(listen, spoolDir string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %q\nspool: %q\nprobe_interval: 1s\nauth:\n  trust_loopback: true\nprinters:\n", listen, spoolDir)
		for _, name := range []string{"file-a", "file-b"} {
			fmt.Fprintf(&b, "  - name: %s\n    uri: %q\n", name, "file://"+filepath.Join(spoolDir, "..", "out", name))
			if ppm > 0 {
				fmt.Fprintf(&b, "    ppm: %d\n", ppm)
			}
		}
		b.WriteString("virtual_printers:\n  - name: letters\n    pool: [file-a, file-b]\n    info: Letters\n    location: Mail room\n")
		return b.String()
	}
}

// ippURI is the IPP URI of virtual printer name on gateway g.
func ippURI(g *gateway, name string) string {
	return "ipp://" + strings.TrimPrefix(g.Base, "http://") + "/ipp/print/" + name
}

// outDirs are the file printers' output directories of an ippFileConfig gateway.
func outDirs(g *gateway) []string {
	return []string{filepath.Join(g.Spool, "..", "out", "file-a"), filepath.Join(g.Spool, "..", "out", "file-b")}
}

// resultLine matches ipptool -t's verdict lines of one kind, e.g. "    Print-Job ...   [SKIP]".
func resultLine(verdict string) *regexp.Regexp {
	return regexp.MustCompile(`(?m)^\s*(.*?)\s+\[` + verdict + `\]\s*$`)
}

// ipptoolLastTest names the last test of each file (CUPS 2.4.2): a run that stops early
// without a FAIL (ipptool gives up on an unreadable FILE with status 0 under -I) is caught.
var ipptoolLastTest = map[string]string{
	"ipp-1.1.test":        "Release-Job",
	"ipp-2.0.test":        "PWG 5100.12 section 6.2 - Required Printer Description Attributes",
	"ipp-everywhere.test": "Print onepage-letter @ 720dpi, srgb-8, gzip",
}

func TestIPPToolConformance(t *testing.T) {
	t.Parallel()
	fixtures := t.TempDir()
	peer.IPPToolFixtures(t, fixtures, ippRaster)
	letter := repoFile(t, "testdata/letter-2p.pdf")
	for _, file := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			g := startGateway(t, gatewayOptions{Config: ippFileConfig(0)})
			start := time.Now()
			out, runErr := peer.RunIPPTool(t, fixtures, ippURI(g, "letters"), file, "-f", letter)
			// ipptool 2.4.2 prints no Summary line for ipp-2.0.test (one test of its own after
			// the INCLUDE), so the verdicts are counted from the result lines.
			fails := peer.IPPToolFailures(out)
			passed := resultLine("PASS").FindAllStringSubmatch(out, -1)
			var skips []string
			for _, m := range resultLine("SKIP").FindAllStringSubmatch(out, -1) {
				skips = append(skips, m[1])
			}
			if len(fails) > 0 || runErr != nil || len(passed) == 0 || !strings.Contains(out, ipptoolLastTest[file]+" ") {
				t.Fatalf("ipptool %s: %d FAIL %q, %d PASS, exit %v, last test %q reached: %v\n%s", file, len(fails), fails,
					len(passed), runErr, ipptoolLastTest[file], strings.Contains(out, ipptoolLastTest[file]), out)
			}
			t.Logf("ipptool %s in %v: %d passed, 0 failed, %d skipped: %q", file, time.Since(start).Round(time.Second),
				len(passed), len(skips), skips)

			// What ipptool printed really went through the spool to a printer: nothing is left
			// half-made (received) or held, and each completed job left its document, byte for
			// byte, in a file printer's directory. Jobs may still be queued when ipptool
			// stops (its last tests do not wait for completion); its own "until job complete"
			// tests saw theirs complete.
			jobs, err := g.allJobs()
			if err != nil {
				t.Fatal(err)
			}
			printed := outputs(t, outDirs(g)...)
			completed, queued := 0, 0
			for _, j := range jobs {
				switch j.State {
				case job.StateReceived, job.StateHeld:
					t.Errorf("job %d (%s) is %s after ipptool finished", j.ID, j.Name, j.State)
				case job.StatePending, job.StateAssigned, job.StateSending, job.StatePrinting:
					queued++
				case job.StateCompleted:
					completed++
					files := printed[j.ID]
					if len(files) != 1 {
						t.Errorf("completed job %d (%s): output files %v, want 1", j.ID, j.Name, files)
						continue
					}
					if got := fileSHA256(t, files[0]); got != j.SHA256() {
						t.Errorf("job %d: %s has sha256 %s, the spool recorded %s", j.ID, files[0], got, j.SHA256())
					}
				}
			}
			t.Logf("gateway: %d jobs, %d completed, %d still queued", len(jobs), completed, queued)
			if completed == 0 {
				t.Errorf("ipptool %s: no job completed (%d jobs)", file, len(jobs))
			}
		})
	}
}

// TestIPPToolPrintgateAnswers runs the project's own ipptool file (testdata/ipptool): what a
// conforming IPP Everywhere printer answers beyond the Debian suites — job-state-message in
// every job answer, overrides-supported with the job template attributes, the finishings-col
// set, document-password-supported, and a document-password ignored with the unsupported group
// saying so.
func TestIPPToolPrintgateAnswers(t *testing.T) {
	t.Parallel()
	g := startGateway(t, gatewayOptions{Config: ippFileConfig(0)})
	file := repoFile(t, "testdata/ipptool/printgate-answers.test")
	out, err := peer.RunIPPTool(t, t.TempDir(), ippURI(g, "letters"), file, "-f", repoFile(t, "testdata/letter-2p.pdf"))
	passed := resultLine("PASS").FindAllStringSubmatch(out, -1)
	if fails := peer.IPPToolFailures(out); len(fails) > 0 || err != nil || len(passed) != 8 {
		t.Fatalf("ipptool %s: %d FAIL %q, %d of 8 PASS, exit %v\n%s", file, len(fails), fails, len(passed), err, out)
	}
}
