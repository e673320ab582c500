// The disk budget: every write path takes its bytes from one reserve-respecting budget before it
// writes, so that concurrent uploads cannot pass the free-space minimum together, and a job row
// without a document (IPP Create-Job, a bulk run's row) is refused on a full disk like a document.
package spool

import (
	"fmt"
	"io"

	"github.com/printgate/printgate/job"
)

const (
	// grantChunk is how much a document being written takes from the budget at a time: large
	// enough that statfs runs once a MiB, small enough that an upload that stops returns little.
	grantChunk = 1 << 20
	// rowBytes is what one new row's commit (a job and its event, a run, a schedule) can need:
	// a page of each of the dozen or so B-trees it touches, written to the WAL and later the
	// database. batchRowBytes is what each further row of the same commit adds (the pages are
	// shared).
	rowBytes      = 64 << 10
	batchRowBytes = 16 << 10
)

// grant takes n bytes from the budget: refused with job.ErrDiskFull when the file system's free
// space, less what other writers were granted and have not written yet, would fall below
// MinFreeBytes. The caller gives back what it does not write (ungrant) and, as it writes,
// what it wrote (the file system's free space counts those bytes from then on).
func (s *Store) grant(n int64) error {
	if s.opts.MinFreeBytes == 0 {
		return nil
	}
	s.budgetMu.Lock()
	defer s.budgetMu.Unlock()
	free, err := s.opts.FreeSpace(s.opts.Dir)
	if err != nil {
		return fmt.Errorf("spool: check free space: %w", err)
	}
	if avail := int64(free) - s.promised; avail-n < int64(s.opts.MinFreeBytes) {
		return fmt.Errorf("%w: %d bytes free (%d promised to writes in progress), minimum %d",
			job.ErrDiskFull, free, s.promised, s.opts.MinFreeBytes)
	}
	s.promised += n
	return nil
}

// ungrant gives n granted bytes back (written, or never to be written).
func (s *Store) ungrant(n int64) {
	if s.opts.MinFreeBytes == 0 || n == 0 {
		return
	}
	s.budgetMu.Lock()
	s.promised -= n
	s.budgetMu.Unlock()
}

// holdRows takes from the budget what n new rows (jobs, letters, runs, schedules, with their
// documents' rows and events) can take in the WAL and the database, and returns the function
// that gives it back once their commit is done (the file system counts them from then on). It
// refuses on a full disk as a document does. Rewrites of existing rows (state changes,
// recovery, cancellation, retention) take nothing: they must work on a full disk.
func (s *Store) holdRows(n int) (release func(), err error) {
	b := int64(rowBytes)
	if n > 1 {
		b += int64(n-1) * batchRowBytes
	}
	if err := s.grant(b); err != nil {
		return nil, err
	}
	return func() { s.ungrant(b) }, nil
}

// budgetWriter writes a document file, taking its bytes from the budget a chunk ahead of
// writing them. close gives back what was granted and not written.
type budgetWriter struct {
	w         io.Writer
	s         *Store
	remaining int64 // granted, not yet written
}

func (b *budgetWriter) Write(p []byte) (int, error) {
	if need := int64(len(p)) - b.remaining; need > 0 {
		// A chunk ahead when there is room for it; near the reserve, just what this write needs.
		got := max(need, grantChunk)
		err := b.s.grant(got)
		if err != nil && got > need {
			got = need
			err = b.s.grant(got)
		}
		if err != nil {
			return 0, err
		}
		b.remaining += got
	}
	n, err := b.w.Write(p)
	b.remaining -= int64(n)
	b.s.ungrant(int64(n)) // on disk now: statfs counts it
	return n, err
}

func (b *budgetWriter) close() {
	b.s.ungrant(b.remaining)
	b.remaining = 0
}
