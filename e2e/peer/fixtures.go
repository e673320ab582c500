// ipptool: the documents its test files name, and running it with a bound on time.
package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// PWGRasterSupport is what a printer advertises for PWG raster; IPPToolFixtures makes real
// rasters for these and empty placeholders for the rest.
type PWGRasterSupport struct {
	Resolutions []int    // pwg-raster-document-resolution-supported, dpi (square)
	Types       []string // pwg-raster-document-type-supported: black_1, sgray_8, srgb_8, srgb_16, cmyk_8
}

// covers reports whether a raster of res dpi and type (either spelling, black_1 or black-1) is
// advertised.
func (s PWGRasterSupport) covers(res int, typ string) bool {
	norm := func(x string) string { return strings.ReplaceAll(x, "_", "-") }
	return slices.Contains(s.Resolutions, res) && slices.ContainsFunc(s.Types, func(x string) bool { return norm(x) == norm(typ) })
}

// pwgType is how Ghostscript's pwgraster device makes one PWG raster type.
type pwgType struct {
	colorSpace int // cupsColorSpace: 3 black, 18 sGray, 19 sRGB, 6 CMYK
	bits       int // cupsBitsPerColor
}

// pwgTypes maps the directory spelling of each PWG raster type to Ghostscript parameters.
var pwgTypes = map[string]pwgType{
	"black-1": {3, 1},
	"sgray-8": {18, 8},
	"srgb-8":  {19, 8},
	"srgb-16": {19, 16},
	"cmyk-8":  {6, 8},
}

// pwgSampleRE matches ipptool's raster sample names, e.g.
// pwg-raster-samples-300dpi/sgray-8/document-a4-sgray-8-300dpi.pwg.
var pwgSampleRE = regexp.MustCompile(`^pwg-raster-samples-(\d+)dpi/([a-z]+-\d+)/(.+)-([a-z]+-\d+)-(\d+)dpi\.pwg$`)

// IPPToolFixtures creates in dir every document that ipp-everywhere.test (and the ipp-2.0.test
// and ipp-1.1.test it includes) names: document-a4.pdf, document-letter.pdf, document-a4.ps,
// document-letter.ps, color.jpg, gray.jpg, and the 144 pwg-raster-samples-*/**.pwg files — real
// Ghostscript rasters for the resolutions and types in advertised, empty placeholders for the
// rest. ipptool 2.4.2 aborts a whole run when any FILE it names cannot be read, even in tests it
// would skip, so all must exist.
func IPPToolFixtures(t testing.TB, dir string, advertised PWGRasterSupport) {
	t.Helper()
	requireExecutable(t, GhostscriptPath)
	names, err := IPPToolFiles(filepath.Join(IPPToolDir, "ipp-everywhere.test"))
	if err != nil {
		t.Fatalf("peer: %v; %s", err, installHint)
	}
	src := t.TempDir()
	var jobs []func() error
	for _, name := range names {
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatalf("peer: %v", err)
		}
		if m := pwgSampleRE.FindStringSubmatch(name); m != nil {
			res, _ := strconv.Atoi(m[1])
			typ, base := m[2], m[3]
			pt, ok := pwgTypes[typ]
			if !ok || m[4] != typ || m[5] != m[1] {
				t.Fatalf("peer: ipptool names raster %q, which IPPToolFixtures does not understand", name)
			}
			if !advertised.covers(res, typ) {
				if err := os.WriteFile(dst, nil, 0o644); err != nil {
					t.Fatalf("peer: %v", err)
				}
				continue
			}
			ps, ok := fixtureSources[base]
			if !ok {
				t.Fatalf("peer: ipptool names raster %q of unknown source %q", name, base)
			}
			psPath := filepath.Join(src, base+".ps")
			if err := os.WriteFile(psPath, []byte(ps), 0o644); err != nil {
				t.Fatalf("peer: %v", err)
			}
			jobs = append(jobs, func() error {
				return runGS("-sDEVICE=pwgraster", fmt.Sprintf("-r%d", res),
					fmt.Sprintf("-dcupsColorSpace=%d", pt.colorSpace), fmt.Sprintf("-dcupsBitsPerColor=%d", pt.bits),
					"-o", dst, psPath)
			})
			continue
		}
		j, err := documentFixture(name, dst, src)
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		jobs = append(jobs, j)
	}
	// The plain documents are made even if a future test file stops naming them: print tests use them.
	for _, name := range []string{"document-a4.pdf", "document-letter.pdf", "document-a4.ps", "document-letter.ps", "color.jpg", "gray.jpg"} {
		if slices.Contains(names, name) {
			continue
		}
		j, err := documentFixture(name, filepath.Join(dir, name), src)
		if err != nil {
			t.Fatalf("peer: %v", err)
		}
		jobs = append(jobs, j)
	}
	if err := runParallel(2, jobs); err != nil {
		t.Fatalf("peer: make ipptool fixtures: %v", err)
	}
}

// documentFixture returns the work that makes one of the plain documents ipptool names.
func documentFixture(name, dst, srcDir string) (func() error, error) {
	ps := filepath.Join(srcDir, name+".src.ps")
	switch name {
	case "document-a4.ps", "document-letter.ps":
		body := fixtureSources[strings.TrimSuffix(name, ".ps")]
		return func() error { return os.WriteFile(dst, []byte(body), 0o644) }, nil
	case "document-a4.pdf", "document-letter.pdf":
		body := fixtureSources[strings.TrimSuffix(name, ".pdf")]
		return func() error {
			if err := os.WriteFile(ps, []byte(body), 0o644); err != nil {
				return err
			}
			return runGS("-sDEVICE=pdfwrite", "-o", dst, ps)
		}, nil
	case "color.jpg", "gray.jpg":
		device := map[string]string{"color.jpg": "jpeg", "gray.jpg": "jpeggray"}[name]
		body := fixtureSources[name+"-4x6"]
		return func() error {
			if err := os.WriteFile(ps, []byte(body), 0o644); err != nil {
				return err
			}
			return runGS("-sDEVICE="+device, "-r72", "-dJPEGQ=85", "-o", dst, ps)
		}, nil
	}
	return nil, fmt.Errorf("ipptool names %q, which IPPToolFixtures does not know how to make", name)
}

// MakePDF writes a real PDF of the given number of A4 pages to path, with title printed on each
// page (different titles give different bytes, so jobs can be told apart by sha256), and returns
// path. It costs one Ghostscript run (about 0.1-0.3 s).
func MakePDF(t testing.TB, path, title string, pages int) string {
	t.Helper()
	requireExecutable(t, GhostscriptPath)
	if pages < 1 {
		t.Fatalf("peer: MakePDF: %d pages", pages)
	}
	// PostScript string literals: escape the characters that end or break them.
	esc := strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`, "\n", " ").Replace(title)
	ps := path + ".ps"
	if err := os.WriteFile(ps, []byte(psDocument(esc, 595, 842, pages)), 0o644); err != nil {
		t.Fatalf("peer: %v", err)
	}
	defer os.Remove(ps)
	if err := runGS("-sDEVICE=pdfwrite", "-o", path, ps); err != nil {
		t.Fatalf("peer: MakePDF: %v", err)
	}
	return path
}

// runGS runs Ghostscript quietly and safely with a one-minute limit.
func runGS(args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	full := append([]string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE"}, args...)
	out, err := exec.CommandContext(ctx, GhostscriptPath, full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("gs %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// runParallel runs jobs on at most n goroutines and joins their errors.
func runParallel(n int, jobs []func() error) error {
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := j(); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// psDocument returns a PostScript program of n pages of w×h points with text and colour.
func psDocument(title string, w, h, n int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%%!PS-Adobe-3.0\n%%%%Title: %s\n%%%%Pages: %d\n%%%%BoundingBox: 0 0 %d %d\n%%%%EndComments\n", title, n, w, h)
	fmt.Fprintf(&b, "<< /PageSize [%d %d] >> setpagedevice\n", w, h)
	for p := 1; p <= n; p++ {
		fmt.Fprintf(&b, "%%%%Page: %d %d\n", p, p)
		fmt.Fprintf(&b, "/Helvetica findfont 20 scalefont setfont 54 %d moveto (%s, page %d of %d) show\n", h-72, title, p, n)
		fmt.Fprintf(&b, "/Helvetica findfont 11 scalefont setfont 54 %d moveto (Test document made by printgate's e2e harness.) show\n", h-100)
		fmt.Fprintf(&b, "0.1 0.3 0.8 setrgbcolor 54 %d 200 120 rectfill 0.9 0.2 0.1 setrgbcolor 300 %d 120 120 rectfill 0 setgray\n", h/2, h/2)
		b.WriteString("showpage\n")
	}
	b.WriteString("%%EOF\n")
	return b.String()
}

// psPhoto returns a one-page 4x6-inch PostScript picture in colour or grey.
func psPhoto(gray bool) string {
	var b strings.Builder
	b.WriteString("%!PS-Adobe-3.0\n%%BoundingBox: 0 0 288 432\n%%EndComments\n<< /PageSize [288 432] >> setpagedevice\n")
	for i := range 12 {
		y := i * 36
		if gray {
			fmt.Fprintf(&b, "%.3f setgray 0 %d 288 36 rectfill\n", float64(i)/11, y)
		} else {
			fmt.Fprintf(&b, "%.3f %.3f %.3f setrgbcolor 0 %d 288 36 rectfill\n", float64(i)/11, 1-float64(i)/11, 0.5, y)
		}
	}
	b.WriteString("showpage\n%%EOF\n")
	return b.String()
}

// fixtureSources are the PostScript sources of ipptool's documents, keyed by the base names its
// raster samples use.
var fixtureSources = map[string]string{
	"document-a4":     psDocument("document-a4", 595, 842, 2),
	"document-letter": psDocument("document-letter", 612, 792, 2),
	"onepage-a4":      psDocument("onepage-a4", 595, 842, 1),
	"onepage-letter":  psDocument("onepage-letter", 612, 792, 1),
	"color.jpg-4x6":   psPhoto(false),
	"gray.jpg-4x6":    psPhoto(true),
}

// IPPToolFiles lists, in order of first appearance and without duplicates, the files named by
// FILE directives in an ipptool test file and the files it INCLUDEs. Names containing a variable
// ($filename, given with -f) are left out.
func IPPToolFiles(testFile string) ([]string, error) {
	var names []string
	seen := map[string]bool{}
	visited := map[string]bool{}
	var walk func(path string) error
	walk = func(path string) error {
		if visited[path] {
			return nil
		}
		visited[path] = true
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("ipptool test file: %w", err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 2 {
				continue
			}
			arg := strings.Trim(fields[1], `"<>`)
			switch fields[0] {
			case "FILE":
				if !strings.Contains(arg, "$") && !seen[arg] {
					seen[arg] = true
					names = append(names, arg)
				}
			case "INCLUDE":
				inc := arg
				if !filepath.IsAbs(inc) {
					inc = filepath.Join(filepath.Dir(path), inc)
				}
				if err := walk(inc); err != nil {
					return err
				}
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		return nil
	}
	if err := walk(testFile); err != nil {
		return nil, err
	}
	return names, nil
}

// RunIPPTool runs "ipptool -tI extraArgs... uri testFile" in dir (where IPPToolFixtures put the
// documents) and returns its output. A bare testFile name is found by ipptool in
// /usr/share/cups/ipptool. The run is limited to ten minutes, or to shortly before the test's
// deadline. ipptool exits non-zero when any test fails; the error says so and the output has the
// details (see ParseIPPToolSummary and IPPToolFailures).
func RunIPPTool(t testing.TB, dir, uri, testFile string, extraArgs ...string) (string, error) {
	t.Helper()
	requireExecutable(t, IPPToolPath)
	limit := 10 * time.Minute
	if tt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := tt.Deadline(); ok && time.Until(d)-10*time.Second < limit {
			limit = time.Until(d) - 10*time.Second
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	args := append(append([]string{"-tI"}, extraArgs...), uri, testFile)
	cmd := exec.CommandContext(ctx, IPPToolPath, args...)
	cmd.Dir = dir
	cmd.Env = envWith()
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("peer: ipptool %s timed out after %v: %w", strings.Join(args, " "), limit, ctx.Err())
	}
	if err != nil {
		return string(out), fmt.Errorf("peer: ipptool %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// IPPToolSummary is ipptool's closing "Summary:" line.
type IPPToolSummary struct{ Tests, Passed, Failed, Skipped int }

// summaryRE matches "Summary: 37 tests, 25 passed, 3 failed, 9 skipped".
var summaryRE = regexp.MustCompile(`Summary: (\d+) tests?, (\d+) passed, (\d+) failed, (\d+) skipped`)

// ParseIPPToolSummary finds the last Summary line in ipptool -t output.
func ParseIPPToolSummary(out string) (IPPToolSummary, bool) {
	all := summaryRE.FindAllStringSubmatch(out, -1)
	if len(all) == 0 {
		return IPPToolSummary{}, false
	}
	m := all[len(all)-1]
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return IPPToolSummary{Tests: n(m[1]), Passed: n(m[2]), Failed: n(m[3]), Skipped: n(m[4])}, true
}

// IPPToolFailures returns the names of the tests ipptool -t marked [FAIL].
func IPPToolFailures(out string) []string {
	var fails []string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasSuffix(strings.TrimSpace(line), "[FAIL]") {
			fails = append(fails, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(line), "[FAIL]")))
		}
	}
	return fails
}
