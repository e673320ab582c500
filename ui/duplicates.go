// The duplicate review over the API: GET /api/v1/duplicates lists every possible-duplicate job
// with its evidence, POST /api/v1/jobs/{id}/duplicate records an operator's decision.
package ui

import (
	"net/http"
	"strconv"

	"github.com/printgate/printgate/job"
)

// listDuplicates: ?run=N (one run), ?undecided=1 (only those not yet decided), ?limit=N.
// Operators only: the list names letters and owners.
func (a *API) listDuplicates(w http.ResponseWriter, r *http.Request, actor string) {
	f, err := duplicateFilter(r)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	dups, err := a.svc.Duplicates(r.Context(), f)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	if dups == nil {
		dups = []job.Duplicate{}
	}
	writeJSON(w, http.StatusOK, dups)
}

func duplicateFilter(r *http.Request) (job.DuplicateFilter, error) {
	q := r.URL.Query()
	var f job.DuplicateFilter
	if s := q.Get("run"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return f, badRequest("run %q: want a run id", s)
		}
		f.RunID = n
	}
	switch q.Get("undecided") {
	case "", "0", "false":
	case "1", "true":
		f.Undecided = true
	default:
		return f, badRequest("undecided %q: want 1 or 0", q.Get("undecided"))
	}
	f.Limit = 1000
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return f, badRequest("limit %q: want 1-10000", s)
		}
		f.Limit = n
	}
	return f, nil
}

// DecisionRequest is the body of POST /api/v1/jobs/{id}/duplicate.
type DecisionRequest struct {
	// Decision is printed-once or printed-twice.
	Decision string `json:"decision"`
	Note     string `json:"note,omitempty"`
}

func (a *API) decideDuplicate(w http.ResponseWriter, r *http.Request, actor string) {
	var body DecisionRequest
	if err := decodeBody(r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	d, err := a.svc.DecideDuplicate(r.Context(), jobID(r), body.Decision, actor, body.Note)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
