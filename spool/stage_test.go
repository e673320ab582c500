package spool

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/spool/spooltest"
)

// failingReader yields n bytes of data, then err: a client that went away mid-upload.
type failingReader struct {
	data []byte
	n    int
	err  error
	// onLimit runs once when the limit is reached (e.g. to cancel the request's context).
	onLimit func()
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		if r.onLimit != nil {
			r.onLimit()
			r.onLimit = nil
		}
		return 0, r.err
	}
	k := copy(p, r.data[:min(r.n, len(r.data), len(p))])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

// TestStageRefusals: each way a new document can be refused gives its sentinel error, leaves no
// file behind in docs/ or tmp/, writes no row, and harms none of the jobs accepted before —
// they keep their document and hash and can still be scheduled.
func TestStageRefusals(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("%PDF-1.4 letter "), 400) // 6400 bytes
	tests := []struct {
		name string
		// free is what the injected FreeSpace reports once the earlier job is in.
		free uint64
		max  int64
		// reader builds the upload; cancel cancels the Stage call's context.
		reader func(cancel func()) io.Reader
		want   error
	}{
		{"truncated upload", 1 << 40, 0, func(func()) io.Reader {
			return &failingReader{data: big, n: 3000, err: io.ErrUnexpectedEOF}
		}, job.ErrTruncated},
		{"client gone (context canceled)", 1 << 40, 0, func(cancel func()) io.Reader {
			return &failingReader{data: big, n: 4096, err: context.Canceled, onLimit: cancel}
		}, job.ErrTruncated},
		{"empty document", 1 << 40, 0, func(func()) io.Reader { return bytes.NewReader(nil) }, job.ErrEmptyDocument},
		{"too large", 1 << 40, 6399, func(func()) io.Reader { return bytes.NewReader(big) }, job.ErrTooLarge},
		{"disk below the minimum", 100<<20 - 1, 0, func(func()) io.Reader { return bytes.NewReader(big) }, job.ErrDiskFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var free atomic.Uint64
			free.Store(1 << 40)
			s := openStore(t, Options{MinFreeBytes: 100 << 20, MaxDocumentBytes: tt.max,
				FreeSpace: func(string) (uint64, error) { return free.Load(), nil }})
			ctx := context.Background()
			earlier := submit(t, s, letter(t, 2))
			free.Store(tt.free)

			sctx, cancel := context.WithCancel(ctx)
			defer cancel()
			st, err := s.Stage(sctx, tt.reader(cancel), "doc", "application/pdf")
			if !errors.Is(err, tt.want) {
				t.Fatalf("Stage: err %v, want %v", err, tt.want)
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
		})
	}
}

// TestStageLimits: a document of exactly the maximum size is accepted, and space is checked
// again for every document (the disk filling up, then freed).
func TestStageLimits(t *testing.T) {
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
	if st.Size != 4096 || st.SHA256 != sum(exact) || st.Format != "application/octet-stream" {
		t.Fatalf("staged %+v", st)
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

// TestSubmitRecordsDocuments: the committed job carries each document's size, hash and pages,
// and the file on disk is the upload byte for byte.
func TestSubmitRecordsDocuments(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{PageCounter: func(io.ReadSeeker, int64, string) (int, bool) { return 3, false }})
	ctx := context.Background()
	a, b := letter(t, 1), letter(t, 4)
	j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Attributes: job.Attributes{Copies: 2}},
		[]*job.Staged{stage(t, s, a), stage(t, s, b)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pages != 12 || got.PagesEstimated || len(got.Documents) != 2 || got.Size() != int64(len(a)+len(b)) {
		t.Fatalf("job %+v: want 2 documents x 3 pages x 2 copies", got)
	}
	for i, want := range [][]byte{a, b} {
		d := got.Documents[i]
		if d.Seq != i+1 || d.SHA256 != sum(want) || d.Size != int64(len(want)) || docSum(t, s, d) != sum(want) {
			t.Errorf("document %d: %+v", i+1, d)
		}
	}
	if _, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters"}, nil); !errors.Is(err, job.ErrEmptyDocument) {
		t.Fatalf("Submit without documents: err %v, want ErrEmptyDocument", err)
	}
}
