// Retention: the documents of jobs finished longer ago than the retention go; their records stay.
package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// testRetention: documents of jobs finished longer ago than the retention are deleted, their
// rows keep hash, size and pages; documents of unfinished or recently finished jobs stay; a
// restart neither resurrects nor trips over deleted documents.
func testRetention(t *testing.T, d Driver) {
	f := open(t, d, Options{Retention: 24 * time.Hour})
	ctx := f.ctx
	clk := f.clock
	doc := letter(2)

	old := map[job.State]*job.Job{}
	for _, st := range []job.State{job.StateCompleted, job.StateCanceled, job.StateAborted} {
		old[st] = f.jobIn(st, doc)
	}
	pending := f.jobIn(job.StatePending, doc)
	printing := f.jobIn(job.StatePrinting, doc)
	held := f.jobIn(job.StateHeld, doc)
	clk.Advance(12 * time.Hour)
	recent := f.jobIn(job.StateCompleted, doc)

	clk.Advance(12*time.Hour - time.Second) // the old ones finished 24h minus 1s ago
	if n, err := f.s.Retention(ctx); err != nil || n != 0 {
		t.Fatalf("Retention before the deadline removed %d (%v)", n, err)
	}
	clk.Advance(2 * time.Second)
	n, err := f.s.Retention(ctx)
	if err != nil || n != 3 {
		t.Fatalf("Retention removed %d documents (%v), want the 3 finished a day ago", n, err)
	}
	for st, j := range old {
		got := f.job(j.ID)
		doc0 := got.Documents[0]
		if got.State != st || doc0.SHA256 != sum(doc) || doc0.Size != int64(len(doc)) || got.Pages != j.Pages {
			t.Errorf("%s job lost its record: %+v", st, got)
		}
		if doc0.Available() || doc0.Path != "" || !doc0.Deleted.Equal(clk.Now()) {
			t.Errorf("%s job document: path %q deleted %v, want none and deleted now", st, doc0.Path, doc0.Deleted)
		}
		if _, err := f.s.DocumentBytes(ctx, doc0); !errors.Is(err, job.ErrNotFound) {
			t.Errorf("%s job document still readable after retention (%v)", st, err)
		}
		if r, err := f.s.OpenDocument(ctx, doc0); !errors.Is(err, job.ErrNotFound) {
			if r != nil {
				r.Close()
			}
			t.Errorf("%s job document still opens after retention (%v)", st, err)
		}
	}
	for _, j := range []*job.Job{pending, printing, held, recent} {
		got := f.job(j.ID)
		if !got.Documents[0].Available() || f.docSum(got.Documents[0]) != sum(doc) {
			t.Errorf("%s job's document removed by retention", j.State)
		}
	}
	if n := f.documents(); n != 4 {
		t.Errorf("%d documents stored after retention, want the 4 it keeps", n)
	}
	if evs, _ := f.s.Events(ctx, job.EventFilter{Kinds: []string{job.EventRetention}}); len(evs) != 1 {
		t.Errorf("%d retention events, want 1", len(evs))
	}

	// A restart does not resurrect or trip over deleted documents.
	f.reopen()
	if got, err := f.s.Job(ctx, old[job.StateCompleted].ID); err != nil || got.Documents[0].Available() {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	clk.Advance(12 * time.Hour)
	if n, err := f.s.Retention(ctx); err != nil || n != 1 {
		t.Fatalf("second pass removed %d (%v), want the recent one", n, err)
	}
	if n, err := f.s.Retention(ctx); err != nil || n != 0 {
		t.Fatalf("third pass removed %d (%v), want nothing", n, err)
	}
	if n := f.documents(); n != 3 {
		t.Errorf("%d documents stored, want the pending, printing and held jobs' ones", n)
	}
}

// testRetentionDisabled: without a retention nothing is ever removed.
func testRetentionDisabled(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	j := f.jobIn(job.StateCompleted, letter(1))
	f.clock.Advance(24 * 365 * time.Hour)
	if n, err := f.s.Retention(f.ctx); err != nil || n != 0 {
		t.Fatalf("Retention with none configured removed %d (%v)", n, err)
	}
	if f.docSum(j.Documents[0]) != sum(letter(1)) {
		t.Fatal("document changed")
	}
}

// testPurge: an operator's purge removes the documents of every job finished before the cutoff,
// whatever the retention (none here), in batches until none is left, keeps their records,
// leaves unfinished and later jobs alone, and records an operator event naming the actor.
func testPurge(t *testing.T, d Driver) {
	f := open(t, d, Options{})
	doc := letter(1)
	var done []*job.Job
	for i := range 7 {
		st := job.Finished[i%len(job.Finished)]
		done = append(done, f.jobIn(st, doc))
	}
	pending := f.jobIn(job.StatePending, doc)
	cutoff := f.clock.Now().Add(time.Second)
	f.clock.Advance(2 * time.Second)
	later := f.jobIn(job.StateCompleted, doc)
	before := f.documents()
	n, err := f.s.Purge(f.ctx, cutoff, "mailroom")
	if err != nil || n != len(done) {
		t.Fatalf("Purge removed %d documents (%v), want the %d finished before the cutoff", n, err, len(done))
	}
	if got := f.documents(); got != before-len(done) {
		t.Errorf("the store holds %d documents after the purge, want %d", got, before-len(done))
	}
	for _, j := range done {
		got := f.job(j.ID)
		if got.State != j.State || got.Documents[0].Available() || got.Documents[0].SHA256 != sum(doc) {
			t.Errorf("purged job %d: state %s, document available %v, hash kept %v", j.ID, got.State,
				got.Documents[0].Available(), got.Documents[0].SHA256 == sum(doc))
		}
	}
	for _, j := range []*job.Job{pending, later} {
		if f.docSum(f.job(j.ID).Documents[0]) != sum(doc) {
			t.Errorf("job %d (%s) lost its document to a purge that was not for it", j.ID, j.State)
		}
	}
	evs, err := f.s.Events(f.ctx, job.EventFilter{Kinds: []string{job.EventOperator}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range evs {
		found = found || (e.Actor == "mailroom" && strings.Contains(e.Message, "purged"))
	}
	if !found {
		t.Errorf("no operator event names the purge and its actor: %+v", evs)
	}
	if n, err := f.s.Purge(f.ctx, cutoff, "mailroom"); err != nil || n != 0 {
		t.Errorf("a second purge removed %d (%v), want 0", n, err)
	}
}
