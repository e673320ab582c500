// Package document knows what is inside a print document: its format (sniffed from the first
// bytes when the client did not say) and its page count (exact for PDF via pdfcpu, estimated
// for other formats).
package document

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Counter counts pages. It is safe for concurrent use.
type Counter struct {
	conf *model.Configuration
}

var disableConfigOnce sync.Once

// newConfig is pdfcpu's default configuration without pdfcpu's config file. Left to itself,
// pdfcpu writes one into the user's home directory on first use (a print server must not), and
// that first use sets package globals: a data race beside any other pdfcpu call. Every
// configuration the package (and its tests) uses comes from here.
func newConfig() *model.Configuration {
	disableConfigOnce.Do(func() { model.ConfigPath = "disable" })
	return model.NewDefaultConfiguration()
}

// NewCounter returns a page counter.
func NewCounter() *Counter {
	conf := newConfig()
	conf.ValidationMode = model.ValidationRelaxed
	return &Counter{conf: conf}
}

// Config is the pdfcpu configuration the counter uses (for splitting and other pdfcpu calls).
func (c *Counter) Config() *model.Configuration { return c.conf }

// Count returns the pages of the document at path. estimated is true when the format cannot be
// counted exactly (or a PDF could not be parsed) and the figure is a guess from the size.
func (c *Counter) Count(path, format string) (pages int, estimated bool) {
	f, err := os.Open(path)
	if err != nil {
		return 1, true
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 1, true
	}
	return c.CountReader(f, st.Size(), format)
}

// CountReader is Count for a document of size bytes read from rs (a file, or the bytes of a
// small document the spool keeps in memory and in its database).
func (c *Counter) CountReader(rs io.ReadSeeker, size int64, format string) (pages int, estimated bool) {
	if format == "" || format == Octet {
		head := make([]byte, SniffLen)
		n, _ := io.ReadFull(rs, head)
		format = Sniff(head[:n])
	}
	switch format {
	case PDF:
		if n, err := c.pdfPages(rs, size); err == nil && n > 0 {
			return n, false
		}
	case PWGRaster:
		if _, err := rs.Seek(0, io.SeekStart); err == nil {
			if n, err := countPWG(rs); err == nil && n > 0 {
				return n, false
			}
		}
	case URF:
		if _, err := rs.Seek(0, io.SeekStart); err == nil {
			if n, err := countURF(rs); err == nil && n > 0 {
				return n, false
			}
		}
	case JPEG, PNG:
		return 1, false
	}
	return estimate(size), true
}

// PDFPages counts the pages of a PDF file.
func (c *Counter) PDFPages(path string) (pages int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("document: count pages of %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("document: count pages of %s: %w", path, err)
	}
	n, err := c.pdfPages(f, st.Size())
	if err != nil {
		return 0, fmt.Errorf("%w (%s)", err, path)
	}
	return n, nil
}

func (c *Counter) pdfPages(rs io.ReadSeeker, size int64) (pages int, err error) {
	defer pdfGuard(&err)
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("document: count pages: %w", err)
	}
	// Most letters are small: read them once and try the fast path (fastPDFPages) before
	// pdfcpu, which loads every object and costs far more on the submission path.
	if size <= fastCountMaxBytes {
		data, err := io.ReadAll(rs)
		if err != nil {
			return 0, fmt.Errorf("document: count pages: %w", err)
		}
		if n, ok := fastPDFPages(data); ok {
			return n, nil
		}
		rs = bytes.NewReader(data)
	}
	// Reading the cross-reference table and the page tree root's Count is enough; full
	// validation would cost ten times more on the submission path.
	ctx, err := api.ReadContext(rs, c.conf)
	if err != nil {
		return 0, fmt.Errorf("document: count pages: %w", err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		return 0, fmt.Errorf("document: count pages: %w", err)
	}
	return ctx.PageCount, nil
}

// pdfGuard turns a panic inside pdfcpu into an error. pdfcpu panics on some malformed input,
// and documents come from clients: half a PDF closed cleanly on a raw port is an ordinary job
// there, and it must cost an estimated page count, not the gateway with every front-end.
func pdfGuard(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("document: PDF library failed on malformed input: %v", r)
	}
}

// fastCountMaxBytes: larger PDFs skip the in-memory fast path and go to pdfcpu directly.
const fastCountMaxBytes = 16 << 20

// estimate guesses one page per 50 KB, at least one: the scheduler needs some weight, and
// an operator sees the "estimated" flag beside it.
func estimate(size int64) int {
	return max(1, int(size/(50<<10)))
}

// countPWG walks PWG raster page headers (PWG 5102.4): a 4-byte sync word, then per page a
// 1796-byte header followed by the page's compressed data, which must be decoded to skip.
func countPWG(src io.Reader) (int, error) {
	r := bufio.NewReaderSize(src, 64<<10)
	sync := make([]byte, 4)
	if _, err := io.ReadFull(r, sync); err != nil || string(sync) != "RaS2" {
		return 0, fmt.Errorf("document: not PWG raster")
	}
	pages := 0
	hdr := make([]byte, 1796)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return pages, nil
			}
			return pages, err
		}
		pages++
		bpp := int(binary.BigEndian.Uint32(hdr[388:392]))
		bytesPerLine := int(binary.BigEndian.Uint32(hdr[392:396]))
		// cupsHeight: after the four 64-byte strings and 29 four-byte fields (PWG 5102.4
		// section 4.3; 380 is cupsMediaType, which is 0 for most rasters and made every
		// raster fall back to the size estimate).
		height := int(binary.BigEndian.Uint32(hdr[376:380]))
		if bpp <= 0 || bytesPerLine <= 0 || height <= 0 {
			return pages, fmt.Errorf("document: bad PWG page header on page %d", pages)
		}
		if err := skipPWGPage(r, height, bytesPerLine, (bpp+7)/8); err != nil {
			return pages, err
		}
	}
}

// countURF walks the pages of Apple raster (URF, the format AirPrint clients send): "UNIRAST\0",
// a 4-byte page count, then per page a 32-byte header (bits per pixel at 0, width at 12, height
// at 16, big-endian) and lines compressed as in PWG raster (CUPS' reader decodes both alike).
// The pages are walked rather than the count believed: a streaming writer may leave it 0.
func countURF(src io.Reader) (int, error) {
	r := bufio.NewReaderSize(src, 64<<10)
	head := make([]byte, 12)
	if _, err := io.ReadFull(r, head); err != nil || string(head[:8]) != "UNIRAST\x00" {
		return 0, fmt.Errorf("document: not URF")
	}
	pages := 0
	hdr := make([]byte, 32)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF {
				return pages, nil
			}
			return pages, err
		}
		pages++
		bpp := int(hdr[0])
		width := int(binary.BigEndian.Uint32(hdr[12:16]))
		height := int(binary.BigEndian.Uint32(hdr[16:20]))
		if bpp == 0 || bpp%8 != 0 || width <= 0 || height <= 0 || width > 1<<20 {
			return pages, fmt.Errorf("document: bad URF page header on page %d", pages)
		}
		if err := skipPWGPage(r, height, width*bpp/8, bpp/8); err != nil {
			return pages, err
		}
	}
}

// skipPWGPage skips the PackBits-style compressed lines of one page: per line group a repeat
// byte, then runs (0-127: one pixel repeated n+1 times; 129-255: 257-n literal pixels; 128: the
// rest of the line is white).
func skipPWGPage(r *bufio.Reader, height, bytesPerLine, bytesPerPixel int) error {
	for y := 0; y < height; {
		rep, err := r.ReadByte()
		if err != nil {
			return err
		}
		y += int(rep) + 1
		x := 0
		for x < bytesPerLine {
			n, err := r.ReadByte()
			if err != nil {
				return err
			}
			if n == 128 { // the rest of the line is white: no data follows
				x = bytesPerLine
				break
			}
			if n < 128 { // n+1 repeated pixels: one pixel follows
				if _, err := r.Discard(bytesPerPixel); err != nil {
					return err
				}
				x += (int(n) + 1) * bytesPerPixel
			} else { // 257-n literal pixels follow
				cnt := (257 - int(n)) * bytesPerPixel
				if _, err := r.Discard(cnt); err != nil {
					return err
				}
				x += cnt
			}
		}
		if x != bytesPerLine { // a run crossed the end of the line: not this header's data
			return fmt.Errorf("document: PWG raster line overruns cupsBytesPerLine %d", bytesPerLine)
		}
	}
	return nil
}
