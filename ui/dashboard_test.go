// Tests of the dashboard pages and actions against a real scheduler and spool.
package ui

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

func TestOverviewShowsQueueDepthAndPrinters(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	g.submit(3, "bob", "letter to the ward")
	c := g.client()
	g.login(c)
	page := g.get(c, "/ui/", http.StatusOK)
	for _, want := range []string{`data-virtual="letters"`, `data-total-jobs="3"`, `data-total-pages="3"`,
		`data-printer="demo-a"`, `data-printer="demo-b"`, "Paused", "Drain demo-a", "Signed in as <strong>alice</strong>"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
}

func TestAnonymousViewing(t *testing.T) {
	t.Parallel()
	t.Run("off: pages send to sign-in, API answers 401", func(t *testing.T) {
		t.Parallel()
		g := newTestGateway(t, gwOptions{pause: true})
		c := g.client()
		for _, p := range []string{"/ui/", "/ui/jobs", "/ui/events", "/ui/printers/demo-a", "/ui/runs"} {
			status, _ := g.do(c, http.MethodGet, p, "", nil)
			if status != http.StatusSeeOther {
				t.Errorf("GET %s anonymous: %d, want 303 to sign-in", p, status)
			}
		}
		for _, p := range []string{"/api/v1/jobs", "/api/v1/printers", "/api/v1/events", "/api/v1/events/stream", "/metrics"} {
			if status, _ := g.do(c, http.MethodGet, p, "", nil); status != http.StatusUnauthorized {
				t.Errorf("GET %s anonymous: %d, want 401", p, status)
			}
		}
		if status, _ := g.do(c, http.MethodGet, "/api/v1/jobs", "", map[string]string{"Authorization": "Bearer " + testToken}); status != http.StatusOK {
			t.Errorf("GET /api/v1/jobs with token: %d, want 200", status)
		}
	})
	t.Run("on: names and owners hidden", func(t *testing.T) {
		t.Parallel()
		g := newTestGateway(t, gwOptions{pause: true, anonymousRead: true})
		g.submit(2, "carol-secret-owner", "secret-name-of-letter")
		c := g.client()
		for _, p := range []string{"/ui/", "/ui/jobs", "/ui/events", "/ui/printers/demo-a"} {
			page := g.get(c, p, http.StatusOK)
			if strings.Contains(page, "carol-secret-owner") || strings.Contains(page, "secret-name-of-letter") {
				t.Errorf("%s shows a name or owner to an anonymous viewer", p)
			}
			if strings.Contains(page, "Drain demo-a") || strings.Contains(page, `action="/ui/jobs/`) {
				t.Errorf("%s offers operator actions to an anonymous viewer", p)
			}
		}
		jobs := g.get(c, "/ui/jobs", http.StatusOK)
		if strings.Count(jobs, "<tr data-job=") != 2 || !strings.Contains(jobs, "hidden") {
			t.Errorf("anonymous jobs page should list 2 jobs with hidden names:\n%s", jobs)
		}
		// Filtering by owner or name must not tell whether the owner has jobs: the filter is ignored.
		for _, q := range []string{"owner=nobody-at-all", "q=nobody-at-all"} {
			if n := strings.Count(g.get(c, "/ui/jobs?"+q, http.StatusOK), "<tr data-job="); n != 2 {
				t.Errorf("anonymous /ui/jobs?%s lists %d jobs, want the filter ignored (2)", q, n)
			}
		}
		_, body := g.do(c, http.MethodGet, "/api/v1/jobs?owner=nobody-at-all", "", nil)
		if !strings.Contains(body, `"id"`) {
			t.Errorf("anonymous owner filter should be ignored, got %s", body)
		}
		// Signed in, the same page shows them.
		op := g.client()
		g.login(op)
		if page := g.get(op, "/ui/jobs", http.StatusOK); !strings.Contains(page, "secret-name-of-letter") {
			t.Error("operator does not see job names")
		}
	})
}

func TestJobsPageFiltersAndPages(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	jobs := g.submit(60, "bob", "bulk letter")
	g.submit(2, "dora", "dora's page")
	if err := g.sched.HoldJob(t.Context(), jobs[5].ID, "test"); err != nil {
		t.Fatal(err)
	}
	c := g.client()
	g.login(c)
	first := g.get(c, "/ui/jobs", http.StatusOK)
	if n := strings.Count(first, "<tr data-job="); n != jobsPerPage {
		t.Errorf("first page lists %d jobs, want %d", n, jobsPerPage)
	}
	m := regexpFind(t, first, `href="(/ui/jobs\?before=[0-9]+)" rel="next"`)
	second := g.get(c, strings.ReplaceAll(m, "&amp;", "&"), http.StatusOK)
	if n := strings.Count(second, "<tr data-job="); n != 62-jobsPerPage {
		t.Errorf("second page lists %d jobs, want %d", n, 62-jobsPerPage)
	}
	if !strings.Contains(second, "rel=\"prev\"") {
		t.Error("second page has no link back to newer jobs")
	}
	for q, want := range map[string]int{"state=held": 1, "owner=dora": 2, "q=dora": 2, "state=pending&owner=bob": 50,
		"state=completed": 0, "duplicate=1": 0} {
		page := g.get(c, "/ui/jobs?"+q, http.StatusOK)
		if n := strings.Count(page, "<tr data-job="); n != want {
			t.Errorf("jobs?%s lists %d, want %d", q, n, want)
		}
	}
	if held := g.get(c, "/ui/jobs?state=held", http.StatusOK); !strings.Contains(held, "/release") || !strings.Contains(held, "Held") {
		t.Error("a held job should show the word Held and a Release button")
	}
	if status, _ := g.do(c, http.MethodGet, "/ui/jobs?run=abc", "", nil); status != http.StatusBadRequest {
		t.Errorf("bad run filter: %d, want 400", status)
	}
}

func TestFormActionsWithoutScript(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	jobs := g.submit(1, "bob", "letter")
	c := g.client()
	csrf := g.login(c)
	form := url.Values{"csrf_token": {csrf}, "back": {"/ui/printers/demo-a"}}
	status, _ := g.do(c, http.MethodPost, "/ui/printers/demo-a/drain", form.Encode(),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if status != http.StatusSeeOther {
		t.Fatalf("drain form: %d, want 303", status)
	}
	if p, _ := g.sched.Printer("demo-a"); !p.Drained {
		t.Fatal("printer not drained")
	}
	page := g.get(c, "/ui/printers/demo-a", http.StatusOK)
	if !strings.Contains(page, "Printer demo-a drained") || !strings.Contains(page, `data-state="drained"`) {
		t.Error("printer page after drain lacks the flash message or the drained state")
	}
	if again := g.get(c, "/ui/printers/demo-a", http.StatusOK); strings.Contains(again, "Printer demo-a drained:") {
		t.Error("flash message shown twice")
	}
	// The audit log says who.
	events := g.get(c, "/ui/events?kind=operator", http.StatusOK)
	if !strings.Contains(events, "printer demo-a drained by alice") {
		t.Error("events page lacks the operator action with its actor")
	}
	// Script path: JSON answer, header token.
	status, body := g.do(c, http.MethodPost, "/ui/jobs/"+itoa(jobs[0].ID)+"/hold", "",
		map[string]string{"X-CSRF-Token": csrf, "Accept": "application/json"})
	if status != http.StatusOK || !strings.Contains(body, "hold done") {
		t.Fatalf("hold via script: %d %s", status, body)
	}
	// A conflict is a 409 with the reason, not a 500.
	status, body = g.do(c, http.MethodPost, "/ui/jobs/"+itoa(jobs[0].ID)+"/hold", "",
		map[string]string{"X-CSRF-Token": csrf, "Accept": "application/json"})
	if status != http.StatusConflict {
		t.Errorf("second hold: %d %s, want 409", status, body)
	}
	status, _ = g.do(c, http.MethodPost, "/ui/jobs/999999/cancel", "", map[string]string{"X-CSRF-Token": csrf, "Accept": "application/json"})
	if status != http.StatusNotFound {
		t.Errorf("cancel of a missing job: %d, want 404", status)
	}
	// A second browser: signing it out must not touch this session.
	other := g.client()
	otherCSRF := g.login(other)
	// Sign out ends the session.
	form = url.Values{"csrf_token": {otherCSRF}, "back": {"/ui/login"}}
	status, _ = g.do(other, http.MethodPost, "/ui/logout", form.Encode(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if status != http.StatusSeeOther || g.auth.Sessions() != 1 {
		t.Fatalf("logout: %d, %d sessions left", status, g.auth.Sessions())
	}
	if status, _ := g.do(other, http.MethodGet, "/ui/", "", nil); status != http.StatusSeeOther {
		t.Errorf("after sign-out the overview answers %d, want 303 to sign-in", status)
	}
	// Retry and move are wired to the scheduler (once it has them).
	if _, ok := any(g.sched).(JobMover); !ok {
		t.Log("scheduler has no RetryJob/MoveJob yet: move not tested")
		return
	}
	status, body = g.do(c, http.MethodPost, "/ui/jobs/"+itoa(jobs[0].ID)+"/move", url.Values{"printer": {"demo-b"}}.Encode(),
		map[string]string{"X-CSRF-Token": csrf, "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"})
	if status != http.StatusOK {
		t.Fatalf("move: %d %s", status, body)
	}
	if j, _ := g.sched.Job(t.Context(), jobs[0].ID); j.Printer != "demo-b" {
		t.Errorf("after move the job's printer is %q, want demo-b", j.Printer)
	}
}

func TestLoginPage(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{})
	c := g.client()
	body := g.get(c, "/ui/login?next=/ui/jobs", http.StatusOK)
	tok := regexpFind(t, body, `name="csrf_token" value="([^"]*)"`)
	post := func(v url.Values) (int, http.Header, string) {
		resp, err := c.PostForm(g.srv.URL+"/ui/login", v)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = io.Copy(b, resp.Body)
		return resp.StatusCode, resp.Header, b.String()
	}
	if s, _, b := post(url.Values{"csrf_token": {tok}, "user": {testUser}, "password": {"wrong"}}); s != http.StatusUnauthorized || !strings.Contains(b, "Wrong user name or password") {
		t.Errorf("wrong password: %d", s)
	}
	if s, _, _ := post(url.Values{"csrf_token": {"forged"}, "user": {testUser}, "password": {testPassword}}); s != http.StatusForbidden {
		t.Errorf("sign-in without the form's token: %d, want 403", s)
	}
	s, h, _ := post(url.Values{"csrf_token": {tok}, "user": {testUser}, "password": {testPassword}, "next": {"//evil.example/"}})
	if s != http.StatusSeeOther || h.Get("Location") != "/ui/" {
		t.Errorf("sign-in with an off-site next: %d to %q, want 303 to /ui/", s, h.Get("Location"))
	}
	var sc *http.Cookie
	for _, ck := range (&http.Response{Header: h}).Cookies() {
		if ck.Name == SessionCookie {
			sc = ck
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", sc)
	}
	// A token works as a password with an empty user name.
	c2 := g.client()
	tok2 := regexpFind(t, g.get(c2, "/ui/login", http.StatusOK), `name="csrf_token" value="([^"]*)"`)
	resp, err := c2.PostForm(g.srv.URL+"/ui/login", url.Values{"csrf_token": {tok2}, "password": {testToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("token sign-in: %d", resp.StatusCode)
	}
	if page := g.get(c2, "/ui/", http.StatusOK); !strings.Contains(page, "Signed in as <strong>"+testTokenFor) {
		t.Error("token sign-in does not show the token's operator")
	}
}

func TestChartsFromSamples(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	c := g.client()
	g.login(c)
	if page := g.get(c, "/ui/", http.StatusOK); strings.Contains(page, "<svg") {
		t.Error("chart drawn before any sample")
	}
	g.dash.Sample(t.Context())
	g.submit(4, "bob", "x")
	g.dash.Sample(t.Context())
	page := g.get(c, "/ui/", http.StatusOK)
	if !strings.Contains(page, `<svg class="chart"`) || !strings.Contains(page, "now 4, lowest 0, highest 4") {
		t.Errorf("overview chart missing or wrong:\n%s", page)
	}
}

func TestHistoryDropsOldSamples(t *testing.T) {
	t.Parallel()
	h := newHistory(time.Hour)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 200; i++ {
		h.add("k", t0.Add(time.Duration(i)*30*time.Second), float64(i))
	}
	c := h.chart("k", t0.Add(199*30*time.Second))
	if c.Samples != 121 {
		t.Errorf("kept %d samples, want 121 (one hour at 30 s, both ends)", c.Samples)
	}
	if c.Last != 199 || c.Max != 199 {
		t.Errorf("last %g max %g, want 199", c.Last, c.Max)
	}
}

func TestReasonWords(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"media-empty-error": "Out of paper (error)", "toner-low-warning": "Toner low (warning)",
		"door-open-report": "Door open", "none": "", "cheese-missing-error": "Cheese missing (error)",
	} {
		if got := reasonText(in); got != want {
			t.Errorf("reasonText(%q) = %q, want %q", in, got, want)
		}
	}
}

// Printer passwords stay out of the dashboard: a failed check quoting the printer's URI, in the
// printer page's last check and in the event log, shows it masked.
func TestDashboardMasksPrinterPasswords(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	err := g.store.RecordEvent(t.Context(), job.Event{Kind: job.EventPrinterState, Printer: "demo-a",
		From: "ready", To: "unreachable", Message: `ready -> unreachable: ipp: Get-Printer-Attributes "ipp://admin:hunter2@10.0.0.5/ipp/print": refused`})
	if err != nil {
		t.Fatal(err)
	}
	c := g.client()
	g.login(c)
	for _, p := range []string{"/ui/", "/ui/events", "/ui/printers/demo-a"} {
		page := g.get(c, p, http.StatusOK)
		if strings.Contains(page, "hunter2") {
			t.Errorf("%s shows the printer's password", p)
		}
		if p != "/ui/" && !strings.Contains(page, "admin:xxxxx@10.0.0.5") {
			t.Errorf("%s does not show the failed check, masked", p)
		}
	}
}

func TestLocalPath(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"/ui/jobs?x=1": "/ui/jobs?x=1", "//evil/": "/ui/", "https://evil/": "/ui/",
		"/\\evil": "/ui/", "": "/ui/"} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func regexpFind(t *testing.T, s, re string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no match for %s in:\n%s", re, s)
	}
	return m[1]
}

func TestChartSpansItsSamples(t *testing.T) {
	t.Parallel()
	h := newHistory(time.Hour)
	t0 := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	for i, v := range []float64{0, 5, 10} {
		h.add("k", t0.Add(time.Duration(i)*5*time.Minute), v)
	}
	c := h.chart("k", t0.Add(10*time.Minute))
	// Ten minutes of history fill the width; the highest value touches the top margin.
	if c.Points != "0.0,46.0 120.0,24.0 240.0,2.0" {
		t.Errorf("points %q", c.Points)
	}
	if !strings.Contains(c.Label, "10 minutes: now 10, lowest 0, highest 10") {
		t.Errorf("label %q", c.Label)
	}
}
