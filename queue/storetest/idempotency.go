// Idempotency keys: a submission retried with the key of one already stored (a client whose
// answer was lost) gets that job back, and nothing else is stored.
package storetest

import (
	"sync"
	"testing"

	"github.com/printgate/printgate/job"
)

// testIdempotentRetry: a retry with the same key returns the first job, its own document
// discarded; the key still holds after a reopen; another key, or none, makes a new job.
func testIdempotentRetry(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	nj := job.NewJob{VirtualPrinter: "letters", Name: "letter", Origin: "api", IdempotencyKey: "client-1/letter.pdf/7f3a"}
	first, err := f.s.Submit(f.ctx, nj, []*job.Staged{f.stage(letter(1))})
	if err != nil {
		t.Fatal(err)
	}
	docs := f.documents()
	// The retry carries the same bytes (and here a large document, which a driver keeps in a
	// file until its commit): it must leave nothing behind.
	again, err := f.s.Submit(f.ctx, nj, []*job.Staged{f.stage(bigDocument())})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.UUID != first.UUID {
		t.Fatalf("retry with the same key made job %d (%s), want job %d (%s) again", again.ID, again.UUID, first.ID, first.UUID)
	}
	if len(again.Documents) != 1 || again.Documents[0].SHA256 != sum(letter(1)) {
		t.Errorf("retry returned documents %+v, want the first submission's", again.Documents)
	}
	if n := f.documents(); n != docs {
		t.Errorf("%d documents stored after the retry, want %d (the retry's own discarded)", n, docs)
	}
	f.reopen()
	third, err := f.s.Submit(f.ctx, nj, []*job.Staged{f.stage(letter(1))})
	if err != nil {
		t.Fatal(err)
	}
	if third.ID != first.ID {
		t.Fatalf("retry after a reopen made job %d, want %d", third.ID, first.ID)
	}
	other := nj
	other.IdempotencyKey = "client-1/letter.pdf/8b2c"
	if j, err := f.s.Submit(f.ctx, other, []*job.Staged{f.stage(letter(1))}); err != nil || j.ID == first.ID {
		t.Fatalf("another key: job %v (%v), want a new job", j, err)
	}
	none := nj
	none.IdempotencyKey = ""
	for range 2 {
		if j, err := f.s.Submit(f.ctx, none, []*job.Staged{f.stage(letter(1))}); err != nil || j.ID == first.ID {
			t.Fatalf("no key: job %v (%v), want a new job each time", j, err)
		}
	}
	if n, err := f.s.CountJobs(f.ctx, job.JobFilter{}); err != nil || n != 4 {
		t.Fatalf("%d jobs (%v), want 4: one per key and one per keyless submission", n, err)
	}
}

// testIdempotentConcurrentRetries: tries of one submission racing each other all get the one
// job.
func testIdempotentConcurrentRetries(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	nj := job.NewJob{VirtualPrinter: "letters", Name: "letter", Origin: "api", IdempotencyKey: "racing"}
	const tries = 8
	ids := make([]int64, tries)
	var wg sync.WaitGroup
	for i := range tries {
		st := f.stage(letter(2))
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := f.s.Submit(f.ctx, nj, []*job.Staged{st})
			if err != nil {
				t.Errorf("try %d: %v", i, err)
				return
			}
			ids[i] = j.ID
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id != ids[0] {
			t.Fatalf("try %d got job %d, try 0 job %d: one submission, one job", i, id, ids[0])
		}
	}
	if n, _ := f.s.CountJobs(f.ctx, job.JobFilter{}); n != 1 {
		t.Fatalf("%d jobs stored, want 1", n)
	}
	if n := f.documents(); n != 1 {
		t.Errorf("%d documents stored, want 1", n)
	}
}

// testIdempotentCreateRun: a retried CreateRun with the same key gets the first run back, even
// after its letters arrived and after a reopen; another key makes another run.
func testIdempotentCreateRun(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	nr := job.NewRun{Name: "december", VirtualPrinter: "letters", Owner: "mailroom", IdempotencyKey: "cli-run-1"}
	first, err := f.s.CreateRun(f.ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddLetters(f.ctx, first.ID, 1, f.stageLetters(1, 2)); err != nil {
		t.Fatal(err)
	}
	again, err := f.s.CreateRun(f.ctx, nr)
	if err != nil {
		t.Fatal(err)
	}
	if again.ID != first.ID || again.Letters != 2 {
		t.Fatalf("retried CreateRun: run %d with %d letters, want run %d with its 2", again.ID, again.Letters, first.ID)
	}
	other := nr
	other.IdempotencyKey = "cli-run-2"
	if r, err := f.s.CreateRun(f.ctx, other); err != nil || r.ID == first.ID {
		t.Fatalf("another key: %v (%v), want a new run", r, err)
	}
	if runs, err := f.s.Runs(f.ctx, job.RunFilter{}); err != nil || len(runs) != 2 {
		t.Fatalf("%d runs (%v), want 2", len(runs), err)
	}
}
