package queue

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/spool"
)

// TestRefusalFloodIsSummarised: a client refused in a loop writes a burst of events, then one
// summary with the count when its window ends; another client's refusals are still written
// one by one meanwhile. Before the limit, every refusal was an event (a disk filler).
func TestRefusalFloodIsSummarised(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	st := openSpool(t)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	refusals := func() []job.Event {
		evs, err := st.Events(ctx, job.EventFilter{Kinds: []string{job.EventRefused}, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return evs
	}
	const flood = 1000
	for i := range flood {
		if err := s.RecordRefusal(ctx, Refusal{Frontend: "http", What: "GET /metrics", Remote: fmt.Sprintf("127.0.0.2:%d", 1000+i), Why: "sign-in needed"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(refusals()); got != refusalBurst {
		t.Fatalf("after %d refusals from one host: %d events, want the burst of %d", flood, got, refusalBurst)
	}
	// Another host is not silenced by the first one's flood.
	if err := s.RecordRefusal(ctx, Refusal{Frontend: "ipp", What: "Cancel-Job", Who: "bob", Remote: "127.0.0.3:631", Why: "not yours"}); err != nil {
		t.Fatal(err)
	}
	if got := len(refusals()); got != refusalBurst+1 {
		t.Fatalf("another host's refusal: %d events, want %d", got, refusalBurst+1)
	}
	// The window ends: the next refusal from anywhere brings the first host's summary.
	now = now.Add(refusalWindow)
	if err := s.RecordRefusal(ctx, Refusal{Frontend: "ipp", What: "Cancel-Job", Who: "bob", Remote: "127.0.0.3:631", Why: "not yours"}); err != nil {
		t.Fatal(err)
	}
	var summary string
	for _, e := range refusals() {
		if strings.Contains(e.Message, "more refusals from 127.0.0.2") {
			summary = e.Message
		}
	}
	if want := fmt.Sprintf("%d more refusals from 127.0.0.2", flood-refusalBurst); !strings.Contains(summary, want) {
		t.Fatalf("summary %q, want it to say %q", summary, want)
	}
}

// TestRefusalSummaryFlushedAtStop: refusals still counted when the scheduler stops are written.
func TestRefusalSummaryFlushedAtStop(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	st := openSpool(t)
	s, err := New(Options{Store: st, Now: func() time.Time { return now }, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range refusalBurst + 5 {
		_ = s.RecordRefusal(ctx, Refusal{Frontend: "lpd", What: "lprm", Remote: "127.0.0.2", Why: "not yours"})
	}
	s.flushRefusals(ctx)
	evs, _ := st.Events(ctx, job.EventFilter{Kinds: []string{job.EventRefused}, Limit: 100})
	found := false
	for _, e := range evs {
		found = found || strings.Contains(e.Message, "5 more refusals from 127.0.0.2")
	}
	if !found {
		t.Fatalf("no summary of the 5 counted refusals among %d events", len(evs))
	}
}

func openSpool(t *testing.T) *spool.Store {
	t.Helper()
	st, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}
