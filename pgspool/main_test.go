//go:build peers || e2e

package pgspool_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/pgtest"
)

// cluster is the test binary's one PostgreSQL server; testDB the database its stores share,
// each in a schema of its own. durable is a second server with fsync on, started by the first
// benchmark that needs it (durableCluster).
var (
	cluster *pgtest.Cluster
	testDB  string

	durableOnce sync.Once
	durable     *pgtest.Cluster
	durableErr  error
)

// durableCluster is a server that fsyncs as production does, for benchmarks of durable ingest.
func durableCluster(tb testing.TB) *pgtest.Cluster {
	tb.Helper()
	durableOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		durable, durableErr = pgtest.Start(ctx, pgtest.Options{Durable: true, Logf: tb.Logf})
	})
	if durableErr != nil {
		tb.Fatal(durableErr)
	}
	return durable
}

// TestMain starts one cluster for every test of the package: initdb and a server start cost a
// second or two, a schema a few milliseconds.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	c, err := pgtest.Start(ctx, pgtest.Options{Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	cancel()
	if err != nil {
		// Loudly: the PostgreSQL driver's suite is part of make test, and a machine without
		// the server must not pass it by skipping.
		fmt.Fprintln(os.Stderr, "pgspool tests need a PostgreSQL server:", err)
		return 1
	}
	defer c.Stop()
	cluster = c
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	testDB, err = c.CreateDatabase(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := m.Run()
	if durable != nil {
		durable.Stop()
	}
	return code
}
