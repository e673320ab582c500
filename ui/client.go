// Client is the Go client of the JSON API, used by the printgate CLI.
package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// Client talks to a running gateway.
type Client struct {
	// Base is the gateway's URL, e.g. http://127.0.0.1:8631.
	Base  string
	Token string
	HTTP  *http.Client
}

// NewClient returns a client for base with an optional API token.
func NewClient(base, token string) *Client {
	return &Client{Base: strings.TrimRight(base, "/"), Token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}
}

// APIError is an error answer from the gateway.
type APIError struct {
	Status int
	Code   string
	Msg    string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("gateway: %s (HTTP %d %s)", e.Msg, e.Status, e.Code)
}

// Do sends a request and decodes a JSON answer into out (when not nil).
func (c *Client) Do(ctx context.Context, method, path string, body io.Reader, contentType string, out any) error {
	return c.do(ctx, method, path, body, contentType, nil, out)
}

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, contentType string, header http.Header, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, body)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("client: %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var ae apiError
		if json.Unmarshal(data, &ae) == nil && ae.Error != "" {
			return &APIError{Status: resp.StatusCode, Code: ae.Code, Msg: ae.Error}
		}
		return &APIError{Status: resp.StatusCode, Msg: strings.TrimSpace(string(data))}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("client: %s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// SubmitOptions are the job parameters of SubmitFile.
type SubmitOptions struct {
	Printer string
	Name    string
	Owner   string
	Copies  int
	Sides   string
	Media   string
	// IdempotencyKey names the submission (the Idempotency-Key header): a retry with the
	// same key gets the job the first try stored, never a second one.
	IdempotencyKey string
}

// SubmitFile uploads one document as a new job.
func (c *Client) SubmitFile(ctx context.Context, path string, o SubmitOptions) (*job.Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("client: submit: %w", err)
	}
	defer f.Close()
	if o.Name == "" {
		o.Name = filepath.Base(path)
	}
	return c.Submit(ctx, f, o)
}

// Submit uploads r as a new job.
func (c *Client) Submit(ctx context.Context, r io.Reader, o SubmitOptions) (*job.Job, error) {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("printer", o.Printer)
	set("name", o.Name)
	set("owner", o.Owner)
	set("sides", o.Sides)
	set("media", o.Media)
	if o.Copies > 0 {
		q.Set("copies", fmt.Sprint(o.Copies))
	}
	var h http.Header
	if o.IdempotencyKey != "" {
		h = http.Header{"Idempotency-Key": {o.IdempotencyKey}}
	}
	var j job.Job
	if err := c.do(ctx, http.MethodPost, "/api/v1/jobs?"+q.Encode(), r, "application/octet-stream", h, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Job fetches one job.
func (c *Client) Job(ctx context.Context, id int64) (*job.Job, error) {
	var j job.Job
	if err := c.Do(ctx, http.MethodGet, fmt.Sprintf("/api/v1/jobs/%d", id), nil, "", &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Jobs lists jobs; query is the URL query (state=, printer=, limit=, ...).
func (c *Client) Jobs(ctx context.Context, query url.Values) ([]*job.Job, error) {
	var out struct {
		Jobs []*job.Job `json:"jobs"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/jobs?"+query.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return out.Jobs, nil
}

// JobAction posts cancel, hold, release (and later actions) for a job.
// Purge removes the documents of every finished job now.
func (c *Client) Purge(ctx context.Context) (PurgeResult, error) {
	var out PurgeResult
	err := c.Do(ctx, http.MethodPost, "/api/v1/jobs/purge", nil, "", &out)
	return out, err
}

func (c *Client) JobAction(ctx context.Context, id int64, action string, body any) (*job.Job, error) {
	var rd io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd, ct = bytes.NewReader(b), "application/json"
	}
	var j job.Job
	if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/%s", id, action), rd, ct, &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Printers lists the physical printers.
func (c *Client) Printers(ctx context.Context) ([]queue.PrinterInfo, error) {
	var out struct {
		Printers []queue.PrinterInfo `json:"printers"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/printers", nil, "", &out); err != nil {
		return nil, err
	}
	return out.Printers, nil
}

// PrinterAction posts drain or resume for a printer.
func (c *Client) PrinterAction(ctx context.Context, name, action string) (*queue.PrinterInfo, error) {
	var p queue.PrinterInfo
	if err := c.Do(ctx, http.MethodPost, "/api/v1/printers/"+url.PathEscape(name)+"/"+action, nil, "", &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// VirtualPrinters lists the virtual printers with their queue depth.
func (c *Client) VirtualPrinters(ctx context.Context) ([]VirtualView, error) {
	var out struct {
		Virtual []VirtualView `json:"virtual_printers"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/virtual-printers", nil, "", &out); err != nil {
		return nil, err
	}
	return out.Virtual, nil
}

// Events lists events; query as for Jobs.
func (c *Client) Events(ctx context.Context, query url.Values) ([]job.Event, error) {
	var out struct {
		Events []job.Event `json:"events"`
	}
	if err := c.Do(ctx, http.MethodGet, "/api/v1/events?"+query.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return out.Events, nil
}
