package printers

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/printgate/printgate/internal/fakeclock"
)

// TestFileDeliveries: every Send leaves the document byte for byte under its job's name, and a
// second delivery of the same job is a second file, never an overwrite, so a duplicate print
// can be seen and counted.
func TestFileDeliveries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(t.TempDir(), "doc")
	data := []byte("%PDF-1.4 a letter")
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewFile("f", filepath.Join(dir, "out"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{ID: 42, Documents: []Document{{Path: src, Format: "application/pdf"}, {Path: src, Format: "text/plain"}}}
	for range 3 {
		r, err := p.Send(context.Background(), j)
		if err != nil {
			t.Fatal(err)
		}
		if !r.Done {
			t.Fatalf("receipt %+v: a file printer without speed is done on acceptance", r)
		}
	}
	es, _ := os.ReadDir(p.Dir())
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
		b, _ := os.ReadFile(filepath.Join(p.Dir(), e.Name()))
		if !bytes.Equal(b, data) {
			t.Errorf("%s differs from the document", e.Name())
		}
	}
	sort.Strings(names)
	want := []string{"job-000042-1.2.pdf", "job-000042-1.3.pdf", "job-000042-1.pdf",
		"job-000042-2.2.txt", "job-000042-2.3.txt", "job-000042-2.txt"}
	if len(names) != len(want) {
		t.Fatalf("files %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("files %v, want %v", names, want)
		}
	}
}

// TestFileSimulatedSpeed: with a ppm the engine prints one job after another at that speed.
func TestFileSimulatedSpeed(t *testing.T) {
	t.Parallel()
	clk := fakeclock.New(time.Date(2026, 1, 1, 8, 0, 0, 0, time.UTC))
	src := filepath.Join(t.TempDir(), "doc")
	if err := os.WriteFile(src, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := NewFile("f", t.TempDir(), 60, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := p.Send(context.Background(), &Job{ID: 1, Pages: 30, Documents: []Document{{Path: src}}})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := p.Send(context.Background(), &Job{ID: 2, Pages: 6, Documents: []Document{{Path: src}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r1.FinishAt.Sub(clk.Now()); got != 30*time.Second {
		t.Errorf("30 pages at 60 ppm finish after %v", got)
	}
	if got := r2.FinishAt.Sub(clk.Now()); got != 36*time.Second {
		t.Errorf("the next 6 pages finish after %v, want 36s (queued behind the first)", got)
	}
	st, err := p.Probe(context.Background())
	if err != nil || st.State != StateBusy || st.QueuedJobs != 2 || st.PPM != 60 {
		t.Errorf("probe while printing: %+v, %v", st, err)
	}
}
