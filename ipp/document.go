// Document data: decompressing gzip and raw deflate (as CUPS writes it) on the way in,
// enforcing the size limit, recognising the format of application/octet-stream documents, and
// staging the result durably through the Service.
package ipp

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"io"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/internal/capread"
	"github.com/printgate/printgate/job"
)

// hasDocument reports whether document data follows the attribute section.
func (rq *request) hasDocument() bool {
	_, err := rq.body.Peek(1)
	return err == nil
}

// errorTrap remembers the first error its reader returned other than io.EOF, so that after the
// spool has wrapped it (as ErrTruncated, by text) we still know where it came from.
type errorTrap struct {
	r   io.Reader
	err error
}

func (t *errorTrap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) && t.err == nil {
		t.err = err
	}
	return n, err
}

var errDocumentTooLarge = errors.New("ipp: document larger than the configured maximum")

// stage streams the request's document (decompressed) into the spool. On error nothing is
// left staged. format application/octet-stream is replaced by the recognised format, and a
// recognised format no pool member prints is refused.
func (s *Server) stage(ctx context.Context, rq *request, format, compression, name string) (*job.Staged, error) {
	if !rq.hasDocument() {
		return nil, Errorf(goipp.StatusErrorBadRequest, "No document data in request.")
	}
	// Compressed bytes in, for the ratio cap below.
	in := &countReader{r: rq.body}
	var src io.Reader = in
	switch compression {
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, Errorf(goipp.StatusErrorCompressionError, "Bad gzip data: %v.", err)
		}
		// One gzip member per document, as CUPS sends; anything after it is drained as junk.
		zr.Multistream(false)
		src = zr
	case "deflate":
		src = flate.NewReader(in)
	}
	var bomb *ratioReader
	if compression == "gzip" || compression == "deflate" {
		bomb = &ratioReader{r: src, in: in, ratio: s.maxRatio}
		src = bomb
	}
	var trap *errorTrap
	if compression != "none" {
		trap = &errorTrap{r: src}
		src = trap
	}
	var lim *capread.Reader
	if s.maxDoc > 0 {
		lim = &capread.Reader{R: src, N: s.maxDoc, TooLarge: errDocumentTooLarge}
		src = lim
	}
	br := bufio.NewReaderSize(src, 4096)
	head, err := br.Peek(document.SniffLen)
	switch {
	case bomb != nil && bomb.over:
		return nil, bomb.ippError()
	case lim != nil && lim.Over:
		return nil, Errorf(goipp.StatusErrorRequestEntity, "Document is larger than %d bytes.", s.maxDoc)
	case trap != nil && trap.err != nil:
		return nil, Errorf(goipp.StatusErrorCompressionError, "Bad %s data: %v.", compression, trap.err)
	case len(head) == 0 && err != nil:
		return nil, Errorf(goipp.StatusErrorBadRequest, "No document data in request.")
	}
	if format == document.Octet {
		if detected := document.Sniff(head); detected != document.Octet {
			if !offers(normalizeCaps(rq.printer.Caps), detected) {
				return nil, Errorf(goipp.StatusErrorDocumentFormatNotSupported,
					"No printer of %s prints %s (detected).", rq.printer.Name, detected)
			}
			format = detected
		}
	}
	var doc io.Reader = br
	if rq.docPassword != "" && format == document.PDF {
		// An encrypted letter is decrypted here with the client's password, which then goes
		// no further (document/decrypt.go says why).
		plain, err := document.DecryptPDF(br, rq.docPassword)
		switch {
		case errors.Is(err, document.ErrPDFPassword):
			return nil, Errorf(goipp.StatusErrorDocumentPassword, "The document-password does not open the PDF.")
		case errors.Is(err, document.ErrEncryptedTooLarge):
			return nil, Errorf(goipp.StatusErrorRequestEntity, "An encrypted PDF is decrypted in memory: at most %d bytes.", document.MaxEncryptedPDF)
		case lim != nil && lim.Over:
			return nil, Errorf(goipp.StatusErrorRequestEntity, "Document is larger than %d bytes.", s.maxDoc)
		case err != nil:
			return nil, Errorf(goipp.StatusErrorDocumentFormatError, "The encrypted PDF could not be read: %v.", err)
		}
		doc = bytes.NewReader(plain)
	}
	st, err := s.svc.Stage(ctx, doc, name, format)
	if err != nil {
		// Our readers' verdicts are more precise than the spool's "truncated".
		switch {
		case bomb != nil && bomb.over:
			return nil, bomb.ippError()
		case lim != nil && lim.Over:
			return nil, Errorf(goipp.StatusErrorRequestEntity, "Document is larger than %d bytes.", s.maxDoc)
		case trap != nil && trap.err != nil:
			return nil, Errorf(goipp.StatusErrorCompressionError, "Bad %s data: %v.", compression, trap.err)
		}
		return nil, err
	}
	return st, nil
}

// DefaultMaxCompressionRatio: real print documents compress 1.1-10 times (PDF and JPEG are
// compressed already; PWG raster is run-length encoded); a stream that expands 100 times is a
// bomb, not a letter.
const DefaultMaxCompressionRatio = 100

// ratioFloor is how much any compressed document may expand to before the ratio counts, so
// that a small, very compressible document (a page of text) is never refused.
const ratioFloor = 1 << 20

// errCompressionRatio is what a ratioReader returns once the document is over the ratio.
var errCompressionRatio = errors.New("ipp: document expands past the compression ratio limit")

// countReader counts the bytes read through it.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ratioReader stops a decompressed stream once it has produced more than ratio bytes per
// compressed byte read (past ratioFloor), as it is produced: nothing of a bomb is written
// beyond that point.
type ratioReader struct {
	r     io.Reader
	in    *countReader
	ratio int64
	out   int64
	over  bool
}

func (b *ratioReader) Read(p []byte) (int, error) {
	if b.over {
		return 0, errCompressionRatio
	}
	n, err := b.r.Read(p)
	b.out += int64(n)
	if b.out > ratioFloor && b.out > b.ratio*max(b.in.n, 1) {
		b.over = true
		return 0, errCompressionRatio
	}
	return n, err
}

func (b *ratioReader) ippError() error {
	return Errorf(goipp.StatusErrorRequestEntity,
		"Compressed document expands more than %d times (%d bytes from %d); refused as a decompression bomb.",
		b.ratio, b.out, b.in.n)
}
