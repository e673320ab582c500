//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/ui"
)

const (
	clusterBenchClients   = 16  // concurrent API clients in the ingest part
	clusterBenchPerClient = 10  // letters each of them submits per iteration
	clusterBenchRun       = 200 // letters of the bulk run whose makespan is measured
)

// BenchmarkClusterGateways is issue 19's acceptance 5: 1, 2 and 3 gateways on one PostgreSQL
// spool behind the documented HAProxy front door, six raw 9100 printers. Per gateway count:
// ingest/letters/s is the aggregate durable ingest of 16 API clients through the front door
// (each acceptance a commit); bulk/makespan-s is the time from `printgate bulk submit` of a
// 200-letter run through the front door to its last letter completed, the printers shared out
// among the gateways by lease. Compare the figures of one run with each other
// (docs/BENCHMARKS.md): everything here shares one machine's cores.
func BenchmarkClusterGateways(b *testing.B) {
	base, err := os.ReadFile(repoFile(b, "testdata/letter-1p.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("gateways=%d", n), func(b *testing.B) {
			_, dbURL := startPostgres(b)
			var sinks []*peer.RawSink
			for range 6 {
				sinks = append(sinks, peer.RawListener(b))
			}
			var backends []string
			var first *gateway
			for i := range n {
				cfg := chaosConfig(fmt.Sprintf("gw-%d", i+1), dbURL, sinks, nil)
				// Fast printers (a raw sink takes a letter at once; the speed is what the
				// gateway waits before it calls a letter printed): the gateways' work is
				// measured, not the printers'.
				fast := func(listen, spool string) string {
					return strings.ReplaceAll(cfg(listen, spool), "ppm: 240", "ppm: 6000")
				}
				g := startGateway(b, gatewayOptions{SpoolURL: dbURL, Config: fast})
				backends = append(backends, strings.TrimPrefix(g.Base, "http://"))
				if first == nil {
					first = g
				}
			}
			front := startFrontDoor(b, backends)
			api := ui.NewClient(front, "")
			dir := b.TempDir()
			letter := func(name string) string {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, append(bytes.Clone(base), []byte("\n% "+name+"\n")...), 0o644); err != nil {
					b.Fatal(err)
				}
				return path
			}
			var ingest, makespan time.Duration
			letters := 0
			for i := 0; i < b.N; i++ {
				// Ingest: every client submits its letters one after another.
				var wg sync.WaitGroup
				errs := make(chan error, clusterBenchClients)
				paths := make([][]string, clusterBenchClients)
				for c := range clusterBenchClients {
					for k := range clusterBenchPerClient {
						paths[c] = append(paths[c], letter(fmt.Sprintf("in-%d-%d-%d.pdf", i, c, k)))
					}
				}
				start := time.Now()
				for c := range clusterBenchClients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for _, p := range paths[c] {
							ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
							_, err := api.SubmitFile(ctx, p, ui.SubmitOptions{Printer: "letters"})
							cancel()
							if err != nil {
								errs <- err
								return
							}
						}
					}()
				}
				wg.Wait()
				ingest += time.Since(start)
				letters += clusterBenchClients * clusterBenchPerClient
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}

				// Bulk makespan: the run through the front door, to its last letter printed.
				runDir := filepath.Join(dir, fmt.Sprintf("run-%d", i))
				if err := os.Mkdir(runDir, 0o755); err != nil {
					b.Fatal(err)
				}
				for k := range clusterBenchRun {
					doc := append(bytes.Clone(base), []byte(fmt.Sprintf("\n%% run %d letter %d\n", i, k))...)
					if err := os.WriteFile(filepath.Join(runDir, fmt.Sprintf("l-%04d.pdf", k)), doc, 0o644); err != nil {
						b.Fatal(err)
					}
				}
				start = time.Now()
				out, err := first.CLI("bulk", "submit", "--server", front, "--json", "--name", fmt.Sprintf("bench %d", i),
					"--printer", "letters", "--dir", runDir)
				if err != nil {
					b.Fatal(err)
				}
				var run job.Run
				if err := json.Unmarshal([]byte(out), &run); err != nil {
					b.Fatalf("bulk submit printed %q: %v", out, err)
				}
				deadline := time.Now().Add(5 * time.Minute)
				for {
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					st, err := api.RunStatus(ctx, run.ID)
					cancel()
					if err != nil {
						b.Fatal(err)
					}
					if st.Done == clusterBenchRun {
						break
					}
					if time.Now().After(deadline) {
						b.Fatalf("run %d: %d of %d letters done after 5 minutes", run.ID, st.Done, clusterBenchRun)
					}
					time.Sleep(20 * time.Millisecond)
				}
				makespan += time.Since(start)
			}
			b.ReportMetric(float64(letters)/ingest.Seconds(), "ingest-letters/s")
			b.ReportMetric(makespan.Seconds()/float64(b.N), "bulk-makespan-s")
			b.ReportMetric(0, "ns/op") // the two figures above are the result
		})
	}
}
