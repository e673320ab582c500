package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// fakeBulk records what the runs API hands the bulk service; only the calls the tests need do
// anything.
type fakeBulk struct {
	BulkService // unimplemented calls panic

	mu       sync.Mutex
	created  []queue.RunRequest
	uploaded map[int64][]string // run → sources
	bodies   map[string]string  // source → letter content
	letters  []job.Letter
}

func (f *fakeBulk) CreateRun(_ context.Context, rq queue.RunRequest) (*job.Run, error) {
	if strings.TrimSpace(rq.Name) == "" {
		return nil, fmt.Errorf("%w: a run needs a name", queue.ErrBadRun) // as queue.Bulk does
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, rq)
	return &job.Run{ID: int64(len(f.created)), Name: rq.Name, State: job.RunUploading, Owner: rq.Owner}, nil
}

func (f *fakeBulk) UploadLetters(_ context.Context, runID, first int64, src queue.LetterSource) (*job.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if want := int64(len(f.uploaded[runID])) + 1; first != want {
		return nil, &job.SequenceError{RunID: runID, Want: want, Got: first}
	}
	for {
		name, r, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if !bytes.HasPrefix(b, []byte("%PDF")) {
			return nil, fmt.Errorf("%w: %s is not a PDF", queue.ErrBadLetter, name)
		}
		f.uploaded[runID] = append(f.uploaded[runID], name)
		f.bodies[name] = string(b)
	}
	return &job.Run{ID: runID, State: job.RunUploading, Letters: len(f.uploaded[runID])}, nil
}

func (f *fakeBulk) GetRun(_ context.Context, id int64) (*job.Run, error) {
	if id != 1 {
		return nil, fmt.Errorf("run %d: %w", id, job.ErrRunNotFound)
	}
	return &job.Run{ID: 1, Name: "r", State: job.RunActive}, nil
}

func (f *fakeBulk) Manifest(_ context.Context, id int64, fn func(job.Letter) error) error {
	for _, l := range f.letters {
		if err := fn(l); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeBulk) PauseRun(_ context.Context, id int64, actor string) (*job.Run, error) {
	return nil, &job.RunStateError{RunID: id, State: job.RunCompleted, Action: "pause"}
}

type fixedAuth struct{ name string }

func (a fixedAuth) Operator(*http.Request) (string, bool) { return a.name, a.name != "" }

func newRunsServer(t *testing.T, f *fakeBulk, operator string) *Client {
	t.Helper()
	r := mux.NewRouter()
	NewAPI(nil, fixedAuth{operator}, slog.New(slog.NewTextHandler(io.Discard, nil))).RegisterRuns(r, f)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return NewClient(srv.URL, "")
}

func TestRunsAPIUploadsLettersInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &fakeBulk{uploaded: map[int64][]string{}, bodies: map[string]string{}}
	c := newRunsServer(t, f, "mailroom")
	run, err := c.CreateRun(ctx, CreateRunRequest{Name: "shielded", Printer: "letters", At: "2026-12-01T02:00:00+01:00",
		Attributes: RunAttributes{Copies: 2, Sides: "two-sided-long-edge"}})
	if err != nil {
		t.Fatal(err)
	}
	rq := f.created[0]
	if rq.Owner != "mailroom" || rq.Printer != "letters" || rq.Attributes.Copies != 2 ||
		!rq.StartAt.Equal(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("service got %+v", rq)
	}
	dir := t.TempDir()
	var files []LetterFile
	for i := 1; i <= 5; i++ {
		p := filepath.Join(dir, fmt.Sprintf("%d.pdf", i))
		os.WriteFile(p, []byte(fmt.Sprintf("%%PDF-1.4 letter %d", i)), 0o644)
		files = append(files, LetterFile{Source: fmt.Sprintf("letter %d.pdf", i), Path: p})
	}
	var sent int64
	ans, err := c.UploadLetters(ctx, run.ID, 1, files[:3], func(n int64) { sent += n })
	if err != nil {
		t.Fatal(err)
	}
	if ans.Next != 4 || sent != int64(3*len("%PDF-1.4 letter 1")) {
		t.Fatalf("next %d, %d bytes reported sent", ans.Next, sent)
	}
	// A retried batch is refused with the number the gateway expects.
	_, err = c.UploadLetters(ctx, run.ID, 1, files[:3], nil)
	var se *SequenceError
	if !errors.As(err, &se) || se.Next != 4 || se.Status != http.StatusConflict {
		t.Fatalf("retried batch: %v, want SequenceError next 4", err)
	}
	if _, err := c.UploadLetters(ctx, run.ID, 4, files[3:], nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.uploaded[run.ID], ","); got != "letter 1.pdf,letter 2.pdf,letter 3.pdf,letter 4.pdf,letter 5.pdf" {
		t.Fatalf("letters in order %s", got)
	}
	if f.bodies["letter 4.pdf"] != "%PDF-1.4 letter 4" {
		t.Fatalf("letter 4 arrived as %q", f.bodies["letter 4.pdf"])
	}
	// A bad letter is a 422 naming it.
	bad := filepath.Join(dir, "bad.pdf")
	os.WriteFile(bad, []byte("hello"), 0o644)
	_, err = c.UploadLetters(ctx, run.ID, 6, []LetterFile{{Source: "bad.pdf", Path: bad}}, nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusUnprocessableEntity || !strings.Contains(ae.Msg, "bad.pdf") {
		t.Fatalf("bad letter: %v", err)
	}
}

func TestRunsAPIRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := &fakeBulk{uploaded: map[int64][]string{}, bodies: map[string]string{}}
	c := newRunsServer(t, f, "op")
	for _, tc := range []struct {
		name, method, path, ct, body string
		status                       int
	}{
		{"no name", "POST", "/api/v1/runs", "application/json", `{"printer":"letters"}`, 400},
		{"empty name", "POST", "/api/v1/runs", "application/json", `{"name":" "}`, 400},
		{"bad time", "POST", "/api/v1/runs", "application/json", `{"name":"x","at":"tomorrow"}`, 400},
		{"unknown field", "POST", "/api/v1/runs", "application/json", `{"name":"x","colour":"red"}`, 400},
		{"copies", "POST", "/api/v1/runs", "application/json", `{"name":"x","attributes":{"copies":5000}}`, 400},
		{"not tar", "POST", "/api/v1/runs/1/letters?first=1", "application/pdf", "%PDF", 400},
		{"no first", "POST", "/api/v1/runs/1/letters", LetterArchive, "", 400},
		{"unknown run", "GET", "/api/v1/runs/7/manifest", "", "", 404},
		{"run state", "POST", "/api/v1/runs/1/pause", "", "", 409},
		{"bad ranges", "POST", "/api/v1/runs/1/reprint", "application/json", `{"letters":"9-3"}`, 400},
	} {
		var body io.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		}
		err := c.Do(ctx, tc.method, tc.path, body, tc.ct, nil)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != tc.status {
			t.Errorf("%s: %v, want HTTP %d", tc.name, err, tc.status)
		}
	}
	// Everything needs an operator: letter names are patient data.
	anon := newRunsServer(t, f, "")
	for _, p := range []string{"/api/v1/runs", "/api/v1/runs/1", "/api/v1/runs/1/manifest", "/api/v1/runs/schedules"} {
		var ae *APIError
		if err := anon.Do(ctx, "GET", p, nil, "", nil); !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized {
			t.Errorf("anonymous GET %s: %v, want 401", p, err)
		}
	}
}

func TestRunsAPIManifestStreams(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC)
	f := &fakeBulk{letters: []job.Letter{
		{JobID: 10, Seq: 1, Source: "a, \"quoted\".pdf", Pages: 2, SHA256: "aa", State: job.StateCompleted, Printer: "p1",
			UpstreamID: "u1", Created: at, Started: at, Finished: at},
		{JobID: 11, Seq: 2, Source: "b.pdf", Pages: 1, SHA256: "bb", State: job.StateCompleted, Printer: "p2",
			PossibleDuplicate: true, Attempts: 1, Created: at,
			Evidence:         &job.Evidence{Printer: "p2", Before: 7, Pages: 1, After: 8},
			DuplicatePrinter: "p3", Decision: job.DecisionPrintedTwice, DecidedBy: "alice", DecidedAt: at},
		{JobID: 12, Seq: 2, Source: "b.pdf", Pages: 1, SHA256: "bb", State: job.StatePending, Reprint: true, Created: at},
	}}
	c := newRunsServer(t, f, "op")
	run, letters, err := c.Manifest(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID != 1 || len(letters) != 3 || letters[1].Printer != "p2" || !letters[2].Reprint {
		t.Fatalf("JSON manifest: run %+v, letters %+v", run, letters)
	}
	var csv bytes.Buffer
	if err := c.WriteManifest(ctx, 1, true, &csv); err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{
		strings.Join(ManifestColumns, ","),
		`1,"a, ""quoted"".pdf",2,aa,p1,u1,completed,0,2026-12-01T02:00:00Z,2026-12-01T02:00:00Z,2026-12-01T02:00:00Z,,10,,,,,,,`,
		`2,b.pdf,1,bb,p2,,completed,1,2026-12-01T02:00:00Z,,,possible-duplicate;retried,11,p2,7,8,p3,printed-twice,alice,2026-12-01T02:00:00Z`,
		`2,b.pdf,1,bb,,,pending,0,2026-12-01T02:00:00Z,,,reprint,12,,,,,,,`,
	}, "\n") + "\n"
	if csv.String() != want {
		t.Fatalf("CSV manifest:\n%s\nwant:\n%s", csv.String(), want)
	}
}
