//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// BenchmarkBridgeMixedPool300 is issue 20's makespan: 300 PDF letters (1-4 pages, the sample
// letters in turn) over four ippeveprinters that take only PDF, only PWG raster, only URF and
// only PostScript, whose print commands take pages/ppm of real time. Makespan is from the
// first Print-Job to the last completion; the lower bound is total pages / the pool's summed
// ppm, as if every printer printed without a gap from the first second and conversion cost
// nothing.
//
//	go test -tags e2e -run '^$' -bench BridgeMixedPool300 -benchtime 1x -timeout 20m -v ./e2e/
//
// Two fleets: office speeds (60, 48, 36 and 48 ppm; about 4 minutes) and the same ten times
// faster, where the per-job costs (conversion, ippeveprinter's own handling, the completion
// polls) weigh ten times more against the printing. The baseline, in the same run, is the
// same speeds with every printer taking PDF: no conversion at all.
func BenchmarkBridgeMixedPool300(b *testing.B) {
	for _, scale := range []int{1, 10} {
		for _, baseline := range []bool{false, true} {
			name := fmt.Sprintf("x%d/bridge", scale)
			if baseline {
				name = fmt.Sprintf("x%d/all-pdf-baseline", scale)
			}
			b.Run(name, func(b *testing.B) { benchmarkBridgeMixedPool(b, scale, baseline) })
		}
	}
}

func benchmarkBridgeMixedPool(b *testing.B, scale int, baseline bool) {
	for b.Loop() {
		members := []bridgePeer{}
		for _, m := range []struct {
			name, format string
			ppm          int
		}{{"pdf-only", document.PDF, 60}, {"pwg-only", document.PWGRaster, 48}, {"urf-only", document.URF, 36}, {"ps-only", document.PostScript, 48}} {
			ppm := m.ppm * scale
			if baseline {
				m.format = document.PDF
			}
			e := peer.StartIPPEvePrinter(b, peer.IPPEveOptions{Name: m.name, PPM: ppm, Formats: []string{m.format}})
			members = append(members, bridgePeer{name: m.name, uri: e.URI(), format: m.format, ppm: ppm, eve: e})
		}
		g := startGateway(b, gatewayOptions{Config: bridgeConfig(members, "")})
		letters := bridgeLetters(b)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		start := time.Now()
		var ids []int64
		pages := 0
		for i := range 300 {
			id, err := peer.PrintJob(ctx, ippURI(g, "letters"), fmt.Sprintf("letter-%03d", i), document.PDF, letters[i%len(letters)])
			if err != nil {
				b.Fatal(err)
			}
			ids = append(ids, int64(id))
			pages += i%len(letters) + 1
		}
		cancel()
		done := g.waitJobs(ids, 15*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
		var last time.Time
		perPrinter := map[string]int{}
		for _, j := range done {
			if j.Finished.After(last) {
				last = j.Finished
			}
			perPrinter[j.Printer] += j.Pages
		}
		makespan := last.Sub(start)
		ppm := 0
		for _, m := range members {
			ppm += m.ppm
		}
		bound := time.Duration(float64(pages) / float64(ppm) * float64(time.Minute))
		b.ReportMetric(makespan.Seconds(), "makespan-s")
		b.ReportMetric(bound.Seconds(), "lower-bound-s")
		b.ReportMetric(makespan.Seconds()/bound.Seconds(), "ratio")
		b.Logf("%d letters, %d pages: makespan %v, lower bound %v (ratio %.3f); pages per printer %v",
			len(ids), pages, makespan.Round(time.Millisecond), bound.Round(time.Millisecond), makespan.Seconds()/bound.Seconds(), perPrinter)
	}
}
