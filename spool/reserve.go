// The reserve: a file of ReserveBytes kept in the spool directory so that a restart can always
// open the database and run its migrations and recovery, even on a disk something else filled
// to the last byte. Open gives it up when the disk has less free space than the file holds, and
// writes it again after a start that had to, once the disk budget has room for it.
package spool

import (
	"fmt"
	"os"
	"path/filepath"
)

// DefaultReserveBytes is enough for recovery to rewrite every unfinished job's row of a spool
// of tens of thousands of jobs, and for operators to cancel and purge.
const DefaultReserveBytes = 8 << 20

func (s *Store) reservePath() string { return filepath.Join(s.opts.Dir, "reserve") }

// releaseReserve removes the reserve file before the database is opened when the disk has less
// free space than the reserve holds, so that the start (migrations, recovery) runs on it. On a
// disk with room the file stays, and no start rewrites it.
func (s *Store) releaseReserve() {
	if s.opts.ReserveBytes <= 0 {
		return
	}
	if free, err := s.opts.FreeSpace(s.opts.Dir); err == nil && int64(free) >= s.opts.ReserveBytes {
		return
	}
	if err := os.Remove(s.reservePath()); err != nil {
		return
	}
	free, _ := s.opts.FreeSpace(s.opts.Dir)
	s.log.Error("spool: the disk is full; released the reserve file so that the start (migrations, recovery) can run: free space on the spool's disk now",
		"free_bytes", free, "reserve_bytes", s.opts.ReserveBytes, "dir", s.opts.Dir)
}

// keepReserve writes the reserve file when it is missing or short and the disk budget has room
// for it above MinFreeBytes; otherwise it says so and leaves it for the next start.
func (s *Store) keepReserve() {
	n := s.opts.ReserveBytes
	if n <= 0 {
		return
	}
	path := s.reservePath()
	if fi, err := os.Stat(path); err == nil && fi.Size() >= n {
		return
	}
	if err := s.grant(n); err != nil {
		s.log.Warn("spool: no room for the reserve file; a restart on a full disk may fail", "err", err,
			"reserve_bytes", n)
		return
	}
	defer s.ungrant(n)
	if err := writeZeros(path, n); err != nil {
		os.Remove(path)
		s.log.Warn("spool: could not write the reserve file", "err", err)
	}
}

// writeZeros writes a file of n zero bytes (real blocks, not a sparse file) and syncs it.
func writeZeros(path string, n int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := n; left > 0; {
		k := min(left, int64(len(buf)))
		if _, err := f.Write(buf[:k]); err != nil {
			f.Close()
			return fmt.Errorf("write: %w", err)
		}
		left -= k
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
