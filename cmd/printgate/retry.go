// Submitting a file so that a lost answer is retried without printing the letter twice: each
// file gets an idempotency key of its own, and every try of that file sends the same one.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/ui"
)

// retryWait is the pause before the first retry; it doubles each time.
const retryWait = 500 * time.Millisecond

func submitWithRetry(ctx context.Context, c *ui.Client, path string, o ui.SubmitOptions, retries int, stderr io.Writer) (*job.Job, error) {
	key, err := newIdempotencyKey()
	if err != nil {
		return nil, err
	}
	o.IdempotencyKey = key
	wait := retryWait
	for attempt := 0; ; attempt++ {
		j, err := c.SubmitFile(ctx, path, o)
		if err == nil || attempt >= retries || !retryable(err) {
			return j, err
		}
		fmt.Fprintf(stderr, "printgate: submit %s: %v; retrying in %v with the same idempotency key\n", path, err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// retryable: the answer was lost (no HTTP answer at all) or the gateway or the front door
// could not serve now. A refusal (4xx, a full disk) stays a refusal on retry.
func retryable(err error) bool {
	var ae *ui.APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusBadGateway || ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusGatewayTimeout
	}
	var pe *fs.PathError // the file itself: no retry brings it back
	if errors.As(err, &pe) {
		return false
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

func newIdempotencyKey() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("idempotency key: %w", err)
	}
	return "cli-" + hex.EncodeToString(b[:]), nil
}

// createRunWithRetry creates a bulk run with an idempotency key of its own, retrying a lost
// answer with the same key, so that a retry never leaves a second, empty run behind.
func createRunWithRetry(ctx context.Context, c *ui.Client, rq ui.CreateRunRequest, stderr io.Writer) (*job.Run, error) {
	key, err := newIdempotencyKey()
	if err != nil {
		return nil, err
	}
	rq.IdempotencyKey = key
	wait := retryWait
	for attempt := 0; ; attempt++ {
		r, err := c.CreateRun(ctx, rq)
		if err == nil || attempt >= 3 || !retryable(err) {
			return r, err
		}
		fmt.Fprintf(stderr, "printgate: create run %q: %v; retrying in %v with the same idempotency key\n", rq.Name, err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}

// commitWithRetry commits an uploaded run, retrying a lost answer: the gateway answers a
// commit of a run it had committed already with that run, so a retry never registers the
// letters twice and the operator is not told to submit again what will print.
func commitWithRetry(ctx context.Context, c *ui.Client, id int64, stderr io.Writer) (*job.Run, error) {
	wait := retryWait
	for attempt := 0; ; attempt++ {
		r, err := c.CommitRun(ctx, id)
		if err == nil || attempt >= 3 || !retryable(err) {
			return r, err
		}
		fmt.Fprintf(stderr, "printgate: commit run %d: %v; retrying in %v\n", id, err, wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		wait *= 2
	}
}
