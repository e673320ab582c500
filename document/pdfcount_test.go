package document

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

func readLetter(t testing.TB, pages int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", fmt.Sprintf("letter-%dp.pdf", pages)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pdfcpuPages is the reference answer: pdfcpu loading the whole file.
func pdfcpuPages(t *testing.T, data []byte) int {
	t.Helper()
	conf := newConfig()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(bytes.NewReader(data), conf)
	if err != nil {
		t.Fatalf("pdfcpu read: %v", err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		t.Fatalf("pdfcpu page count: %v", err)
	}
	return ctx.PageCount
}

// incrementalUpdate appends an update to a ghostscript letter that redefines its page tree
// root (object 3) to hold only the first page, as an editor saving in place would.
func incrementalUpdate(t *testing.T, base []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(base, []byte("startxref"))
	prev, err := strconv.Atoi(strings.Fields(string(base[i+len("startxref"):]))[0])
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.Write(base)
	b.WriteString("\n")
	obj := b.Len()
	b.WriteString("3 0 obj\n<< /Type /Pages /Kids [4 0 R] /Count 1 >>\nendobj\n")
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n3 1\n%010d 00000 n \ntrailer\n<< /Size 14 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", obj, prev, xref)
	return b.Bytes()
}

func TestFastPDFPagesAgreesWithPdfcpu(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want int
	}{
		{"1 page", func(t *testing.T) []byte { return readLetter(t, 1) }, 1},
		{"2 pages", func(t *testing.T) []byte { return readLetter(t, 2) }, 2},
		{"3 pages", func(t *testing.T) []byte { return readLetter(t, 3) }, 3},
		{"4 pages", func(t *testing.T) []byte { return readLetter(t, 4) }, 4},
		{"incremental update shrinks the tree", func(t *testing.T) []byte { return incrementalUpdate(t, readLetter(t, 2)) }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := tt.data(t)
			got, ok := fastPDFPages(data)
			if !ok || got != tt.want {
				t.Fatalf("fastPDFPages = %d, %v; want %d, true", got, ok, tt.want)
			}
			if ref := pdfcpuPages(t, data); ref != got {
				t.Fatalf("pdfcpu says %d pages, fast path %d", ref, got)
			}
		})
	}
}

// TestFastPDFPagesDeclines: what the fast path cannot read it must hand to pdfcpu, and the
// Counter must still get the right answer (or say it estimated).
func TestFastPDFPagesDeclines(t *testing.T) {
	t.Parallel()
	letter := readLetter(t, 3)
	var xrefStream bytes.Buffer
	conf := newConfig()
	conf.WriteXRefStream, conf.WriteObjectStream = true, true
	if err := api.Optimize(bytes.NewReader(letter), &xrefStream, conf); err != nil {
		t.Fatalf("pdfcpu optimize: %v", err)
	}
	tests := []struct {
		name     string
		data     []byte
		counted  int  // what Counter.Count must answer
		estimate bool // whether it must say it estimated
	}{
		{"cross-reference stream", xrefStream.Bytes(), 3, false},
		{"truncated before the xref", letter[:len(letter)/2], 1, true},
		{"startxref points nowhere", bytes.Replace(letter, []byte("startxref\n"), []byte("startxref\n9"), 1), 3, false},
		{"encrypted trailer", bytes.Replace(letter, []byte("/Root 1 0 R"), []byte("/Encrypt 99 0 R /Root 1 0 R"), 1), 0, false},
		{"not a pdf", []byte("hello"), 1, true},
	}
	c := NewCounter()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if n, ok := fastPDFPages(tt.data); ok {
				t.Fatalf("fastPDFPages = %d, true; want it to decline", n)
			}
			if tt.counted == 0 {
				return // pdfcpu's own business (it asks for a password)
			}
			path := filepath.Join(t.TempDir(), "doc.pdf")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, est := c.Count(path, PDF)
			if got != tt.counted || est != tt.estimate {
				t.Fatalf("Count = %d (estimated %v), want %d (estimated %v)", got, est, tt.counted, tt.estimate)
			}
		})
	}
}

func TestFastPDFPagesHostileNesting(t *testing.T) {
	t.Parallel()
	letter := readLetter(t, 1)
	deep := strings.Repeat("[", 100000)
	data := bytes.Replace(letter, []byte("/Type /Catalog"), []byte("/Type /Catalog /X "+deep), 1)
	if n, ok := fastPDFPages(data); ok {
		t.Fatalf("fastPDFPages = %d on a damaged catalog", n)
	}
}

func FuzzFastPDFPages(f *testing.F) {
	for p := 1; p <= 4; p++ {
		f.Add(readLetter(f, p))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if n, ok := fastPDFPages(data); ok && (n < 1 || n > maxFastPages) {
			t.Fatalf("fastPDFPages = %d, true: out of range", n)
		}
	})
}

func BenchmarkCountLetter(b *testing.B) {
	path := filepath.Join("..", "testdata", "letter-4p.pdf")
	c := NewCounter()
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if n, _ := c.Count(path, PDF); n != 4 {
				b.Fatal(n)
			}
		}
	})
	b.Run("pdfcpu", func(b *testing.B) {
		for b.Loop() {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			ctx, err := api.ReadContext(f, c.conf)
			f.Close()
			if err != nil || ctx.EnsurePageCount() != nil || ctx.PageCount != 4 {
				b.Fatal(err)
			}
		}
	})
}
