package ui

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIIdempotencyKeys: POST /api/v1/jobs with the Idempotency-Key of a job already stored
// answers that job, and POST /api/v1/runs with the idempotency_key of a run already made
// answers that run; a key that is too long is refused.
func TestAPIIdempotencyKeys(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{})
	c := g.client()
	auth := map[string]string{"Authorization": "Bearer " + testToken}
	submit := func(key string) (int, int64) {
		hdr := map[string]string{"Content-Type": "application/pdf", "Idempotency-Key": key}
		status, body := g.do(c, http.MethodPost, "/api/v1/jobs?printer=letters&name=l", "%PDF-1.4 retried letter", hdr)
		var j struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal([]byte(body), &j)
		return status, j.ID
	}
	s1, id1 := submit("k-1")
	s2, id2 := submit("k-1")
	s3, id3 := submit("k-2")
	if s1 != http.StatusCreated || s2 != http.StatusCreated || s3 != http.StatusCreated || id1 == 0 || id2 != id1 || id3 == id1 {
		t.Fatalf("submissions k-1, k-1, k-2: %d/%d %d/%d %d/%d; want the same job twice, then another", s1, id1, s2, id2, s3, id3)
	}
	if s, _ := submit(strings.Repeat("k", 201)); s != http.StatusBadRequest {
		t.Errorf("a 201-character key: %d, want 400", s)
	}
	create := func(key string) int64 {
		hdr := map[string]string{"Content-Type": "application/json", "Authorization": auth["Authorization"]}
		status, body := g.do(c, http.MethodPost, "/api/v1/runs", `{"name":"flu","printer":"letters","idempotency_key":"`+key+`"}`, hdr)
		if status != http.StatusCreated {
			t.Fatalf("create run: %d %s", status, body)
		}
		var r struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal([]byte(body), &r)
		return r.ID
	}
	if a, b, other := create("r-1"), create("r-1"), create("r-2"); a == 0 || a != b || other == a {
		t.Fatalf("runs for keys r-1, r-1, r-2: %d %d %d; want the same run twice, then another", a, b, other)
	}
}
