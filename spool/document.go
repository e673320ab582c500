// Documents. A small one (up to Options.InlineMaxBytes) is read into memory, hashed and, at its
// commit, written into the database beside its row, so the group commit's WAL fsync makes both
// durable at once. A larger one is streamed to tmp/, hashed and renamed into docs/; the group
// commit that records it fsyncs every document file of the batch and the docs/ directory at
// once, and only then commits the rows. Either way a job is acknowledged only when its bytes
// and its row are on disk.
package spool

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/printgate/printgate/job"
)

// held is the SQLite driver's hold on a staged document's bytes (job.Staged.Held): a file in
// docs/ or, for an inline document, the bytes in memory until their commit.
type held struct {
	// rel is the path relative to the spool directory; abs the full path. Both are empty for
	// an inline document.
	rel, abs string
	// inDB marks an inline document: data holds it until its commit writes it into the
	// database, counting against the store's InlineBudgetBytes meanwhile.
	inDB  bool
	data  []byte
	store *Store
	// granted is what an inline document holds of the disk budget until its commit.
	granted int64
}

// heldOf is this driver's hold on st, or nil when st is nil or another store staged it.
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
	return h != nil && (h.abs != "" || h.data != nil)
}

// committed is called once the document's row (and, inline, its bytes) are in the database:
// Discard must no longer remove anything, and the memory goes back to the budget.
func committed(st *job.Staged) {
	if h := heldOf(st); h != nil {
		h.releaseInline()
		h.store = nil
	}
}

func (h *held) releaseInline() {
	if h.data != nil && h.store != nil {
		h.store.inlineHeld.Add(-int64(len(h.data)))
		h.store.ungrant(h.granted)
		h.granted = 0
	}
	h.data = nil
}

// stagedPaths are the files of docs still to be fsynced by the commit that attaches them.
func stagedPaths(docs ...*job.Staged) []string {
	var paths []string
	for _, d := range docs {
		if h := heldOf(d); h != nil && h.abs != "" {
			paths = append(paths, h.abs)
		}
	}
	return paths
}

// syncPath fsyncs the file or directory at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Inline reports whether the document goes (or went) into the database rather than a file.
func (h *held) Inline() bool { return h.inDB }

// Discard removes a staged document that will not be submitted. Safe to call twice and on a
// document already attached to a job (then it does nothing).
func (h *held) Discard() {
	if h.store == nil {
		return
	}
	h.releaseInline()
	if h.abs == "" {
		return
	}
	if err := os.Remove(h.abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.store.log.Warn("spool: discard staged document", "path", h.abs, "err", err)
	}
	h.abs = ""
}

// Stage reads r into the spool: the bytes are counted against MaxDocumentBytes and hashed; a
// document up to InlineMaxBytes stays in memory until the commit that attaches it writes it into
// the database, a larger one is written to tmp/ and renamed into docs/ (the commit fsyncs it).
// Its bytes come from the disk budget before they are written (budget.go), so it is refused with
// ErrDiskFull, nothing left behind, when they would take free space below MinFreeBytes. A
// reader that fails before EOF (a client that went away) yields ErrTruncated and leaves nothing
// behind.
func (s *Store) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	if format == "" {
		format = "application/octet-stream"
	}
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	limit := s.opts.MaxDocumentBytes
	if limit > 0 {
		// One byte more than allowed tells "exactly the limit" from "over it".
		src = io.LimitReader(src, limit+1)
	}
	if inlineMax := s.opts.InlineMaxBytes; inlineMax > 0 {
		head, err := io.ReadAll(io.LimitReader(src, inlineMax+1))
		if err != nil {
			return nil, stageReadError(err, int64(len(head)))
		}
		n := int64(len(head))
		if limit > 0 && n > limit {
			return nil, fmt.Errorf("spool: stage document: %w (%d bytes)", job.ErrTooLarge, limit)
		}
		if n == 0 {
			return nil, job.ErrEmptyDocument
		}
		if n <= inlineMax && s.reserveInline(n) {
			// Its bytes reach the database at the commit: promised until then.
			if err := s.grant(n); err != nil {
				s.inlineHeld.Add(-n)
				return nil, err
			}
			sum := sha256.Sum256(head)
			pages, estimated := s.opts.PageCounter(bytes.NewReader(head), n, format)
			return &job.Staged{
				Name: name, Format: format, SHA256: hex.EncodeToString(sum[:]), Size: n,
				Pages: pages, PagesEstimated: estimated, Held: &held{inDB: true, data: head, store: s, granted: n},
			}, nil
		}
		// Too large to keep inline, or too many inline documents waiting for their commit:
		// the bytes read so far go first into the file.
		src = io.MultiReader(bytes.NewReader(head), src)
	}
	return s.stageFile(src, limit, name, format)
}

// reserveInline takes n bytes of the inline budget, or reports that they are not there.
func (s *Store) reserveInline(n int64) bool {
	for {
		held := s.inlineHeld.Load()
		if held+n > s.opts.InlineBudgetBytes {
			return false
		}
		if s.inlineHeld.CompareAndSwap(held, held+n) {
			return true
		}
	}
}

// stageReadError classifies a failure to read a document from its client after n bytes.
func stageReadError(err error, n int64) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("spool: stage document: %w: %v", job.ErrTruncated, err)
	}
	return fmt.Errorf("spool: stage document after %d bytes: %w: %v", n, job.ErrTruncated, err)
}

// stageFile streams src (already limited to limit+1 bytes when limit > 0) into a file under docs/.
func (s *Store) stageFile(src io.Reader, limit int64, name, format string) (*job.Staged, error) {
	id, err := randomID()
	if err != nil {
		return nil, fmt.Errorf("spool: stage document: %w", err)
	}
	tmp := filepath.Join(s.tmpDir, id)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: stage document: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	bw := &budgetWriter{w: f, s: s}
	n, err := io.Copy(io.MultiWriter(bw, h), src)
	bw.close()
	if err != nil {
		if errors.Is(err, job.ErrDiskFull) {
			return nil, fmt.Errorf("spool: stage document: %w", err)
		}
		var werr *os.PathError
		if errors.As(err, &werr) && errors.Is(err, syscall.ENOSPC) {
			return nil, fmt.Errorf("spool: stage document: %w: %v", job.ErrDiskFull, err)
		}
		if werr != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("spool: stage document: write: %w", err)
		}
		return nil, stageReadError(err, n)
	}
	if limit > 0 && n > limit {
		return nil, fmt.Errorf("spool: stage document: %w (%d bytes)", job.ErrTooLarge, limit)
	}
	if n == 0 {
		return nil, job.ErrEmptyDocument
	}
	// No fsync here: the commit that attaches the document fsyncs it together with the other
	// documents of its group commit (see syncFiles), so concurrent submissions share the file
	// system's writes instead of queueing one behind the other. A crash before that commit
	// leaves a file without a row, which recovery removes.
	if err := f.Close(); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return nil, fmt.Errorf("spool: stage document: %w: %v", job.ErrDiskFull, err)
		}
		return nil, fmt.Errorf("spool: stage document: close: %w", err)
	}
	rel := filepath.Join("docs", id)
	abs := filepath.Join(s.opts.Dir, rel)
	if err := os.Rename(tmp, abs); err != nil {
		return nil, fmt.Errorf("spool: stage document: rename: %w", err)
	}
	ok = true
	pages, estimated := s.countFile(abs, n, format)
	return &job.Staged{
		Name: name, Format: format, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n,
		Pages: pages, PagesEstimated: estimated, Held: &held{rel: rel, abs: abs, store: s},
	}, nil
}

func (s *Store) countFile(path string, size int64, format string) (int, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 1, true
	}
	defer f.Close()
	return s.opts.PageCounter(f, size, format)
}

// FreeBytes reports the free space on the spool's file system.
func (s *Store) FreeBytes() (uint64, error) { return s.opts.FreeSpace(s.opts.Dir) }

func freeSpace(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func randomID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
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

// OpenDocument opens the bytes of a stored document: its file, or for an inline document a
// reader over the bytes read from the database. ErrNotFound when retention removed them.
func (s *Store) OpenDocument(ctx context.Context, d job.Document) (io.ReadSeekCloser, error) {
	if !d.Inline || !d.Available() {
		f, err := s.openFile(d)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	data, err := s.inlineBytes(ctx, d)
	if err != nil {
		return nil, err
	}
	return nopCloser{bytes.NewReader(data)}, nil
}

// DocumentBytes reads a whole stored document into memory. Meant for the small documents kept
// inline (at most InlineMaxBytes), whose bytes it returns as the database gives them;
// OpenDocument streams a file.
func (s *Store) DocumentBytes(ctx context.Context, d job.Document) ([]byte, error) {
	if d.Inline && d.Available() {
		return s.inlineBytes(ctx, d)
	}
	f, err := s.openFile(d)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("spool: read document %d/%d: %w", d.JobID, d.Seq, err)
	}
	return data, nil
}

// openFile opens a document kept in a file; ErrNotFound when retention removed it.
func (s *Store) openFile(d job.Document) (*os.File, error) {
	if !d.Available() {
		return nil, fmt.Errorf("spool: open document %d/%d: %w (removed after the retention period)", d.JobID, d.Seq, job.ErrNotFound)
	}
	f, err := os.Open(d.Path)
	if err != nil {
		return nil, fmt.Errorf("spool: open document %d/%d: %w", d.JobID, d.Seq, err)
	}
	return f, nil
}

// inlineBytes reads an inline document's bytes from the database.
func (s *Store) inlineBytes(ctx context.Context, d job.Document) ([]byte, error) {
	var data []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT bytes FROM document_bytes WHERE job_id = ? AND seq = ?`, d.JobID, d.Seq).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = job.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("spool: read document %d/%d: %w", d.JobID, d.Seq, err)
	}
	return data, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
