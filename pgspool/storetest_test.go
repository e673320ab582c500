//go:build peers || e2e

package pgspool_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/pgspool"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/queue/storetest"
)

// TestStore runs the drivers' behavioural suite on PostgreSQL, with small documents in memory
// until their commit and with every document staged in a file.
func TestStore(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		base pgspool.Options
	}{
		{"documents staged in memory", pgspool.Options{}},
		{"documents staged in files", pgspool.Options{MemoryMaxBytes: 1}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			storetest.Run(t, pgDriver(mode.base))
		})
	}
}

var schemaSeq atomic.Int64

// openOptions are base's settings with a schema (an empty spool) and a gateway name of its own.
func openOptions(t testing.TB, base pgspool.Options) pgspool.Options {
	o := base
	n := schemaSeq.Add(1)
	o.URL = cluster.URL(testDB)
	o.Schema = fmt.Sprintf("spool_%d", n)
	o.Gateway = fmt.Sprintf("gw-%d", n)
	o.TempDir = t.TempDir()
	o.MaxConns = 4
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

func openStore(t testing.TB, o pgspool.Options) *pgspool.Store {
	t.Helper()
	s, err := pgspool.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("pgspool.Open(schema %s): %v", o.Schema, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// pgDriver opens each store in a fresh schema; Reopen opens the same schema as the same gateway.
func pgDriver(base pgspool.Options) storetest.Driver {
	var mu sync.Mutex
	opened := map[*pgspool.Store]pgspool.Options{}
	openIt := func(t *testing.T, o pgspool.Options) *pgspool.Store {
		s := openStore(t, o)
		mu.Lock()
		opened[s] = o
		mu.Unlock()
		return s
	}
	pg := func(t *testing.T, s queue.Store) *pgspool.Store {
		t.Helper()
		ps, ok := s.(*pgspool.Store)
		if !ok {
			t.Fatalf("not a PostgreSQL store: %T", s)
		}
		return ps
	}
	return storetest.Driver{
		Open: func(t *testing.T, so storetest.Options) queue.Store {
			o := openOptions(t, base)
			o.Now = so.Now
			o.MaxDocumentBytes = so.MaxDocumentBytes
			o.Retention = so.Retention
			o.PageCounter = so.PageCounter
			return openIt(t, o)
		},
		Reopen: func(t *testing.T, s queue.Store) queue.Store {
			ps := pg(t, s)
			mu.Lock()
			o, ok := opened[ps]
			delete(opened, ps)
			mu.Unlock()
			if !ok {
				t.Fatal("Reopen of a store this driver did not open")
			}
			if err := ps.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			return openIt(t, o)
		},
		Documents: func(t *testing.T, s queue.Store) int {
			ps := pg(t, s)
			n, err := ps.StoredDocuments(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			return n + ps.StagedFiles()
		},
	}
}
