package ui

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/policy"
	"github.com/printgate/printgate/queue"
)

// Patient data seeded into the walk's gateway: a letter's file name (a job's and a bulk
// letter's), a run's name, and a schedule event naming the letter as cron events do.
const (
	seedLetter = "BLOGGS-Fred-referral.pdf"
	seedRun    = "Oncology clinic BLOGGS"
	seedOwner  = "fbloggs-ward7"
)

// namedLetters is a LetterSource whose first letter carries the seeded name.
type namedLetters struct {
	i   int
	pdf []byte
}

func (l *namedLetters) Next() (string, io.Reader, error) {
	l.i++
	switch l.i {
	case 1:
		return seedLetter, bytes.NewReader(l.pdf), nil
	case 2:
		return "letter-0002.pdf", bytes.NewReader(l.pdf), nil
	}
	return "", nil, io.EOF
}

// route is one route of the router: its method and path template.
type route struct{ method, template string }

func (r route) String() string { return r.method + " " + r.template }

// routesOf walks r and lists every method and path template it serves (HEAD folded into GET).
func routesOf(t *testing.T, r *mux.Router) []route {
	t.Helper()
	var out []route
	err := r.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := rt.GetPathTemplate()
		if err != nil {
			return nil // a matcher without a path (none in ui)
		}
		methods, err := rt.GetMethods()
		if err != nil {
			return nil // a subrouter's prefix: its routes are walked
		}
		for _, m := range methods {
			if m == http.MethodHead && slices.Contains(methods, http.MethodGet) {
				continue
			}
			if !slices.Contains(out, route{m, tpl}) {
				out = append(out, route{m, tpl})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var routeVar = regexp.MustCompile(`\{([a-z]+)(:[^}]*)?\}`)

// concrete fills a template's variables with the seeded objects.
func concrete(tpl string, jobID, runID int64) string {
	return routeVar.ReplaceAllStringFunc(tpl, func(v string) string {
		m := routeVar.FindStringSubmatch(v)
		switch {
		case m[1] == "name":
			return "demo-a"
		case m[1] == "action":
			return strings.Split(strings.TrimPrefix(m[2], ":"), "|")[0]
		case strings.HasPrefix(tpl, "/ui/runs") || strings.HasPrefix(tpl, "/api/v1/runs/{"):
			return fmt.Sprint(runID)
		default:
			return fmt.Sprint(jobID)
		}
	})
}

// TestPolicyWalk walks every route of the dashboard and the API (from the router, not a list)
// as an anonymous viewer with anonymous_read on, and as a read-scope token: no answer names
// the seeded letter, run or owner; every operator route refuses both, and each refusal is in
// the audit log with the client's address; the policy table has a row for every route.
func TestPolicyWalk(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var audited []Refused
	g := newTestGateway(t, gwOptions{anonymousRead: true, pause: true, refused: func(_ context.Context, r Refused) {
		mu.Lock()
		defer mu.Unlock()
		audited = append(audited, r)
	}})
	ctx := t.Context()
	pdf, err := os.ReadFile("../testdata/letter-1p.pdf")
	if err != nil {
		t.Fatal(err)
	}
	j := g.submit(1, seedOwner, seedLetter)[0]
	r, err := g.bulk.CreateRun(ctx, queue.RunRequest{Name: seedRun, Owner: "mailroom"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.bulk.UploadLetters(ctx, r.ID, 1, &namedLetters{pdf: pdf}); err != nil {
		t.Fatal(err)
	}
	if _, err := g.bulk.CommitRun(ctx, r.ID, "mailroom"); err != nil {
		t.Fatal(err)
	}
	if err := g.store.RecordEvent(ctx, job.Event{Kind: job.EventSchedule, RunID: r.ID,
		Message: "schedule 1 fired: picked up 1 file (" + seedLetter + ") as run " + seedRun}); err != nil {
		t.Fatal(err)
	}
	// An operator acts on the letter, so that operator events about it exist too.
	if err := g.sched.HoldJob(ctx, j.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	seeds := []string{seedLetter, seedRun, seedOwner, "BLOGGS"}
	// The walk must be able to fail: an operator sees the seeds.
	if _, body := g.do(g.client(), http.MethodGet, "/api/v1/events", "", map[string]string{"Authorization": "Bearer " + testToken}); !strings.Contains(body, "BLOGGS") {
		t.Fatalf("an operator's event list does not name the seeded letter: the walk proves nothing\n%s", body)
	}

	routes := routesOf(t, g.router)
	if len(routes) < 30 {
		t.Fatalf("walked only %d routes: %v", len(routes), routes)
	}
	for _, rt := range routes {
		if _, ok := policy.HTTP(rt.String()); !ok {
			t.Errorf("route %s has no row in the policy table (policy/policy.go)", rt)
		}
	}
	for _, rule := range policy.Rules() {
		if rule.Protocol != "HTTP" || rule.Operation == "GET /ipp/icons/" { // served by cmd/printgate
			continue
		}
		method, tpl, _ := strings.Cut(rule.Operation, " ")
		if !slices.Contains(routes, route{method, tpl}) {
			t.Errorf("policy row %s names no route of the router", rule.Operation)
		}
	}

	viewers := []struct {
		name string
		hdr  map[string]string
	}{
		{"anonymous", map[string]string{}},
		{"read token", map[string]string{"Authorization": "Bearer " + testReadToken}},
	}
	for _, v := range viewers {
		for _, rt := range routes {
			need, _ := policy.HTTP(rt.String())
			path := concrete(rt.template, j.ID, r.ID)
			if rt.template == "/ui/static/" {
				path += "app.js"
			}
			var status int
			var body string
			switch {
			case rt.template == "/api/v1/events/stream":
				status, body = g.readStream(ctx, path+"?after=0", v.hdr)
			case rt.method == http.MethodGet:
				status, body = g.do(g.client(), http.MethodGet, path, "", v.hdr)
			default:
				hdr := map[string]string{"Content-Type": "application/json"}
				for k, val := range v.hdr {
					hdr[k] = val
				}
				if rt.template == "/api/v1/jobs" || rt.template == "/ui/login" {
					continue // printing and signing in are open to all; their answers are about the caller
				}
				status, body = g.do(g.client(), rt.method, path, "{}", hdr)
			}
			for _, s := range seeds {
				if strings.Contains(body, s) {
					t.Errorf("%s: %s %s (HTTP %d) shows %q", v.name, rt.method, path, status, s)
				}
			}
			if need == policy.Operator && status != http.StatusUnauthorized && status != http.StatusForbidden &&
				status != http.StatusSeeOther {
				t.Errorf("%s: %s %s is for operators, answered %d", v.name, rt.method, path, status)
			}
			if need == policy.Reader && rt.method == http.MethodGet && status != http.StatusOK {
				t.Errorf("%s: %s %s is for viewers, answered %d", v.name, rt.method, path, status)
			}
		}
	}
	// The read token was refused every action: each refusal audited, naming it and the address.
	mu.Lock()
	defer mu.Unlock()
	var byToken int
	for _, a := range audited {
		if a.User == "prometheus" && a.Remote == "127.0.0.1" {
			byToken++
		}
	}
	actions := 0
	for _, rt := range routes {
		if need, _ := policy.HTTP(rt.String()); need == policy.Operator && rt.method != http.MethodGet {
			actions++
		}
	}
	if byToken < actions {
		t.Errorf("%d refusals of the read token audited, want at least %d (one per action): %+v", byToken, actions, audited)
	}
	// The held letter is still held: no refused action did anything.
	if got, err := g.store.Job(ctx, j.ID); err != nil || got.State != job.StateHeld {
		t.Errorf("seeded job after the walk: %v %v", got, err)
	}
}

// readStream reads the event stream at path until its first change message (which follows
// the replayed log) and returns the status and what came.
func (g *testGateway) readStream(ctx context.Context, path string, hdr map[string]string) (int, string) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.srv.URL+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	br := bufio.NewReader(resp.Body)
	for {
		line, err := br.ReadString('\n')
		b.WriteString(line)
		if err != nil || strings.HasPrefix(line, "event: change") {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// TestReadTokenScrapesMetrics: a read token reads /metrics (as Prometheus does) and the
// dashboard without anonymous_read, where anonymous callers are refused.
func TestReadTokenScrapesMetrics(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{})
	read := map[string]string{"Authorization": "Bearer " + testReadToken}
	if status, body := g.do(g.client(), http.MethodGet, "/metrics", "", read); status != http.StatusOK || !strings.Contains(body, "printgate_") {
		t.Errorf("/metrics with a read token: %d\n%.300s", status, body)
	}
	if status, _ := g.do(g.client(), http.MethodGet, "/metrics", "", nil); status != http.StatusUnauthorized {
		t.Errorf("/metrics anonymous: %d, want 401", status)
	}
	if status, _ := g.do(g.client(), http.MethodGet, "/ui/", "", read); status != http.StatusOK {
		t.Errorf("/ui/ with a read token: %d", status)
	}
	j := g.submit(1, "alice", "a letter")[0]
	if status, _ := g.do(g.client(), http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/cancel", j.ID), "", read); status != http.StatusUnauthorized {
		t.Errorf("cancel with a read token: %d, want 401", status)
	}
	// The refusal is synchronous: had the cancel gone through, the job would be canceled now.
	if got, err := g.store.Job(t.Context(), j.ID); err != nil || got.State == job.StateCanceled {
		t.Errorf("after a read token's cancel: %v %v", got, err)
	}
}
