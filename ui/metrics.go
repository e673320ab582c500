// Prometheus metrics at /metrics: live gauges read from the scheduler and the spool at each
// scrape, counters derived from the event log, and HTTP request latency.
package ui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

// MetricsSource is what the metrics read.
type MetricsSource interface {
	Printers() []queue.PrinterInfo
	VirtualPrinters() []*queue.VirtualSpec
	VirtualState(name string) (queue.VirtualInfo, error)
	Tallies(ctx context.Context, by string) ([]job.Tally, error)
	Events(ctx context.Context, f job.EventFilter) ([]job.Event, error)
	Jobs(ctx context.Context, f job.JobFilter) ([]*job.Job, error)
}

// printerStates are every state printgate_printer_state reports, one series each, so that a
// query for a state that is not current answers 0 rather than nothing.
var printerStates = []printers.State{printers.StateReady, printers.StateBusy, printers.StateDegraded,
	printers.StateStopped, printers.StateUnreachable, printers.StateDrained, printers.StateUnknown}

// Metrics owns the gateway's Prometheus registry.
type Metrics struct {
	reg      *prometheus.Registry
	src      MetricsSource
	freeDisk func() (uint64, error)
	log      *slog.Logger

	jobsPrinted  *prometheus.CounterVec
	pagesPrinted *prometheus.CounterVec
	failovers    *prometheus.CounterVec
	sendErrors   *prometheus.CounterVec
	connRefused  *prometheus.CounterVec
	requests     *prometheus.HistogramVec

	queueJobs, queuePages, printerState, printerUp, backlog, inflight, ppm, pagesHour,
	poolPending, usable, paused, diskFree, printerGateway *prometheus.Desc
	// From a printer's SNMP agent (LPD and socket printers with snmp_community or snmp_user).
	supplyLevel, alerts, pageCount *prometheus.Desc

	mu        sync.Mutex // guards the event tail
	started   bool
	lastEvent int64
	// lastPrinter remembers where each job in flight was assigned: a failover event clears the
	// job's printer, and the counters must still say which printer lost the job.
	lastPrinter map[int64]string
}

// NewMetrics registers the gateway's metrics on reg (a registry of its own, not the global
// default, so tests and several gateways in one process do not collide). freeDisk reports the
// spool's free space; nil leaves that metric out.
func NewMetrics(reg *prometheus.Registry, src MetricsSource, freeDisk func() (uint64, error), log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.Default()
	}
	m := &Metrics{reg: reg, src: src, freeDisk: freeDisk, log: log, lastPrinter: map[int64]string{}}
	m.jobsPrinted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "printgate_jobs_printed_total",
		Help: "Jobs the printer reported completed, since the gateway started."}, []string{"printer"})
	m.pagesPrinted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "printgate_pages_printed_total",
		Help: "Pages (pages times copies) of the jobs completed, since the gateway started."}, []string{"printer"})
	m.failovers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "printgate_failovers_total",
		Help: "Jobs taken off a printer and re-queued (printer down, grace period over, moved, lost track)."}, []string{"printer"})
	m.sendErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "printgate_send_errors_total",
		Help: "Failed attempts to hand a job to a printer (refused or transfer failed)."}, []string{"printer"})
	m.connRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "printgate_connections_refused_total",
		Help: "Connections a front-end refused at its connection limits (total, per-host), since the gateway started."},
		[]string{"frontend", "limit"})
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "printgate_http_request_duration_seconds",
		Help:    "Time to answer HTTP requests (IPP, API, dashboard), by route template.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}},
		[]string{"route", "method", "code"})
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	m.queueJobs = d("printgate_queue_jobs", "Unfinished jobs by virtual printer, lane and state.", "virtual_printer", "lane", "state")
	m.queuePages = d("printgate_queue_pages", "Pages of unfinished jobs by virtual printer, lane and state.", "virtual_printer", "lane", "state")
	m.printerState = d("printgate_printer_state", "1 for the printer's current state, 0 for the others.", "printer", "state")
	m.printerUp = d("printgate_printer_up", "1 when the printer can take work (ready, busy or degraded; not drained).", "printer")
	m.backlog = d("printgate_printer_backlog_pages", "Pages assigned to, being sent to or printing at the printer.", "printer")
	m.inflight = d("printgate_printer_inflight_jobs", "Jobs assigned to, being sent to or printing at the printer.", "printer")
	m.ppm = d("printgate_printer_ppm", "Pages per minute used by the scheduler's cost model.", "printer")
	m.pagesHour = d("printgate_printer_pages_last_hour", "Pages the printer completed in the last hour.", "printer")
	m.poolPending = d("printgate_printer_pool_pending_jobs", "Pending jobs of the virtual printers whose pool holds this printer: work it could take.", "printer")
	// Several gateways on one spool: which one drives each printer now. A lease move shows as
	// the series of one gateway ending and another's starting.
	m.printerGateway = d("printgate_printer_gateway", "1 for the gateway that drives the printer now (holds its lease), when several share one spool.", "printer", "gateway")
	m.usable = d("printgate_virtual_printer_usable_printers", "Pool members of the virtual printer that can take work now.", "virtual_printer")
	m.paused = d("printgate_virtual_printer_paused", "1 when an operator paused the virtual printer.", "virtual_printer")
	m.diskFree = d("printgate_spool_free_bytes", "Free bytes on the spool's file system.")
	m.supplyLevel = d("printgate_printer_supply_level_percent", "A marker supply's level in percent of its capacity (SNMP prtMarkerSupplies; -1 when the printer does not say).",
		"printer", "supply", "index")
	m.alerts = d("printgate_printer_alerts", "Rows of the printer's alert table now, by severity (SNMP prtAlertTable).", "printer", "severity")
	m.pageCount = d("printgate_printer_page_count", "The printer's own page counter (SNMP prtMarkerLifeCount).", "printer")
	for _, c := range []prometheus.Collector{m.jobsPrinted, m.pagesPrinted, m.failovers, m.sendErrors, m.connRefused, m.requests, (*liveCollector)(m)} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return m, nil
}

// ConnRefused counts a connection a front-end refused at its limits (connlimit's Refused
// hook): frontend is "http", "lpd" or "raw", limit "total" or "per-host".
func (m *Metrics) ConnRefused(frontend, limit string) {
	m.connRefused.WithLabelValues(frontend, limit).Inc()
}

// Handler serves the registry in the Prometheus text format. Counters are brought up to date
// with the event log first, so a scrape right after a change sees it.
func (m *Metrics) Handler() http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{m.log}, ErrorHandling: promhttp.ContinueOnError})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := m.Observe(r.Context()); err != nil {
			m.log.Warn("metrics: read event log", "err", err)
		}
		h.ServeHTTP(w, r)
	})
}

type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn(fmt.Sprint(v...)) }

// Start makes the counters count from now: history before the gateway started is not counted
// again (Prometheus sees a restart as a counter reset).
func (m *Metrics) Start(ctx context.Context) error {
	evs, err := m.src.Events(ctx, job.EventFilter{Limit: 1})
	if err != nil {
		return fmt.Errorf("metrics: newest event: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(evs) > 0 {
		m.lastEvent = evs[0].ID
	}
	m.started = true
	return nil
}

// observeEvery is the shortest time between two reads of the event log by Run.
const observeEvery = time.Second

// Run keeps the counters current between scrapes, until ctx ends: after changes signals it reads
// the new events, but at most once every observeEvery. A scrape reads them itself, so this only
// keeps the backlog short; reading after every change cost a query per accepted job under load.
func (m *Metrics) Run(ctx context.Context, changes <-chan struct{}) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
		}
		if wait := observeEvery - time.Since(last); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		last = time.Now()
		if err := m.Observe(ctx); err != nil && ctx.Err() == nil {
			m.log.Warn("metrics: read event log", "err", err)
		}
	}
}

// Observe reads the events since the last call and counts them.
func (m *Metrics) Observe(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.started {
		return nil
	}
	const batch = 1000
	for {
		evs, err := m.src.Events(ctx, job.EventFilter{AfterID: m.lastEvent, Limit: batch})
		if err != nil {
			return err
		}
		if err := m.count(ctx, evs); err != nil {
			return err
		}
		if len(evs) < batch {
			return nil
		}
	}
}

// count turns events into counter increments. Called with m.mu held.
func (m *Metrics) count(ctx context.Context, evs []job.Event) error {
	completed := map[int64]string{}
	for _, e := range evs {
		m.lastEvent = max(m.lastEvent, e.ID)
		if e.JobID == 0 {
			continue
		}
		if e.To == string(job.StateAssigned) && e.Printer != "" {
			m.lastPrinter[e.JobID] = e.Printer
		}
		at := e.Printer
		if at == "" {
			at = m.lastPrinter[e.JobID]
		}
		if at == "" {
			at = "unknown"
		}
		switch {
		case e.To == string(job.StateCompleted):
			completed[e.JobID] = at
		case e.Kind == job.EventFailover:
			m.failovers.WithLabelValues(at).Inc()
		case e.Kind == job.EventJobState && e.From == string(job.StateSending) &&
			(e.To == string(job.StatePending) || e.To == string(job.StateAborted)):
			// The flight's only way from sending back to pending or to aborted as a plain
			// job-state change is a failed hand-over (stops from outside are failover or
			// operator events).
			m.sendErrors.WithLabelValues(at).Inc()
		}
		if e.To == string(job.StatePending) || job.State(e.To).Final() {
			delete(m.lastPrinter, e.JobID)
		}
	}
	if len(completed) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(completed))
	for id := range completed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for start := 0; start < len(ids); start += 500 {
		jobs, err := m.src.Jobs(ctx, job.JobFilter{IDs: ids[start:min(start+500, len(ids))], WithoutDocuments: true})
		if err != nil {
			return fmt.Errorf("metrics: completed jobs: %w", err)
		}
		for _, j := range jobs {
			p := completed[j.ID]
			m.jobsPrinted.WithLabelValues(p).Inc()
			m.pagesPrinted.WithLabelValues(p).Add(float64(max(j.Pages, 1) * max(j.Attributes.Copies, 1)))
		}
	}
	return nil
}

// liveCollector reads the scheduler's and spool's state at scrape time.
type liveCollector Metrics

// Describe implements prometheus.Collector.
func (c *liveCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.queueJobs, c.queuePages, c.printerState, c.printerUp, c.backlog, c.inflight,
		c.ppm, c.pagesHour, c.poolPending, c.usable, c.paused, c.diskFree, c.supplyLevel, c.alerts, c.pageCount, c.printerGateway} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *liveCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	tallies, err := c.src.Tallies(ctx, "virtual")
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.queueJobs, err)
	}
	pending := map[string]int{}
	for _, t := range tallies {
		gauge(c.queueJobs, float64(t.Jobs), t.Key, string(t.Lane), string(t.State))
		gauge(c.queuePages, float64(t.Pages), t.Key, string(t.Lane), string(t.State))
		if t.State == job.StatePending {
			pending[t.Key] += t.Jobs
		}
	}
	poolPending := map[string]int{}
	for _, v := range c.src.VirtualPrinters() {
		for _, p := range v.Pool {
			poolPending[p] += pending[v.Name]
		}
		vi, err := c.src.VirtualState(v.Name)
		if err != nil {
			continue
		}
		gauge(c.usable, float64(vi.Usable), v.Name)
		gauge(c.paused, b2f(vi.Paused), v.Name)
	}
	for _, p := range c.src.Printers() {
		for _, s := range printerStates {
			gauge(c.printerState, b2f(p.State == s), p.Name, string(s))
		}
		gauge(c.printerUp, b2f(!p.Drained && p.State.Usable()), p.Name)
		gauge(c.backlog, float64(p.Backlog), p.Name)
		gauge(c.inflight, float64(p.Inflight), p.Name)
		gauge(c.ppm, float64(p.PPM), p.Name)
		gauge(c.pagesHour, float64(p.PagesHour), p.Name)
		gauge(c.poolPending, float64(poolPending[p.Name]), p.Name)
		if p.Gateway != "" {
			gauge(c.printerGateway, 1, p.Name, p.Gateway)
		}
		for _, sp := range p.Supplies {
			gauge(c.supplyLevel, float64(sp.Percent()), p.Name, sp.Description, strconv.Itoa(sp.Index))
		}
		if len(p.Alerts) > 0 || p.PageCount != nil {
			bySeverity := map[string]int{"critical": 0, "warning": 0}
			for _, a := range p.Alerts {
				bySeverity[a.SeverityName()]++
			}
			for sev, n := range bySeverity {
				gauge(c.alerts, float64(n), p.Name, sev)
			}
		}
		if p.PageCount != nil {
			gauge(c.pageCount, float64(*p.PageCount), p.Name)
		}
	}
	if c.freeDisk != nil {
		if free, err := c.freeDisk(); err != nil {
			ch <- prometheus.NewInvalidMetric(c.diskFree, err)
		} else {
			gauge(c.diskFree, float64(free))
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Middleware times each request by its route template (bounded label values: never the raw
// path). Event streams are left out: their duration is the viewer's session, not latency.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "other"
		if cr := mux.CurrentRoute(r); cr != nil {
			if t, err := cr.GetPathTemplate(); err == nil {
				route = t
			}
		}
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.Header().Get("Content-Type") == "text/event-stream" {
			return
		}
		m.requests.WithLabelValues(route, r.Method, strconv.Itoa(rec.status)).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder remembers the status code; Unwrap keeps http.ResponseController (flushing for
// event streams, deadlines) working through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush lets handlers that assert http.Flusher directly still stream.
func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
