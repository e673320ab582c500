package spool

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// TestGroupCommitIsolatesFailures holds the committer so that a set of writes is queued, then
// lets them commit as one batch: the ones that fail (an illegal transition, a write that errors
// after inserting a row) leave no trace, and the others commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	ctx := context.Background()
	done := jobIn(t, s, job.StateCompleted, letter(t, 1))
	staged := make([]*job.Staged, 6)
	for i := range staged {
		staged[i] = stage(t, s, []byte(fmt.Sprintf("letter %d", i)))
	}

	started, release := make(chan struct{}), make(chan struct{})
	blockerErr := make(chan error, 1)
	go func() {
		blockerErr <- s.write(ctx, func(*sql.Tx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started

	var wg sync.WaitGroup
	var mu sync.Mutex
	txs := map[*sql.Tx]bool{}
	record := func(tx *sql.Tx) error {
		mu.Lock()
		txs[tx] = true
		mu.Unlock()
		return nil
	}
	ids := make([]int64, len(staged))
	errs := make([]error, len(staged))
	for i, st := range staged {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: "letters"}, []*job.Staged{st})
			if err == nil {
				ids[i] = j.ID
			}
			errs[i] = err
		}()
	}
	boom := errors.New("boom")
	var failErr, illegalErr, rec1, rec2 error
	wg.Add(4)
	go func() {
		defer wg.Done()
		failErr = s.write(ctx, func(tx *sql.Tx) error {
			record(tx)
			if _, err := tx.Exec(`INSERT INTO events (at, kind, message) VALUES (1, 'test', 'doomed')`); err != nil {
				return err
			}
			return boom
		})
	}()
	go func() {
		defer wg.Done()
		illegalErr = s.Transition(ctx, done.ID, job.StateSending, job.Change{})
	}()
	go func() { defer wg.Done(); rec1 = s.write(ctx, record) }()
	go func() { defer wg.Done(); rec2 = s.write(ctx, record) }()

	// Wait (bounded) until all ten writes are queued behind the blocker, then let them go.
	deadline := time.Now().Add(10 * time.Second)
	for len(s.writes) < len(staged)+4 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d writes queued", len(s.writes))
		}
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if err := <-blockerErr; err != nil {
		t.Fatal(err)
	}

	if len(txs) != 1 {
		t.Fatalf("the queued writes ran in %d transactions, want one shared batch", len(txs))
	}
	if !errors.Is(failErr, boom) {
		t.Errorf("failing write: err %v, want boom", failErr)
	}
	var te *job.TransitionError
	if !errors.As(illegalErr, &te) {
		t.Errorf("illegal transition in a batch: err %v", illegalErr)
	}
	if rec1 != nil || rec2 != nil {
		t.Errorf("successful writes reported %v, %v", rec1, rec2)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Submit %d in the batch failed: %v", i, err)
		}
		j, err := s.Job(ctx, ids[i])
		if err != nil || j.State != job.StatePending || j.SHA256() != sum([]byte(fmt.Sprintf("letter %d", i))) {
			t.Errorf("job of Submit %d: %+v, %v", i, j, err)
		}
	}
	if evs, _ := s.Events(ctx, job.EventFilter{Kinds: []string{"test"}}); len(evs) != 0 {
		t.Errorf("the failed write's row was committed: %+v", evs)
	}
	if got, _ := s.Job(ctx, done.ID); got.State != job.StateCompleted || len(jobEvents(t, s, done.ID)) != 5 {
		t.Errorf("refused transition changed the job: %+v", got)
	}
}

// TestWriteAfterClose: a closed store refuses writes instead of hanging.
func TestWriteAfterClose(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	j := submit(t, s, letter(t, 1))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Transition(context.Background(), j.ID, job.StateHeld, job.Change{}); !errors.Is(err, job.ErrClosed) {
		t.Fatalf("Transition after Close: err %v, want ErrClosed", err)
	}
}

// TestWriterKeepsStatementJournalInMemory: the savepoint of every write in a group commit must
// not spill its statement journal to a temporary file (see writerConnector).
func TestWriterKeepsStatementJournalInMemory(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{})
	var mode int
	if err := s.wdb.QueryRow(`PRAGMA temp_store`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 2 {
		t.Fatalf("writer temp_store = %d, want 2 (MEMORY)", mode)
	}
}

// TestUnsyncableDocumentFailsOnlyItsJob: a staged document that cannot be fsynced at commit time
// (here: its file vanished) fails its own submission, with no job row, while the submissions
// sharing the group commit still commit.
func TestUnsyncableDocumentFailsOnlyItsJob(t *testing.T) {
	s := openStore(t, Options{InlineMaxBytes: -1}) // every document in a file

	ctx := context.Background()
	before, err := s.CountJobs(ctx, job.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	bad := stage(t, s, []byte("%PDF-1.4 doomed"))
	if err := os.Remove(heldOf(bad).abs); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 9)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := bad
			if i > 0 {
				st = stage(t, s, []byte(fmt.Sprintf("%%PDF-1.4 good %d", i)))
			}
			_, errs[i] = s.Submit(ctx, job.NewJob{VirtualPrinter: "letters", Origin: "test"}, []*job.Staged{st})
		}()
	}
	wg.Wait()
	if errs[0] == nil || !strings.Contains(errs[0].Error(), "fsync document") {
		t.Errorf("submission of the vanished document: err %v, want an fsync error", errs[0])
	}
	for i, err := range errs[1:] {
		if err != nil {
			t.Errorf("good submission %d: %v", i+1, err)
		}
	}
	after, err := s.CountJobs(ctx, job.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if after-before != len(errs)-1 {
		t.Errorf("%d jobs stored, want %d", after-before, len(errs)-1)
	}
}
