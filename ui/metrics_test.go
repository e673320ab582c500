// /metrics: parsed with the Prometheus text parser, its queue depth matches the API's, and the
// counters follow the event log.
package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// scrape fetches /metrics with the token and parses it.
func (g *testGateway) scrape() map[string]*dto.MetricFamily {
	g.t.Helper()
	status, body := g.do(g.client(), http.MethodGet, "/metrics", "", map[string]string{"Authorization": "Bearer " + testToken})
	if status != http.StatusOK {
		g.t.Fatalf("/metrics: %d %s", status, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		g.t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams
}

// sum adds the values of a family's series whose labels include want.
func sum(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				found = found || (l.GetName() == k && l.GetValue() == v)
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Gauge != nil:
			total += m.GetGauge().GetValue()
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

func TestMetricsQueueDepthMatchesAPI(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	g.submit(7, "bob", "letter")
	jobs := g.submit(2, "bob", "held letter")
	if err := g.sched.HoldJob(t.Context(), jobs[0].ID, "test"); err != nil {
		t.Fatal(err)
	}
	status, body := g.do(g.client(), http.MethodGet, "/api/v1/virtual-printers", "", map[string]string{"Authorization": "Bearer " + testToken})
	if status != http.StatusOK {
		t.Fatalf("virtual-printers: %d", status)
	}
	fams := g.scrape()
	var api struct {
		Virtual []VirtualView `json:"virtual_printers"`
	}
	if err := json.Unmarshal([]byte(body), &api); err != nil {
		t.Fatal(err)
	}
	byState := map[job.State]int{}
	apiJobs := 0
	for _, v := range api.Virtual {
		for _, q := range v.Queued {
			if v.Name == "letters" {
				apiJobs += q.Jobs
				byState[q.State] += q.Jobs
			}
		}
	}
	if apiJobs != 9 || byState[job.StatePending] != 8 || byState[job.StateHeld] != 1 {
		t.Fatalf("API queue depth %d %v, want 9 (8 pending, 1 held)", apiJobs, byState)
	}
	if got := sum(t, fams, "printgate_queue_jobs", map[string]string{"virtual_printer": "letters"}); int(got) != apiJobs {
		t.Errorf("metrics queue depth %g, API %d", got, apiJobs)
	}
	for st, n := range byState {
		if got := sum(t, fams, "printgate_queue_jobs", map[string]string{"virtual_printer": "letters", "state": string(st), "lane": "interactive"}); int(got) != n {
			t.Errorf("metrics %s jobs %g, API %d", st, got, n)
		}
	}
	if got := sum(t, fams, "printgate_queue_pages", map[string]string{"virtual_printer": "letters"}); got != 9 {
		t.Errorf("queued pages %g, want 9", got)
	}
	if got := sum(t, fams, "printgate_virtual_printer_paused", map[string]string{"virtual_printer": "letters"}); got != 1 {
		t.Errorf("paused %g, want 1", got)
	}
	if got := sum(t, fams, "printgate_printer_pool_pending_jobs", map[string]string{"printer": "demo-a"}); got != 8 {
		t.Errorf("pool pending of demo-a %g, want 8", got)
	}
	if got := sum(t, fams, "printgate_spool_free_bytes", nil); got != 50<<30 {
		t.Errorf("spool free %g, want the injected 50 GiB", got)
	}
	for _, p := range []string{"demo-a", "demo-b"} {
		if got := sum(t, fams, "printgate_printer_state", map[string]string{"printer": p, "state": "ready"}); got != 1 {
			t.Errorf("%s ready = %g, want 1", p, got)
		}
		if got := sum(t, fams, "printgate_printer_state", map[string]string{"printer": p}); got != 1 {
			t.Errorf("%s: %g states at 1, want exactly one", p, got)
		}
	}
	lat := fams["printgate_http_request_duration_seconds"]
	found := false
	for _, m := range lat.GetMetric() {
		for _, l := range m.GetLabel() {
			found = found || (l.GetName() == "route" && l.GetValue() == "/api/v1/virtual-printers" && m.GetHistogram().GetSampleCount() == 1)
		}
	}
	if !found {
		t.Errorf("no latency sample for the virtual-printers request: %v", lat)
	}
}

func TestMetricsCountPrintedJobsAndPages(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	g.submit(5, "bob", "letter")
	if err := g.sched.PauseVirtual(t.Context(), "letters", "test", false); err != nil {
		t.Fatal(err)
	}
	g.await(timeout, "5 jobs printed", func() bool {
		jobs, _ := g.sched.Jobs(context.Background(), job.JobFilter{States: []job.State{job.StateCompleted}, WithoutDocuments: true})
		return len(jobs) == 5
	})
	fams := g.scrape()
	if got := sum(t, fams, "printgate_jobs_printed_total", nil); got != 5 {
		t.Errorf("jobs printed %g, want 5", got)
	}
	if got := sum(t, fams, "printgate_pages_printed_total", nil); got != 5 {
		t.Errorf("pages printed %g, want 5", got)
	}
	if got := sum(t, fams, "printgate_queue_jobs", nil); got != 0 {
		t.Errorf("queue depth %g after printing, want 0", got)
	}
}

// fakeEvents is a MetricsSource for the counting rules, with a scripted event log.
type fakeEvents struct {
	events []job.Event
	pages  map[int64]int
}

// The live gauges are not scraped in this test.
func (f *fakeEvents) Printers() []queue.PrinterInfo                  { return nil }
func (f *fakeEvents) VirtualPrinters() []*queue.VirtualSpec          { return nil }
func (f *fakeEvents) VirtualState(string) (queue.VirtualInfo, error) { return queue.VirtualInfo{}, nil }
func (f *fakeEvents) Tallies(context.Context, string) ([]job.Tally, error) {
	return nil, nil
}

func (f *fakeEvents) Events(_ context.Context, ef job.EventFilter) ([]job.Event, error) {
	var out []job.Event
	if ef.AfterID == 0 && ef.Limit == 1 {
		return nil, nil
	}
	for _, e := range f.events {
		if e.ID > ef.AfterID && len(out) < ef.Limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeEvents) Jobs(_ context.Context, jf job.JobFilter) ([]*job.Job, error) {
	var out []*job.Job
	for _, id := range jf.IDs {
		out = append(out, &job.Job{ID: id, Pages: f.pages[id], Attributes: job.Attributes{Copies: 2}})
	}
	return out, nil
}

func TestMetricsCountingRules(t *testing.T) {
	t.Parallel()
	src := &fakeEvents{pages: map[int64]int{1: 3, 2: 4}}
	m, err := NewMetrics(prometheus.NewRegistry(), src, nil, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	ev := func(id, j int64, kind, printer, from, to string) job.Event {
		return job.Event{ID: id, JobID: j, Kind: kind, Printer: printer, From: from, To: to}
	}
	src.events = []job.Event{
		ev(1, 1, job.EventJobState, "a", "pending", "assigned"),
		ev(2, 1, job.EventJobState, "a", "assigned", "sending"),
		// A failed hand-over clears the job's printer: it is still counted against "a".
		ev(3, 1, job.EventJobState, "", "sending", "pending"),
		ev(4, 1, job.EventJobState, "b", "pending", "assigned"),
		ev(5, 1, job.EventJobState, "b", "assigned", "sending"),
		ev(6, 1, job.EventJobState, "b", "sending", "printing"),
		// The printer died: failover, counted against "b".
		ev(7, 1, job.EventFailover, "", "printing", "pending"),
		ev(8, 1, job.EventJobState, "a", "pending", "assigned"),
		ev(9, 1, job.EventJobState, "a", "printing", "completed"),
		ev(10, 2, job.EventJobState, "b", "printing", "completed"),
		// An operator cancel is not a send error.
		ev(11, 3, job.EventOperator, "", "sending", "canceled"),
		{ID: 12, Kind: job.EventPrinterState, Printer: "a", From: "ready", To: "stopped"},
	}
	if err := m.Observe(t.Context()); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	for _, c := range []prometheus.Collector{m.jobsPrinted, m.pagesPrinted, m.failovers, m.sendErrors} {
		reg.MustRegister(c)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	for _, c := range []struct {
		name, printer string
		want          float64
	}{
		{"printgate_send_errors_total", "a", 1}, {"printgate_send_errors_total", "b", 0},
		{"printgate_failovers_total", "b", 1}, {"printgate_failovers_total", "a", 0},
		{"printgate_jobs_printed_total", "a", 1}, {"printgate_jobs_printed_total", "b", 1},
		{"printgate_pages_printed_total", "a", 6}, {"printgate_pages_printed_total", "b", 8},
	} {
		if got := sum(t, byName, c.name, map[string]string{"printer": c.printer}); got != c.want {
			t.Errorf("%s{printer=%s} = %g, want %g", c.name, c.printer, got, c.want)
		}
	}
	// Observing again counts nothing twice.
	if err := m.Observe(t.Context()); err != nil {
		t.Fatal(err)
	}
	fams, _ = reg.Gather()
	for _, f := range fams {
		byName[f.GetName()] = f
	}
	if got := sum(t, byName, "printgate_jobs_printed_total", nil); got != 2 {
		t.Errorf("after a second Observe: %g jobs printed, want 2", got)
	}
}

// clusterPrinters is a metrics source whose printers are driven by gateways of a cluster.
type clusterPrinters struct {
	fakeEvents
	printers []queue.PrinterInfo
}

func (c *clusterPrinters) Printers() []queue.PrinterInfo { return c.printers }

// Several gateways on one spool: /metrics says which gateway drives each printer, and says
// nothing of the kind for a gateway alone.
func TestMetricsPrinterGateway(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		printers []queue.PrinterInfo
		want     map[string]string // printer -> gateway with a series of value 1
	}{
		{"cluster", []queue.PrinterInfo{{Name: "a", Gateway: "gw-1"}, {Name: "b", Gateway: "gw-2"}}, map[string]string{"a": "gw-1", "b": "gw-2"}},
		{"alone", []queue.PrinterInfo{{Name: "a"}}, map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			src := &clusterPrinters{printers: tc.printers}
			if _, err := NewMetrics(reg, src, nil, quietLog); err != nil {
				t.Fatal(err)
			}
			fams, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range fams {
				if f.GetName() != "printgate_printer_gateway" {
					continue
				}
				for _, m := range f.GetMetric() {
					labels := map[string]string{}
					for _, l := range m.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					if m.GetGauge().GetValue() != 1 {
						t.Errorf("printer %s gateway %s: value %v, want 1", labels["printer"], labels["gateway"], m.GetGauge().GetValue())
					}
					got[labels["printer"]] = labels["gateway"]
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("printgate_printer_gateway: %v, want %v", got, tc.want)
			}
		})
	}
}
