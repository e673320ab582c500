// Requests no API route takes are answered in the API's own JSON error format.
package ui

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestAPIUnknownRouteAndMethodAnswerJSON(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	c := g.client()
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	tests := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{"GET", "/api/v1/nope", 404, "not-found", ""},
		{"GET", "/api/v1", 404, "not-found", ""},
		{"GET", "/api/v1/jobs/abc", 404, "not-found", ""},
		{"GET", "/api/v1/runs/nope", 404, "not-found", ""},
		{"DELETE", "/api/v1/jobs/1", 405, "method-not-allowed", "GET"},
		{"GET", "/api/v1/jobs/1/cancel", 405, "method-not-allowed", "POST"},
		{"PUT", "/api/v1/jobs", 405, "method-not-allowed", "GET, POST"},
		{"POST", "/api/v1/printers", 405, "method-not-allowed", "GET"},
		{"POST", "/api/v1/events/stream", 405, "method-not-allowed", "GET"},
		{"GET", "/api/v1/runs/schedules/1", 405, "method-not-allowed", "DELETE"},
		{"DELETE", "/api/v1/runs", 405, "method-not-allowed", "GET, POST"},
		// Routes that exist still answer.
		{"GET", "/api/v1/runs", 200, "", ""},
		{"GET", "/api/v1/jobs", 200, "", ""},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, g.srv.URL+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range auth {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body apiError
		derr := json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
			continue
		}
		if tt.code == "" {
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" || derr != nil || body.Code != tt.code || body.Error == "" {
			t.Errorf("%s %s: %s %+v (%v), want JSON code %q", tt.method, tt.path, ct, body, derr, tt.code)
		}
		if got := resp.Header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

// A health check that asks with HEAD (HAProxy's "option httpchk HEAD /healthz", many
// monitoring probes) gets the status GET gets, without the body; other methods are refused.
func TestHealthzAnswersGetAndHead(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{})
	c := g.client()
	status, body := g.do(c, http.MethodGet, "/healthz", "", nil)
	var got map[string]string
	if err := json.Unmarshal([]byte(body), &got); status != http.StatusOK || err != nil || got["status"] != "ok" {
		t.Fatalf("GET /healthz: %d %q (%v), want 200 {\"status\":\"ok\"}", status, body, err)
	}
	if status, body := g.do(c, http.MethodHead, "/healthz", "", nil); status != http.StatusOK || body != "" {
		t.Errorf("HEAD /healthz: %d %q, want 200 and no body", status, body)
	}
	if status, _ := g.do(c, http.MethodPost, "/healthz", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d, want 405", status)
	}
}
