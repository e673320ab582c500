//go:build e2e

// BenchmarkFrontends measures how many jobs per second each front-end accepts durably — LPD,
// raw 9100, IPP Print-Job and the JSON API — with 16 concurrent clients against one real
// `printgate serve` child (SQLite spool, every document fsynced before the answer). The virtual
// printer is paused first, so jobs stay pending and printing takes no share of the machine:
// the figure is the front-end plus the durable spool (and the scheduler noticing new jobs).
// Run: go test -tags e2e -run '^$' -bench Frontends ./e2e/ (after make build)
package e2e

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/lpd"
	"github.com/printgate/printgate/raw"
	"github.com/printgate/printgate/ui"
)

// feBenchClients is the number of clients submitting at once, per front-end.
const feBenchClients = 16

func BenchmarkFrontends(b *testing.B) {
	// At the default log level (info), as deployed: one log line per received job is part of
	// the cost.
	g := startFEGateway(b, feGatewayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	_, letter := feLetter(b, "letter-1p.pdf")

	// HTTP clients keep one connection per concurrent client, as a print server's spooler
	// would; the default of two idle connections per host would measure reconnects instead.
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: feBenchClients, MaxConnsPerHost: feBenchClients}}
	ippc, err := ipp.NewClient(strings.Replace(g.Base, "http://", "ipp://", 1)+"/ipp/print/letters",
		ipp.ClientOptions{HTTPClient: hc, UserName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	// Pause the virtual printer (IPP Pause-Printer, as an operator on the gateway host): jobs
	// are stored and wait, nothing prints. Draining the printers instead would also stop
	// printing, but a virtual printer with no usable member advertises no document formats,
	// and the IPP front-end then refuses every document.
	if _, err := ippc.Do(ctx, ippc.NewRequest(goipp.OpPausePrinter, "bench"), nil, 0); err != nil {
		b.Fatalf("pause letters: %v", err)
	}
	if !g.paused(b) {
		b.Fatalf("virtual printer letters not paused after Pause-Printer")
	}
	api := ui.NewClient(g.Base, "")
	api.HTTP = hc
	var lpdc lpd.Client
	var rawc raw.Client

	frontends := []struct {
		name   string
		submit func(ctx context.Context) error
	}{
		{"LPD", func(ctx context.Context) error {
			// A new connection per job: that is the protocol (CUPS and Windows do the same).
			return lpdc.Send(ctx, g.LPDAddr, "letters", lpd.ClientJob{Name: "bench letter", User: "bench",
				Files: []lpd.ClientFile{{Name: "letter.pdf", Reader: bytes.NewReader(letter), Size: int64(len(letter))}}})
		}},
		{"Raw", func(ctx context.Context) error {
			return rawc.Send(ctx, g.RawAddr, bytes.NewReader(letter))
		}},
		{"IPP", func(ctx context.Context) error {
			_, err := ippc.PrintJob(ctx, ipp.JobRequest{Name: "bench letter", User: "bench"},
				ipp.Document{Reader: bytes.NewReader(letter), Size: int64(len(letter)), Format: "application/pdf", Name: "letter.pdf"})
			return err
		}},
		{"API", func(ctx context.Context) error {
			_, err := api.Submit(ctx, bytes.NewReader(letter), ui.SubmitOptions{Printer: "letters", Name: "bench letter", Owner: "bench"})
			return err
		}},
	}
	for _, fe := range frontends {
		b.Run(fe.name, func(b *testing.B) {
			queued0 := g.queued(b)
			var next atomic.Int64
			var wg sync.WaitGroup
			errs := make(chan error, feBenchClients)
			b.ResetTimer()
			for range feBenchClients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for next.Add(1) <= int64(b.N) {
						if err := fe.submit(ctx); err != nil {
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
				b.Fatalf("%s submission: %v", fe.name, err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
			// Every job a client saw acknowledged must be in the spool, and no other.
			if got := g.queued(b) - queued0; got != b.N {
				b.Fatalf("%s: %d jobs acknowledged, %d more queued in the gateway", fe.name, b.N, got)
			}
		})
	}
}

// paused reports whether virtual printer letters is paused, from the API.
func (g *feGateway) paused(tb testing.TB) bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), feAPITimeout)
	defer cancel()
	vs, err := g.API.VirtualPrinters(ctx)
	if err != nil {
		tb.Fatalf("virtual printers: %v", err)
	}
	for _, v := range vs {
		if v.Name == "letters" {
			return v.Paused
		}
	}
	return false
}

// queued is the number of unfinished jobs of virtual printer letters, from the API.
func (g *feGateway) queued(tb testing.TB) int {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), feAPITimeout)
	defer cancel()
	vs, err := g.API.VirtualPrinters(ctx)
	if err != nil {
		tb.Fatalf("virtual printers: %v", err)
	}
	for _, v := range vs {
		if v.Name != "letters" {
			continue
		}
		n := 0
		for _, t := range v.Queued {
			n += t.Jobs
		}
		return n
	}
	tb.Fatalf("no virtual printer letters in %+v", vs)
	return 0
}
