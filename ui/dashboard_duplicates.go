// The mail room's duplicate review page: every possible-duplicate letter with its evidence,
// and for operators the two decisions.
package ui

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
)

type duplicatesPage struct {
	base
	Rows      []duplicateRow
	Run       string
	Undecided bool
}

type duplicateRow struct {
	job.Duplicate
	// Counter is "1204 → 1205 (pages 1205-1206 expected)", "" without evidence.
	Counter string
}

func (d *Dashboard) duplicates(w http.ResponseWriter, r *http.Request, b base) error {
	if !b.Operator {
		return fmt.Errorf("%w: sign in to review possible duplicates", errForbidden)
	}
	q := r.URL.Query()
	b.Title, b.Nav = "Possible duplicates", "duplicates"
	p := duplicatesPage{base: b, Run: q.Get("run"), Undecided: q.Get("undecided") != ""}
	f := job.DuplicateFilter{Undecided: p.Undecided, Limit: 1000}
	if p.Run != "" {
		n, err := strconv.ParseInt(p.Run, 10, 64)
		if err != nil {
			return badRequest("run %q: want a number", p.Run)
		}
		f.RunID = n
	}
	dups, err := d.svc.Duplicates(r.Context(), f)
	if err != nil {
		return err
	}
	for _, dd := range dups {
		row := duplicateRow{Duplicate: dd}
		if e := dd.Evidence; e != nil {
			row.Counter = fmt.Sprintf("%d → %d (pages %d-%d expected)", e.Before, e.After, e.Before+1, e.End())
		}
		p.Rows = append(p.Rows, row)
	}
	d.render(w, http.StatusOK, "duplicates", p)
	return nil
}

func (d *Dashboard) duplicateAction(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error) {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	dd, err := d.svc.DecideDuplicate(ctx, id, r.PostFormValue("decision"), actor, r.PostFormValue("note"))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Job %d: %s, recorded.", id, dd.Decision.Text()), nil
}
