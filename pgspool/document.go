// Documents: staged in memory (small) or in an unlinked temporary file (large) until the commit
// that attaches them writes their bytes into document_chunks, in the same transaction as their
// job's row, streamed with COPY a chunk at a time; read back a chunk at a time.
package pgspool

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/jackc/pgx/v5"

	"github.com/printgate/printgate/job"
)

// held is this driver's hold on a staged document's bytes (job.Staged.Held): data in memory,
// or f, a temporary file already unlinked, so that nothing is left behind whatever happens to
// the process; closing it is all Discard has to do.
type held struct {
	data  []byte
	f     *os.File
	size  int64
	store *Store
}

func heldOf(st *job.Staged) *held {
	if st == nil {
		return nil
	}
	h, _ := st.Held.(*held)
	return h
}

// attachable reports whether the document still has its bytes (not discarded, not committed).
func attachable(st *job.Staged) bool {
	h := heldOf(st)
	return h != nil && h.store != nil && (h.data != nil || h.f != nil)
}

// committed is called once the document's bytes are in the database: the hold goes.
func committed(st *job.Staged) {
	if h := heldOf(st); h != nil {
		h.release()
	}
}

// release gives the bytes back: memory to the budget, the file to the kernel.
func (h *held) release() {
	s := h.store
	if s == nil {
		return
	}
	if h.data != nil {
		s.memHeld.Add(-int64(len(h.data)))
		h.data = nil
	}
	if h.f != nil {
		h.f.Close()
		h.f = nil
		s.stagedMu.Lock()
		delete(s.staged, h)
		s.stagedMu.Unlock()
	}
	h.store = nil
}

// Inline reports that the bytes go into the database, as every document of this driver does.
func (h *held) Inline() bool { return true }

// Discard drops a staged document that will not be submitted; safe twice and after a commit.
func (h *held) Discard() { h.release() }

// reader reads the staged bytes from the start.
func (h *held) reader() io.Reader {
	if h.data != nil {
		return bytes.NewReader(h.data)
	}
	return io.NewSectionReader(h.f, 0, h.size)
}

// StagedFiles is how many staged documents wait in temporary files (the storetest hook).
func (s *Store) StagedFiles() int {
	s.stagedMu.Lock()
	defer s.stagedMu.Unlock()
	return len(s.staged)
}

// Stage reads r: counted against MaxDocumentBytes, hashed and page-counted, kept in memory up
// to MemoryMaxBytes (within MemoryBudgetBytes), in an unlinked temporary file otherwise. Nothing
// reaches the database until the commit that attaches it, so a document never submitted leaves
// nothing there. A full temporary disk is job.ErrDiskFull; a reader that fails before EOF
// yields job.ErrTruncated.
func (s *Store) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	if format == "" {
		format = "application/octet-stream"
	}
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	limit := s.opts.MaxDocumentBytes
	if limit > 0 {
		src = io.LimitReader(src, limit+1)
	}
	memMax := s.opts.MemoryMaxBytes
	head, err := io.ReadAll(io.LimitReader(src, memMax+1))
	if err != nil {
		return nil, stageReadError(err, int64(len(head)))
	}
	n := int64(len(head))
	if limit > 0 && n > limit {
		return nil, fmt.Errorf("pgspool: stage document: %w (%d bytes)", job.ErrTooLarge, limit)
	}
	if n == 0 {
		return nil, job.ErrEmptyDocument
	}
	if n <= memMax && s.reserveMemory(n) {
		sum := sha256.Sum256(head)
		pages, estimated := s.opts.PageCounter(bytes.NewReader(head), n, format)
		return &job.Staged{Name: name, Format: format, SHA256: hex.EncodeToString(sum[:]), Size: n,
			Pages: pages, PagesEstimated: estimated, Held: &held{data: head, size: n, store: s}}, nil
	}
	return s.stageFile(io.MultiReader(bytes.NewReader(head), src), limit, name, format)
}

func (s *Store) reserveMemory(n int64) bool {
	for {
		cur := s.memHeld.Load()
		if cur+n > s.opts.MemoryBudgetBytes {
			return false
		}
		if s.memHeld.CompareAndSwap(cur, cur+n) {
			return true
		}
	}
}

func (s *Store) stageFile(src io.Reader, limit int64, name, format string) (*job.Staged, error) {
	f, err := os.CreateTemp(s.opts.TempDir, "printgate-stage-*")
	if err != nil {
		return nil, fmt.Errorf("pgspool: stage document: %w", err)
	}
	// Unlinked at once: the bytes live as long as the descriptor, and a crash frees them.
	os.Remove(f.Name())
	ok := false
	defer func() {
		if !ok {
			f.Close()
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		var perr *os.PathError
		switch {
		case errors.Is(err, syscall.ENOSPC):
			return nil, fmt.Errorf("pgspool: stage document: %w: %v", job.ErrDiskFull, err)
		case errors.As(err, &perr) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
			return nil, fmt.Errorf("pgspool: stage document: write: %w", err)
		}
		return nil, stageReadError(err, n)
	}
	if limit > 0 && n > limit {
		return nil, fmt.Errorf("pgspool: stage document: %w (%d bytes)", job.ErrTooLarge, limit)
	}
	if n == 0 {
		return nil, job.ErrEmptyDocument
	}
	pages, estimated := s.opts.PageCounter(io.NewSectionReader(f, 0, n), n, format)
	hd := &held{f: f, size: n, store: s}
	s.stagedMu.Lock()
	s.staged[hd] = struct{}{}
	s.stagedMu.Unlock()
	ok = true
	return &job.Staged{Name: name, Format: format, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n,
		Pages: pages, PagesEstimated: estimated, Held: hd}, nil
}

func stageReadError(err error, n int64) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("pgspool: stage document: %w: %v", job.ErrTruncated, err)
	}
	return fmt.Errorf("pgspool: stage document after %d bytes: %w: %v", n, job.ErrTruncated, err)
}

// docWriter records staged documents in a transaction: their rows at once, their bytes with
// one COPY for all of them at flush, read a chunk at a time from memory or the staged file.
type docWriter struct {
	tx      *dbtx
	pending []pendingDoc
}

type pendingDoc struct {
	jobID int64
	seq   int
	h     *held
}

func newDocWriter(tx *dbtx) *docWriter { return &docWriter{tx: tx} }

func (w *docWriter) insert(jobID int64, seq int, d *job.Staged) error {
	if !attachable(d) {
		return job.ErrEmptyDocument
	}
	h := heldOf(d)
	chunks := (h.size + chunkSize - 1) / chunkSize
	if _, err := w.tx.Exec(`INSERT INTO documents (job_id, seq, name, format, size, sha256, pages,
		pages_estimated, chunks) VALUES (?,?,?,?,?,?,?,?,?)`, jobID, seq, d.Name, d.Format, d.Size, d.SHA256, d.Pages,
		d.PagesEstimated, chunks); err != nil {
		return err
	}
	w.pending = append(w.pending, pendingDoc{jobID: jobID, seq: seq, h: h})
	return nil
}

// flush writes the bytes of every document inserted so far.
func (w *docWriter) flush() error {
	if len(w.pending) == 0 {
		return nil
	}
	src := &chunkSource{docs: w.pending, buf: make([]byte, chunkSize)}
	if _, err := w.tx.tx.CopyFrom(w.tx.ctx, pgx.Identifier{"document_chunks"}, []string{"job_id", "seq", "chunk", "bytes"}, src); err != nil {
		return err
	}
	w.pending = nil
	return src.err
}

// chunkSource feeds COPY the chunks of the pending documents, one in memory at a time.
type chunkSource struct {
	docs  []pendingDoc
	i     int // document
	chunk int // next chunk of docs[i]
	r     io.Reader
	buf   []byte
	row   []any
	err   error
}

func (c *chunkSource) Next() bool {
	for c.i < len(c.docs) {
		d := c.docs[c.i]
		if c.r == nil {
			c.r, c.chunk = d.h.reader(), 0
		}
		n, err := io.ReadFull(c.r, c.buf)
		if n > 0 {
			// COPY encodes the row before asking for the next, so one buffer serves them all.
			c.row = []any{d.jobID, d.seq, c.chunk, c.buf[:n]}
			c.chunk++
			if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				c.i, c.r = c.i+1, nil
			}
			return true
		}
		if err != nil && !errors.Is(err, io.EOF) {
			c.err = fmt.Errorf("read staged document: %w", err)
			return false
		}
		c.i, c.r = c.i+1, nil
	}
	return false
}

func (c *chunkSource) Values() ([]any, error) { return c.row, nil }
func (c *chunkSource) Err() error             { return c.err }

// OpenDocument streams a stored document from the database a chunk at a time; ErrNotFound once
// retention removed it.
func (s *Store) OpenDocument(ctx context.Context, d job.Document) (io.ReadSeekCloser, error) {
	if !d.Available() {
		return nil, fmt.Errorf("pgspool: open document %d/%d: %w (removed after the retention period)", d.JobID, d.Seq, job.ErrNotFound)
	}
	var size int64
	var deleted int64
	err := s.queryRow(ctx, `SELECT size, deleted FROM documents WHERE job_id = ? AND seq = ?`, d.JobID, d.Seq).Scan(&size, &deleted)
	if errors.Is(err, errNoRows) || (err == nil && deleted > 0) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("pgspool: open document %d/%d: %w", d.JobID, d.Seq, err)
	}
	return &chunkReader{s: s, ctx: ctx, d: d, size: size, cur: -1}, nil
}

// DocumentBytes reads a whole stored document into memory (meant for small ones).
func (s *Store) DocumentBytes(ctx context.Context, d job.Document) ([]byte, error) {
	rc, err := s.OpenDocument(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// chunkReader reads a document at any offset, fetching the chunk that holds it.
type chunkReader struct {
	s    *Store
	ctx  context.Context
	d    job.Document
	size int64
	off  int64
	cur  int64 // index of the chunk in data; -1 none
	data []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	idx := r.off / chunkSize
	if idx != r.cur {
		var b []byte
		err := r.s.queryRow(r.ctx, `SELECT bytes FROM document_chunks WHERE job_id = ? AND seq = ? AND chunk = ?`,
			r.d.JobID, r.d.Seq, idx).Scan(&b)
		if errors.Is(err, errNoRows) {
			err = job.ErrNotFound // retention took it while it was being read
		}
		if err != nil {
			return 0, fmt.Errorf("pgspool: read document %d/%d chunk %d: %w", r.d.JobID, r.d.Seq, idx, err)
		}
		r.cur, r.data = idx, b
	}
	within := r.off - idx*chunkSize
	if within >= int64(len(r.data)) {
		return 0, fmt.Errorf("pgspool: read document %d/%d: chunk %d shorter than recorded", r.d.JobID, r.d.Seq, idx)
	}
	n := copy(p, r.data[within:])
	r.off += int64(n)
	return n, nil
}

func (r *chunkReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, errors.New("pgspool: seek: bad whence")
	}
	if abs < 0 {
		return 0, errors.New("pgspool: seek: negative position")
	}
	r.off = abs
	return abs, nil
}

func (r *chunkReader) Close() error { r.data = nil; return nil }

func freeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// ctxReader stops a copy when the caller's context ends (a client that hung up).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// StoredDocuments counts the documents whose bytes the database holds, and fails if a
// document's chunks and its row disagree (bytes without a row, or a row short of its bytes).
func (s *Store) StoredDocuments(ctx context.Context) (int, error) {
	var n, bad int
	err := s.queryRow(ctx, `SELECT
		(SELECT count(*) FROM documents WHERE deleted = 0),
		(SELECT count(*) FROM (SELECT d.job_id FROM documents d LEFT JOIN document_chunks c
			ON c.job_id = d.job_id AND c.seq = d.seq WHERE d.deleted = 0
			GROUP BY d.job_id, d.seq, d.chunks, d.size HAVING count(c.chunk) <> d.chunks OR coalesce(sum(length(c.bytes)), 0) <> d.size) x)
		+ (SELECT count(*) FROM document_chunks c WHERE NOT EXISTS
			(SELECT 1 FROM documents d WHERE d.job_id = c.job_id AND d.seq = c.seq AND d.deleted = 0))`).Scan(&n, &bad)
	if err != nil {
		return 0, fmt.Errorf("pgspool: count documents: %w", err)
	}
	if bad > 0 {
		return 0, fmt.Errorf("pgspool: %d documents whose bytes and rows disagree", bad)
	}
	return n, nil
}
