//go:build peers || e2e

package pgspool_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	pgcluster "github.com/printgate/printgate/cluster"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/pgspool"
)

// joinCluster starts a real cluster Coordinator as gateway gw on the schema of o (its
// migration creates cluster_lease_valid there), driving printer p.
func joinCluster(t *testing.T, o pgspool.Options, gw, p string) *pgcluster.Coordinator {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = o.Schema
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	c, err := pgcluster.Start(context.Background(), pgcluster.Options{Pool: pool, Gateway: gw, Printers: []string{p},
		LeasePeriod: 30 * time.Second, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	deadline := time.Now().Add(20 * time.Second)
	for !c.Lease(p).Held {
		if time.Now().After(deadline) {
			t.Fatalf("gateway %s never got the lease of %s", gw, p)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// fenceOf is the fence gateway c's writes at p carry now.
func fenceOf(t *testing.T, c *pgcluster.Coordinator, p string) *job.Fence {
	t.Helper()
	_, epoch, ok := c.Fence(p)
	if !ok || epoch <= 0 {
		t.Fatalf("%s: no lease on %s (epoch %d)", c.Gateway(), p, epoch)
	}
	return &job.Fence{Printer: p, Epoch: epoch}
}

// TestFencedWrites: a state or progress write under a lease fence is made only while the
// writing gateway holds the printer's lease at that epoch, checked in the same statement. A
// write from another gateway, or with the epoch of a lease since taken over, is refused with
// job.ErrFenced (which is also job.ErrStateChanged) and changes nothing, no event either;
// the new holder's writes go through, and writes without a fence are not affected.
func TestFencedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b, oa, ob := twoGateways(t)
	const p = "p1"
	ca := joinCluster(t, oa, oa.Gateway, p)
	fa := fenceOf(t, ca, p)
	j := submit(t, a, []byte("%PDF-1.4 fenced"))

	state := func() (job.State, int, int) {
		t.Helper()
		got, err := a.Job(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := a.Events(ctx, job.EventFilter{JobID: j.ID, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return got.State, got.ImpressionsDone, len(evs)
	}
	refused := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, job.ErrFenced) || !errors.Is(err, job.ErrStateChanged) {
			t.Fatalf("%s: err = %v, want job.ErrFenced (and ErrStateChanged)", what, err)
		}
	}

	// The holder, at its epoch: claimed and sending.
	if err := a.Transition(ctx, j.ID, job.StateAssigned, job.Change{From: []job.State{job.StatePending},
		Printer: ptr(p), Fence: fa}); err != nil {
		t.Fatalf("holder's claim: %v", err)
	}
	// Another gateway, with the holder's very epoch: not its lease.
	_, _, before := state()
	refused("another gateway's write", b.Transition(ctx, j.ID, job.StateSending, job.Change{
		From: []job.State{job.StateAssigned}, Fence: fa}))
	if st, _, n := state(); st != job.StateAssigned || n != before {
		t.Fatalf("after a refused write: state %s, %d events (was %d); want assigned, unchanged", st, n, before)
	}
	if err := a.Transition(ctx, j.ID, job.StateSending, job.Change{From: []job.State{job.StateAssigned}, Fence: fa}); err != nil {
		t.Fatalf("holder's write: %v", err)
	}
	if err := a.Transition(ctx, j.ID, job.StatePrinting, job.Change{From: []job.State{job.StateSending}, Fence: fa}); err != nil {
		t.Fatalf("holder's write: %v", err)
	}
	if err := a.SetProgress(ctx, j.ID, 1, fa); err != nil {
		t.Fatalf("holder's progress: %v", err)
	}

	// Gateway a loses the lease (it leaves; b takes the printer over with a new epoch): what a
	// still tries to record under its old epoch is refused.
	if err := ca.Close(); err != nil {
		t.Fatal(err)
	}
	cb := joinCluster(t, ob, ob.Gateway, p)
	fb := fenceOf(t, cb, p)
	if fb.Epoch <= fa.Epoch {
		t.Fatalf("takeover epoch %d not above %d", fb.Epoch, fa.Epoch)
	}
	_, _, before = state()
	refused("stale epoch", a.Transition(ctx, j.ID, job.StateCompleted, job.Change{From: []job.State{job.StatePrinting}, Fence: fa}))
	refused("stale progress", a.SetProgress(ctx, j.ID, 5, fa))
	// The same gateway as the new holder but with the old epoch: the epoch alone fences too.
	refused("old epoch at the new holder", b.Transition(ctx, j.ID, job.StateCompleted, job.Change{
		From: []job.State{job.StatePrinting}, Fence: fa}))
	if st, imp, n := state(); st != job.StatePrinting || imp != 1 || n != before {
		t.Fatalf("after stale writes: state %s, impressions %d, %d events (was %d); want printing, 1, unchanged", st, imp, n, before)
	}
	// The new holder's state wins.
	if err := b.SetProgress(ctx, j.ID, 3, fb); err != nil {
		t.Fatalf("new holder's progress: %v", err)
	}
	if err := b.Transition(ctx, j.ID, job.StatePending, job.Change{From: []job.State{job.StatePrinting},
		Printer: ptr(""), PossibleDuplicate: true, Fence: fb}); err != nil {
		t.Fatalf("new holder's write: %v", err)
	}
	if st, imp, _ := state(); st != job.StatePending || imp != 3 {
		t.Fatalf("after the new holder's writes: %s, impressions %d; want pending, 3", st, imp)
	}

	// No fence, or epoch 0 (no lease machinery): not checked, whoever writes.
	if err := a.Transition(ctx, j.ID, job.StateHeld, job.Change{From: []job.State{job.StatePending}}); err != nil {
		t.Fatalf("unfenced write: %v", err)
	}
	if err := a.Transition(ctx, j.ID, job.StatePending, job.Change{From: []job.State{job.StateHeld},
		Fence: &job.Fence{Printer: p}}); err != nil {
		t.Fatalf("epoch-0 write: %v", err)
	}
	if err := a.SetProgress(ctx, j.ID, 4, nil); err != nil {
		t.Fatalf("unfenced progress: %v", err)
	}
}
