package convert

import (
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"github.com/printgate/printgate/document"
)

// BenchmarkConvertLetters converts the four sample letters (1-4 pages, 10 pages together), one
// conversion per letter as at dispatch, to each target, through the converter (sandboxed:
// prlimit, process group, output read back and counted) and, as the baseline measured in the
// same run, with a bare gs of the same arguments writing a file. Reported: pages/s both ways,
// their ratio, and output bytes per page.
//
//	go test -run '^$' -bench ConvertLetters -benchtime 10x ./document/convert/
func BenchmarkConvertLetters(b *testing.B) {
	if _, err := exec.LookPath("gs"); err != nil {
		b.Fatalf("ghostscript is needed: %v", err)
	}
	var letters []string
	for n := 1; n <= 4; n++ {
		p, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "letter-"+string(rune('0'+n))+"p.pdf"))
		letters = append(letters, p)
	}
	const pagesPerRound = 10
	for _, to := range []string{document.PCLXL, document.PostScript, document.PCL, document.PWGRaster, document.URF} {
		b.Run(path.Base(to), func(b *testing.B) {
			dir := b.TempDir()
			c := New(Options{TempDir: dir})
			var bytes int64
			var conv, bare time.Duration
			for b.Loop() {
				t0 := time.Now()
				for i, l := range letters {
					o, err := c.Convert(context.Background(), Input{Path: l, Format: document.PDF}, to, Params{Pages: i + 1})
					if err != nil {
						b.Fatal(err)
					}
					bytes += o.Size
					o.Remove()
				}
				conv += time.Since(t0)
				t0 = time.Now()
				for _, l := range letters {
					args := gsArgs(l, to, Params{})
					args[len(args)-2] = "-sOutputFile=" + filepath.Join(dir, "bare")
					if out, err := exec.Command("gs", args...).CombinedOutput(); err != nil {
						b.Fatalf("gs: %v\n%s", err, out)
					}
				}
				bare += time.Since(t0)
				os.Remove(filepath.Join(dir, "bare"))
			}
			pages := float64(b.N * pagesPerRound)
			b.ReportMetric(pages/conv.Seconds(), "pages/s")
			b.ReportMetric(pages/bare.Seconds(), "bare-gs-pages/s")
			b.ReportMetric(bare.Seconds()/conv.Seconds(), "ratio-to-bare")
			b.ReportMetric(float64(bytes)/pages, "bytes/page")
		})
	}
}

// BenchmarkConvertBigDocument converts one document of 40 letters (100 pages) to each target:
// the tools' throughput without a process start per letter (a bulk run's merged PDF).
//
//	go test -run '^$' -bench ConvertBigDocument -benchtime 3x ./document/convert/
func BenchmarkConvertBigDocument(b *testing.B) {
	if _, err := exec.LookPath("gs"); err != nil {
		b.Fatalf("ghostscript is needed: %v", err)
	}
	var in []string
	for range 10 {
		for n := 1; n <= 4; n++ {
			p, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "letter-"+string(rune('0'+n))+"p.pdf"))
			in = append(in, p)
		}
	}
	big := filepath.Join(b.TempDir(), "big.pdf")
	if err := api.MergeCreateFile(in, big, false, document.PDFConfig()); err != nil {
		b.Fatal(err)
	}
	const pages = 100
	for _, to := range []string{document.PCLXL, document.PostScript, document.PCL, document.PWGRaster, document.URF} {
		b.Run(path.Base(to), func(b *testing.B) {
			c := New(Options{TempDir: b.TempDir()})
			var bytes int64
			var took time.Duration
			for b.Loop() {
				t0 := time.Now()
				o, err := c.Convert(context.Background(), Input{Path: big, Format: document.PDF}, to, Params{Pages: pages})
				if err != nil {
					b.Fatal(err)
				}
				took += time.Since(t0)
				if o.Pages != pages && to != document.PostScript && to != document.PCL {
					b.Fatalf("%d pages out, want %d", o.Pages, pages)
				}
				bytes += o.Size
				o.Remove()
			}
			b.ReportMetric(float64(b.N*pages)/took.Seconds(), "pages/s")
			b.ReportMetric(float64(bytes)/float64(b.N*pages), "bytes/page")
		})
	}
}
