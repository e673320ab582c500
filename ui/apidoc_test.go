// docs/API.md stays true to the router: every API route the gateway registers (under /api/v1,
// plus /healthz and /metrics), found by walking the router the gateway tests build, is named in
// the doc as "METHOD /path", and every route the doc names is one the router serves.
package ui

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

const apiDoc = "../docs/API.md"

// pathVar is one {name} or {name:pattern} of a gorilla/mux path template.
var pathVar = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(?::([^{}]*(?:\{[^{}]*\}[^{}]*)*))?\}`)

// literalAlternation is a variable pattern that only chooses among words: cancel|hold|release.
var literalAlternation = regexp.MustCompile(`^\(?[a-z][a-z-]*(\|[a-z][a-z-]*)+\)?$`)

// docPaths spells a route template as the doc writes it: a variable choosing among words
// becomes one path per word (/jobs/{id}/cancel, /jobs/{id}/hold, ...), any other variable
// loses its pattern (/jobs/{id:[0-9]+} becomes /jobs/{id}).
func docPaths(tmpl string) []string {
	paths := []string{tmpl}
	for _, v := range pathVar.FindAllStringSubmatch(tmpl, -1) {
		alts := []string{"{" + v[1] + "}"}
		if literalAlternation.MatchString(v[2]) {
			alts = strings.Split(strings.Trim(v[2], "()"), "|")
		}
		var next []string
		for _, p := range paths {
			for _, a := range alts {
				next = append(next, strings.Replace(p, v[0], a, 1))
			}
		}
		paths = next
	}
	return paths
}

// isAPIPath says whether a path belongs to the API the doc describes.
func isAPIPath(p string) bool {
	return p == "/api/v1" || strings.HasPrefix(p, "/api/v1/") || p == "/healthz" || p == "/metrics"
}

// apiRoutes walks r and returns "METHOD /path" for every API route, as the doc writes them,
// each with the template it came from.
func apiRoutes(t *testing.T, r *mux.Router) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil || !isAPIPath(tmpl) {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a prefix or subrouter: its routes are walked too
		}
		for _, m := range methods {
			for _, p := range docPaths(tmpl) {
				out[m+" "+p] = tmpl
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// docRoute is a route as the doc names it: "GET /api/v1/jobs/{id}" (a query string or the end
// of a code span ends the path).
var docRoute = regexp.MustCompile(`\b(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (/[A-Za-z0-9_{}./-]*)`)

func docRoutes(doc string) map[string]bool {
	out := map[string]bool{}
	for _, m := range docRoute.FindAllStringSubmatch(doc, -1) {
		if isAPIPath(m[2]) {
			out[m[1]+" "+m[2]] = true
		}
	}
	return out
}

func TestDocPaths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		tmpl string
		want []string
	}{
		{"/api/v1/jobs", []string{"/api/v1/jobs"}},
		{"/api/v1/jobs/{id:[0-9]+}", []string{"/api/v1/jobs/{id}"}},
		{"/api/v1/printers/{name}/{action:drain|resume}", []string{"/api/v1/printers/{name}/drain", "/api/v1/printers/{name}/resume"}},
		{"/x/{n:[0-9]{1,3}}", []string{"/x/{n}"}},
	}
	for _, tt := range tests {
		if got := docPaths(tt.tmpl); !slices.Equal(got, tt.want) {
			t.Errorf("docPaths(%q) = %q, want %q", tt.tmpl, got, tt.want)
		}
	}
}

// TestAPIDocCoversEveryRoute fails naming each route and method the gateway serves under
// /api/v1 (and /healthz, /metrics) that docs/API.md does not name as "METHOD /path", and each
// route the doc names that the router does not serve.
func TestAPIDocCoversEveryRoute(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(apiDoc)
	if err != nil {
		t.Fatalf("the API reference is missing: %v", err)
	}
	documented := docRoutes(string(b))
	g := newTestGateway(t, gwOptions{})
	served := apiRoutes(t, g.router)
	if len(served) < 10 || served[http.MethodPost+" /api/v1/jobs"] == "" {
		t.Fatalf("walking the router found only %v", served)
	}
	var missing []string
	for r, tmpl := range served {
		if !documented[r] {
			missing = append(missing, r+"  (route template "+tmpl+")")
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("docs/API.md does not document %s", m)
	}
	var stale []string
	for r := range documented {
		if served[r] == "" {
			stale = append(stale, r)
		}
	}
	slices.Sort(stale)
	for _, r := range stale {
		t.Errorf("docs/API.md documents %s, which the router does not serve", r)
	}
}
