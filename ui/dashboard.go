// The mail-room dashboard: server-rendered pages (overview, printer, jobs, bulk runs, events),
// sign-in, and the operator actions behind forms that work without script.
package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DashboardService is what the pages read and do: the API's service plus change signals.
type DashboardService interface {
	Service
	// Subscribe returns a channel signalled (coalesced) whenever jobs or printers change.
	Subscribe() (<-chan struct{}, func())
}

// DashboardOptions configure a Dashboard.
type DashboardOptions struct {
	Service DashboardService
	Auth    *Auth
	Logger  *slog.Logger
	// Runs serves the bulk-runs page; nil shows that bulk runs are not available.
	Runs RunsService
	// SampleEvery is how often queue depth is sampled for the charts (default 30 s); History
	// is how far back the charts reach (default 1 h).
	SampleEvery, History time.Duration
	// StreamThrottle is the least time between two pushes on one event stream (default 250 ms):
	// a burst of changes becomes one refresh, still well within a second.
	StreamThrottle time.Duration
	// Heartbeat keeps idle event streams open through proxies (default 15 s).
	Heartbeat time.Duration
	Now       func() time.Time
}

// Dashboard serves the pages and the live event stream.
type Dashboard struct {
	svc      DashboardService
	runs     RunsService
	auth     *Auth
	log      *slog.Logger
	now      func() time.Time
	opts     DashboardOptions
	pages    map[string]*template.Template
	history  *history
	closing  chan struct{}
	closeOne sync.Once
}

// NewDashboard parses the templates and returns the dashboard; mount it with Register and
// start its sampler with Run.
func NewDashboard(o DashboardOptions) (*Dashboard, error) {
	if o.Service == nil || o.Auth == nil {
		return nil, errors.New("dashboard: Service and Auth are required")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 30 * time.Second
	}
	if o.History <= 0 {
		o.History = time.Hour
	}
	if o.StreamThrottle <= 0 {
		o.StreamThrottle = 250 * time.Millisecond
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	d := &Dashboard{svc: o.Service, runs: o.Runs, auth: o.Auth, log: o.Logger, now: o.Now, opts: o,
		pages: map[string]*template.Template{}, history: newHistory(o.History), closing: make(chan struct{})}
	layout, err := template.New("layout.html").Funcs(d.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: parse layout: %w", err)
	}
	for _, p := range []string{"overview", "printer", "jobs", "runs", "run", "events", "login", "message", "duplicates"} {
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+p+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: parse %s: %w", p, err)
		}
		d.pages[p] = t
	}
	return d, nil
}

// Register mounts the pages, the actions, the static files and the event stream. Register it
// before the API: the stream shares /api/v1/events with the JSON list (by Accept header).
func (d *Dashboard) Register(r *mux.Router) {
	r.Handle("/", http.RedirectHandler("/ui/", http.StatusFound)).Methods(http.MethodGet, http.MethodHead)
	static, _ := fs.Sub(staticFS, "static")
	r.PathPrefix("/ui/static/").Handler(http.StripPrefix("/ui/static/", cacheShort(http.FileServerFS(static)))).
		Methods(http.MethodGet, http.MethodHead)
	ui := r.PathPrefix("/ui").Subrouter()
	ui.HandleFunc("/", d.page(d.overview)).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/printers/{name}", d.page(d.printer)).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/jobs", d.page(d.jobs)).Methods(http.MethodGet, http.MethodHead)
	// Runs are named after what they send (a clinic's letters of a day): operators only, as
	// GET /api/v1/runs.
	ui.HandleFunc("/runs", d.page(d.operatorPage(d.runsPage))).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/runs/{id:[0-9]+}", d.page(d.operatorPage(d.runPage))).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/runs/{id:[0-9]+}/manifest.csv", d.page(d.operatorPage(d.runManifest))).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/events", d.page(d.events)).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/duplicates", d.page(d.duplicates)).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/jobs/{id:[0-9]+}/duplicate", d.action(d.duplicateAction)).Methods(http.MethodPost)
	ui.HandleFunc("/login", d.loginForm).Methods(http.MethodGet, http.MethodHead)
	ui.HandleFunc("/login", d.login).Methods(http.MethodPost)
	ui.HandleFunc("/logout", d.guarded(d.logout, false)).Methods(http.MethodPost)
	ui.HandleFunc("/printers/{name}/{action:drain|resume}", d.action(d.printerAction)).Methods(http.MethodPost)
	ui.HandleFunc("/jobs/{id:[0-9]+}/{action:cancel|hold|release|retry|move}", d.action(d.jobAction)).Methods(http.MethodPost)
	ui.HandleFunc("/runs/{id:[0-9]+}/{action:pause|resume|cancel}", d.action(d.runAction)).Methods(http.MethodPost)
	// The live stream: its own path, and /api/v1/events for clients asking for event-stream.
	r.HandleFunc("/api/v1/events/stream", d.stream).Methods(http.MethodGet)
	r.HandleFunc("/api/v1/events", d.stream).Methods(http.MethodGet).HeadersRegexp("Accept", "text/event-stream")
}

// Run samples queue depth for the charts until ctx ends.
func (d *Dashboard) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.SampleEvery)
	defer t.Stop()
	for {
		d.Sample(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Shutdown ends the open event streams (http.Server.Shutdown does not end requests in flight,
// and a stream never ends on its own). Register it with http.Server.RegisterOnShutdown.
func (d *Dashboard) Shutdown() { d.closeOne.Do(func() { close(d.closing) }) }

// Sample records one point of queue depth for every virtual and physical printer.
func (d *Dashboard) Sample(ctx context.Context) {
	tallies, err := d.svc.Tallies(ctx, "virtual")
	if err != nil {
		d.log.Warn("dashboard: sample queue depth", "err", err)
		return
	}
	now := d.now()
	depth := map[string]float64{}
	for _, t := range tallies {
		if t.State != job.StateReceived {
			depth["v:"+t.Key] += float64(t.Jobs)
		}
	}
	for _, v := range d.svc.VirtualPrinters() {
		d.history.add("v:"+v.Name, now, depth["v:"+v.Name])
	}
	for _, p := range d.svc.Printers() {
		d.history.add("p:"+p.Name, now, float64(p.Backlog))
	}
}

func cacheShort(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=300")
		h.ServeHTTP(w, r)
	})
}

// securityHeaders keep the pages from being framed and scripts from anywhere but the gateway.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// base is what every page's layout needs.
type base struct {
	Title string
	Nav   string
	// Who is viewing; Operator decides whether actions are offered and names shown.
	Who      Identity
	Operator bool
	// Path is the page's own URL, where actions come back to.
	Path    string
	Flash   string
	Error   string
	Now     time.Time
	HasRuns bool
	// Mover: the service can retry and move jobs; Pools lists where each virtual printer's
	// jobs may move.
	Mover bool
	Pools map[string][]string
}

type handler func(w http.ResponseWriter, r *http.Request, b base) error

// page wraps a read-only page: it identifies the viewer, sends anonymous viewers to sign in
// unless anonymous viewing is on, and renders errors as a page.
func (d *Dashboard) page(h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, id, _ := d.auth.withIdentity(r)
		if !id.Viewer() && !d.auth.AnonymousRead() {
			http.Redirect(w, r, "/ui/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		_, mover := d.svc.(JobMover)
		b := base{Who: id, Operator: id.Operator(), Path: r.URL.RequestURI(), Now: d.now(), HasRuns: d.runs != nil, Mover: mover,
			Pools: map[string][]string{}}
		for _, v := range d.svc.VirtualPrinters() {
			b.Pools[v.Name] = v.Pool
		}
		if c, err := r.Cookie(flashCookie); err == nil {
			b.Flash, _ = url.QueryUnescape(c.Value)
			http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		if err := h(w, r, b); err != nil {
			status, _ := errorStatus(err)
			if status == http.StatusInternalServerError {
				d.log.Error("dashboard page failed", "path", r.URL.Path, "err", err)
			}
			d.render(w, status, "message", messagePage{base: withTitle(b, http.StatusText(status)), Message: printers.RedactText(err.Error())})
		}
	}
}

func withTitle(b base, t string) base { b.Title = t; return b }

const flashCookie = "printgate_flash"

// render executes a page into a buffer first, so a template error becomes a clean 500.
func (d *Dashboard) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := d.pages[name].ExecuteTemplate(&buf, "layout.html", data); err != nil {
		d.log.Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type messagePage struct {
	base
	Message string
}

// errorStatus maps service errors to HTTP statuses, as the JSON API does.
func errorStatus(err error) (int, string) {
	switch {
	case errors.Is(err, job.ErrNotFound), errors.Is(err, queue.ErrUnknownPrinter), errors.Is(err, errNoRuns),
		errors.Is(err, job.ErrRunNotFound):
		return http.StatusNotFound, "not-found"
	case errors.Is(err, queue.ErrNotPossible), errors.Is(err, job.ErrIllegalTransition), errors.Is(err, job.ErrStateChanged),
		errors.Is(err, job.ErrRunState), errors.Is(err, queue.ErrUnsupported):
		return http.StatusConflict, "not-possible"
	case errors.Is(err, errForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, errBadRequest), errors.Is(err, queue.ErrBadRun):
		return http.StatusBadRequest, "bad-request"
	case errors.Is(err, errUnsupportedAction):
		return http.StatusNotImplemented, "not-implemented"
	}
	return http.StatusInternalServerError, "internal"
}

// --- overview ---

type overviewPage struct {
	base
	Virtual  []virtualRow
	Printers []printerRow
	Events   []eventRow
	Sampled  time.Duration
}

func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, b base) error {
	ctx := r.Context()
	b.Title, b.Nav = "Overview", "overview"
	tallies, err := d.svc.Tallies(ctx, "virtual")
	if err != nil {
		return err
	}
	p := overviewPage{base: b, Sampled: d.opts.SampleEvery}
	for _, v := range d.svc.VirtualPrinters() {
		vi, err := d.svc.VirtualState(v.Name)
		if err != nil {
			return err
		}
		p.Virtual = append(p.Virtual, newVirtualRow(vi, tallies, d.history.chart("v:"+v.Name, b.Now)))
	}
	for _, pi := range d.svc.Printers() {
		p.Printers = append(p.Printers, newPrinterRow(pi, d.history.chart("p:"+pi.Name, b.Now)))
	}
	evs, err := d.latestEvents(ctx, 12, job.EventFailover, job.EventPrinterState, job.EventOperator)
	if err != nil {
		return err
	}
	p.Events = d.eventRows(evs, b.Operator)
	d.render(w, http.StatusOK, "overview", p)
	return nil
}

// latestEvents returns the newest n events of the given kinds. One query per kind uses the
// (kind, id) index each time; a single IN query may walk the whole log when those kinds are
// rare among job-state events.
func (d *Dashboard) latestEvents(ctx context.Context, n int, kinds ...string) ([]job.Event, error) {
	var all []job.Event
	for _, k := range kinds {
		evs, err := d.svc.Events(ctx, job.EventFilter{Kinds: []string{k}, Limit: n})
		if err != nil {
			return nil, err
		}
		all = append(all, evs...)
	}
	slices.SortFunc(all, func(a, b job.Event) int { return int(b.ID - a.ID) })
	return all[:min(n, len(all))], nil
}

// --- printer page ---

type printerPage struct {
	base
	P printerRow
	// Info is the printer's live state as the scheduler has it (SNMP supplies and alerts).
	Info   queue.PrinterInfo
	Jobs   []jobRow
	Events []eventRow
	URI    string
}

func (d *Dashboard) printer(w http.ResponseWriter, r *http.Request, b base) error {
	ctx := r.Context()
	name := mux.Vars(r)["name"]
	pi, err := d.svc.Printer(name)
	if err != nil {
		return err
	}
	b.Title, b.Nav = "Printer "+name, "overview"
	row := newPrinterRow(pi, d.history.chart("p:"+name, b.Now))
	p := printerPage{base: b, P: row, URI: row.URI, Info: pi}
	jobs, err := d.svc.Jobs(ctx, job.JobFilter{Printer: name, Limit: 20, WithoutDocuments: true})
	if err != nil {
		return err
	}
	p.Jobs = d.jobRows(jobs, b.Operator)
	evs, err := d.svc.Events(ctx, job.EventFilter{Printer: name, Limit: 30})
	if err != nil {
		return err
	}
	p.Events = d.eventRows(evs, b.Operator)
	d.render(w, http.StatusOK, "printer", p)
	return nil
}

// --- jobs page ---

type jobsPage struct {
	base
	Jobs        []jobRow
	Filter      jobsFilter
	Printers    []string
	Virtual     []string
	StateGroups []stateGroup
	Older       string
	Newer       string
}

// jobsFilter is the jobs page's search form, as given.
type jobsFilter struct {
	State, Printer, Virtual, Owner, Q, Run string
	Duplicate                              bool
	Before, After                          int64
}

// stateGroup is one choice of the state filter: words for people, states for the query.
type stateGroup struct {
	Value, Label string
	States       []job.State
}

var stateGroups = []stateGroup{
	{"", "Any state", nil},
	{"unfinished", "Not finished", job.Unfinished},
	{string(job.StatePending), "Waiting", []job.State{job.StatePending}},
	{string(job.StateHeld), "Held", []job.State{job.StateHeld}},
	{"active", "At a printer (assigned, sending, printing)", job.AtPrinter},
	{string(job.StateCompleted), "Printed", []job.State{job.StateCompleted}},
	{string(job.StateCanceled), "Canceled", []job.State{job.StateCanceled}},
	{string(job.StateAborted), "Failed", []job.State{job.StateAborted}},
}

const jobsPerPage = 50

func (d *Dashboard) jobs(w http.ResponseWriter, r *http.Request, b base) error {
	q := r.URL.Query()
	b.Title, b.Nav = "Jobs", "jobs"
	f := jobsFilter{State: q.Get("state"), Printer: q.Get("printer"), Virtual: q.Get("virtual"), Run: q.Get("run"),
		Duplicate: q.Get("duplicate") != ""}
	if b.Operator {
		// Anonymous viewers cannot search by owner or name: the answer would tell them
		// whose jobs exist, which the hidden columns are meant not to.
		f.Owner, f.Q = q.Get("owner"), q.Get("q")
	}
	jf := job.JobFilter{Printer: f.Printer, VirtualPrinter: f.Virtual, Owner: f.Owner, Search: f.Q,
		PossibleDuplicate: f.Duplicate, Limit: jobsPerPage + 1, WithoutDocuments: true}
	for _, g := range stateGroups {
		if g.Value == f.State {
			jf.States = g.States
		}
	}
	if f.Run != "" {
		n, err := strconv.ParseInt(f.Run, 10, 64)
		if err != nil {
			return badRequest("run %q: want a run number", f.Run)
		}
		jf.RunID = n
	}
	for key, dst := range map[string]*int64{"before": &f.Before, "after": &f.After} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return badRequest("%s %q: want a job number", key, v)
			}
			*dst = n
		}
	}
	jf.BeforeID = f.Before
	if f.After > 0 {
		// Paging towards newer jobs reads oldest-first from the cursor, then shows newest first.
		jf.AfterID, jf.Order = f.After, "oldest"
	}
	jobs, err := d.svc.Jobs(r.Context(), jf)
	if err != nil {
		return err
	}
	more := len(jobs) > jobsPerPage
	jobs = jobs[:min(len(jobs), jobsPerPage)]
	if f.After > 0 {
		slices.Reverse(jobs)
	}
	p := jobsPage{base: b, Jobs: d.jobRows(jobs, b.Operator), Filter: f, StateGroups: stateGroups}
	for _, pi := range d.svc.Printers() {
		p.Printers = append(p.Printers, pi.Name)
	}
	for _, v := range d.svc.VirtualPrinters() {
		p.Virtual = append(p.Virtual, v.Name)
	}
	if len(jobs) > 0 {
		page := func(key string, id int64) string {
			v := url.Values{}
			for k, vs := range q {
				if k != "before" && k != "after" {
					v[k] = vs
				}
			}
			v.Set(key, strconv.FormatInt(id, 10))
			return "/ui/jobs?" + v.Encode()
		}
		if more || f.After > 0 {
			p.Older = page("before", jobs[len(jobs)-1].ID)
		}
		if f.Before > 0 || (f.After > 0 && more) {
			p.Newer = page("after", jobs[0].ID)
		}
	}
	d.render(w, http.StatusOK, "jobs", p)
	return nil
}

// --- events page ---

type eventsPage struct {
	base
	Events             []eventRow
	Kind, Printer, Job string
	Kinds              []kindChoice
	Older              string
}

type kindChoice struct{ Value, Label string }

var eventKinds = []kindChoice{{"", "All events"}, {job.EventOperator, "Operator actions"},
	{job.EventFailover, "Failovers"}, {job.EventPrinterState, "Printer state changes"},
	{job.EventJobState, "Job state changes"}, {job.EventRun, "Bulk runs"}, {job.EventRecovery, "Recovery after restart"},
	{job.EventRetention, "Document retention"}, {job.EventLease, "Lease moves between gateways"}}

func (d *Dashboard) events(w http.ResponseWriter, r *http.Request, b base) error {
	q := r.URL.Query()
	b.Title, b.Nav = "Events", "events"
	p := eventsPage{base: b, Kind: q.Get("kind"), Printer: q.Get("printer"), Job: q.Get("job"), Kinds: eventKinds}
	f := job.EventFilter{Printer: p.Printer, Limit: 100}
	if p.Kind != "" {
		f.Kinds = []string{p.Kind}
	}
	for key, dst := range map[string]*int64{"job": &f.JobID, "run": &f.RunID, "before": &f.BeforeID} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return badRequest("%s %q: want a number", key, v)
			}
			*dst = n
		}
	}
	evs, err := d.svc.Events(r.Context(), f)
	if err != nil {
		return err
	}
	p.Events = d.eventRows(evs, b.Operator)
	if len(evs) == f.Limit {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("before", strconv.FormatInt(evs[len(evs)-1].ID, 10))
		p.Older = "/ui/events?" + v.Encode()
	}
	d.render(w, http.StatusOK, "events", p)
	return nil
}

// --- sign-in ---

type loginPage struct {
	base
	Next  string
	User  string
	Token string
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	b := base{Title: "Sign in", Nav: "login", Path: "/ui/login", Now: d.now(), HasRuns: d.runs != nil}
	d.render(w, http.StatusOK, "login", loginPage{base: b, Next: localPath(r.URL.Query().Get("next")), Token: loginToken(w, r)})
}

func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	next := localPath(r.PostFormValue("next"))
	b := base{Title: "Sign in", Nav: "login", Path: "/ui/login", Now: d.now(), HasRuns: d.runs != nil}
	fail := func(status int, msg string) {
		b.Error = msg
		d.render(w, status, "login", loginPage{base: b, Next: next, User: r.PostFormValue("user"), Token: loginToken(w, r)})
	}
	if err := d.auth.cross.Check(r); err != nil || !loginTokenOK(r) {
		fail(http.StatusForbidden, "The sign-in form expired or came from another site. Please try again.")
		return
	}
	_, err := d.auth.Login(w, r, strings.TrimSpace(r.PostFormValue("user")), r.PostFormValue("password"))
	switch {
	case errors.Is(err, ErrTooManyAttempts):
		fail(http.StatusTooManyRequests, "Too many failed sign-ins from this computer or for this user name. Wait ten minutes and try again.")
		return
	case err != nil:
		fail(http.StatusUnauthorized, "Wrong user name or password.")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (d *Dashboard) logout(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error) {
	d.auth.Logout(w, r)
	return "Signed out.", nil
}

// --- actions ---

var errUnsupportedAction = errors.New("this gateway does not offer that action")

type actionFunc func(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error)

// action wraps an operator action: a signed-in operator (a cookie session with its CSRF token)
// or 401/403, then the result as a flash message on the page the form came from — or as JSON
// for the dashboard's script.
func (d *Dashboard) action(h actionFunc) http.HandlerFunc { return d.guarded(h, true) }

// guarded is action for operators (operatorOnly), or for anyone signed in (signing out: a
// session of a read-scope token is no operator).
func (d *Dashboard) guarded(h actionFunc, operatorOnly bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, id, ref := d.auth.withIdentity(r)
		asJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
		if ref == nil && (operatorOnly && !id.Operator() || !id.Viewer()) {
			ref = &Refusal{http.StatusUnauthorized, "unauthorized", "Sign in as an operator to do this."}
		}
		if ref != nil {
			d.auth.Refuse(r, ref.Msg)
			if asJSON {
				writeJSON(w, ref.Status, apiError{Error: ref.Msg, Code: ref.Code})
				return
			}
			b := base{Title: http.StatusText(ref.Status), Who: id, Operator: id.Operator(), Path: r.URL.Path, Now: d.now(), HasRuns: d.runs != nil}
			d.render(w, ref.Status, "message", messagePage{base: b, Message: ref.Msg})
			return
		}
		msg, err := h(r.Context(), w, r, id.Name)
		if err != nil {
			status, code := errorStatus(err)
			if status == http.StatusInternalServerError {
				d.log.Error("dashboard action failed", "path", r.URL.Path, "actor", id.Name, "err", err)
			}
			if asJSON {
				writeJSON(w, status, apiError{Error: err.Error(), Code: code})
				return
			}
			msg = "Not done: " + err.Error()
		}
		if asJSON {
			writeJSON(w, http.StatusOK, map[string]string{"message": msg})
			return
		}
		http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, MaxAge: 60})
		http.Redirect(w, r, localPath(r.PostFormValue("back")), http.StatusSeeOther)
	}
}

func (d *Dashboard) printerAction(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error) {
	name, act := mux.Vars(r)["name"], mux.Vars(r)["action"]
	if err := d.svc.Drain(ctx, name, actor, act == "drain"); err != nil {
		return "", err
	}
	if act == "drain" {
		return fmt.Sprintf("Printer %s drained: it takes no new work; its jobs in progress finish.", name), nil
	}
	return fmt.Sprintf("Printer %s resumed.", name), nil
}

// JobMover is the part of the service that retries and moves jobs; the dashboard offers those
// buttons when the service has it.
type JobMover interface {
	RetryJob(ctx context.Context, id int64, actor string) error
	MoveJob(ctx context.Context, id int64, printer, actor string) error
}

func (d *Dashboard) jobAction(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	var err error
	switch act := mux.Vars(r)["action"]; act {
	case "cancel":
		err = d.svc.CancelJob(ctx, id, actor)
	case "hold":
		err = d.svc.HoldJob(ctx, id, actor)
	case "release":
		err = d.svc.ReleaseJob(ctx, id, actor)
	case "retry", "move":
		mv, ok := d.svc.(JobMover)
		if !ok {
			return "", errUnsupportedAction
		}
		if act == "retry" {
			err = mv.RetryJob(ctx, id, actor)
		} else {
			to := r.PostFormValue("printer")
			if to == "" {
				return "", badRequest("move: choose a printer")
			}
			err = mv.MoveJob(ctx, id, to, actor)
		}
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Job %d: %s done.", id, mux.Vars(r)["action"]), nil
}
