// Splitting one merged mail-merge PDF into letters of N pages each, and a render-free identity
// of pages (a hash of each page's content stream) to check that a split kept every page.
package document

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// ErrNotDivisible: the merged PDF's page count is not a multiple of the pages per letter, so
// at least one letter would be cut in two. Nothing is split.
var ErrNotDivisible = errors.New("document: page count is not divisible by the pages per letter")

// Letter is one letter cut out of a merged PDF.
type Letter struct {
	// Seq counts letters from 1; From and Thru are its pages in the merged PDF (1-based).
	Seq, From, Thru int
	// PDF is the letter as a PDF file of Thru-From+1 pages.
	PDF []byte
}

// splitConfig is a fresh pdfcpu configuration per call: pdfcpu writes into it (Cmd), so the
// counter's shared one must not be used.
func (c *Counter) splitConfig() *model.Configuration {
	conf := newConfig()
	conf.ValidationMode = c.conf.ValidationMode
	conf.Cmd = model.SPLIT
	return conf
}

// SplitPages checks that a merged PDF of pages pages divides into letters of pagesPerLetter and
// returns how many letters that makes.
func SplitPages(pages, pagesPerLetter int) (int, error) {
	if pagesPerLetter < 1 {
		return 0, fmt.Errorf("document: split: pages per letter must be at least 1, not %d", pagesPerLetter)
	}
	if pages == 0 || pages%pagesPerLetter != 0 {
		return 0, fmt.Errorf("%w: %d pages, %d per letter (remainder %d)", ErrNotDivisible, pages, pagesPerLetter,
			pages%pagesPerLetter)
	}
	return pages / pagesPerLetter, nil
}

// Split cuts the merged PDF read from rs into letters of pagesPerLetter pages and hands them to
// emit one at a time, in page order, so memory holds the parsed input and one letter. A page
// count not divisible by pagesPerLetter is ErrNotDivisible before emit is called at all.
func (c *Counter) Split(ctx context.Context, rs io.ReadSeeker, pagesPerLetter int, emit func(Letter) error) (n int, err error) {
	defer pdfGuard(&err)
	pctx, err := api.ReadValidateAndOptimize(rs, c.splitConfig())
	if err != nil {
		return 0, fmt.Errorf("document: split: read PDF: %w", err)
	}
	if err := pctx.EnsurePageCount(); err != nil {
		return 0, fmt.Errorf("document: split: count pages: %w", err)
	}
	n, err = SplitPages(pctx.PageCount, pagesPerLetter)
	if err != nil {
		return 0, err
	}
	pages := make([]int, pagesPerLetter)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		from := i*pagesPerLetter + 1
		for k := range pages {
			pages[k] = from + k
		}
		letter, err := pdfcpu.ExtractPages(pctx, pages, false)
		if err != nil {
			return i, fmt.Errorf("document: split: letter %d (pages %d-%d): %w", i+1, from, from+pagesPerLetter-1, err)
		}
		var buf bytes.Buffer
		if err := api.WriteContext(letter, &buf); err != nil {
			return i, fmt.Errorf("document: split: write letter %d: %w", i+1, err)
		}
		if err := emit(Letter{Seq: i + 1, From: from, Thru: from + pagesPerLetter - 1, PDF: buf.Bytes()}); err != nil {
			return i, err
		}
	}
	return n, nil
}

// PageDigests returns, for each page of the PDF read from rs, the SHA-256 of its consolidated,
// decoded content stream. Two pages with the same digest draw the same operators with the same
// operands: a render-free way to check that a split letter holds exactly the merged file's pages
// (resources such as fonts are renamed freely by a PDF writer, content streams are not).
func (c *Counter) PageDigests(rs io.ReadSeeker) (digests [][sha256.Size]byte, err error) {
	defer pdfGuard(&err)
	conf := c.splitConfig()
	conf.Cmd = model.EXTRACTCONTENT
	pctx, err := api.ReadValidateAndOptimize(rs, conf)
	if err != nil {
		return nil, fmt.Errorf("document: page digests: read PDF: %w", err)
	}
	if err := pctx.EnsurePageCount(); err != nil {
		return nil, fmt.Errorf("document: page digests: count pages: %w", err)
	}
	out := make([][sha256.Size]byte, 0, pctx.PageCount)
	for p := 1; p <= pctx.PageCount; p++ {
		r, err := pdfcpu.ExtractPageContent(pctx, p)
		if err != nil {
			return nil, fmt.Errorf("document: page digests: page %d: %w", p, err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, r); err != nil {
			return nil, fmt.Errorf("document: page digests: page %d: %w", p, err)
		}
		var d [sha256.Size]byte
		copy(d[:], h.Sum(nil))
		out = append(out, d)
	}
	return out, nil
}
