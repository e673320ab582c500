//go:build peers || e2e

// Durable ingest on both drivers in one run: Stage plus Submit of a real 4-page PDF letter,
// acknowledged only once committed (SQLite: WAL fsync, group commit; PostgreSQL: commit
// flushed to the server's WAL with fsync on), so that docs/BENCHMARKS.md can give the ratio.
package pgspool_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/pgspool"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
)

// BenchmarkDurableIngest: jobs per second with 1 and 16 concurrent clients, per driver.
//
//	go test -tags peers -run '^$' -bench DurableIngest -benchtime 2000x ./pgspool
func BenchmarkDurableIngest(b *testing.B) {
	doc, err := os.ReadFile(filepath.Join("..", "testdata", "letter-4p.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	counter := document.NewCounter().CountReader
	drivers := []struct {
		name string
		open func(b *testing.B) queue.Store
	}{
		{"sqlite", func(b *testing.B) queue.Store {
			s, err := spool.Open(context.Background(), spool.Options{Dir: b.TempDir(), PageCounter: counter, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(b *testing.B) queue.Store {
			c := durableCluster(b)
			o := openOptions(b, pgspool.Options{PageCounter: counter, MaxConns: 32})
			o.URL = c.URL("postgres")
			s := openStore(b, o)
			return s
		}},
	}
	for _, d := range drivers {
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("driver=%s/clients=%d", d.name, clients), func(b *testing.B) {
				s := d.open(b)
				ctx := context.Background()
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, clients)
				b.SetBytes(int64(len(doc)))
				b.ResetTimer()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for next.Add(1) <= int64(b.N) {
							st, err := s.Stage(ctx, bytes.NewReader(doc), "letter.pdf", document.PDF)
							if err != nil {
								errs <- err
								return
							}
							if _, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "bench"}, []*job.Staged{st}); err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			})
		}
	}
}
