package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
)

func TestParseAtIsLocalUnlessZoned(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-12-01T02:00", time.Date(2026, 12, 1, 2, 0, 0, 0, paris), true},
		{"2026-12-01 02:00:30", time.Date(2026, 12, 1, 2, 0, 30, 0, paris), true},
		{"2026-12-01T02:00:00Z", time.Date(2026, 12, 1, 2, 0, 0, 0, time.UTC), true},
		{"01/12/2026 02:00", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
	} {
		got, err := parseAt(tc.in, paris)
		if (err == nil) != tc.ok || (tc.ok && !got.Equal(tc.want)) {
			t.Errorf("parseAt(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseInterleavedTakesFlagsAfterArguments(t *testing.T) {
	t.Parallel()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	letters := fs.String("letters", "", "")
	csv := fs.Bool("csv", false, "")
	pos, err := parseInterspersed(fs, []string{"7", "--letters", "120-130", "--csv"})
	if err != nil || len(pos) != 1 || pos[0] != "7" || *letters != "120-130" || !*csv {
		t.Fatalf("pos %v letters %q csv %v err %v", pos, *letters, *csv, err)
	}
}

func TestPDFLettersInNameOrder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, n := range []string{"b.pdf", "a.PDF", ".hidden.pdf", "notes.txt", "c.pdf"} {
		os.WriteFile(filepath.Join(dir, n), []byte("%PDF-1.4"), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "d.pdf"), 0o755)
	ls, err := pdfLetters(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range ls {
		names = append(names, l.Source)
	}
	if got := strings.Join(names, ","); got != "a.PDF,b.pdf,c.pdf" {
		t.Fatalf("letters %s, want a.PDF,b.pdf,c.pdf", got)
	}
	if _, err := pdfLetters(t.TempDir()); err == nil {
		t.Fatal("an empty folder is not a run")
	}
}

func TestSubmitRefusesIndivisibleMergeBeforeContactingTheGateway(t *testing.T) {
	t.Parallel()
	merged := filepath.Join(t.TempDir(), "merged.pdf")
	data, err := os.ReadFile(filepath.Join("..", "..", "testdata", "letter-3p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(merged, data, 0o644)
	var out, errOut bytes.Buffer
	// No gateway listens on port 9: reaching it would be a different error.
	err = run(context.Background(), []string{"bulk", "submit", "--server", "http://127.0.0.1:9", "--name", "x",
		"--pdf", merged, "--pages-per-letter", "2"}, &out, &errOut)
	if !errors.Is(err, document.ErrNotDivisible) || !strings.Contains(err.Error(), "nothing was queued") {
		t.Fatalf("submit of 3 pages by 2: %v", err)
	}
	for _, args := range [][]string{
		{"bulk", "submit", "--name", "x"},
		{"bulk", "submit", "--name", "x", "--dir", "a", "--pdf", "b"},
		{"bulk", "submit", "--name", "x", "--pdf", "b"},
		{"bulk", "submit", "--name", "x", "--dir", "a", "--cron", "@daily", "--at", "2030-01-01T00:00"},
		{"bulk", "reprint", "7"},
	} {
		var ue *usageError
		if err := run(context.Background(), args, &out, &errOut); !errors.As(err, &ue) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
