// Document files: streamed to tmp/, hashed, renamed into docs/. The group commit that records
// them fsyncs every document of the batch and the docs/ directory at once, and only then
// commits the rows: a job is acknowledged only when its bytes, its directory entry and its row
// are all on disk, and concurrent submissions share the file system's journal commits.
package spool

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// Staged is a document written durably into the spool but not yet attached to a job. Pass it to
// Submit or AddDocument, or Discard it.
type Staged struct {
	Name           string
	Format         string
	SHA256         string
	Size           int64
	Pages          int
	PagesEstimated bool
	// rel is the path relative to the spool directory; abs the full path.
	rel, abs string
	store    *Store
}

// stagedPaths are the files of docs still to be fsynced by the commit that attaches them.
func stagedPaths(docs ...*Staged) []string {
	var paths []string
	for _, d := range docs {
		if d != nil && d.abs != "" {
			paths = append(paths, d.abs)
		}
	}
	return paths
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Path is where the staged document lives on disk.
func (st *Staged) Path() string { return st.abs }

// Discard removes a staged document that will not be submitted. Safe to call twice and on a
// document already attached to a job (then it does nothing).
func (st *Staged) Discard() {
	if st == nil || st.abs == "" || st.store == nil {
		return
	}
	if err := os.Remove(st.abs); err != nil && !errors.Is(err, os.ErrNotExist) {
		st.store.log.Warn("spool: discard staged document", "path", st.abs, "err", err)
	}
	st.abs = ""
}

// Stage streams r into the spool: the bytes are counted against MaxDocumentBytes, hashed,
// fsynced and renamed into docs/. It refuses to start when free disk is below MinFreeBytes.
// A reader that fails before EOF (a client that went away) yields ErrTruncated and leaves
// nothing behind.
func (s *Store) Stage(ctx context.Context, r io.Reader, name, format string) (*Staged, error) {
	if err := s.checkFree(); err != nil {
		return nil, err
	}
	if format == "" {
		format = "application/octet-stream"
	}
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
	src := io.Reader(&ctxReader{ctx: ctx, r: r})
	limit := s.opts.MaxDocumentBytes
	if limit > 0 {
		// One byte more than allowed tells "exactly the limit" from "over it".
		src = io.LimitReader(src, limit+1)
	}
	n, err := io.Copy(io.MultiWriter(f, h), src)
	if err != nil {
		var werr *os.PathError
		if errors.As(err, &werr) && errors.Is(err, syscall.ENOSPC) {
			return nil, fmt.Errorf("spool: stage document: %w: %v", ErrDiskFull, err)
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("spool: stage document: %w: %v", ErrTruncated, err)
		}
		if werr != nil {
			return nil, fmt.Errorf("spool: stage document: write: %w", err)
		}
		return nil, fmt.Errorf("spool: stage document after %d bytes: %w: %v", n, ErrTruncated, err)
	}
	if limit > 0 && n > limit {
		return nil, fmt.Errorf("spool: stage document: %w (%d bytes)", ErrTooLarge, limit)
	}
	if n == 0 {
		return nil, ErrEmptyDocument
	}
	// No fsync here: the commit that attaches the document fsyncs it together with the other
	// documents of its group commit (see commitBatch), so concurrent submissions share the file
	// system's journal commits instead of queueing one behind the other. A crash before that
	// commit leaves a file without a row, which recovery removes.
	if err := f.Close(); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return nil, fmt.Errorf("spool: stage document: %w: %v", ErrDiskFull, err)
		}
		return nil, fmt.Errorf("spool: stage document: close: %w", err)
	}
	rel := filepath.Join("docs", id)
	abs := filepath.Join(s.opts.Dir, rel)
	if err := os.Rename(tmp, abs); err != nil {
		return nil, fmt.Errorf("spool: stage document: rename: %w", err)
	}
	ok = true
	pages, estimated := s.opts.PageCounter(abs, format)
	return &Staged{
		Name: name, Format: format, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n,
		Pages: pages, PagesEstimated: estimated, rel: rel, abs: abs, store: s,
	}, nil
}

// checkFree refuses new documents when the spool's file system is below the minimum.
func (s *Store) checkFree() error {
	if s.opts.MinFreeBytes == 0 {
		return nil
	}
	free, err := s.opts.FreeSpace(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("spool: check free space: %w", err)
	}
	if free < s.opts.MinFreeBytes {
		return fmt.Errorf("%w: %d bytes free, minimum %d", ErrDiskFull, free, s.opts.MinFreeBytes)
	}
	return nil
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

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
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
