// The bulk-run API under /api/v1/runs: create a run, stream its letters in batches (tar),
// commit it, list, show, pause, resume, cancel, reprint, the manifest (JSON or CSV), and the
// cron schedules. Every route is for operators: letter names are patient data.
package ui

import (
	"archive/tar"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// BulkService is what the runs API needs; queue.Bulk implements it.
type BulkService interface {
	CreateRun(ctx context.Context, rq queue.RunRequest) (*job.Run, error)
	UploadLetters(ctx context.Context, runID, firstSeq int64, src queue.LetterSource) (*job.Run, error)
	CommitRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	GetRun(ctx context.Context, id int64) (*job.Run, error)
	Runs(ctx context.Context, f job.RunFilter) ([]*job.Run, error)
	RunStatus(ctx context.Context, id int64, detail bool) (*queue.RunStatus, error)
	PauseRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	ResumeRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	CancelRun(ctx context.Context, id int64, actor string) (*job.Run, error)
	Reprint(ctx context.Context, id int64, ranges [][2]int64, actor string) ([]*job.Job, error)
	Manifest(ctx context.Context, id int64, fn func(job.Letter) error) error
	CreateSchedule(ctx context.Context, rq queue.ScheduleRequest) (*queue.ScheduleInfo, error)
	Schedules(ctx context.Context) ([]queue.ScheduleInfo, error)
	DeleteSchedule(ctx context.Context, id int64, actor string) error
}

// LetterArchive is the content type of a batch of letters: a tar stream whose regular files
// are the letters, in sequence order, each named by its source.
const LetterArchive = "application/x-tar"

// RunAttributes are the job-template attributes a run's letters share.
type RunAttributes struct {
	Copies int    `json:"copies,omitempty"`
	Sides  string `json:"sides,omitempty"`
	Media  string `json:"media,omitempty"`
	Color  string `json:"color,omitempty"`
}

func (ra RunAttributes) spool() (job.Attributes, error) {
	if ra.Copies < 0 || ra.Copies > 999 {
		return job.Attributes{}, badRequest("copies %d: want 1-999", ra.Copies)
	}
	return job.Attributes{Copies: ra.Copies, Sides: ra.Sides, Media: ra.Media, ColorMode: ra.Color}, nil
}

// CreateRunRequest is the body of POST /api/v1/runs.
type CreateRunRequest struct {
	Name string `json:"name"`
	// Printer is the virtual printer; empty for the default.
	Printer string `json:"printer,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Source says where the letters come from (folder, merged file), for people.
	Source string `json:"source,omitempty"`
	// At holds the letters until then (RFC 3339); empty prints at once.
	At         string        `json:"at,omitempty"`
	Attributes RunAttributes `json:"attributes,omitzero"`
	// IdempotencyKey names the request: a retry with the same key answers the run the first
	// one made (printgate bulk submit sends one per run).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// CreateScheduleRequest is the body of POST /api/v1/runs/schedules.
type CreateScheduleRequest struct {
	Name    string `json:"name"`
	Printer string `json:"printer,omitempty"`
	Owner   string `json:"owner,omitempty"`
	// Cron is the spec: 5 fields, or 6 with seconds first; the gateway's local time.
	Cron string `json:"cron"`
	// Dir is the drop folder, an absolute path on the gateway host.
	Dir        string        `json:"dir"`
	Attributes RunAttributes `json:"attributes,omitzero"`
}

// ReprintRequest is the body of POST /api/v1/runs/{id}/reprint.
type ReprintRequest struct {
	// Letters are sequence numbers and ranges: "120-130,200".
	Letters string `json:"letters"`
}

// UploadAnswer answers a batch of letters.
type UploadAnswer struct {
	Run *job.Run `json:"run"`
	// Next is the sequence number the next batch must start with.
	Next int64 `json:"next"`
}

// sequenceError is the 409 body when a batch does not continue the run.
type sequenceError struct {
	apiError
	Next int64 `json:"next"`
}

// RegisterRuns adds the bulk-run routes under /api/v1/runs to r, on the subrouter Register
// uses (behind the same guard).
func (a *API) RegisterRuns(r *mux.Router, svc BulkService) {
	h := &runsAPI{API: a, svc: svc}
	v1 := a.subrouter(r)
	op := a.operator
	v1.HandleFunc("/runs", op(h.create)).Methods(http.MethodPost)
	v1.HandleFunc("/runs", op(h.list)).Methods(http.MethodGet)
	v1.HandleFunc("/runs/schedules", op(h.listSchedules)).Methods(http.MethodGet)
	v1.HandleFunc("/runs/schedules", op(h.createSchedule)).Methods(http.MethodPost)
	v1.HandleFunc("/runs/schedules/{id:[0-9]+}", op(h.deleteSchedule)).Methods(http.MethodDelete)
	v1.HandleFunc("/runs/{id:[0-9]+}", op(h.show)).Methods(http.MethodGet)
	v1.HandleFunc("/runs/{id:[0-9]+}/letters", op(h.upload)).Methods(http.MethodPost)
	v1.HandleFunc("/runs/{id:[0-9]+}/commit", op(h.commit)).Methods(http.MethodPost)
	v1.HandleFunc("/runs/{id:[0-9]+}/{action:pause|resume|cancel}", op(h.action)).Methods(http.MethodPost)
	v1.HandleFunc("/runs/{id:[0-9]+}/reprint", op(h.reprint)).Methods(http.MethodPost)
	v1.HandleFunc("/runs/{id:[0-9]+}/manifest", op(h.manifest)).Methods(http.MethodGet)
}

type runsAPI struct {
	*API
	svc BulkService
}

func pathID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

// writeRunError maps bulk-run errors, then falls back to the API's mapping.
func (h *runsAPI) writeRunError(w http.ResponseWriter, r *http.Request, err error) {
	var se *job.SequenceError
	switch {
	case errors.As(err, &se):
		writeJSON(w, http.StatusConflict, sequenceError{apiError: apiError{Error: err.Error(), Code: "sequence"}, Next: se.Want})
	case errors.Is(err, job.ErrRunNotFound), errors.Is(err, job.ErrScheduleNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error(), Code: "not-found"})
	case errors.Is(err, job.ErrRunState), errors.Is(err, job.ErrEmptyRun):
		writeJSON(w, http.StatusConflict, apiError{Error: err.Error(), Code: "run-state"})
	case errors.Is(err, queue.ErrBadLetter):
		writeJSON(w, http.StatusUnprocessableEntity, apiError{Error: err.Error(), Code: "bad-letter"})
	case errors.Is(err, queue.ErrBatchTooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: err.Error(), Code: "batch-too-large"})
	case errors.Is(err, queue.ErrBadSchedule):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error(), Code: "bad-schedule"})
	default:
		h.writeError(w, r, err)
	}
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("JSON body: %v", err)
	}
	return nil
}

func (h *runsAPI) create(w http.ResponseWriter, r *http.Request, actor string) {
	var rq CreateRunRequest
	if err := decodeBody(r, &rq); err != nil {
		h.writeRunError(w, r, err)
		return
	}
	attrs, err := rq.Attributes.spool()
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	var at time.Time
	if rq.At != "" {
		if at, err = time.Parse(time.RFC3339, rq.At); err != nil {
			h.writeRunError(w, r, badRequest("at %q: want RFC 3339 time", rq.At))
			return
		}
	}
	owner := rq.Owner
	if owner == "" {
		owner = actor
	}
	if len(rq.IdempotencyKey) > job.MaxIdempotencyKey {
		h.writeRunError(w, r, badRequest("idempotency_key: at most %d characters", job.MaxIdempotencyKey))
		return
	}
	run, err := h.svc.CreateRun(r.Context(), queue.RunRequest{Name: rq.Name, Printer: rq.Printer, Owner: owner,
		OriginHost: remoteHost(r), Source: rq.Source, StartAt: at, Attributes: attrs, IdempotencyKey: rq.IdempotencyKey})
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/runs/%d", run.ID))
	writeJSON(w, http.StatusCreated, run)
}

// tarLetters reads letters from a tar stream: each regular file is one letter.
type tarLetters struct{ tr *tar.Reader }

func (t *tarLetters) Next() (string, io.Reader, error) {
	for {
		hdr, err := t.tr.Next()
		if err != nil {
			return "", nil, err
		}
		if hdr.Typeflag == tar.TypeReg {
			return hdr.Name, t.tr, nil
		}
	}
}

func (h *runsAPI) upload(w http.ResponseWriter, r *http.Request, actor string) {
	ct := r.Header.Get("Content-Type")
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	if strings.TrimSpace(ct) != LetterArchive {
		h.writeRunError(w, r, badRequest("letters come as %s, not %q", LetterArchive, ct))
		return
	}
	first, err := strconv.ParseInt(r.URL.Query().Get("first"), 10, 64)
	if err != nil || first < 1 {
		h.writeRunError(w, r, badRequest("first=%q: want the batch's first sequence number", r.URL.Query().Get("first")))
		return
	}
	run, err := h.svc.UploadLetters(r.Context(), pathID(r), first, &tarLetters{tr: tar.NewReader(r.Body)})
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, UploadAnswer{Run: run, Next: int64(run.Letters) + 1})
}

func (h *runsAPI) commit(w http.ResponseWriter, r *http.Request, actor string) {
	run, err := h.svc.CommitRun(r.Context(), pathID(r), actor)
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// list answers {"runs": [status...]}; ?state=a,b&limit=N&before=ID.
func (h *runsAPI) list(w http.ResponseWriter, r *http.Request, actor string) {
	q := r.URL.Query()
	f := job.RunFilter{Limit: 50}
	if s := q.Get("state"); s != "" {
		for _, st := range strings.Split(s, ",") {
			f.States = append(f.States, job.RunState(strings.TrimSpace(st)))
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			h.writeRunError(w, r, badRequest("limit %q: want 1-1000", v))
			return
		}
		f.Limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			h.writeRunError(w, r, badRequest("before %q: want a run id", v))
			return
		}
		f.BeforeID = n
	}
	runs, err := h.svc.Runs(r.Context(), f)
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	out := make([]*queue.RunStatus, 0, len(runs))
	for _, run := range runs {
		st, err := h.svc.RunStatus(r.Context(), run.ID, false)
		if err != nil {
			h.writeRunError(w, r, err)
			return
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": out})
}

// show answers the run's status; ?detail=0 leaves out the per-printer sequence ranges, which
// read the whole run.
func (h *runsAPI) show(w http.ResponseWriter, r *http.Request, actor string) {
	st, err := h.svc.RunStatus(r.Context(), pathID(r), r.URL.Query().Get("detail") != "0")
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *runsAPI) action(w http.ResponseWriter, r *http.Request, actor string) {
	var run *job.Run
	var err error
	id := pathID(r)
	switch mux.Vars(r)["action"] {
	case "pause":
		run, err = h.svc.PauseRun(r.Context(), id, actor)
	case "resume":
		run, err = h.svc.ResumeRun(r.Context(), id, actor)
	case "cancel":
		run, err = h.svc.CancelRun(r.Context(), id, actor)
	}
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (h *runsAPI) reprint(w http.ResponseWriter, r *http.Request, actor string) {
	var rq ReprintRequest
	if err := decodeBody(r, &rq); err != nil {
		h.writeRunError(w, r, err)
		return
	}
	ranges, err := queue.ParseRanges(rq.Letters)
	if err != nil {
		h.writeRunError(w, r, badRequest("%v", err))
		return
	}
	jobs, err := h.svc.Reprint(r.Context(), pathID(r), ranges, actor)
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"jobs": jobs})
}

// ManifestColumns are the CSV manifest's columns.
var ManifestColumns = []string{"seq", "source", "pages", "sha256", "printer", "upstream_id", "state", "attempts",
	"created", "started", "finished", "flags", "job_id", "counter_printer", "counter_before", "counter_after",
	"duplicate_printer", "duplicate_decision", "duplicate_decided_by", "duplicate_decided_at"}

// ManifestFlags names a letter's flags, ";"-separated: possible-duplicate, reprint, retried.
func ManifestFlags(l job.Letter) string {
	var f []string
	if l.PossibleDuplicate {
		f = append(f, "possible-duplicate")
	}
	if l.Reprint {
		f = append(f, "reprint")
	}
	if l.Attempts > 0 {
		f = append(f, "retried")
	}
	return strings.Join(f, ";")
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// WriteManifestCSV writes a run's manifest as CSV with ManifestColumns.
func WriteManifestCSV(ctx context.Context, svc BulkService, id int64, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ManifestColumns); err != nil {
		return err
	}
	err := svc.Manifest(ctx, id, func(l job.Letter) error {
		var cp, cb, ca string
		if e := l.Evidence; e != nil {
			cp, cb, ca = e.Printer, strconv.FormatInt(e.Before, 10), strconv.FormatInt(e.After, 10)
		}
		return cw.Write([]string{strconv.FormatInt(l.Seq, 10), l.Source, strconv.Itoa(l.Pages), l.SHA256, l.Printer,
			l.UpstreamID, string(l.State), strconv.Itoa(l.Attempts), csvTime(l.Created), csvTime(l.Started),
			csvTime(l.Finished), ManifestFlags(l), strconv.FormatInt(l.JobID, 10), cp, cb, ca,
			l.DuplicatePrinter, string(l.Decision), l.DecidedBy, csvTime(l.DecidedAt)})
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// manifest streams the run's letters: ?format=csv for CSV, JSON otherwise
// ({"run": ..., "letters": [...]}), a page of the spool at a time.
func (h *runsAPI) manifest(w http.ResponseWriter, r *http.Request, actor string) {
	id := pathID(r)
	run, err := h.svc.GetRun(r.Context(), id)
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if r.URL.Query().Get("format") == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="run-%d-manifest.csv"`, id))
		if err := WriteManifestCSV(r.Context(), h.svc, id, w); err != nil {
			// The status is sent: the truncated body and the log tell.
			h.log.Error("manifest", "run", id, "err", err)
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	head, err := json.Marshal(run)
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	fmt.Fprintf(w, `{"run":%s,"letters":[`, head)
	n := 0
	err = h.svc.Manifest(r.Context(), id, func(l job.Letter) error {
		b, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if n > 0 {
			if _, err := io.WriteString(w, ",\n"); err != nil {
				return err
			}
		}
		n++
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		// Leave the JSON unterminated: a client must not take a cut manifest for a whole one.
		h.log.Error("manifest", "run", id, "err", err)
		return
	}
	io.WriteString(w, "]}\n")
}

func (h *runsAPI) listSchedules(w http.ResponseWriter, r *http.Request, actor string) {
	list, err := h.svc.Schedules(r.Context())
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	if list == nil {
		list = []queue.ScheduleInfo{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"schedules": list})
}

func (h *runsAPI) createSchedule(w http.ResponseWriter, r *http.Request, actor string) {
	var rq CreateScheduleRequest
	if err := decodeBody(r, &rq); err != nil {
		h.writeRunError(w, r, err)
		return
	}
	attrs, err := rq.Attributes.spool()
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	owner := rq.Owner
	if owner == "" {
		owner = actor
	}
	sc, err := h.svc.CreateSchedule(r.Context(), queue.ScheduleRequest{Name: rq.Name, Printer: rq.Printer, Owner: owner,
		Spec: rq.Cron, Dir: rq.Dir, Attributes: attrs})
	if err != nil {
		h.writeRunError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sc)
}

func (h *runsAPI) deleteSchedule(w http.ResponseWriter, r *http.Request, actor string) {
	if err := h.svc.DeleteSchedule(r.Context(), pathID(r), actor); err != nil {
		h.writeRunError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DashboardRuns adapts the bulk-run service to the dashboard's RunsService.
func DashboardRuns(svc BulkService) RunsService { return dashboardRuns{svc: svc} }

type dashboardRuns struct{ svc BulkService }

// ListRuns implements RunsService: the newest 100 runs.
func (d dashboardRuns) ListRuns(ctx context.Context) ([]RunView, error) {
	runs, err := d.svc.Runs(ctx, job.RunFilter{Limit: 100})
	if err != nil {
		return nil, err
	}
	out := make([]RunView, 0, len(runs))
	for _, r := range runs {
		st, err := d.svc.RunStatus(ctx, r.ID, false)
		if err != nil {
			return nil, err
		}
		out = append(out, dashboardRunView(st, time.Now()))
	}
	return out, nil
}

// GetRun implements RunsService, with each printer's sequence ranges.
func (d dashboardRuns) GetRun(ctx context.Context, id int64) (RunView, error) {
	st, err := d.svc.RunStatus(ctx, id, true)
	if err != nil {
		return RunView{}, err
	}
	return dashboardRunView(st, time.Now()), nil
}

// RunAction implements RunsService.
func (d dashboardRuns) RunAction(ctx context.Context, id int64, action, actor string) error {
	var err error
	switch action {
	case "pause":
		_, err = d.svc.PauseRun(ctx, id, actor)
	case "resume":
		_, err = d.svc.ResumeRun(ctx, id, actor)
	case "cancel":
		_, err = d.svc.CancelRun(ctx, id, actor)
	default:
		err = badRequest("unknown run action %q", action)
	}
	return err
}

// WriteManifestCSV implements RunsService.
func (d dashboardRuns) WriteManifestCSV(ctx context.Context, id int64, w io.Writer) error {
	return WriteManifestCSV(ctx, d.svc, id, w)
}

func dashboardRunView(st *queue.RunStatus, now time.Time) RunView {
	v := RunView{ID: st.ID, Name: st.Name, VirtualPrinter: st.VirtualPrinter, State: string(st.State),
		Letters: st.Total, Done: st.Done, Failed: st.ByState[job.StateAborted], Canceled: st.ByState[job.StateCanceled],
		Pages: st.PagesDone + st.PagesLeft, PagesDone: st.PagesDone, Created: st.Created, Started: st.Committed,
		Finished: st.Finished}
	if st.State == job.RunScheduled {
		v.Next = st.StartAt
	}
	if st.StartAt.After(v.Started) {
		v.Started = st.StartAt
	}
	if !st.ETA.IsZero() && st.ETA.After(now) {
		v.ETA = st.ETA.Sub(now)
	}
	for _, p := range st.Printers {
		v.Printers = append(v.Printers, RunPrinterView{Printer: p.Printer, Letters: p.Letters, Done: p.Done,
			Pages: p.Pages, PagesDone: p.PagesDone, Ranges: p.Ranges})
	}
	return v
}
