// The duplicate review for the CLI.
package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"github.com/printgate/printgate/job"
)

// Duplicates lists possible duplicates (q: run, undecided, limit).
func (c *Client) Duplicates(ctx context.Context, q url.Values) ([]job.Duplicate, error) {
	var out []job.Duplicate
	if err := c.Do(ctx, http.MethodGet, "/api/v1/duplicates?"+q.Encode(), nil, "", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// DecideDuplicate records an operator's decision on job id.
func (c *Client) DecideDuplicate(ctx context.Context, id int64, decision, note string) (*job.Duplicate, error) {
	b, err := json.Marshal(DecisionRequest{Decision: decision, Note: note})
	if err != nil {
		return nil, err
	}
	var d job.Duplicate
	if err := c.Do(ctx, http.MethodPost, fmt.Sprintf("/api/v1/jobs/%d/duplicate", id), bytes.NewReader(b), "application/json", &d); err != nil {
		return nil, err
	}
	return &d, nil
}
