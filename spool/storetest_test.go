package spool_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/queue/storetest"
	"github.com/printgate/printgate/spool"
	"github.com/printgate/printgate/spool/spooltest"
)

// TestStore runs the drivers' behavioural suite on the SQLite driver, twice: with its defaults
// (small documents inside the database, larger ones in files) and with every document in a
// file, so that every rule is checked on both ways a document is kept.
func TestStore(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, sqliteDriver(mode.base))
		})
	}
}

// storeModes are the settings TestStore runs the suite with.
var storeModes = []struct {
	name   string
	base   spool.Options
	inline bool // a small document is kept inside the database
}{
	{"documents inline", spool.Options{}, true},
	{"documents in files", spool.Options{InlineMaxBytes: -1}, false},
}

// TestStoreModes: the two settings of TestStore really keep a small document differently, staged
// and committed, so the suite covers both.
func TestStoreModes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			o := mode.base
			o.Dir = t.TempDir()
			o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			s, err := spool.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st, err := s.Stage(ctx, strings.NewReader("%PDF-1.4 a small letter"), "letter.pdf", "application/pdf")
			if err != nil {
				t.Fatal(err)
			}
			if st.Inline() != mode.inline {
				t.Fatalf("staged inline=%v, want %v", st.Inline(), mode.inline)
			}
			j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{st})
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Job(ctx, j.ID)
			if err != nil {
				t.Fatal(err)
			}
			if d := got.Documents[0]; d.Inline != mode.inline || (d.Path == "") != mode.inline || !d.Available() {
				t.Fatalf("stored document %+v, want inline=%v", d, mode.inline)
			}
		})
	}
}

// sqliteDriver opens each store in a temp dir of its own with base's settings and the suite's
// options mapped onto spool.Options; Reopen opens the same directory with the same options.
func sqliteDriver(base spool.Options) storetest.Driver {
	var mu sync.Mutex
	opened := map[*spool.Store]spool.Options{}
	openDir := func(t *testing.T, o spool.Options) *spool.Store {
		t.Helper()
		s, err := spool.Open(context.Background(), o)
		if err != nil {
			t.Fatalf("spool.Open(%s): %v", o.Dir, err)
		}
		t.Cleanup(func() { s.Close() }) // closing twice is harmless
		mu.Lock()
		opened[s] = o
		mu.Unlock()
		return s
	}
	sqlite := func(t *testing.T, s queue.Store) *spool.Store {
		t.Helper()
		ss, ok := s.(*spool.Store)
		if !ok {
			t.Fatalf("not a SQLite store: %T", s)
		}
		return ss
	}
	return storetest.Driver{
		Open: func(t *testing.T, o storetest.Options) queue.Store {
			so := base
			so.Dir = t.TempDir()
			so.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			so.Now = o.Now
			so.MaxDocumentBytes = o.MaxDocumentBytes
			so.Retention = o.Retention
			so.PageCounter = o.PageCounter
			return openDir(t, so)
		},
		Reopen: func(t *testing.T, s queue.Store) queue.Store {
			ss := sqlite(t, s)
			mu.Lock()
			o, ok := opened[ss]
			delete(opened, ss)
			mu.Unlock()
			if !ok {
				t.Fatal("Reopen of a store this driver did not open")
			}
			if err := ss.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openDir(t, o)
		},
		Documents: func(t *testing.T, s queue.Store) int {
			return spooltest.Documents(t, sqlite(t, s).Dir())
		},
	}
}
