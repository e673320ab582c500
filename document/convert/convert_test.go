package convert

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
)

// needGS fails (not skips) without Ghostscript: scripts/install-peers.sh installs it, and a
// bridge test that skips proves nothing.
func needGS(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gs"); err != nil {
		t.Fatalf("ghostscript is needed (scripts/install-peers.sh): %v", err)
	}
}

func letter(t *testing.T, pages int) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "testdata", "letter-"+string(rune('0'+pages))+"p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testImage(t *testing.T, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 120, 80))
	for x := range 120 {
		for y := range 80 {
			img.Set(x, y, color.RGBA{uint8(x * 2), uint8(y * 3), 90, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == document.JPEG {
		err = jpeg.Encode(&b, img, nil)
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Every route the bridge offers produces a document of the target format with the input's
// pages, read back by the counters (PDF, PCL XL, PWG raster, URF) or sniffed (PostScript, PCL).
func TestConvertEveryRoute(t *testing.T) {
	t.Parallel()
	needGS(t)
	c := New(Options{TempDir: t.TempDir()})
	pdf3 := letter(t, 3)
	pwg, err := c.Convert(context.Background(), Input{Path: pdf3, Format: document.PDF}, document.PWGRaster, Params{Pages: 3})
	if err != nil {
		t.Fatal(err)
	}
	urf, err := c.Convert(context.Background(), Input{Path: pdf3, Format: document.PDF}, document.URF, Params{Pages: 3, Color: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		in    Input
		to    string
		pages int
		sniff string
	}{
		{"pdf>pclxl", Input{Path: pdf3, Format: document.PDF}, document.PCLXL, 3, document.PCL},
		{"pdf>ps", Input{Path: pdf3, Format: document.PDF}, document.PostScript, 3, document.PostScript},
		{"pdf>pcl", Input{Path: pdf3, Format: document.PDF}, document.PCL, 3, document.PCL},
		{"pdf>pwg", Input{Path: pdf3, Format: document.PDF}, document.PWGRaster, 3, document.PWGRaster},
		{"pdf>urf duplex", Input{Path: pdf3, Format: document.PDF}, document.URF, 3, document.URF},
		{"jpeg>pdf", Input{Data: testImage(t, document.JPEG), Format: document.JPEG}, document.PDF, 1, document.PDF},
		{"png>pwg", Input{Data: testImage(t, document.PNG), Format: document.PNG}, document.PWGRaster, 1, document.PWGRaster},
		{"pwg>pdf", Input{Path: pwg.Path, Format: document.PWGRaster}, document.PDF, 3, document.PDF},
		{"urf>pdf", Input{Path: urf.Path, Format: document.URF}, document.PDF, 3, document.PDF},
		{"urf>pclxl", Input{Path: urf.Path, Format: document.URF}, document.PCLXL, 3, document.PCL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sides := ""
			if strings.Contains(tc.name, "duplex") {
				sides = "two-sided-long-edge"
			}
			o, err := c.Convert(context.Background(), tc.in, tc.to, Params{Pages: tc.pages, Sides: sides})
			if err != nil {
				t.Fatal(err)
			}
			defer o.Remove()
			if o.Pages != tc.pages || o.Format != tc.to || o.Size == 0 {
				t.Errorf("got %d pages of %s (%d bytes), want %d of %s", o.Pages, o.Format, o.Size, tc.pages, tc.to)
			}
			if got, _ := document.SniffFile(o.Path); got != tc.sniff {
				t.Errorf("output sniffs as %s, want %s", got, tc.sniff)
			}
		})
	}
}

// A document Ghostscript cannot read fails with Ghostscript's own reason and leaves no file;
// one that runs past the time limit is killed and says so.
func TestConvertFailuresHaveReasons(t *testing.T) {
	t.Parallel()
	needGS(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pdf")
	os.WriteFile(bad, []byte("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage\n%%EOF\n"), 0o644)
	tmp := t.TempDir()
	c := New(Options{TempDir: tmp})
	_, err := c.Convert(context.Background(), Input{Path: bad, Format: document.PDF}, document.PCLXL, Params{Pages: 1})
	var ce *Error
	if !errors.As(err, &ce) || ce.Reason == "" {
		t.Fatalf("malformed PDF: err %v, want a *convert.Error with a reason", err)
	}
	t.Logf("malformed: %v", err)

	// An endless PostScript loop: only the time limit ends it.
	loop := filepath.Join(dir, "loop.ps")
	os.WriteFile(loop, []byte("%!PS\n{ 1 pop } loop\n"), 0o644)
	slow := New(Options{TempDir: tmp, Timeout: 500 * time.Millisecond})
	_, err = slow.Convert(context.Background(), Input{Path: loop, Format: document.PostScript}, document.PCLXL, Params{Pages: 1})
	if !errors.Is(err, ErrTimeLimit) || !errors.As(err, &ce) || !strings.Contains(ce.Reason, "time limit") {
		t.Fatalf("endless document: err %v, want ErrTimeLimit with a reason", err)
	}
	left, _ := os.ReadDir(tmp)
	if len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

// Routes: as is when taken; else the smallest on the wire; raster last; nothing for what no
// tool reads.
func TestRoute(t *testing.T) {
	t.Parallel()
	c := New(Options{Ghostscript: "/usr/bin/gs", RasterToPDF: "/x/rastertopdf"})
	for _, tc := range []struct {
		from    string
		accepts []string
		want    string
	}{
		{document.PDF, []string{document.PDF, document.PWGRaster}, document.PDF},
		{document.PDF, []string{document.URF, document.PWGRaster, document.PCLXL}, document.PCLXL},
		{document.PDF, []string{document.URF, document.PostScript}, document.PostScript},
		{document.PDF, []string{document.URF, document.PWGRaster}, document.PWGRaster},
		{document.JPEG, []string{document.PDF}, document.PDF},
		{document.JPEG, []string{document.URF}, document.URF},
		{document.URF, []string{document.PWGRaster}, document.PWGRaster},
		{document.PCL, []string{document.PDF}, ""},
		{document.Text, []string{document.PDF}, ""},
	} {
		got, ok := c.Route(tc.from, tc.accepts)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("Route(%s, %v) = %q %v, want %q", tc.from, tc.accepts, got, ok, tc.want)
		}
	}
	noRaster := New(Options{Ghostscript: "/usr/bin/gs", RasterToPDF: "-"})
	noRaster.o.RasterToPDF = ""
	if _, ok := noRaster.Route(document.PWGRaster, []string{document.PDF}); ok {
		t.Error("PWG raster routed without rastertopdf")
	}
}

// The memory limit holds: Ghostscript in an address space too small for it fails, with a reason,
// instead of taking the gateway host's memory. (16 MiB: gs needs about 25 MiB to start.)
func TestConvertMemoryLimit(t *testing.T) {
	t.Parallel()
	needGS(t)
	c := New(Options{TempDir: t.TempDir(), MemoryLimit: 16 << 20})
	_, err := c.Convert(context.Background(), Input{Path: letter(t, 1), Format: document.PDF}, document.PCLXL, Params{Pages: 1})
	var ce *Error
	if !errors.As(err, &ce) || ce.Reason == "" {
		t.Fatalf("err %v, want a *convert.Error with a reason", err)
	}
	t.Logf("16 MiB: %v", err)
	for _, sh := range []bool{false, true} {
		o := Options{TempDir: t.TempDir()}
		if sh {
			o.Prlimit = "/nonexistent" // forces the sh ulimit path below
		}
		c := New(o)
		if sh {
			c.o.Prlimit = ""
		}
		out, err := c.Convert(context.Background(), Input{Path: letter(t, 1), Format: document.PDF}, document.PCLXL, Params{Pages: 1})
		if err != nil {
			t.Fatalf("default limit (sh %v): %v", sh, err)
		}
		out.Remove()
	}
}

// Cost starts from the development machine's figures and follows what this host measures.
func TestCostLearns(t *testing.T) {
	t.Parallel()
	c := New(Options{Ghostscript: "/usr/bin/gs"})
	before := c.Cost(document.PDF, document.PWGRaster, 10)
	if want := toolStart + 10*defaultPerPage[stepKey(document.PDF, document.PWGRaster)]; before != want {
		t.Fatalf("cost before any conversion %v, want %v", before, want)
	}
	for range 20 {
		c.learn(document.PDF, document.PWGRaster, toolStart+10*100*time.Millisecond, 10)
	}
	after := c.Cost(document.PDF, document.PWGRaster, 10)
	if after < toolStart+10*90*time.Millisecond || after > toolStart+10*100*time.Millisecond {
		t.Errorf("after 20 conversions at 100 ms a page: %v", after)
	}
	if c.Cost(document.JPEG, document.PDF, 1) >= toolStart {
		t.Errorf("image import costed a process start: %v", c.Cost(document.JPEG, document.PDF, 1))
	}
	if c.Cost(document.PDF, document.PDF, 5) != 0 {
		t.Error("no conversion costs something")
	}
}

// Conversions beyond MaxParallel wait for a turn, within their time limit, and say so when it
// runs out; a turn given back lets the next one run.
func TestConvertWaitsForATurn(t *testing.T) {
	t.Parallel()
	needGS(t)
	c := New(Options{TempDir: t.TempDir(), MaxParallel: 1, Timeout: time.Second})
	c.turns <- struct{}{} // a conversion in progress
	_, err := c.Convert(context.Background(), Input{Path: letter(t, 1), Format: document.PDF}, document.PCLXL, Params{Pages: 1})
	var ce *Error
	if !errors.Is(err, ErrTimeLimit) || !errors.As(err, &ce) || !strings.Contains(ce.Reason, "for a turn") {
		t.Fatalf("with no turn free: %v, want the time limit waiting for a turn", err)
	}
	<-c.turns
	o, err := c.Convert(context.Background(), Input{Path: letter(t, 1), Format: document.PDF}, document.PCLXL, Params{Pages: 1})
	if err != nil {
		t.Fatalf("with the turn back: %v", err)
	}
	o.Remove()
	if len(c.turns) != 0 {
		t.Errorf("%d turns still taken after the conversion", len(c.turns))
	}
}
