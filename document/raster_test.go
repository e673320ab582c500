package document

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// lookGS finds Ghostscript: a test that needs it skips without it, unless built with the peers
// tag, where it fails.
func lookGS(t *testing.T) string {
	t.Helper()
	gs, err := exec.LookPath("gs")
	if err != nil {
		if gsRequired {
			t.Fatalf("Ghostscript (Debian package ghostscript, installed by scripts/install-peers.sh) is needed: %v", err)
		}
		t.Skipf("Ghostscript not installed (the peers tag makes this a failure): %v", err)
	}
	return gs
}

// rasterSpaces are the colour spaces the gateway advertises for raster input: PWG raster's
// pwg-raster-document-type-supported (sgray_8, and srgb_8 with colour; ipp/caps.go) and the
// matching urf-supported W8 and SRGB24, as Ghostscript's cupsColorSpace (18 sGray, 19 sRGB)
// at 8 bits a colour.
var rasterSpaces = []struct {
	name string
	cups int
}{{"sgray_8", 18}, {"srgb_8", 19}}

// TestCountRasterFromGhostscript: Ghostscript renders 1, 2 and 17 pages into PWG raster
// (pwgraster device) and Apple raster (appleraster device, URF) in each colour space the gateway
// advertises, and the counter reads exactly that many pages from the page headers, not an
// estimate. (It read PWG's cupsHeight from the wrong offset, so every PWG raster fell back to
// the size estimate: a one-page raster counted as 19 pages; URF was always estimated.)
func TestCountRasterFromGhostscript(t *testing.T) {
	t.Parallel()
	gs := lookGS(t)
	c := NewCounter()
	for _, format := range []struct {
		device, mime string
	}{{"pwgraster", PWGRaster}, {"appleraster", URF}} {
		for _, space := range rasterSpaces {
			for _, pages := range []int{1, 2, 17} {
				t.Run(fmt.Sprintf("%s/%s/%d", format.device, space.name, pages), func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					ps := filepath.Join(dir, "in.ps")
					prog := fmt.Sprintf("%%!PS\n/Helvetica findfont 24 scalefont setfont\n"+
						"1 1 %d { 72 720 moveto (letter page ) show 3 string cvs show 0.5 setgray 72 72 400 300 rectfill 0 setgray showpage } for\n", pages)
					if err := os.WriteFile(ps, []byte(prog), 0o644); err != nil {
						t.Fatal(err)
					}
					out := filepath.Join(dir, "out")
					cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE="+format.device, "-r100",
						fmt.Sprintf("-dcupsColorSpace=%d", space.cups), "-dcupsBitsPerColor=8", "-sOutputFile="+out, ps)
					if b, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("gs: %v\n%s", err, b)
					}
					head := make([]byte, SniffLen)
					f, err := os.Open(out)
					if err != nil {
						t.Fatal(err)
					}
					n, _ := f.Read(head)
					f.Close()
					if got := Sniff(head[:n]); got != format.mime {
						t.Fatalf("Ghostscript's %s output sniffs as %q, want %s", format.device, got, format.mime)
					}
					got, estimated := c.Count(out, format.mime)
					if got != pages || estimated {
						t.Errorf("%d-page %s %s counted %d pages (estimated %v)", pages, space.name, format.device, got, estimated)
					}
				})
			}
		}
	}
}

// A URF stream cut short, or with a page header that makes no sense, still gets a count,
// marked estimated.
func TestCountURFUnparseableIsEstimated(t *testing.T) {
	t.Parallel()
	gs := lookGS(t)
	dir := t.TempDir()
	ps := filepath.Join(dir, "in.ps")
	if err := os.WriteFile(ps, []byte("%!PS\n1 1 3 { 0.5 setgray 72 72 400 300 rectfill showpage } for\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.urf")
	if b, err := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=appleraster", "-r100",
		"-dcupsColorSpace=18", "-dcupsBitsPerColor=8", "-sOutputFile="+out, ps).CombinedOutput(); err != nil {
		t.Fatalf("gs: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	zeroed := append([]byte(nil), data...)
	clear(zeroed[12 : 12+32]) // first page header: no bits per pixel, no size
	c := NewCounter()
	for name, b := range map[string][]byte{"cut": data[:len(data)/2], "zeroed header": zeroed} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, estimated := c.Count(p, URF); !estimated {
			t.Errorf("%s URF counted as exact", name)
		}
	}
}
