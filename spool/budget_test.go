package spool

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"

	"github.com/printgate/printgate/job"
)

// dirFree is a statfs stand-in for a file system of capacity bytes that holds only dir: free
// space is capacity less what dir's files take now. It walks tmp/ before the rest: a staged
// file moves from tmp/ to docs/ while uploads race, and walking docs/ first (the lexical order)
// could miss one that moved in between and report space that is not free; this way such a
// file is counted twice, never missed.
func dirFree(capacity int64) func(string) (uint64, error) {
	return func(dir string) (uint64, error) {
		var used int64
		tmp := filepath.Join(dir, "tmp")
		count := func(root string, skipTmp bool) {
			filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if d.IsDir() {
					if skipTmp && p == tmp {
						return filepath.SkipDir
					}
					return nil
				}
				if info, err := d.Info(); err == nil {
					used += info.Size()
				}
				return nil
			})
		}
		count(tmp, false)
		count(dir, true)
		return uint64(max(capacity-used, 0)), nil
	}
}

// gatedReader yields size bytes in 64 KiB pieces, each after the gate lets it, so that a test
// can make uploads overlap.
type gatedReader struct {
	left int64
	gate <-chan struct{}
}

func (g *gatedReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	<-g.gate
	n := min(int64(len(p)), 64<<10, g.left)
	for i := range p[:n] {
		p[i] = 'x'
	}
	g.left -= n
	return int(n), nil
}

// TestConcurrentUploadsCannotPassTheReserve: twenty 1 MiB uploads at once, with room for four
// above the reserve: at most four are stored, the rest refused with ErrDiskFull, and free
// space never ends below the reserve. With the check made only when an upload starts (the old
// code), all twenty pass the check together.
func TestConcurrentUploadsCannotPassTheReserve(t *testing.T) {
	t.Parallel()
	const reserve, room, size = 4 << 20, 4<<20 + 512<<10, 1 << 20
	dir := t.TempDir()
	s := openStore(t, Options{Dir: dir, MinFreeBytes: reserve, InlineMaxBytes: -1})
	// The database and its WAL exist now; the room is counted above what they take.
	used := int64(0)
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				used += info.Size()
			}
		}
		return nil
	})
	free := dirFree(reserve + room + used)
	s.opts.FreeSpace = free
	gate := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Stage(context.Background(), &gatedReader{left: size, gate: gate}, "upload", "application/pdf")
		}()
	}
	close(gate) // every upload starts before any has written much: all of them race
	wg.Wait()
	stored := 0
	for i, err := range errs {
		switch {
		case err == nil:
			stored++
		case !errors.Is(err, job.ErrDiskFull):
			t.Errorf("upload %d: %v, want ErrDiskFull or success", i, err)
		}
	}
	if stored > 4 || stored == 0 {
		t.Errorf("%d uploads stored, want 1 to 4 (room for 4.5 above the reserve)", stored)
	}
	if f, _ := free(dir); f < reserve {
		t.Errorf("free space %d ended below the reserve %d", f, reserve)
	}
	s.budgetMu.Lock()
	promised := s.promised
	s.budgetMu.Unlock()
	if promised != 0 {
		t.Errorf("%d bytes still promised after every upload ended", promised)
	}
}

// TestCreateJobRefusedOnFullDisk: a job row without a document takes space too, so IPP
// Create-Job is refused below the reserve, as are a bulk run and a schedule; nothing is stored.
func TestCreateJobRefusedOnFullDisk(t *testing.T) {
	t.Parallel()
	var free uint64 = 1 << 20
	s := openStore(t, Options{MinFreeBytes: 1 << 20, FreeSpace: func(string) (uint64, error) { return free, nil }})
	ctx := context.Background()
	if _, err := s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Name: "create-job", Origin: "ipp"}); !errors.Is(err, job.ErrDiskFull) {
		t.Errorf("Create at the reserve: %v, want ErrDiskFull", err)
	}
	if _, err := s.CreateRun(ctx, job.NewRun{Name: "run", VirtualPrinter: "letters"}); !errors.Is(err, job.ErrDiskFull) {
		t.Errorf("CreateRun at the reserve: %v, want ErrDiskFull", err)
	}
	if _, err := s.CreateSchedule(ctx, job.Schedule{Name: "s", VirtualPrinter: "letters", Spec: "@daily", Dir: t.TempDir()}); !errors.Is(err, job.ErrDiskFull) {
		t.Errorf("CreateSchedule at the reserve: %v, want ErrDiskFull", err)
	}
	if n, err := s.CountJobs(ctx, job.JobFilter{}); err != nil || n != 0 {
		t.Errorf("%d jobs stored (%v), want none", n, err)
	}
	free = 2 << 20
	if _, err := s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Name: "create-job", Origin: "ipp"}); err != nil {
		t.Errorf("Create with room: %v", err)
	}
}
