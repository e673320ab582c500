//go:build peers || e2e

// What only a shared database has: several gateways on one spool (migrations once, cluster-wide
// ids, recovery of one's own jobs only, claiming that skips a row another gateway holds), and
// documents kept in chunks.
package pgspool_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/pgspool"
)

func ptr[T any](v T) *T { return &v }

// twoGateways opens two stores on one schema as two gateways.
func twoGateways(t *testing.T) (a, b *pgspool.Store, oa, ob pgspool.Options) {
	t.Helper()
	oa = openOptions(t, pgspool.Options{})
	ob = oa
	ob.Gateway = oa.Gateway + "-b"
	return openStore(t, oa), openStore(t, ob), oa, ob
}

func submit(t *testing.T, s *pgspool.Store, data []byte) *job.Job {
	t.Helper()
	ctx := context.Background()
	st, err := s.Stage(ctx, bytes.NewReader(data), "letter.pdf", "application/pdf")
	if err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{st})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// TestMigrationsOnceUnderConcurrentStarts: gateways starting together on an empty database
// apply each migration once (the advisory lock), and all of them start.
func TestMigrationsOnceUnderConcurrentStarts(t *testing.T) {
	t.Parallel()
	base := openOptions(t, pgspool.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 6)
	stores := make([]*pgspool.Store, len(errs))
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := base
			o.Gateway = base.Gateway + "-" + string(rune('a'+i))
			stores[i], errs[i] = pgspool.Open(context.Background(), o)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ctx := context.Background()
	conn := schemaConn(t, base.Schema)
	var rows, distinct int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_version`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct || distinct != pgspool.SchemaVersion() {
		t.Fatalf("schema_version has %d rows for %d versions, want each of the %d once", rows, distinct, pgspool.SchemaVersion())
	}
	for _, s := range stores[1:] {
		if s.ClusterID() != stores[0].ClusterID() || s.ClusterID() == "" {
			t.Fatalf("cluster ids differ: %q and %q", s.ClusterID(), stores[0].ClusterID())
		}
	}
}

// schemaConn is a connection to the test database with search_path set to schema.
func schemaConn(t *testing.T, schema string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, cluster.URL(testDB))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	if _, err := conn.Exec(ctx, `SET search_path TO `+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	return conn
}

// TestSchemaTooNewRefused: a database that a newer gateway migrated in a way this one cannot
// use is refused with ErrSchemaTooNew; one newer but compatible (the rolling upgrade) opens.
func TestSchemaTooNewRefused(t *testing.T) {
	t.Parallel()
	o := openOptions(t, pgspool.Options{})
	s := openStore(t, o)
	s.Close()
	conn := schemaConn(t, o.Schema)
	ctx := context.Background()
	next := pgspool.SchemaVersion() + 1
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, name, applied, gateway, compatible_from)
		VALUES ($1, 'added_by_a_newer_gateway.sql', 0, 'newer', 1)`, next); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, o) // newer, compatible: opens
	s.Close()
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, name, applied, gateway, compatible_from)
		VALUES ($1, 'breaks_old_gateways.sql', 0, 'newer', $1)`, next+1); err != nil {
		t.Fatal(err)
	}
	_, err := pgspool.Open(ctx, o)
	if !errors.Is(err, pgspool.ErrSchemaTooNew) {
		t.Fatalf("Open on an incompatible newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestGatewaysShareJobs: a job stored by one gateway is read (documents too) by another, and
// ids from both come from one sequence.
func TestGatewaysShareJobs(t *testing.T) {
	t.Parallel()
	a, b, _, _ := twoGateways(t)
	ctx := context.Background()
	seen := map[int64]bool{}
	for i := range 10 {
		s := a
		if i%2 == 1 {
			s = b
		}
		j := submit(t, s, []byte("%PDF-1.4 letter "+strings.Repeat("x", i)))
		if seen[j.ID] {
			t.Fatalf("job id %d given twice", j.ID)
		}
		seen[j.ID] = true
		other := b
		if s == b {
			other = a
		}
		got, err := other.Job(ctx, j.ID)
		if err != nil {
			t.Fatalf("job %d from the other gateway: %v", j.ID, err)
		}
		data, err := other.DocumentBytes(ctx, got.Documents[0])
		if err != nil || !bytes.Equal(data, []byte("%PDF-1.4 letter "+strings.Repeat("x", i))) {
			t.Fatalf("job %d document from the other gateway: %q %v", j.ID, data, err)
		}
	}
}

// TestRecoveryTouchesOnlyOwnJobs: a gateway's restart requeues the jobs it was sending and
// leaves another running gateway's alone.
func TestRecoveryTouchesOnlyOwnJobs(t *testing.T) {
	t.Parallel()
	a, b, oa, ob := twoGateways(t)
	ctx := context.Background()
	toSending := func(s *pgspool.Store) int64 {
		j := submit(t, s, []byte("%PDF-1.4 in flight"))
		if err := s.Transition(ctx, j.ID, job.StateAssigned, job.Change{From: []job.State{job.StatePending}, Printer: ptr("p1")}); err != nil {
			t.Fatal(err)
		}
		if err := s.Transition(ctx, j.ID, job.StateSending, job.Change{From: []job.State{job.StateAssigned}}); err != nil {
			t.Fatal(err)
		}
		return j.ID
	}
	ja, jb := toSending(a), toSending(b)
	b.Close()
	b = openStore(t, ob) // b restarts: its own job is requeued
	state := func(id int64) job.State {
		j, err := a.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return j.State
	}
	if st := state(jb); st != job.StatePending {
		t.Errorf("the restarted gateway's sending job is %s, want pending (requeued)", st)
	}
	if st := state(ja); st != job.StateSending {
		t.Errorf("the running gateway's sending job is %s after the other's restart, want sending", st)
	}
	a.Close()
	a = openStore(t, oa)
	if st := state(ja); st != job.StatePending {
		t.Errorf("after its own restart the job is %s, want pending", st)
	}
	_ = b
}

// TestClaimSkipsLockedRow: a scheduler claiming a pending job that another gateway's
// transaction holds is told at once that the state changed (FOR UPDATE SKIP LOCKED), instead
// of waiting for that transaction; once it is gone, the claim goes through.
func TestClaimSkipsLockedRow(t *testing.T) {
	t.Parallel()
	o := openOptions(t, pgspool.Options{})
	s := openStore(t, o)
	ctx := context.Background()
	j := submit(t, s, []byte("%PDF-1.4 claimed"))
	conn := schemaConn(t, o.Schema)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE`, j.ID); err != nil {
		t.Fatal(err)
	}
	claim := job.Change{From: []job.State{job.StatePending}, Printer: ptr("p1")}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err = s.Transition(cctx, j.ID, job.StateAssigned, claim)
	if !errors.Is(err, job.ErrStateChanged) {
		t.Fatalf("claim of a row another transaction holds: %v, want ErrStateChanged", err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(ctx, j.ID, job.StateAssigned, claim); err != nil {
		t.Fatalf("claim once the row is free: %v", err)
	}
}

// TestLargeDocumentInChunks: a document of several chunks is stored as several rows and read
// back whole and from any offset.
func TestLargeDocumentInChunks(t *testing.T) {
	t.Parallel()
	o := openOptions(t, pgspool.Options{})
	s := openStore(t, o)
	ctx := context.Background()
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte(i * 7 % 251)
	}
	j := submit(t, s, data)
	conn := schemaConn(t, o.Schema)
	var chunks, longest int
	if err := conn.QueryRow(ctx, `SELECT count(*), max(length(bytes)) FROM document_chunks WHERE job_id = $1`, j.ID).Scan(&chunks, &longest); err != nil {
		t.Fatal(err)
	}
	if chunks != 13 || longest != 256<<10 {
		t.Fatalf("%d chunks, the longest %d bytes; want 13 of at most 256 KiB", chunks, longest)
	}
	rc, err := s.OpenDocument(ctx, j.Documents[0])
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes (%v), want the %d stored", len(got), err, len(data))
	}
	for _, off := range []int64{0, 1, 256<<10 - 1, 256 << 10, int64(len(data)) - 5} {
		if _, err := rc.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 5)
		if _, err := io.ReadFull(rc, b); err != nil || !bytes.Equal(b, data[off:off+5]) {
			t.Fatalf("at %d: %v %v, want %v", off, b, err, data[off:off+5])
		}
	}
}
