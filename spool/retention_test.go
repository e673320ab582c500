package spool

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/spool/spooltest"
)

// TestRetention: documents of jobs finished longer ago than the retention are deleted, their
// rows keep hash, size and pages; documents of unfinished or recently finished jobs stay.
func TestRetention(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name      string
		inlineMax int64
	}{{"documents in files", -1}, {"documents inline", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			testRetention(t, mode.inlineMax)
		})
	}
}

func testRetention(t *testing.T, inlineMax int64) {
	clk := fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s := openStore(t, Options{Retention: 24 * time.Hour, Now: clk.Now, InlineMaxBytes: inlineMax})
	ctx := context.Background()
	doc := letter(t, 2)

	old := map[job.State]*job.Job{}
	for _, st := range []job.State{job.StateCompleted, job.StateCanceled, job.StateAborted} {
		old[st] = jobIn(t, s, st, doc)
	}
	pending := jobIn(t, s, job.StatePending, doc)
	printing := jobIn(t, s, job.StatePrinting, doc)
	held := jobIn(t, s, job.StateHeld, doc)
	clk.Advance(12 * time.Hour)
	recent := jobIn(t, s, job.StateCompleted, doc)

	clk.Advance(12*time.Hour - time.Second) // the old ones finished 24h minus 1s ago
	if n, err := s.Retention(ctx); err != nil || n != 0 {
		t.Fatalf("Retention before the deadline removed %d (%v)", n, err)
	}
	clk.Advance(2 * time.Second)
	n, err := s.Retention(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Retention removed %d documents (%v), want the 3 finished a day ago", n, err)
	}
	for st, j := range old {
		got, err := s.Job(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		d := got.Documents[0]
		if got.State != st || d.SHA256 != sum(doc) || d.Size != int64(len(doc)) || got.Pages != j.Pages {
			t.Errorf("%s job lost its record: %+v", st, got)
		}
		if d.Available() || d.Path != "" || !d.Deleted.Equal(clk.Now()) {
			t.Errorf("%s job document: path %q deleted %v, want none and deleted now", st, d.Path, d.Deleted)
		}
		if j.Documents[0].Inline != (inlineMax == 0) {
			t.Errorf("%s job document inline=%v with InlineMaxBytes %d", st, j.Documents[0].Inline, inlineMax)
		}
		if p := j.Documents[0].Path; p != "" {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s job document file still there (%v)", st, err)
			}
		}
		if _, err := s.DocumentBytes(ctx, d); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("%s job document still readable after retention (%v)", st, err)
		}
	}
	for _, j := range []*job.Job{pending, printing, held, recent} {
		got, _ := s.Job(ctx, j.ID)
		if !got.Documents[0].Available() || docSum(t, s, got.Documents[0]) != sum(doc) {
			t.Errorf("%s job's document removed by retention", j.State)
		}
	}
	if evs, _ := s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRetention}}); len(evs) != 1 {
		t.Errorf("%d retention events, want 1", len(evs))
	}

	// A restart does not resurrect or trip over deleted documents.
	s = reopen(t, s)
	if got, err := s.Job(ctx, old[job.StateCompleted].ID); err != nil || got.Documents[0].Available() {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	clk.Advance(12 * time.Hour)
	if n, err := s.Retention(ctx); err != nil || n != 1 {
		t.Fatalf("second pass removed %d (%v), want the recent one", n, err)
	}
	if n, err := s.Retention(ctx); err != nil || n != 0 {
		t.Fatalf("third pass removed %d (%v), want nothing", n, err)
	}
	if n := spooltest.Documents(t, s.opts.Dir); n != 3 {
		t.Errorf("%d documents stored, want the pending, printing and held jobs' ones", n)
	}
}

// TestRetentionDisabled: without a retention nothing is ever removed.
func TestRetentionDisabled(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	s := openStore(t, Options{Now: clk.Now})
	j := jobIn(t, s, job.StateCompleted, letter(t, 1))
	clk.Advance(24 * 365 * time.Hour)
	if n, err := s.Retention(context.Background()); err != nil || n != 0 {
		t.Fatalf("Retention with none configured removed %d (%v)", n, err)
	}
	if docSum(t, s, j.Documents[0]) != sum(letter(t, 1)) {
		t.Fatal("document changed")
	}
}
