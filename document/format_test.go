package document

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSniff(t *testing.T) {
	t.Parallel()
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
	pjl := "\x1b%-12345X@PJL JOB NAME = \"Brief\"\r\n@PJL SET USERNAME = \"jdoe\"\r\n"
	tests := []struct {
		name string
		head string
		want string
	}{
		// Magic at the start.
		{"PDF", "%PDF-1.7", PDF},
		{"PDF 1.4 with body", "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj", PDF},
		{"PostScript", "%!PS-Adobe", PostScript},
		{"PostScript 3.0", "%!PS-Adobe-3.0\n", PostScript},
		{"PostScript bare %!", "%!\n/Times findfont", PostScript},
		{"PostScript after ctrl-D", "\x04%!PS", PostScript},
		{"PWG raster", "RaS2PwgRaster\x00", PWGRaster},
		{"PWG sync word alone", "RaS2xxxx", PWGRaster},
		{"URF", "UNIRAST\x00", URF},
		{"JPEG JFIF", "\xff\xd8\xff\xe0", JPEG},
		{"JPEG Exif", "\xff\xd8\xff\xe1\x00\x10Exif", JPEG},
		{"PNG", png, PNG},
		{"PCL reset", "\x1bE\x1b&l0O", PCL},
		{"PCL reset alone", "\x1bE", PCL},

		// PJL: the language it enters, else the content, else PCL.
		{"PJL bare UEL", "\x1b%-12345X", PCL},
		{"PJL wrapping PCL", "\x1b%-12345X@PJL JOB\n\x1bE", PCL},
		{"PJL entering PCL", pjl + "@PJL ENTER LANGUAGE = PCL\r\n\x1bE\x1b&l0O...", PCL},
		{"PJL entering PDF", "\x1b%-12345X@PJL ENTER LANGUAGE=PDF\n%PDF-1.7", PDF},
		{"PJL entering PDF, lower case", "\x1b%-12345X@pjl enter language = pdf\r\n", PDF},
		{"PJL entering PostScript", pjl + "@PJL ENTER LANGUAGE = POSTSCRIPT\r\n%!\n", PostScript},
		{"PJL entering PCL XL", pjl + "@PJL ENTER LANGUAGE = PCLXL\r\n) HP-PCL XL;2;0", PCL},
		{"PJL language wins over content", pjl + "@PJL ENTER LANGUAGE = PCL\r\n\x1bE%PDF-1.4", PCL},
		{"PJL without language, PDF follows", "\x1b%-12345X@PJL JOB\n%PDF-1.7", PDF},
		{"PJL without language, PostScript follows", "\x1b%-12345X@PJL JOB\n%!PS-Adobe-3.0", PostScript},
		{"PJL after ctrl-D", "\x04\x1b%-12345X@PJL ENTER LANGUAGE = POSTSCRIPT\n", PostScript},
		{"PJL header longer than the window", "\x1b%-12345X" + strings.Repeat("@PJL COMMENT padding\r\n", 60) +
			"@PJL ENTER LANGUAGE = POSTSCRIPT\r\n%!PS", PCL},

		// A PDF header after leading bytes, within the window.
		{"PDF after line ends", "\r\n\r\n%PDF-1.4", PDF},
		{"PDF after mail headers", "From: a@b\nSubject: x\n\n%PDF-1.5", PDF},
		{"PDF at the window's last bytes", strings.Repeat(" ", SniffLen-5) + "%PDF-", PDF},
		{"PDF beyond the window", strings.Repeat(" ", SniffLen) + "%PDF-", Octet},
		{"PDF header cut by the window", strings.Repeat(" ", SniffLen-3) + "%PDF-", Octet},
		{"magic at the start wins over a later PDF header", "%!PS-Adobe-3.0\n% makes %PDF-1.4\n", PostScript},
		{"PCL containing PDF bytes", "\x1bE\x1b*b%PDF-", PCL},
		{"JPEG containing PDF bytes", "\xff\xd8\xff\xe1%PDF-", JPEG},

		// Not recognised.
		{"text", "hello", Octet},
		{"text with newline", "hello\n", Octet},
		{"text about PostScript", "see %!PS", Octet},
		{"plain bytes", "plain bytes of unknown kind", Octet},
		{"binary", "\x00\x01\x02", Octet},
		{"empty", "", Octet},
		{"PDF without the dash", "%PDF", Octet},
		{"short PNG prefix", "\x89PN", Octet},
		{"short JPEG prefix", "\xff\xd8", Octet},
		{"ESC alone", "\x1b", Octet},
		{"UEL cut short", "\x1b%-1234", Octet},
		{"UNIRAST cut short", "UNIRA", Octet},
		{"two ctrl-Ds", "\x04\x04%!PS", Octet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sniff([]byte(tt.head)); got != tt.want {
				t.Fatalf("Sniff(%q) = %s, want %s", tt.head, got, tt.want)
			}
		})
	}
}

func TestSniffFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, tt := range map[string]struct {
		data string
		want string
	}{
		"junk.pdf":  {strings.Repeat("\n", 100) + "%PDF-1.4\n", PDF},
		"empty":     {"", Octet},
		"text.txt":  {"hello\n", Octet},
		"letter.ps": {"%!PS-Adobe-3.0\n", PostScript},
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
			t.Fatal(err)
		}
		if got, err := SniffFile(path); err != nil || got != tt.want {
			t.Errorf("SniffFile(%s) = %s, %v; want %s", name, got, err, tt.want)
		}
	}
	if _, err := SniffFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("SniffFile of a missing file succeeded")
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{"%PDF-1.7", "\x1b%-12345X@PJL ENTER LANGUAGE=PDF\n", "\x04%!", "RaS2", ""} {
		f.Add([]byte(s))
	}
	known := map[string]bool{PDF: true, PostScript: true, PWGRaster: true, URF: true, JPEG: true, PNG: true, PCL: true, Octet: true}
	f.Fuzz(func(t *testing.T, head []byte) {
		got := Sniff(head)
		if !known[got] {
			t.Fatalf("Sniff(%q) = %q, not a sniffable format", head, got)
		}
		// Bytes past the window never change the answer.
		if len(head) > SniffLen && Sniff(head[:SniffLen]) != got {
			t.Fatalf("Sniff(%q) depends on bytes past SniffLen", head)
		}
	})
}
