// Client methods of the bulk-run API: create a run, stream its letters as tar batches, commit,
// control it, read its manifest, and manage cron schedules.
package ui

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// SequenceError: the gateway expected the batch to start at Next (a retried batch that was
// already registered, or a lost one).
type SequenceError struct {
	APIError
	Next int64
}

func (e *SequenceError) Error() string {
	return fmt.Sprintf("%s; the gateway expects letter %d next", e.APIError.Error(), e.Next)
}

// postJSON posts v as JSON and decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, path string, v, out any) error {
	var body io.Reader
	ct := ""
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("client: encode %s: %w", path, err)
		}
		body, ct = bytes.NewReader(b), "application/json"
	}
	return c.Do(ctx, http.MethodPost, path, body, ct, out)
}

// CreateRun registers a run; its letters follow with UploadLetters, then CommitRun.
func (c *Client) CreateRun(ctx context.Context, rq CreateRunRequest) (*job.Run, error) {
	var r job.Run
	if err := c.postJSON(ctx, "/api/v1/runs", rq, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LetterFile is one letter to upload: its file and the source name the manifest shows.
type LetterFile struct {
	Source string
	Path   string
}

// countingWriter reports bytes as they are written.
type countingWriter struct {
	w        io.Writer
	progress func(int64)
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	if cw.progress != nil && n > 0 {
		cw.progress(int64(n))
	}
	return n, err
}

// UploadLetters streams letters to run runID as one batch (a tar stream, never held in memory)
// registered as sequence numbers first, first+1, ... progress, when not nil, is called with the
// bytes of letter data sent.
func (c *Client) UploadLetters(ctx context.Context, runID, first int64, letters []LetterFile, progress func(int64)) (*UploadAnswer, error) {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := func() error {
			for _, l := range letters {
				f, err := os.Open(l.Path)
				if err != nil {
					return err
				}
				fi, err := f.Stat()
				if err != nil {
					f.Close()
					return err
				}
				hdr := &tar.Header{Typeflag: tar.TypeReg, Name: l.Source, Size: fi.Size(), Mode: 0o644, ModTime: fi.ModTime()}
				if err := tw.WriteHeader(hdr); err != nil {
					f.Close()
					return err
				}
				_, err = io.Copy(&countingWriter{w: tw, progress: progress}, f)
				f.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", l.Path, err)
				}
			}
			return tw.Close()
		}()
		pw.CloseWithError(err)
	}()
	path := fmt.Sprintf("/api/v1/runs/%d/letters?first=%d", runID, first)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Base+path, pr)
	if err != nil {
		pr.CloseWithError(err)
		return nil, fmt.Errorf("client: upload letters: %w", err)
	}
	req.Header.Set("Content-Type", LetterArchive)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	// Whatever happened, stop the writer (a refused batch is answered before it is read).
	pr.CloseWithError(errors.New("client: upload ended"))
	if err != nil {
		return nil, fmt.Errorf("client: upload letters %d-%d: %w", first, first+int64(len(letters))-1, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("client: upload letters: read answer: %w", err)
	}
	if resp.StatusCode >= 300 {
		var se sequenceError
		if json.Unmarshal(data, &se) == nil && se.Code == "sequence" {
			return nil, &SequenceError{APIError: APIError{Status: resp.StatusCode, Code: se.Code, Msg: se.Error}, Next: se.Next}
		}
		if se.Error != "" {
			return nil, &APIError{Status: resp.StatusCode, Code: se.Code, Msg: se.Error}
		}
		return nil, &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
	}
	var ans UploadAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("client: upload letters: decode answer: %w", err)
	}
	return &ans, nil
}

// CommitRun makes an uploaded run schedulable (or scheduled).
func (c *Client) CommitRun(ctx context.Context, id int64) (*job.Run, error) {
	var r job.Run
	if err := c.postJSON(ctx, fmt.Sprintf("/api/v1/runs/%d/commit", id), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Runs lists runs with their progress; query: state=, limit=, before=.
func (c *Client) Runs(ctx context.Context, query url.Values) ([]*queue.RunStatus, error) {
	var out struct {
		Runs []*queue.RunStatus `json:"runs"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/runs?"+query.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return out.Runs, nil
}

// RunStatus returns a run with its per-printer progress and ETA.
func (c *Client) RunStatus(ctx context.Context, id int64) (*queue.RunStatus, error) {
	var st queue.RunStatus
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/runs/%d", id), nil, "", &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// RunAction pauses, resumes or cancels a run.
func (c *Client) RunAction(ctx context.Context, id int64, action string) (*job.Run, error) {
	var r job.Run
	if err := c.postJSON(ctx, fmt.Sprintf("/api/v1/runs/%d/%s", id, url.PathEscape(action)), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Reprint queues new jobs for letters ("120-130,200") of a run.
func (c *Client) Reprint(ctx context.Context, id int64, letters string) ([]*job.Job, error) {
	var out struct {
		Jobs []*job.Job `json:"jobs"`
	}
	if err := c.postJSON(ctx, fmt.Sprintf("/api/v1/runs/%d/reprint", id), ReprintRequest{Letters: letters}, &out); err != nil {
		return nil, err
	}
	return out.Jobs, nil
}

// WriteManifest copies a run's manifest (CSV, or JSON) to w as it streams in.
func (c *Client) WriteManifest(ctx context.Context, id int64, csv bool, w io.Writer) error {
	path := fmt.Sprintf("/api/v1/runs/%d/manifest", id)
	if csv {
		path += "?format=csv"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Base+path, nil)
	if err != nil {
		return fmt.Errorf("client: manifest: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("client: manifest: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
		var ae apiError
		if json.Unmarshal(data, &ae) == nil && ae.Error != "" {
			return &APIError{Status: resp.StatusCode, Code: ae.Code, Msg: ae.Error}
		}
		return &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fmt.Errorf("client: manifest: %w", err)
	}
	return nil
}

// Manifest reads a run's whole manifest.
func (c *Client) Manifest(ctx context.Context, id int64) (*job.Run, []job.Letter, error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		err := c.WriteManifest(ctx, id, false, pw)
		pw.CloseWithError(err)
		errc <- err
	}()
	var out struct {
		Run     *job.Run     `json:"run"`
		Letters []job.Letter `json:"letters"`
	}
	derr := json.NewDecoder(pr).Decode(&out)
	pr.Close()
	if err := <-errc; err != nil {
		return nil, nil, err
	}
	if derr != nil {
		return nil, nil, fmt.Errorf("client: manifest: decode: %w", derr)
	}
	return out.Run, out.Letters, nil
}

// CreateSchedule persists a cron schedule reading a drop folder on the gateway host.
func (c *Client) CreateSchedule(ctx context.Context, rq CreateScheduleRequest) (*queue.ScheduleInfo, error) {
	var sc queue.ScheduleInfo
	if err := c.postJSON(ctx, "/api/v1/runs/schedules", rq, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

// Schedules lists the cron schedules with their next firings.
func (c *Client) Schedules(ctx context.Context) ([]queue.ScheduleInfo, error) {
	var out struct {
		Schedules []queue.ScheduleInfo `json:"schedules"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/runs/schedules", nil, "", &out); err != nil {
		return nil, err
	}
	return out.Schedules, nil
}

// DeleteSchedule stops a schedule.
func (c *Client) DeleteSchedule(ctx context.Context, id int64) error {
	return c.Do(ctx, http.MethodDelete, fmt.Sprintf("/api/v1/runs/schedules/%d", id), nil, "", nil)
}
