// Page times with 100,000 jobs in the spool's history (acceptance: overview and jobs page
// under 100 ms). Run: go test -run '^$' -bench BenchmarkDashboard100k -benchtime 20x ./ui
package ui

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
)

// History of the fixture: canceled letters of an old run, completed letters spread over the two
// printers (each through every state, as the scheduler records them), and a live queue.
const (
	benchCanceled  = 78000
	benchCompleted = 20000
	benchQueued    = 2000
)

// buildHistory fills store with benchCanceled+benchCompleted+benchQueued jobs through the
// spool's own API. The letters share one staged document: only rows matter here.
func buildHistory(b *testing.B, ctx context.Context, store *spool.Store) {
	b.Helper()
	pdf, err := os.ReadFile("../testdata/letter-1p.pdf")
	if err != nil {
		b.Fatal(err)
	}
	doc, err := store.Stage(ctx, bytes.NewReader(pdf), "letter.pdf", "application/pdf")
	if err != nil {
		b.Fatal(err)
	}
	run := func(name string, n int) *job.Run {
		r, err := store.CreateRun(ctx, job.NewRun{Name: name, VirtualPrinter: "letters", Owner: "mailroom"})
		if err != nil {
			b.Fatal(err)
		}
		const batch = 2000
		for seq := 1; seq <= n; seq += batch {
			letters := make([]job.NewLetter, min(batch, n-seq+1))
			for i := range letters {
				letters[i] = job.NewLetter{Source: fmt.Sprintf("%s-%06d.pdf", name, seq+i), Doc: doc}
			}
			if _, err := store.AddLetters(ctx, r.ID, int64(seq), letters); err != nil {
				b.Fatal(err)
			}
		}
		if r, err = store.CommitRun(ctx, r.ID, job.CommitOptions{Actor: "mailroom"}); err != nil {
			b.Fatal(err)
		}
		return r
	}
	old := run("old-mailing", benchCanceled)
	if _, _, err := store.CancelRun(ctx, old.ID, "mailroom"); err != nil {
		b.Fatal(err)
	}
	done := run("shielding-letters", benchCompleted)
	jobs, err := store.Jobs(ctx, job.JobFilter{RunID: done.ID, WithoutDocuments: true})
	if err != nil {
		b.Fatal(err)
	}
	// Concurrent writers share commits (group commit), as flights do.
	work := make(chan *job.Job)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range work {
				p := []string{"demo-a", "demo-b"}[j.ID%2]
				steps := []struct {
					to job.State
					c  job.Change
				}{
					{job.StateAssigned, job.Change{Printer: &p, Message: "assigned to " + p}},
					{job.StateSending, job.Change{}},
					{job.StatePrinting, job.Change{Message: "accepted by " + p}},
					{job.StateCompleted, job.Change{Message: "completed at " + p}},
				}
				for _, s := range steps {
					if err := store.Transition(ctx, j.ID, s.to, s.c); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	for _, j := range jobs {
		work <- j
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	run("today", benchQueued)
}

func BenchmarkDashboard100k(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := b.TempDir()
	store, err := spool.Open(ctx, spool.Options{Dir: dir, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	start := time.Now()
	buildHistory(b, ctx, store)
	// Keep the queue queued: the scheduler must not print it while pages are timed.
	if err := store.SetControl(ctx, job.Control{Scope: "virtual", Name: "letters", Paused: true, Actor: "bench"}, "paused for the benchmark"); err != nil {
		b.Fatal(err)
	}
	total, err := store.CountJobs(ctx, job.JobFilter{})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("fixture: %d jobs in %s", total, time.Since(start).Round(time.Second))
	var specs []queue.PrinterSpec
	for _, name := range []string{"demo-a", "demo-b"} {
		p, err := printers.Open(printers.Config{Name: name, URI: "file://" + filepath.Join(dir, "out", name), Logger: quietLog})
		if err != nil {
			b.Fatal(err)
		}
		specs = append(specs, queue.PrinterSpec{Name: name, URI: "file://" + filepath.Join(dir, "out", name), Printer: p, PPM: 40})
	}
	sched, err := queue.New(queue.Options{Store: store, Printers: specs, Logger: quietLog,
		Virtual: []queue.VirtualSpec{{Name: "letters", Pool: []string{"demo-a", "demo-b"}, Default: true}}})
	if err != nil {
		b.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() {
		defer close(runDone)
		_ = sched.Run(ctx)
	}()
	defer func() { cancel(); <-runDone }()
	<-sched.Running()
	auth, err := NewAuth(AuthOptions{TrustLoopback: true, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	dash, err := NewDashboard(DashboardOptions{Service: sched, Auth: auth, Logger: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	for range 120 { // a full hour of chart samples
		dash.Sample(ctx)
	}
	m, err := NewMetrics(prometheus.NewRegistry(), sched, store.FreeBytes, quietLog)
	if err != nil {
		b.Fatal(err)
	}
	router := mux.NewRouter()
	dash.Register(router)
	NewAPI(sched, auth, quietLog).Register(router)
	router.Handle("/metrics", m.Handler())

	for _, path := range []string{
		"/ui/",
		"/ui/jobs",
		"/ui/jobs?state=completed",
		"/ui/jobs?state=unfinished",
		"/ui/jobs?printer=demo-a",
		"/ui/jobs?virtual=letters&state=pending",
		"/ui/jobs?owner=nobody",
		"/ui/jobs?q=shielding-letters-0199",
		"/ui/jobs?duplicate=1",
		"/ui/jobs?run=2",
		"/ui/jobs?before=50000",
		"/ui/printers/demo-a",
		"/ui/events",
		"/ui/events?kind=failover",
		"/api/v1/virtual-printers",
		"/api/v1/jobs",
		"/metrics",
	} {
		b.Run(path, func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequest(http.MethodGet, path, nil)
				r.RemoteAddr = "127.0.0.1:40000"
				w := httptest.NewRecorder()
				router.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("%s: %d %.300s", path, w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/page")
		})
	}
}
