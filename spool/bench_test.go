// Throughput of durable submissions: Stage (stream, hash, fsync, rename) plus Submit (group
// commit with directory fsync), as a front-end does them for every job.
package spool

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// BenchmarkSubmit measures durable jobs per second with 1 and 16 concurrent clients, each job a
// real 4-page PDF letter of 3.9 KB whose pages are counted with pdfcpu as in the gateway.
//
//	go test -run '^$' -bench BenchmarkSubmit -benchtime 2000x ./spool
func BenchmarkSubmit(b *testing.B) {
	doc := letter(b, 4)
	for _, clients := range []int{1, 16} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			s := openStore(b, Options{PageCounter: document.NewCounter().CountReader})
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
