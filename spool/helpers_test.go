// Shared fixtures for the spool tests of the SQLite driver's own internals (files, inline
// documents, group commit, disk budget): a store in its own temp dir, staging helpers and a way
// to walk a job into any state through legal transitions only. The behaviour every driver shares
// is tested through queue.Store by the drivers' suite (queue/storetest; TestStore runs it here).
package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/printgate/printgate/job"
)

// quietLogger drops log output so test failures stay readable.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// openStore opens a store in a fresh temp dir; opts.Dir, when empty, is set to it. The store is
// closed in t.Cleanup (closing twice is harmless).
func openStore(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// reopen closes s and opens its directory again with the same options, running recovery.
func reopen(t testing.TB, s *Store) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return openStore(t, s.opts)
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stage stages data and fails the test on error.
func stage(t testing.TB, s *Store, data []byte) *job.Staged {
	t.Helper()
	st, err := s.Stage(context.Background(), bytes.NewReader(data), "doc", "application/pdf")
	if err != nil {
		t.Fatalf("Stage: %v", err)
	}
	return st
}

// submit stores a one-document job with data and returns it.
func submit(t testing.TB, s *Store, data []byte) *job.Job {
	t.Helper()
	j, err := s.Submit(context.Background(), job.NewJob{VirtualPrinter: "letters", Name: "letter", Origin: "test"},
		[]*job.Staged{stage(t, s, data)})
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	return j
}

// pathTo lists the legal moves that bring a pending job into each state.
var pathTo = map[job.State][]job.State{
	job.StatePending:   nil,
	job.StateHeld:      {job.StateHeld},
	job.StateAssigned:  {job.StateAssigned},
	job.StateSending:   {job.StateAssigned, job.StateSending},
	job.StatePrinting:  {job.StateAssigned, job.StateSending, job.StatePrinting},
	job.StateCompleted: {job.StateAssigned, job.StateSending, job.StatePrinting, job.StateCompleted},
	job.StateCanceled:  {job.StateCanceled},
	job.StateAborted:   {job.StateAborted},
}

// jobIn creates a job in state st (received: Create without documents; the others: Submit
// and legal transitions), with printer "p1" set when it is bound to one.
func jobIn(t testing.TB, s *Store, st job.State, data []byte) *job.Job {
	t.Helper()
	ctx := context.Background()
	if st == job.StateReceived {
		c, err := s.Create(ctx, job.NewJob{VirtualPrinter: "letters", Name: "created", Origin: "test"})
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		j, err := s.Job(ctx, c.ID)
		if err != nil {
			t.Fatalf("Job(%d): %v", c.ID, err)
		}
		return j
	}
	j := submit(t, s, data)
	steps, ok := pathTo[st]
	if !ok {
		t.Fatalf("no path to state %s", st)
	}
	for _, to := range steps {
		c := job.Change{}
		if to == job.StateAssigned {
			p := "p1"
			c.Printer = &p
		}
		if err := s.Transition(ctx, j.ID, to, c); err != nil {
			t.Fatalf("walk job %d to %s: %v", j.ID, to, err)
		}
	}
	got, err := s.Job(ctx, j.ID)
	if err != nil {
		t.Fatalf("Job(%d): %v", j.ID, err)
	}
	if got.State != st {
		t.Fatalf("job %d is %s, want %s", j.ID, got.State, st)
	}
	return got
}

// jobEvents returns every event of one job, oldest first.
func jobEvents(t testing.TB, s *Store, id int64) []job.Event {
	t.Helper()
	evs, err := s.Events(context.Background(), job.EventFilter{JobID: id, Limit: 10000})
	if err != nil {
		t.Fatalf("Events(job %d): %v", id, err)
	}
	sort.Slice(evs, func(i, k int) bool { return evs[i].ID < evs[k].ID })
	return evs
}

// dirNames lists the names in dir (none when it does not exist).
func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// docSum is the sha256 of a stored document's bytes, read back through the store (inline or file).
func docSum(t testing.TB, s *Store, d job.Document) string {
	t.Helper()
	b, err := s.DocumentBytes(context.Background(), d)
	if err != nil {
		t.Fatalf("read document %d/%d: %v", d.JobID, d.Seq, err)
	}
	return sum(b)
}

// fileSum is the sha256 of the file at path.
func fileSum(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return sum(b)
}

// letter reads one of the repository's test letters.
func letter(t testing.TB, pages int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "letter-"+string(rune('0'+pages))+"p.pdf"))
	if err != nil {
		t.Fatalf("read test letter: %v", err)
	}
	return b
}
