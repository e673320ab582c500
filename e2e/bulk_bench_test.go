// Benchmarks of bulk-run registration end to end: `printgate bulk submit --dir` of 10,000 and
// 100,000 small PDFs into a `printgate serve` child, timed, with the gateway's peak resident
// set. No build tag: `make bench` runs them (it builds bin/printgate first).
// Run: make build && go test -run '^$' -bench BulkRegister -benchtime 1x -timeout 30m ./e2e/
package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func benchmarkBulkRegister(b *testing.B, letters int) {
	dir := filepath.Join(b.TempDir(), "letters")
	genStart := time.Now()
	writeLetters(b, dir, letters, func(i int) int { return 1 + i%4 })
	b.Logf("wrote %d letters in %s", letters, time.Since(genStart).Round(time.Millisecond))
	g := startBulkGW(b, []bulkPrinter{{"a", 60}, {"b", 120}})
	// Held until tomorrow: the benchmark measures registration, not printing.
	at := time.Now().Add(24 * time.Hour).Format("2006-01-02T15:04")
	b.ResetTimer()
	var took time.Duration
	for i := range b.N {
		start := time.Now()
		out, errOut, err := g.cli("bulk", "submit", "--name", fmt.Sprintf("bench %d", i), "--dir", dir, "--at", at)
		took = time.Since(start)
		if err != nil {
			b.Fatalf("bulk submit: %v\n%s\n%s", err, out, bulkTail(errOut, 2000))
		}
		if want := fmt.Sprintf("%d letters", letters); !strings.Contains(out, want) {
			b.Fatalf("bulk submit said %q, want %q", out, want)
		}
	}
	b.StopTimer()
	rss := g.peakRSS()
	b.ReportMetric(took.Seconds(), "s/run")
	b.ReportMetric(float64(letters)/took.Seconds(), "letters/s")
	b.ReportMetric(float64(rss)/(1<<20), "gateway-peak-RSS-MiB")
	b.Logf("%d letters registered through the CLI in %s (%.0f letters/s); gateway VmHWM %.1f MiB",
		letters, took.Round(time.Millisecond), float64(letters)/took.Seconds(), float64(rss)/(1<<20))
}

// Target: under 20 s.
func BenchmarkBulkRegister10k(b *testing.B) { benchmarkBulkRegister(b, 10000) }

// Target: gateway peak RSS under 200 MB.
func BenchmarkBulkRegister100k(b *testing.B) { benchmarkBulkRegister(b, 100000) }
