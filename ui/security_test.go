// Every state-changing route, found by walking the router: without a session it answers 401 or
// 403 and changes nothing; with a session but without (or with a wrong) CSRF token it answers
// 403 and changes nothing; cross-origin it answers 403; with the token it works.
package ui

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/printgate/printgate/job"
)

// openRoutes change state without an operator, on purpose: printing is open to the networks
// that can reach the gateway, as with IPP, LPD and raw; signing in has its own form token.
var openRoutes = map[string]bool{
	"POST /api/v1/jobs": true,
	"POST /ui/login":    true,
}

// unsafeRoute is one concrete request to a state-changing route.
type unsafeRoute struct {
	method, template, path string
}

// unsafeRoutes walks the router and expands each state-changing route into concrete paths:
// {id} is a job (or run) id, {name} a printer, and an alternation such as cancel|hold|release
// gives one path per alternative.
func unsafeRoutes(t *testing.T, r *mux.Router, id int64) []unsafeRoute {
	t.Helper()
	var out []unsafeRoute
	varRe := regexp.MustCompile(`\{([a-z_]+)(?::([^}]*))?\}`)
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // no method matcher: a prefix or a subrouter
		}
		for _, m := range methods {
			if m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions {
				continue
			}
			paths := []string{tmpl}
			for _, v := range varRe.FindAllStringSubmatch(tmpl, -1) {
				var values []string
				switch {
				case v[2] != "" && strings.Contains(v[2], "|"):
					values = strings.Split(strings.Trim(v[2], "()"), "|")
				case v[1] == "name" || v[1] == "printer":
					values = []string{"demo-a"}
				default:
					values = []string{strconv.FormatInt(id, 10)}
				}
				var next []string
				for _, p := range paths {
					for _, val := range values {
						next = append(next, strings.Replace(p, v[0], val, 1))
					}
				}
				paths = next
			}
			for _, p := range paths {
				out = append(out, unsafeRoute{m, tmpl, p})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// state is what a forbidden request must leave as it was: the event log (every job change and
// operator action writes a row), the printers' drain state, and each job's state.
type state struct {
	lastEvent int64
	drained   string
	jobs      string
}

func (g *testGateway) state(ctx context.Context) state {
	g.t.Helper()
	var s state
	evs, err := g.sched.Events(ctx, job.EventFilter{Limit: 1})
	if err != nil {
		g.t.Fatal(err)
	}
	if len(evs) > 0 {
		s.lastEvent = evs[0].ID
	}
	for _, p := range g.sched.Printers() {
		s.drained += p.Name + "=" + strconv.FormatBool(p.Drained) + " "
	}
	jobs, err := g.sched.Jobs(ctx, job.JobFilter{Limit: 1000, WithoutDocuments: true})
	if err != nil {
		g.t.Fatal(err)
	}
	for _, j := range jobs {
		s.jobs += strconv.FormatInt(j.ID, 10) + ":" + string(j.State) + ":" + j.Printer + " "
	}
	return s
}

func TestStateChangingRoutesNeedOperatorAndCSRF(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	ctx := t.Context()
	jobs := g.submit(1, "bob", "letter")
	routes := unsafeRoutes(t, g.router, jobs[0].ID)
	// The walk must find the routes this test is about; if it found none, it would prove nothing.
	var seen []string
	for _, r := range routes {
		seen = append(seen, r.method+" "+r.path)
	}
	for _, must := range []string{"POST /ui/printers/demo-a/drain", "POST /api/v1/printers/demo-a/drain",
		"POST /api/v1/jobs/" + strconv.FormatInt(jobs[0].ID, 10) + "/cancel", "POST /ui/logout"} {
		if !slices.Contains(seen, must) {
			t.Fatalf("router walk did not find %s; found %v", must, seen)
		}
	}
	op := g.client()
	csrf := g.login(op)
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}

	for _, rt := range routes {
		key := rt.method + " " + rt.template
		if openRoutes[key] {
			continue
		}
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			cases := []struct {
				name   string
				client *http.Client
				body   string
				hdr    map[string]string
				want   []int
			}{
				{"anonymous", g.client(), "", nil, []int{http.StatusUnauthorized, http.StatusForbidden}},
				{"anonymous with a guessed token field", g.client(), "csrf_token=x", form, []int{http.StatusUnauthorized, http.StatusForbidden}},
				{"bad bearer token", g.client(), "", map[string]string{"Authorization": "Bearer not-a-real-token-at-all"},
					[]int{http.StatusUnauthorized, http.StatusForbidden}},
				{"session without CSRF token", op, "", nil, []int{http.StatusForbidden}},
				{"session with a wrong CSRF token (form)", op, "csrf_token=" + strings.Repeat("A", len(csrf)), form, []int{http.StatusForbidden}},
				{"session with a wrong CSRF token (header)", op, "", map[string]string{CSRFHeader: "nope"}, []int{http.StatusForbidden}},
				{"session with token but cross-site", op, "", map[string]string{CSRFHeader: csrf, "Sec-Fetch-Site": "cross-site"},
					[]int{http.StatusForbidden}},
				{"session with token but foreign Origin", op, "", map[string]string{CSRFHeader: csrf, "Origin": "https://evil.example"},
					[]int{http.StatusForbidden}},
			}
			for _, tc := range cases {
				before := g.state(ctx)
				status, body := g.do(tc.client, rt.method, rt.path, tc.body, tc.hdr)
				if !slices.Contains(tc.want, status) {
					t.Errorf("%s: status %d, want %v; body %.200s", tc.name, status, tc.want, body)
				}
				if after := g.state(ctx); after != before {
					t.Errorf("%s: state changed:\nbefore %+v\nafter  %+v", tc.name, before, after)
				}
			}
		})
	}

	// Positive control: with the token, the same requests get through the guard (the answer
	// may be 404 or 409 for an action that does not apply, never 401/403).
	through := 0
	for _, rt := range routes {
		if openRoutes[rt.method+" "+rt.template] || rt.path == "/ui/logout" {
			continue
		}
		status, body := g.do(op, rt.method, rt.path, "", map[string]string{CSRFHeader: csrf, "Accept": "application/json"})
		if status == http.StatusUnauthorized || status == http.StatusForbidden {
			t.Errorf("%s %s with session and CSRF token: %d %.200s", rt.method, rt.path, status, body)
		}
		if status < 300 {
			through++
		}
	}
	if through == 0 {
		t.Error("no state-changing request succeeded even with the token: the test cannot tell refusal from breakage")
	}
	// API tokens need no CSRF token.
	status, _ := g.do(g.client(), http.MethodPost, "/api/v1/printers/demo-b/drain", "", map[string]string{"Authorization": "Bearer " + testToken})
	if status != http.StatusOK {
		t.Errorf("drain with API token: %d, want 200", status)
	}
	if p, _ := g.sched.Printer("demo-b"); !p.Drained {
		t.Error("API token drain did not drain")
	}
}

func TestLoopbackTrust(t *testing.T) {
	t.Parallel()
	for _, trust := range []bool{false, true} {
		t.Run("trust="+strconv.FormatBool(trust), func(t *testing.T) {
			t.Parallel()
			g := newTestGateway(t, gwOptions{trustLoopback: trust})
			// httptest serves on 127.0.0.1: the client is on loopback.
			status, _ := g.do(g.client(), http.MethodPost, "/api/v1/printers/demo-a/drain", "", nil)
			want := http.StatusUnauthorized
			if trust {
				want = http.StatusOK
			}
			if status != want {
				t.Errorf("loopback drain with trust_loopback=%v: %d, want %d", trust, status, want)
			}
			// A cross-site request from a browser on this host is refused even when loopback is trusted.
			status, _ = g.do(g.client(), http.MethodPost, "/api/v1/printers/demo-b/drain", "", map[string]string{"Sec-Fetch-Site": "cross-site"})
			if status != http.StatusForbidden {
				t.Errorf("cross-site loopback drain: %d, want 403", status)
			}
			if p, _ := g.sched.Printer("demo-b"); p.Drained {
				t.Error("cross-site request drained the printer")
			}
		})
	}
}
