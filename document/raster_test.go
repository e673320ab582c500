package document

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCountPWGRasterFromGhostscript: Ghostscript renders 1, 2 and 17 pages into PWG raster in
// each colour space the gateway advertises (pwg-raster-document-type-supported: sgray_8 and
// srgb_8), and the counter reads exactly that many pages from the page headers, not an
// estimate. (It read cupsHeight from the wrong offset, so every raster fell back to the size
// estimate: a one-page raster counted as 19 pages.)
func TestCountPWGRasterFromGhostscript(t *testing.T) {
	t.Parallel()
	gs, err := exec.LookPath("gs")
	if err != nil {
		t.Fatalf("ghostscript (Debian package ghostscript, installed by scripts/install-peers.sh) is needed: %v", err)
	}
	c := NewCounter()
	for _, space := range []struct {
		name string
		cups int // cupsColorSpace: 18 sGray, 19 sRGB
	}{{"sgray_8", 18}, {"srgb_8", 19}} {
		for _, pages := range []int{1, 2, 17} {
			t.Run(fmt.Sprintf("%s/%d", space.name, pages), func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				ps := filepath.Join(dir, "in.ps")
				prog := fmt.Sprintf("%%!PS\n/Helvetica findfont 24 scalefont setfont\n"+
					"1 1 %d { 72 720 moveto (letter page ) show 3 string cvs show 0.5 setgray 72 72 400 300 rectfill 0 setgray showpage } for\n", pages)
				if err := os.WriteFile(ps, []byte(prog), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, "out.pwg")
				cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pwgraster", "-r100",
					fmt.Sprintf("-dcupsColorSpace=%d", space.cups), "-dcupsBitsPerColor=8", "-sOutputFile="+out, ps)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("gs: %v\n%s", err, b)
				}
				got, estimated := c.Count(out, PWGRaster)
				if got != pages || estimated {
					t.Errorf("%d-page %s raster counted %d pages (estimated %v)", pages, space.name, got, estimated)
				}
			})
		}
	}
}
