package document

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ghostscriptPWG renders a PostScript program of pages marked pages to PWG raster with
// Ghostscript (the pwgraster device) in the given cupsColorSpace at 8 bits a colour.
func ghostscriptPWG(t *testing.T, pages, colorSpace int) string {
	t.Helper()
	gs := lookGS(t)
	dir := t.TempDir()
	ps := filepath.Join(dir, "in.ps")
	// Text, a colour rectangle and a grey gradient on each page, so the run-length data has
	// repeats, literals and lines that differ from page to page.
	prog := fmt.Sprintf(`%%!PS
/Helvetica findfont 48 scalefont setfont
1 1 %d { /n exch def
  1 0 0 setrgbcolor 72 600 moveto (Page ) show n 3 string cvs show
  0 0 1 setrgbcolor 100 100 n 10 mul add 200 200 rectfill
  0 1 50 { /i exch def i 50 div setgray 300 i 4 mul add 300 4 100 rectfill } for
  showpage } for
`, pages)
	if err := os.WriteFile(ps, []byte(prog), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.pwg")
	cmd := exec.Command(gs, "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pwgraster", "-r75",
		fmt.Sprintf("-dcupsColorSpace=%d", colorSpace), "-dcupsBitsPerColor=8",
		"-sOutputFile="+out, ps)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gs: %v\n%s", err, b)
	}
	return out
}

// A raster stream that cannot be walked (cut short, or a header that makes no sense) still gets
// a count, marked estimated.
func TestCountPWGRasterUnparseableIsEstimated(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(ghostscriptPWG(t, 2, 18))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCounter()
	bad := map[string][]byte{
		"cut inside the first header": data[:4+900],
		"cut inside the first page":   data[:4+1796+(len(data)-4-1796)/4],
		"cut inside the second page":  data[:len(data)-10],
		"zero height":                 zeroField(data, 376),
		"zero bytes per line":         zeroField(data, 392),
		"sync word alone":             []byte("RaS2"),
		"trailing garbage":            append(bytes.Clone(data), "not a header"...),
	}
	for name, b := range bad {
		if got, est := c.CountReader(bytes.NewReader(b), int64(len(b)), PWGRaster); !est || got < 1 {
			t.Errorf("%s: CountReader = %d (estimated %v), want an estimate of at least 1", name, got, est)
		}
	}
}

// zeroField returns data with the 4-byte field at offset off of the first page header zeroed.
func zeroField(data []byte, off int) []byte {
	b := bytes.Clone(data)
	copy(b[4+off:4+off+4], make([]byte, 4))
	return b
}

// A hand-made page uses the parts of the run-length encoding Ghostscript may not: line repeats
// and the 128 code (the rest of the line is white).
func TestCountPWGRasterHandMade(t *testing.T) {
	t.Parallel()
	page := func(buf *bytes.Buffer) {
		hdr := make([]byte, 1796)
		put := func(off, v int) {
			hdr[off], hdr[off+1], hdr[off+2], hdr[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		}
		put(372, 10) // cupsWidth
		put(376, 6)  // cupsHeight
		put(384, 8)  // cupsBitsPerColor
		put(388, 24) // cupsBitsPerPixel
		put(392, 30) // cupsBytesPerLine
		put(400, 19) // cupsColorSpace sRGB
		buf.Write(hdr)
		buf.Write([]byte{2, 9, 1, 2, 3})                          // 3 lines: 10 pixels of one colour
		buf.Write([]byte{0, 128})                                 // 1 line: all white
		buf.Write([]byte{1, 254, 1, 2, 3, 4, 5, 6, 7, 8, 9, 128}) // 2 lines: 3 literal pixels, then white
	}
	var buf bytes.Buffer
	buf.WriteString("RaS2")
	for range 3 {
		page(&buf)
	}
	b := buf.Bytes()
	if got, est := NewCounter().CountReader(bytes.NewReader(b), int64(len(b)), PWGRaster); got != 3 || est {
		t.Fatalf("CountReader(3 hand-made pages) = %d (estimated %v), want 3 exact", got, est)
	}
}
