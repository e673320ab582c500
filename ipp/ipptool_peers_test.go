//go:build peers

// Conformance shake-out: CUPS' ipptool runs the stock ipp-1.1, ipp-2.0 and ipp-everywhere test
// files against the front door over the fake Service. The gateway's end-to-end run (real spool,
// file printers) is the acceptance test; this one finds attribute-set mistakes early.
package ipp

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ipptoolDir is where Debian's cups-ipp-utils installs the stock test files.
const ipptoolDir = "/usr/share/cups/ipptool"

// needTool fails (does not skip) when a peer program is missing: a peers run without its
// peers must not look green.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found (install cups-ipp-utils): %v", name, err)
	}
	return p
}

// writeIPPToolFiles creates every FILE the stock test files name: ipptool 2.4 aborts the run
// when any is missing, even for tests it would skip. The PWG raster samples are headers only:
// the front door passes documents through without reading them.
func writeIPPToolFiles(t *testing.T, dir string) {
	t.Helper()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	fixed := map[string][]byte{
		"document-a4.pdf":     testPDF(2),
		"document-letter.pdf": testPDF(2),
		"document-a4.ps":      []byte("%!PS-Adobe-3.0\n%%Pages: 1\nshowpage\n"),
		"document-letter.ps":  []byte("%!PS-Adobe-3.0\n%%Pages: 1\nshowpage\n"),
		"color.jpg":           testJPEG(false),
		"gray.jpg":            testJPEG(true),
	}
	for _, test := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		f, err := os.Open(filepath.Join(ipptoolDir, test))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			name, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "FILE ")
			switch {
			case !ok || strings.HasPrefix(name, "$"):
			case fixed[name] != nil:
				write(name, fixed[name])
			case strings.HasPrefix(name, "pwg-raster-samples"):
				write(name, append([]byte("RaS2PwgRaster\x00"), make([]byte, 1800)...))
			default:
				t.Fatalf("%s names FILE %s, which this test does not know how to make", test, name)
			}
		}
		f.Close()
	}
}

func TestIPPToolConformance(t *testing.T) {
	ipptool := needTool(t, "ipptool")
	for _, file := range []string{"ipp-1.1.test", "ipp-2.0.test", "ipp-everywhere.test"} {
		t.Run(file, func(t *testing.T) {
			svc := newFakeService()
			svc.completeAfter = 300 * time.Millisecond
			// The conformance files release their own held job, which takes an operator here
			// (policy: Release-Job is operators'): ipptool runs on the gateway host, trusted.
			s, rec := newTestServer(t, svc, Options{TrustLoopback: true})
			hs := startServer(t, s)
			dir := t.TempDir()
			writeIPPToolFiles(t, dir)
			uri := "ipp" + strings.TrimPrefix(hs.URL, "http") + "/ipp/print/letters"
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, ipptool, "-tI", "-f", "document-a4.pdf", uri, filepath.Join(ipptoolDir, file))
			cmd.Dir = dir
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			runErr := cmd.Run()
			fails := 0
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, "[FAIL]") {
					fails++
				}
			}
			if fails > 0 || runErr != nil {
				t.Errorf("ipptool %s: %d FAIL, exit %v\n%s", file, fails, runErr, out.String())
			} else {
				t.Logf("ipptool %s: no FAIL\n%s", file, out.String())
			}
			if n, log := rec.errorCount(); n > 0 {
				t.Errorf("server logged %d errors:\n%s", n, strings.Join(log, "\n"))
			}
			if n := svc.leaked(); n > 0 {
				t.Errorf("%d staged documents leaked", n)
			}
		})
	}
}
