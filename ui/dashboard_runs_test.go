// The bulk-runs pages against the real bulk service: progress, actions, the CSV manifest.
package ui

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/printgate/printgate/job"
)

func TestRunsPages(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	run := g.run(12, "shielding letters")
	c := g.client()
	csrf := g.login(c)

	list := g.get(c, "/ui/runs", http.StatusOK)
	for _, want := range []string{`data-run="` + itoa(run.ID) + `"`, "shielding letters", `<progress id="prog-` + itoa(run.ID) + `" max="12" value="0"`,
		"0 of 12 letters printed", "Pause run " + itoa(run.ID), "Manifest (CSV)"} {
		if !strings.Contains(list, want) {
			t.Errorf("runs page lacks %q", want)
		}
	}
	if !strings.Contains(g.get(c, "/ui/runs/"+itoa(run.ID), http.StatusOK), `data-state="active"`) {
		t.Error("run page does not show the run active")
	}

	// Pause with the form (no script): the letters are held, the page says Paused.
	form := url.Values{"csrf_token": {csrf}, "back": {"/ui/runs"}}
	status, _ := g.do(c, http.MethodPost, "/ui/runs/"+itoa(run.ID)+"/pause", form.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if status != http.StatusSeeOther {
		t.Fatalf("pause: %d", status)
	}
	r, err := g.bulk.GetRun(t.Context(), run.ID)
	if err != nil || r.State != job.RunPaused {
		t.Fatalf("run state %v (%v), want paused", r.State, err)
	}
	page := g.get(c, "/ui/runs", http.StatusOK)
	if !strings.Contains(page, "Bulk run "+itoa(run.ID)+" paused.") || !strings.Contains(page, "Resume run "+itoa(run.ID)) {
		t.Error("after pause: no flash message or no Resume button")
	}
	// Canceled, a run cannot be paused: a conflict, not a server error.
	status, _ = g.do(c, http.MethodPost, "/ui/runs/"+itoa(run.ID)+"/cancel", "", map[string]string{CSRFHeader: csrf, "Accept": "application/json"})
	if status != http.StatusOK {
		t.Fatalf("cancel: %d", status)
	}
	status, _ = g.do(c, http.MethodPost, "/ui/runs/"+itoa(run.ID)+"/pause", "", map[string]string{CSRFHeader: csrf, "Accept": "application/json"})
	if status != http.StatusConflict {
		t.Errorf("pause of a canceled run: %d, want 409", status)
	}
	status, _ = g.do(c, http.MethodPost, "/ui/runs/9999/pause", "", map[string]string{CSRFHeader: csrf, "Accept": "application/json"})
	if status != http.StatusNotFound {
		t.Errorf("pause of a missing run: %d, want 404", status)
	}

	// The manifest as CSV: one row per letter.
	resp, err := c.Get(g.srv.URL + "/ui/runs/" + itoa(run.ID) + "/manifest.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("manifest content type %q", ct)
	}
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 13 || rows[0][0] != "seq" || rows[12][1] != "letter-0012.pdf" {
		t.Errorf("manifest has %d rows (want header + 12), last %v", len(rows), rows[len(rows)-1])
	}
	// Anonymous viewers see no run: run names name what they send (GET /api/v1/runs is for
	// operators too), let alone the manifest or the actions.
	anon := newTestGateway(t, gwOptions{pause: true, anonymousRead: true})
	arun := anon.run(3, "run for anonymous")
	ac := anon.client()
	for _, p := range []string{"/ui/runs", "/ui/runs/" + itoa(arun.ID), "/ui/runs/" + itoa(arun.ID) + "/manifest.csv"} {
		if page := anon.get(ac, p, http.StatusForbidden); strings.Contains(page, "run for anonymous") ||
			strings.Contains(page, "Pause run") || strings.Contains(page, "seq,") {
			t.Errorf("anonymous %s names the run, offers actions or sends the manifest", p)
		}
	}
}
