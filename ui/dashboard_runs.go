// The bulk-runs pages: progress per run and per printer, ETA, sequence ranges, pause, resume,
// cancel and the manifest as CSV.
package ui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
)

// RunView is a bulk run as the dashboard shows it.
type RunView struct {
	ID             int64
	Name           string
	VirtualPrinter string
	// State in the runs service's words (scheduled, running, paused, completed, canceled, ...).
	State string
	// Letters counts all letters; Done printed, Failed aborted, Canceled canceled.
	Letters, Done, Failed, Canceled int
	Pages, PagesDone                int
	Created, Started, Finished      time.Time
	// Next is when a scheduled run fires next (zero when not scheduled).
	Next time.Time
	// ETA is the expected time until the run is printed (0 when unknown or finished).
	ETA      time.Duration
	Printers []RunPrinterView
}

// RunPrinterView is one printer's share of a run.
type RunPrinterView struct {
	Printer          string
	Letters, Done    int
	Pages, PagesDone int
	// Ranges are the sequence numbers the printer has, as "1-120, 241-300".
	Ranges string
}

// RunsService is what the bulk-runs pages need.
type RunsService interface {
	ListRuns(ctx context.Context) ([]RunView, error)
	GetRun(ctx context.Context, id int64) (RunView, error)
	// RunAction pauses, resumes or cancels a run.
	RunAction(ctx context.Context, id int64, action, actor string) error
	// WriteManifestCSV writes the run's letter-level manifest as CSV.
	WriteManifestCSV(ctx context.Context, id int64, w io.Writer) error
}

var errNoRuns = errors.New("bulk runs are not available on this gateway")

type runsPage struct {
	base
	Runs []RunView
}

func (d *Dashboard) runsPage(w http.ResponseWriter, r *http.Request, b base) error {
	b.Title, b.Nav = "Bulk runs", "runs"
	p := runsPage{base: b}
	if d.runs != nil {
		runs, err := d.runs.ListRuns(r.Context())
		if err != nil {
			return err
		}
		p.Runs = runs
	}
	d.render(w, http.StatusOK, "runs", p)
	return nil
}

type runPage struct {
	base
	Run RunView
}

func runID(r *http.Request) int64 {
	id, _ := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	return id
}

func (d *Dashboard) runPage(w http.ResponseWriter, r *http.Request, b base) error {
	if d.runs == nil {
		return errNoRuns
	}
	run, err := d.runs.GetRun(r.Context(), runID(r))
	if err != nil {
		return err
	}
	b.Title, b.Nav = fmt.Sprintf("Bulk run %d: %s", run.ID, run.Name), "runs"
	d.render(w, http.StatusOK, "run", runPage{base: b, Run: run})
	return nil
}

func (d *Dashboard) runManifest(w http.ResponseWriter, r *http.Request, b base) error {
	if d.runs == nil {
		return errNoRuns
	}
	if !b.Operator {
		// The manifest names every letter's file: operators only.
		return fmt.Errorf("%w: sign in to download manifests", errForbidden)
	}
	id := runID(r)
	if _, err := d.runs.GetRun(r.Context(), id); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="run-%d-manifest.csv"`, id))
	w.Header().Set("Cache-Control", "no-store")
	if err := d.runs.WriteManifestCSV(r.Context(), id, w); err != nil {
		// Headers are gone; the log says what broke the download.
		d.log.Error("dashboard: manifest", "run", id, "err", err)
	}
	return nil
}

var errForbidden = errors.New("not allowed")

// operatorPage serves h to operators only; other viewers get 403 (a page saying to sign in).
func (d *Dashboard) operatorPage(h handler) handler {
	return func(w http.ResponseWriter, r *http.Request, b base) error {
		if !b.Operator {
			err := fmt.Errorf("%w: bulk runs name the letters they send: sign in as an operator to see them", errForbidden)
			d.auth.Refuse(r, err.Error())
			return err
		}
		return h(w, r, b)
	}
}

func (d *Dashboard) runAction(ctx context.Context, w http.ResponseWriter, r *http.Request, actor string) (string, error) {
	if d.runs == nil {
		return "", errNoRuns
	}
	id, act := runID(r), mux.Vars(r)["action"]
	if err := d.runs.RunAction(ctx, id, act, actor); err != nil {
		return "", err
	}
	verb := map[string]string{"pause": "paused", "resume": "resumed", "cancel": "canceled"}[act] // English verbs, not a job state
	return fmt.Sprintf("Bulk run %d %s.", id, verb), nil
}
