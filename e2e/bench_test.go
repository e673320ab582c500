//go:build e2e

// End-to-end throughput of durable submissions: HTTP POST of a 4 KB PDF letter to a real
// `printgate serve` child, answered 201 only after the document is fsynced and the job row
// committed (group commit).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkSubmitHTTP measures jobs per second with 1 and 16 concurrent clients.
//
//	go test -tags e2e -run '^$' -bench SubmitHTTP -benchtime 4000x ./e2e/
//
// "drained": both printers drained through the API, so the gateway does nothing but accept
// (the submission path alone). "printing": the printers take every job at once (file printers
// without a speed), so each accepted job is also copied out and moved through four more states
// while the clients keep submitting.
func BenchmarkSubmitHTTP(b *testing.B) {
	letter, err := os.ReadFile(repoFile(b, "testdata/letter-4p.pdf"))
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"drained", "printing"} {
		g := startGateway(b, gatewayOptions{Config: func(listen, spoolDir string) string {
			return fmt.Sprintf(`listen: %s
spool: %s
min_free_disk: 64MiB
log_level: warn
auth:
  trust_loopback: true
printers:
  - name: out-a
    uri: file://%s
  - name: out-b
    uri: file://%s
virtual_printers:
  - name: letters
    pool: [out-a, out-b]
`, listen, spoolDir, filepath.Join(spoolDir, "out", "a"), filepath.Join(spoolDir, "out", "b"))
		}})
		if mode == "drained" {
			for _, p := range []string{"out-a", "out-b"} {
				if _, err := g.API.PrinterAction(context.Background(), p, "drain"); err != nil {
					b.Fatalf("drain %s: %v", p, err)
				}
			}
		}
		for _, clients := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/clients=%d", mode, clients), func(b *testing.B) {
				benchSubmitHTTP(b, g.Base, letter, clients)
			})
		}
	}
}

func benchSubmitHTTP(b *testing.B, base string, doc []byte, clients int) {
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	url := base + "/api/v1/jobs?name=bench.pdf"
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
				resp, err := client.Post(url, "application/pdf", bytes.NewReader(doc))
				if err != nil {
					errs <- err
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					errs <- fmt.Errorf("POST: %s", resp.Status)
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
}
