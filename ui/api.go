// Package ui serves the JSON API (/api/v1) that the CLI and the dashboard share, and the
// dashboard pages.
package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

// Service is what the API needs from the scheduler.
type Service interface {
	Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error)
	Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error)
	Job(ctx context.Context, id int64) (*job.Job, error)
	Jobs(ctx context.Context, f job.JobFilter) ([]*job.Job, error)
	Events(ctx context.Context, f job.EventFilter) ([]job.Event, error)
	CancelJob(ctx context.Context, id int64, actor string) error
	HoldJob(ctx context.Context, id int64, actor string) error
	ReleaseJob(ctx context.Context, id int64, actor string) error
	RetryJob(ctx context.Context, id int64, actor string) error
	MoveJob(ctx context.Context, id int64, printer, actor string) error
	PurgeDocuments(ctx context.Context, actor string) (int, error)
	Drain(ctx context.Context, name, actor string, drain bool) error
	Printers() []queue.PrinterInfo
	Printer(name string) (queue.PrinterInfo, error)
	VirtualPrinters() []*queue.VirtualSpec
	VirtualState(name string) (queue.VirtualInfo, error)
	Tallies(ctx context.Context, by string) ([]job.Tally, error)
	Health() error
	// Duplicates and DecideDuplicate are the mail room's duplicate review.
	Duplicates(ctx context.Context, f job.DuplicateFilter) ([]job.Duplicate, error)
	DecideDuplicate(ctx context.Context, id int64, decision, actor, note string) (*job.Duplicate, error)
}

// Authenticator decides who is calling; ok is false for an anonymous caller.
type Authenticator interface {
	Operator(r *http.Request) (name string, ok bool)
}

// API serves /api/v1 and /healthz.
type API struct {
	svc  Service
	auth Authenticator
	log  *slog.Logger
	// v1 is the /api/v1 subrouter of each router the API was registered on: Register and
	// RegisterRuns share it, so that its answer to an unknown route comes after all of theirs.
	v1 map[*mux.Router]*mux.Router
}

// NewAPI returns the API handler set; mount it with Register.
func NewAPI(svc Service, auth Authenticator, log *slog.Logger) *API {
	return &API{svc: svc, auth: auth, log: log, v1: map[*mux.Router]*mux.Router{}}
}

// Register adds the API's routes to r.
func (a *API) Register(r *mux.Router) {
	// HEAD too: load balancers' health checks (HAProxy's "option httpchk HEAD", many
	// monitoring probes) ask with HEAD and read only the status.
	r.HandleFunc("/healthz", a.healthz).Methods(http.MethodGet, http.MethodHead)
	v1 := a.subrouter(r)
	v1.HandleFunc("/jobs", a.submitJob).Methods(http.MethodPost)
	v1.HandleFunc("/jobs", a.listJobs).Methods(http.MethodGet)
	v1.HandleFunc("/jobs/{id:[0-9]+}", a.showJob).Methods(http.MethodGet)
	v1.HandleFunc("/jobs/{id:[0-9]+}/{action:cancel|hold|release|retry|move}", a.operator(a.jobAction)).Methods(http.MethodPost)
	v1.HandleFunc("/jobs/purge", a.operator(a.purge)).Methods(http.MethodPost)
	v1.HandleFunc("/jobs/{id:[0-9]+}/duplicate", a.operator(a.decideDuplicate)).Methods(http.MethodPost)
	v1.HandleFunc("/duplicates", a.operator(a.listDuplicates)).Methods(http.MethodGet)
	v1.HandleFunc("/printers", a.listPrinters).Methods(http.MethodGet)
	v1.HandleFunc("/printers/{name}", a.showPrinter).Methods(http.MethodGet)
	v1.HandleFunc("/printers/{name}/{action:drain|resume}", a.operator(a.printerAction)).Methods(http.MethodPost)
	v1.HandleFunc("/virtual-printers", a.listVirtual).Methods(http.MethodGet)
	v1.HandleFunc("/events", a.listEvents).Methods(http.MethodGet)
}

// subrouter returns r's /api/v1 subrouter, making it on first use: behind the guard, and
// answering an unknown route or method in the API's own JSON.
func (a *API) subrouter(r *mux.Router) *mux.Router {
	if v1, ok := a.v1[r]; ok {
		return v1
	}
	v1 := r.PathPrefix("/api/v1").Subrouter()
	if g, ok := a.auth.(interface {
		GuardAPI(http.Handler) http.Handler
	}); ok {
		// Refuses forged state changes (cross-origin, or a cookie session without its CSRF
		// token) and anonymous reads unless anonymous viewing is on.
		v1.Use(g.GuardAPI)
	}
	v1.NotFoundHandler = noRoute(r)
	v1.MethodNotAllowedHandler = noRoute(r)
	a.v1[r] = v1
	return v1
}

// allowMethods are the methods an Allow header may list.
var allowMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions}

// noRoute answers a request under /api/v1 that no route takes: 405 with an Allow header when
// the path is served for other methods (by any route of root, the event stream's included),
// else 404.
func noRoute(root *mux.Router) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range allowMethods {
			if m == r.Method {
				continue
			}
			other := r.Clone(r.Context())
			other.Method = m
			var match mux.RouteMatch
			if root.Match(other, &match) && match.MatchErr == nil {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeJSON(w, http.StatusMethodNotAllowed, apiError{
				Error: fmt.Sprintf("%s %s: method not allowed (allowed: %s)", r.Method, r.URL.Path, strings.Join(allow, ", ")),
				Code:  "method-not-allowed"})
			return
		}
		writeJSON(w, http.StatusNotFound, apiError{Error: fmt.Sprintf("%s %s: no such route", r.Method, r.URL.Path), Code: "not-found"})
	})
}

// apiError is the JSON error body: {"error": "...", "code": "..."}.
type apiError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError maps service errors to HTTP statuses.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := http.StatusInternalServerError, "internal"
	switch {
	case errors.Is(err, job.ErrNotFound), errors.Is(err, queue.ErrUnknownPrinter):
		status, code = http.StatusNotFound, "not-found"
	case errors.Is(err, job.ErrDiskFull):
		status, code = http.StatusInsufficientStorage, "disk-full"
	case errors.Is(err, job.ErrTooLarge):
		status, code = http.StatusRequestEntityTooLarge, "too-large"
	case errors.Is(err, job.ErrEmptyDocument):
		status, code = http.StatusBadRequest, "empty-document"
	case errors.Is(err, job.ErrTruncated):
		status, code = http.StatusBadRequest, "truncated"
	case errors.Is(err, queue.ErrUnsupported):
		status, code = http.StatusUnprocessableEntity, "unsupported"
	case errors.Is(err, queue.ErrNotPossible), errors.Is(err, job.ErrIllegalTransition), errors.Is(err, job.ErrStateChanged):
		status, code = http.StatusConflict, "not-possible"
	case errors.Is(err, errBadRequest), errors.Is(err, queue.ErrBadRun):
		status, code = http.StatusBadRequest, "bad-request"
	}
	if status == http.StatusInternalServerError {
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, apiError{Error: printers.RedactText(err.Error()), Code: code})
}

var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

func (a *API) healthz(w http.ResponseWriter, r *http.Request) {
	if err := a.svc.Health(); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unhealthy", "error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// operator wraps a state-changing handler: only a signed-in operator may call it.
func (a *API) operator(h func(w http.ResponseWriter, r *http.Request, actor string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := a.auth.Operator(r)
		if !ok {
			if rf, audits := a.auth.(interface{ Refuse(*http.Request, string) }); audits {
				rf.Refuse(r, "operator login or API token required")
			}
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "operator login or API token required", Code: "unauthorized"})
			return
		}
		h(w, r, name)
	}
}

// submitJob stores the request body as one document. Parameters: printer (virtual printer,
// default if empty), name, owner, copies, sides, media, color; Content-Type is the format,
// sniffed when it says nothing about the document (see sniffedTypes).
// sniffedTypes are the Content-Types that say nothing about a document, so the document is
// recognised from its first bytes instead: none, the generic one, and the one `curl
// --data-binary` sends when not told otherwise.
var sniffedTypes = map[string]bool{"": true, document.Octet: true, "application/x-www-form-urlencoded": true}

func (a *API) submitJob(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	nj := job.NewJob{VirtualPrinter: q.Get("printer"), Name: q.Get("name"), Owner: q.Get("owner"),
		OriginHost: remoteHost(r), Origin: "api", Lane: job.LaneInteractive}
	if nj.Owner == "" {
		if name, ok := a.auth.Operator(r); ok {
			nj.Owner = name
		} else {
			nj.Owner = "anonymous"
		}
	}
	if c := q.Get("copies"); c != "" {
		n, err := strconv.Atoi(c)
		if err != nil || n < 1 || n > 999 {
			a.writeError(w, r, badRequest("copies %q: want 1-999", c))
			return
		}
		nj.Attributes.Copies = n
	}
	// A client that retries after a lost answer sends the same key, and gets the same job.
	nj.IdempotencyKey = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(nj.IdempotencyKey) > job.MaxIdempotencyKey {
		a.writeError(w, r, badRequest("Idempotency-Key: at most %d characters", job.MaxIdempotencyKey))
		return
	}
	nj.Attributes.Sides = q.Get("sides")
	nj.Attributes.Media = q.Get("media")
	nj.Attributes.ColorMode = q.Get("color")
	format := r.Header.Get("Content-Type")
	if i := strings.IndexByte(format, ';'); i >= 0 {
		format = format[:i]
	}
	format = strings.ToLower(strings.TrimSpace(format))
	body := io.Reader(r.Body)
	if sniffedTypes[format] {
		head := make([]byte, document.SniffLen)
		n, _ := io.ReadFull(r.Body, head)
		format = document.Sniff(head[:n])
		body = io.MultiReader(strings.NewReader(string(head[:n])), r.Body)
	}
	if nj.Name == "" {
		nj.Name = "untitled"
	}
	doc, err := a.svc.Stage(r.Context(), body, nj.Name, format)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.svc.Submit(r.Context(), nj, []*job.Staged{doc})
	if err != nil {
		doc.Discard()
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/jobs/%d", j.ID))
	writeJSON(w, http.StatusCreated, a.view(r, j))
}

// view hides other people's job names and owners from anonymous callers.
func (a *API) view(r *http.Request, j *job.Job) *job.Job {
	if _, ok := a.auth.Operator(r); ok {
		return j
	}
	c := *j
	c.Name, c.Owner, c.OriginHost = "(hidden)", "(hidden)", ""
	c.Documents = nil
	for _, d := range j.Documents {
		d.Name = ""
		c.Documents = append(c.Documents, d)
	}
	return &c
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	f, err := jobFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if _, ok := a.auth.Operator(r); !ok {
		// Filtering by owner or name would tell an anonymous caller whose jobs exist.
		f.Owner, f.Search = "", ""
	}
	jobs, err := a.svc.Jobs(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	out := make([]*job.Job, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, a.view(r, j))
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

// jobFilter reads ?state=a,b&printer=&virtual_printer=&owner=&run=&lane=&duplicate=1&q=&before=&limit=
func jobFilter(r *http.Request) (job.JobFilter, error) {
	q := r.URL.Query()
	f := job.JobFilter{Printer: q.Get("printer"), VirtualPrinter: q.Get("virtual_printer"), Owner: q.Get("owner"),
		Lane: job.Lane(q.Get("lane")), Search: q.Get("q"), Limit: 100}
	if s := q.Get("state"); s != "" {
		for _, st := range strings.Split(s, ",") {
			f.States = append(f.States, job.State(strings.TrimSpace(st)))
		}
	}
	f.PossibleDuplicate = q.Get("duplicate") == "1" || q.Get("duplicate") == "true"
	for key, dst := range map[string]*int64{"run": &f.RunID, "before": &f.BeforeID, "after": &f.AfterID} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return f, badRequest("%s %q: want a number", key, v)
			}
			*dst = n
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 10000 {
			return f, badRequest("limit %q: want 1-10000", v)
		}
		f.Limit = n
	}
	if q.Get("order") == "oldest" {
		f.Order = "oldest"
	}
	return f, nil
}

func jobID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

func (a *API) showJob(w http.ResponseWriter, r *http.Request) {
	j, err := a.svc.Job(r.Context(), jobID(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a.view(r, j))
}

func (a *API) jobAction(w http.ResponseWriter, r *http.Request, actor string) {
	id := jobID(r)
	var err error
	switch mux.Vars(r)["action"] {
	case "cancel":
		err = a.svc.CancelJob(r.Context(), id, actor)
	case "hold":
		err = a.svc.HoldJob(r.Context(), id, actor)
	case "release":
		err = a.svc.ReleaseJob(r.Context(), id, actor)
	case "retry":
		err = a.svc.RetryJob(r.Context(), id, actor)
	case "move":
		// Body: {"printer": NAME}, a member of the job's virtual printer's pool.
		var body struct {
			Printer string `json:"printer"`
		}
		if derr := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); derr != nil || body.Printer == "" {
			err = badRequest(`move wants a JSON body {"printer": NAME}`)
			break
		}
		err = a.svc.MoveJob(r.Context(), id, body.Printer, actor)
	}
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	j, err := a.svc.Job(r.Context(), id)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// purge removes the documents of every finished job now (POST /api/v1/jobs/purge).
func (a *API) purge(w http.ResponseWriter, r *http.Request, actor string) {
	n, err := a.svc.PurgeDocuments(r.Context(), actor)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, PurgeResult{Removed: n})
}

// PurgeResult answers POST /api/v1/jobs/purge.
type PurgeResult struct {
	// Removed is how many documents were removed.
	Removed int `json:"removed"`
}

func (a *API) listPrinters(w http.ResponseWriter, r *http.Request) {
	ps := a.svc.Printers()
	out := make([]queue.PrinterInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, viewPrinter(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"printers": out})
}

func (a *API) showPrinter(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.Printer(mux.Vars(r)["name"])
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewPrinter(p))
}

func (a *API) printerAction(w http.ResponseWriter, r *http.Request, actor string) {
	name := mux.Vars(r)["name"]
	if err := a.svc.Drain(r.Context(), name, actor, mux.Vars(r)["action"] == "drain"); err != nil {
		a.writeError(w, r, err)
		return
	}
	p, err := a.svc.Printer(name)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, viewPrinter(p))
}

// VirtualView is a virtual printer with its queue depth, as the API shows it.
type VirtualView struct {
	queue.VirtualInfo
	Queued []job.Tally `json:"queued"`
}

func (a *API) listVirtual(w http.ResponseWriter, r *http.Request) {
	tallies, err := a.svc.Tallies(r.Context(), "virtual")
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	var out []VirtualView
	for _, v := range a.svc.VirtualPrinters() {
		vi, err := a.svc.VirtualState(v.Name)
		if err != nil {
			a.writeError(w, r, err)
			return
		}
		vv := VirtualView{VirtualInfo: vi, Queued: []job.Tally{}}
		for _, t := range tallies {
			if t.Key == v.Name {
				vv.Queued = append(vv.Queued, t)
			}
		}
		out = append(out, vv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"virtual_printers": out})
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := job.EventFilter{Printer: q.Get("printer"), Limit: 100}
	for key, dst := range map[string]*int64{"job": &f.JobID, "run": &f.RunID, "after": &f.AfterID, "before": &f.BeforeID} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				a.writeError(w, r, badRequest("%s %q: want a number", key, v))
				return
			}
			*dst = n
		}
	}
	if k := q.Get("kind"); k != "" {
		f.Kinds = strings.Split(k, ",")
	}
	if v := q.Get("limit"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 && n <= 10000 {
			f.Limit = n
		}
	}
	evs, err := a.svc.Events(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	_, operator := a.auth.Operator(r)
	out := make([]job.Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, viewEvent(e, operator))
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
