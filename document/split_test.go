package document

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// mergedPDF writes a PDF of n pages whose page i shows the text "<label> page i", so every page
// has its own content stream.
func mergedPDF(label string, n int) []byte {
	var b bytes.Buffer
	offsets := []int{0}
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets)-1, body)
	}
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	var kids bytes.Buffer
	for i := range n {
		fmt.Fprintf(&kids, "%d 0 R ", 4+2*i)
	}
	obj(fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", kids.String(), n))
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	for i := range n {
		content := fmt.Sprintf("BT /F1 18 Tf 72 720 Td (%s page %d) Tj ET", label, i+1)
		obj(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>", 5+2*i))
		obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content))
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets))
	for _, off := range offsets[1:] {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets), xref)
	return b.Bytes()
}

func TestSplitKeepsEveryPageInOrder(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	for _, tc := range []struct {
		pages, per int
	}{{12, 1}, {12, 2}, {12, 3}, {12, 12}} {
		t.Run(fmt.Sprintf("%d-by-%d", tc.pages, tc.per), func(t *testing.T) {
			t.Parallel()
			merged := mergedPDF("merge", tc.pages)
			want, err := c.PageDigests(bytes.NewReader(merged))
			if err != nil {
				t.Fatal(err)
			}
			if len(want) != tc.pages {
				t.Fatalf("%d page digests, want %d", len(want), tc.pages)
			}
			var got [][32]byte
			n, err := c.Split(context.Background(), bytes.NewReader(merged), tc.per, func(l Letter) error {
				if l.From != (l.Seq-1)*tc.per+1 || l.Thru != l.Seq*tc.per {
					t.Errorf("letter %d: pages %d-%d", l.Seq, l.From, l.Thru)
				}
				d, err := c.PageDigests(bytes.NewReader(l.PDF))
				if err != nil {
					return err
				}
				if len(d) != tc.per {
					t.Errorf("letter %d has %d pages, want %d", l.Seq, len(d), tc.per)
				}
				got = append(got, d...)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.pages/tc.per {
				t.Fatalf("split made %d letters, want %d", n, tc.pages/tc.per)
			}
			if len(got) != len(want) {
				t.Fatalf("letters hold %d pages, want %d", len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("page %d of the letters differs from page %d of the merged PDF", i+1, i+1)
				}
			}
		})
	}
}

func TestPageDigestsTellPagesApart(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	a, err := c.PageDigests(bytes.NewReader(mergedPDF("a", 3)))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.PageDigests(bytes.NewReader(mergedPDF("b", 3)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[32]byte]bool{}
	for _, d := range append(a, b...) {
		if seen[d] {
			t.Fatal("two different pages have the same digest")
		}
		seen[d] = true
	}
}

func TestSplitRefusesIndivisiblePageCount(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	called := false
	_, err := c.Split(context.Background(), bytes.NewReader(mergedPDF("odd", 7)), 2, func(Letter) error {
		called = true
		return nil
	})
	if !errors.Is(err, ErrNotDivisible) {
		t.Fatalf("split of 7 pages by 2: %v, want ErrNotDivisible", err)
	}
	if called {
		t.Fatal("a letter was emitted before the page count was checked")
	}
	for _, tc := range []struct {
		pages, per, want int
		ok               bool
	}{{2000, 2, 1000, true}, {7, 2, 0, false}, {0, 2, 0, false}, {4, 0, 0, false}, {5, 5, 1, true}} {
		n, err := SplitPages(tc.pages, tc.per)
		if (err == nil) != tc.ok || n != tc.want {
			t.Errorf("SplitPages(%d, %d) = %d, %v", tc.pages, tc.per, n, err)
		}
	}
}

func TestSplitRealLetters(t *testing.T) {
	t.Parallel()
	// The repository's sample letters, each split into single pages: every page survives.
	c := NewCounter()
	for _, name := range []string{"letter-2p.pdf", "letter-4p.pdf"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := c.PageDigests(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		i := 0
		_, err = c.Split(context.Background(), bytes.NewReader(data), 1, func(l Letter) error {
			d, err := c.PageDigests(bytes.NewReader(l.PDF))
			if err != nil {
				return err
			}
			if len(d) != 1 || d[0] != want[i] {
				t.Errorf("%s: page %d differs after split", name, i+1)
			}
			i++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if i != len(want) {
			t.Fatalf("%s: %d letters, want %d", name, i, len(want))
		}
	}
}

func BenchmarkSplit2000Pages(b *testing.B) {
	c := NewCounter()
	merged := mergedPDF("bench", 2000)
	for b.Loop() {
		n, err := c.Split(context.Background(), bytes.NewReader(merged), 2, func(Letter) error { return nil })
		if err != nil || n != 1000 {
			b.Fatal(n, err)
		}
	}
}
