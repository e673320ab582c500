package spool

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/printgate/printgate/job"
)

// TestRecoveryRemovesOrphanFiles: the debris a crash leaves in the spool directory goes at the
// next open: a half-written temp file in tmp/ and a staged document in docs/ that no row names
// (its upload never got a reply); the committed documents stay, byte for byte. What recovery
// does to the jobs themselves is in the drivers' suite (queue/storetest, TestStore/.../Recovery).
func TestRecoveryRemovesOrphanFiles(t *testing.T) {
	t.Parallel()
	s := openStore(t, Options{InlineMaxBytes: -1}) // every document in a file: where a crash leaves debris
	ctx := context.Background()
	doc := letter(t, 3)

	var kept []*job.Job
	for _, st := range []job.State{job.StatePending, job.StateSending, job.StatePrinting, job.StateCompleted} {
		kept = append(kept, jobIn(t, s, st, doc))
	}
	// A Create-Job whose first document arrived but not the last: the document is committed.
	partial := jobIn(t, s, job.StateReceived, nil)
	if _, err := s.AddDocument(ctx, partial.ID, stage(t, s, doc), false); err != nil {
		t.Fatal(err)
	}
	orphan := stage(t, s, []byte("staged, never submitted"))
	if err := os.WriteFile(filepath.Join(s.tmpDir, "half-written"), []byte("%PDF-1."), 0o600); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s)

	if tmp := dirNames(t, s.tmpDir); len(tmp) != 0 {
		t.Errorf("tmp/ after recovery: %v", tmp)
	}
	if _, err := os.Stat(heldOf(orphan).abs); !os.IsNotExist(err) {
		t.Errorf("uncommitted staged document %s survived recovery (%v)", heldOf(orphan).abs, err)
	}
	// 4 submitted jobs plus the partial one's first document.
	if docs := dirNames(t, s.docsDir); len(docs) != 5 {
		t.Errorf("docs/ holds %d files after recovery, want the 5 committed ones", len(docs))
	}
	for _, j := range append(kept, partial) {
		got, err := s.Job(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range got.Documents {
			if d.Path == "" || fileSum(t, d.Path) != d.SHA256 || fileSum(t, d.Path) != sum(doc) {
				t.Errorf("job %d document %d damaged by recovery: %+v", got.ID, d.Seq, d)
			}
		}
	}
}
