package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/printgate/printgate/job"
)

// smallDisk mounts a tmpfs of size bytes for the test (the test runs as root, as make test
// does) and unmounts it at the end.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Fatalf("mount a %d-byte tmpfs (needs root, as make test runs): %v", size, err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}

// fill writes into dir until the file system is full.
func fill(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	for _, n := range []int{4096, 512, 1} { // the last blocks
		for {
			if _, err := f.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}

// TestRestartOnFullDiskUsesTheReserve: jobs were sending and assigned when the gateway died,
// then something filled the spool's disk to the last byte. The restart gives up the reserve,
// recovers every job, and keeps serving; without a reserve the same restart fails with a full
// disk (which is what the gateway did before the reserve existed).
func TestRestartOnFullDiskUsesTheReserve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		reserve int64
		wantErr bool
	}{{"with the reserve", 1 << 20, false}, {"without a reserve", 0, true}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := smallDisk(t, 6<<20)
			opts := Options{Dir: dir, ReserveBytes: tc.reserve, InlineMaxBytes: -1, Logger: quietLogger()}
			s, err := Open(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			doc := make([]byte, 2048)
			copy(doc, "%PDF-1.4 letter")
			var ids []int64
			for i := range 40 {
				j := submit(t, s, doc)
				ids = append(ids, j.ID)
				p := "p1"
				if err := s.Transition(ctx, j.ID, job.StateAssigned, job.Change{Printer: &p}); err != nil {
					t.Fatal(err)
				}
				if i%2 == 0 {
					if err := s.Transition(ctx, j.ID, job.StateSending, job.Change{}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			fill(t, dir)
			s, err = Open(context.Background(), opts)
			if tc.wantErr {
				if err == nil {
					s.Close()
					t.Fatal("restart on a full disk without a reserve succeeded: the test does not fill the disk")
				}
				return
			}
			if err != nil {
				t.Fatalf("restart on a full disk: %v", err)
			}
			defer s.Close()
			for _, id := range ids {
				j, err := s.Job(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if j.State != job.StatePending {
					t.Errorf("job %d is %s after recovery, want pending", id, j.State)
				}
			}
			// An operator can still cancel on the full disk.
			mv := job.Cancel("operator")
			if err := s.Transition(ctx, ids[0], mv.To, mv.Change); err != nil {
				t.Errorf("cancel on the full disk after the restart: %v", err)
			}
		})
	}
}

// TestReserveKeptAcrossStartsWithRoom: on a disk with room the reserve file is written once and
// left alone by later starts (no 8 MiB rewrite and fsync at every start).
func TestReserveKeptAcrossStartsWithRoom(t *testing.T) {
	t.Parallel()
	opts := Options{Dir: t.TempDir(), ReserveBytes: 1 << 20, Logger: quietLogger()}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	before, err := os.Stat(filepath.Join(opts.Dir, "reserve"))
	if err != nil || before.Size() != 1<<20 {
		t.Fatalf("reserve after the first start: %v, %v", before, err)
	}
	s, err = Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	after, err := os.Stat(filepath.Join(opts.Dir, "reserve"))
	if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("the second start rewrote the reserve (%v)", err)
	}
}
