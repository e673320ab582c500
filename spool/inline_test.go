package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/printgate/printgate/job"
)

// TestStageInline: a document up to InlineMaxBytes is kept in memory and then in the database,
// never as a file; a larger one, or one past the memory budget, goes to a file; the bytes read
// back are the ones uploaded, also after a restart.
func TestStageInline(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{InlineMaxBytes: 4096, InlineBudgetBytes: 10000,
		PageCounter: func(rs io.ReadSeeker, size int64, _ string) (int, bool) {
			b, _ := io.ReadAll(rs)
			if int64(len(b)) != size {
				t.Errorf("page counter got %d bytes, told %d", len(b), size)
			}
			return 2, false
		}})
	small := bytes.Repeat([]byte("a"), 4096)
	big := bytes.Repeat([]byte("b"), 4097)

	a := stage(t, s, small)
	if !a.Inline() || heldOf(a).abs != "" || a.Pages != 2 || a.SHA256 != sum(small) {
		t.Fatalf("4096-byte document: inline=%v path=%q pages=%d", a.Inline(), heldOf(a).abs, a.Pages)
	}
	if n := len(dirNames(t, s.docsDir)) + len(dirNames(t, s.tmpDir)); n != 0 {
		t.Fatalf("an inline document left %d files", n)
	}
	if b := stage(t, s, big); b.Inline() || heldOf(b).abs == "" || fileSum(t, heldOf(b).abs) != sum(big) {
		t.Fatalf("4097-byte document: inline=%v path=%q", b.Inline(), heldOf(b).abs)
	} else {
		b.Discard()
	}

	// The budget holds two 4096-byte documents waiting for their commit, not three.
	b := stage(t, s, small)
	c := stage(t, s, small)
	if !b.Inline() || c.Inline() {
		t.Fatalf("past the budget: second inline=%v third inline=%v, want true, false", b.Inline(), c.Inline())
	}
	c.Discard()
	b.Discard() // gives its share back
	if d := stage(t, s, small); !d.Inline() {
		t.Fatal("a discarded inline document did not give back its budget")
	} else {
		d.Discard()
	}

	j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{a})
	if err != nil {
		t.Fatal(err)
	}
	if held := s.inlineHeld.Load(); held != 0 {
		t.Fatalf("%d bytes of the inline budget still held after the commit", held)
	}
	s = reopen(t, s)
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	d := got.Documents[0]
	if !d.Inline || d.Path != "" || !d.Available() || d.SHA256 != sum(small) {
		t.Fatalf("stored document after restart: %+v", d)
	}
	r, err := s.OpenDocument(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := io.ReadAll(r)
	r.Close()
	if err != nil || !bytes.Equal(back, small) {
		t.Fatalf("read back %d bytes (%v), want the 4096 uploaded", len(back), err)
	}
}

// TestStageInlineLimits: MaxDocumentBytes applies to inline documents too, and a refused one
// holds none of the budget.
func TestStageInlineLimits(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{InlineMaxBytes: 4096, MaxDocumentBytes: 100})
	if _, err := s.Stage(context.Background(), bytes.NewReader(make([]byte, 101)), "x", ""); !errors.Is(err, job.ErrTooLarge) {
		t.Fatalf("101 bytes over a 100-byte maximum: err %v, want ErrTooLarge", err)
	}
	if _, err := s.Stage(context.Background(), bytes.NewReader(nil), "x", ""); !errors.Is(err, job.ErrEmptyDocument) {
		t.Fatalf("empty document: err %v, want ErrEmptyDocument", err)
	}
	if held := s.inlineHeld.Load(); held != 0 {
		t.Fatalf("refused documents hold %d bytes of the budget", held)
	}
}

// TestFullDatabaseIsDiskFull: when the database cannot grow (here: SQLite's max_page_count, as
// a full disk would), an inline document's submission fails with ErrDiskFull, and the jobs
// accepted before are untouched.
func TestFullDatabaseIsDiskFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openStore(t, Options{})
	earlier := submit(t, s, letter(t, 2))
	var pages int
	if err := s.wdb.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := s.wdb.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 60<<10) // inline, and more pages than the database has left
	_, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{stage(t, s, big)})
	if !errors.Is(err, job.ErrDiskFull) {
		t.Fatalf("submission into a full database: err %v, want ErrDiskFull", err)
	}
	got, err := s.Job(ctx, earlier.ID)
	if err != nil || got.State != job.StatePending || docSum(t, s, got.Documents[0]) != earlier.SHA256() {
		t.Fatalf("earlier job after the refusal: %+v, %v", got, err)
	}
	if n, _ := s.CountJobs(ctx, job.JobFilter{}); n != 1 {
		t.Fatalf("%d jobs stored, want only the earlier one", n)
	}
}
