package document

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCountPDFLetters(t *testing.T) {
	t.Parallel()
	c := NewCounter()
	for _, tt := range []struct {
		file  string
		pages int
	}{{"letter-1p.pdf", 1}, {"letter-2p.pdf", 2}, {"letter-3p.pdf", 3}, {"letter-4p.pdf", 4}} {
		path := filepath.Join("..", "testdata", tt.file)
		got, est := c.Count(path, "")
		if got != tt.pages || est {
			t.Errorf("Count(%s) = %d (estimated %v), want %d exact", tt.file, got, est, tt.pages)
		}
	}
}

func TestCountUnknownIsEstimated(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(path, make([]byte, 120<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	got, est := NewCounter().Count(path, "")
	if !est || got != 2 {
		t.Fatalf("Count(120 KiB blob) = %d estimated=%v, want 2 estimated", got, est)
	}
	// A file claiming to be PDF but broken falls back to an estimate rather than failing the job.
	if err := os.WriteFile(path, []byte("%PDF-1.4 garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, est := NewCounter().Count(path, PDF); !est || got != 1 {
		t.Fatalf("Count(broken pdf) = %d estimated=%v, want 1 estimated", got, est)
	}
}

// A client may send any prefix of a PDF (a raw-port job closed early is complete there): no
// prefix may panic, and each gets a count or an estimate.
func TestCountTruncatedPDFNeverPanics(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "letter-4p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	c := NewCounter()
	dir := t.TempDir()
	for cut := 8; cut < len(data); cut += 97 {
		path := filepath.Join(dir, "cut.pdf")
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		if pages, _ := c.Count(path, PDF); pages < 1 {
			t.Fatalf("Count(first %d bytes) = %d, want at least 1", cut, pages)
		}
	}
}
