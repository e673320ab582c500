package spool

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/spool/spooltest"
)

// The refusals every driver shares (truncated, client gone, empty, too large) and the document
// limits are in the drivers' suite (queue/storetest, TestStore/.../Documents). What stays here
// is the SQLite driver's own: its free-space check on the spool's file system and its staged
// files.

// TestStageRefusesBelowMinFree: below MinFreeBytes a new document is refused with ErrDiskFull,
// leaves no file behind in docs/ or tmp/, writes no row, and harms none of the jobs accepted
// before: they keep their document and hash and can still be scheduled.
func TestStageRefusesBelowMinFree(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("%PDF-1.4 letter "), 400) // 6400 bytes
	var free atomic.Uint64
	free.Store(1 << 40)
	s := openStore(t, Options{MinFreeBytes: 100 << 20,
		FreeSpace: func(string) (uint64, error) { return free.Load(), nil }})
	ctx := context.Background()
	earlier := submit(t, s, letter(t, 2))
	free.Store(100<<20 - 1)

	st, err := s.Stage(ctx, bytes.NewReader(big), "doc", "application/pdf")
	if !errors.Is(err, job.ErrDiskFull) {
		t.Fatalf("Stage: err %v, want %v", err, job.ErrDiskFull)
	}
	if st != nil {
		t.Fatalf("Stage returned a document with error %v", err)
	}
	if tmp := dirNames(t, s.tmpDir); len(tmp) != 0 {
		t.Errorf("tmp/ after refusal: %v", tmp)
	}
	if n := spooltest.Documents(t, s.opts.Dir); n != 1 {
		t.Errorf("%d documents stored after refusal, want only the earlier job's", n)
	}
	if n, _ := s.CountJobs(ctx, job.JobFilter{}); n != 1 {
		t.Errorf("%d jobs after refusal, want the earlier one only", n)
	}

	got, err := s.Job(ctx, earlier.ID)
	if err != nil {
		t.Fatalf("earlier job: %v", err)
	}
	if got.State != job.StatePending || got.SHA256() != sum(letter(t, 2)) || docSum(t, s, got.Documents[0]) != got.SHA256() {
		t.Fatalf("earlier job harmed: %+v", got)
	}
	p := "p1"
	if err := s.Transition(ctx, earlier.ID, job.StateAssigned, job.Change{Printer: &p}); err != nil {
		t.Fatalf("earlier job no longer schedulable: %v", err)
	}
	if err := s.Transition(ctx, earlier.ID, job.StateSending, job.Change{}); err != nil {
		t.Fatalf("earlier job no longer schedulable: %v", err)
	}
}

// TestStageFreeSpaceAndFiles: a staged file is the upload byte for byte and Discard removes it;
// space is checked again for every document (the disk filling up, then freed), and a document
// that would take free space below the minimum is refused; a failing free-space check is its
// cause, not ErrDiskFull.
func TestStageFreeSpaceAndFiles(t *testing.T) {
	t.Parallel()
	var free atomic.Uint64
	free.Store(1 << 30)
	s := openStore(t, Options{MinFreeBytes: 1 << 20, MaxDocumentBytes: 4096, InlineMaxBytes: -1,
		FreeSpace: func(string) (uint64, error) { return free.Load(), nil }})
	ctx := context.Background()
	exact := bytes.Repeat([]byte{'x'}, 4096)
	st, err := s.Stage(ctx, bytes.NewReader(exact), "exact", "")
	if err != nil {
		t.Fatalf("document of exactly the maximum: %v", err)
	}
	if fileSum(t, heldOf(st).abs) != sum(exact) {
		t.Fatal("staged file differs from the upload")
	}
	st.Discard()
	st.Discard() // twice is harmless
	if docs := dirNames(t, s.docsDir); len(docs) != 0 {
		t.Fatalf("docs/ after Discard: %v", docs)
	}
	free.Store(1<<20 - 1)
	if _, err := s.Stage(ctx, bytes.NewReader(exact), "full", ""); !errors.Is(err, job.ErrDiskFull) {
		t.Fatalf("disk full: err %v", err)
	}
	free.Store(1 << 20)
	if _, err := s.Stage(ctx, bytes.NewReader(exact), "at the reserve", ""); !errors.Is(err, job.ErrDiskFull) {
		t.Fatalf("a document that would take free space below the reserve: err %v", err)
	}
	free.Store(1<<20 + 4096)
	if _, err := s.Stage(ctx, bytes.NewReader(exact), "freed", ""); err != nil {
		t.Fatalf("after space was freed: %v", err)
	}
	free.Store(0)
	failing := errors.New("statfs failed")
	s2 := openStore(t, Options{MinFreeBytes: 1, FreeSpace: func(string) (uint64, error) { return 0, failing }})
	if _, err := s2.Stage(ctx, bytes.NewReader(exact), "x", ""); !errors.Is(err, failing) || errors.Is(err, job.ErrDiskFull) {
		t.Fatalf("free-space check failing: err %v, want the cause and not ErrDiskFull", err)
	}
}
