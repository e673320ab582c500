package lpd

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchDoc is letter-sized: a one- or two-page PDF from a letter template is tens of KiB.
var benchDoc = append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte("0123456789abcdef"), 4<<10)...)

// BenchmarkLPDSubmit measures the protocol's own cost: 16 clients sending jobs at once over
// loopback to a server whose spooler hashes in memory (no disk, no SQLite). The end-to-end
// figure with the real spool is measured elsewhere.
func BenchmarkLPDSubmit(b *testing.B) {
	fs := newFakeSpool()
	fs.keepBytes = false
	h := startServer(b, Config{Logger: slog.New(slog.DiscardHandler)}, fs)
	client := &Client{Host: "bench"}
	ctx := context.Background()
	const clients = 16
	b.SetBytes(int64(len(benchDoc)))
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				j := ClientJob{Name: "letter", User: "bench", Files: []ClientFile{
					{Reader: bytes.NewReader(benchDoc), Size: int64(len(benchDoc)), Name: "letter.pdf"}}}
				if err := client.Send(ctx, h.addr, "letters", j); err != nil {
					failed.Add(1)
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	if _, _, jobs := fs.snapshot(); failed.Load() == 0 && len(jobs) != b.N {
		b.Fatalf("%d jobs stored, want %d", len(jobs), b.N)
	}
}
