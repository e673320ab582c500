//go:build e2e

// Issue 3, acceptance 5: how many IPP Print-Jobs per second the gateway accepts durably, next
// to a private cupsd, with the same client: 4 parallel ipptool processes each sending 250
// Print-Jobs of a small PDF letter over one connection. The gateway fsyncs every document and
// its row before successful-ok (its virtual printer is paused, so printing takes no share of
// the machine); cupsd queues to a raw queue on file:///dev/null and, as deployed, does not
// fsync. Runs alternate between the two, and the medians of the runs are compared.
//
// Run: go test -tags e2e -run '^$' -bench IPPPrintJob -benchtime 1x -timeout 30m ./e2e/
// (PRINTGATE_BENCH_RUNS sets the number of runs per server, default 3).
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/ipp"
)

const (
	// ippBenchClients ipptool processes run at once, each sending ippBenchPerClient jobs.
	ippBenchClients   = 4
	ippBenchPerClient = 250
)

// ippBenchTest is an ipptool test file of n Print-Jobs of $filename, each expecting
// successful-ok. One file of n tests, rather than -n n, keeps one connection per client, as a
// spooler would.
func ippBenchTest(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, `{
	NAME "Print-Job %d"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name bench
	ATTR name job-name "bench letter %d"
	ATTR mimeMediaType document-format application/pdf
	FILE $filename
	STATUS successful-ok
}
`, i+1, i+1)
	}
	return b.String()
}

// runIPPToolClients starts ippBenchClients ipptool processes against uri at once and returns
// the jobs per second over the whole batch. Every Print-Job must pass.
func runIPPToolClients(b *testing.B, dir, uri, testFile, letter string) float64 {
	b.Helper()
	var wg sync.WaitGroup
	outs := make([]string, ippBenchClients)
	errs := make([]error, ippBenchClients)
	start := time.Now()
	for c := range ippBenchClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outs[c], errs[c] = peer.RunIPPTool(b, dir, uri, testFile, "-f", letter)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for c := range ippBenchClients {
		passed := len(resultLine("PASS").FindAllString(outs[c], -1))
		if errs[c] != nil || passed != ippBenchPerClient {
			b.Fatalf("ipptool client %d against %s: %d of %d passed, %v\n%s", c, uri, passed, ippBenchPerClient, errs[c], tail(outs[c], 2000))
		}
	}
	return float64(ippBenchClients*ippBenchPerClient) / elapsed.Seconds()
}

// waitCupsdIdle waits (at most two minutes) until cupsd has no unfinished job.
func waitCupsdIdle(b *testing.B, cups *peer.Cupsd) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		out, err := cups.Run(b, "lpstat", "-o")
		if err == nil && strings.TrimSpace(out) == "" {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("cupsd still has jobs after 2 minutes: %v %s", err, tail(out, 500))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func BenchmarkIPPPrintJobGatewayVsCupsd(b *testing.B) {
	runs := 3
	if v, err := strconv.Atoi(os.Getenv("PRINTGATE_BENCH_RUNS")); err == nil && v > 0 {
		runs = v
	}
	g := startGateway(b, gatewayOptions{Config: ippFileConfig(0)})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Pause the virtual printer (IPP Pause-Printer, as an operator on the gateway host): jobs
	// are stored and wait, nothing prints.
	ippc, err := ipp.NewClient(ippURI(g, "letters"), ipp.ClientOptions{UserName: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ippc.Do(ctx, ippc.NewRequest(goipp.OpPausePrinter, "bench"), nil, 0); err != nil {
		b.Fatalf("pause letters: %v", err)
	}
	cups := peer.StartCupsd(b)
	cups.AddRawQueue(b, "null", "file:///dev/null")

	dir := b.TempDir()
	letter := repoFile(b, "testdata/letter-1p.pdf")
	testFile := filepath.Join(dir, "print-jobs.test")
	if err := os.WriteFile(testFile, []byte(ippBenchTest(ippBenchPerClient)), 0o644); err != nil {
		b.Fatal(err)
	}
	servers := []struct {
		name string
		uri  string
	}{{"gateway", ippURI(g, "letters")}, {"cupsd", cups.URI("null")}}
	rates := map[string][]float64{}
	b.ResetTimer()
	for r := range runs {
		// Alternate who goes first, so neither always runs on a warmer (or busier) machine.
		order := []int{0, 1}
		if r%2 == 1 {
			order = []int{1, 0}
		}
		for _, i := range order {
			s := servers[i]
			rate := runIPPToolClients(b, dir, s.uri, testFile, letter)
			rates[s.name] = append(rates[s.name], rate)
			b.Logf("run %d %-7s %7.1f jobs/s", r+1, s.name, rate)
			if s.name == "cupsd" {
				// cupsd answers before it prints: its queue then runs a backend process per
				// job for a while. Let it finish, so the next run (of either server) does not
				// share the machine with it.
				b.StopTimer()
				waitCupsdIdle(b, cups)
				b.StartTimer()
			}
		}
	}
	b.StopTimer()

	// Every acknowledged Print-Job is a job waiting in the gateway's spool.
	jobs, err := g.allJobs()
	if err != nil {
		b.Fatal(err)
	}
	if want := runs * ippBenchClients * ippBenchPerClient; len(jobs) != want {
		b.Fatalf("gateway holds %d jobs, want the %d acknowledged", len(jobs), want)
	}
	gw, cu := median(rates["gateway"]), median(rates["cupsd"])
	b.ReportMetric(gw, "gateway-jobs/s")
	b.ReportMetric(cu, "cupsd-jobs/s")
	b.ReportMetric(gw/cu, "ratio")
	b.Logf("medians of %d runs: gateway %.1f jobs/s, cupsd %.1f jobs/s, ratio %.2f (gateway runs %.1f, cupsd runs %.1f)",
		runs, gw, cu, gw/cu, rates["gateway"], rates["cupsd"])
}
