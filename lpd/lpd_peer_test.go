//go:build peers

// A real peer against the server: CUPS' lpd backend (Debian package cups) prints to it over
// loopback. Run with: go test -tags peers -run Peer ./lpd/
package lpd

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
)

const cupsLPDBackend = "/usr/lib/cups/backend/lpd"

func TestPeerCUPSLPDBackend(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(cupsLPDBackend); err != nil {
		t.Fatalf("CUPS lpd backend not found at %s (install the Debian package \"cups\"): %v", cupsLPDBackend, err)
	}
	pdf := append([]byte("%PDF-1.4\n"), randomBytes(t, 256<<10)...)
	path := filepath.Join(t.TempDir(), "letter.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		options string // URI query
		copies  string
		want    int
	}{
		{"default order (control first)", "", "1", 1},
		{"data first", "?order=data,control", "1", 1},
		// By default the backend repeats the document itself (manual_copies); off, it repeats
		// the print line, which is the RFC 1179 way.
		{"copies as repeated print lines", "?manual_copies=off", "3", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSpool()
			h := startServer(t, Config{}, fs)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// argv: job-id user title copies options file, as cupsd runs a backend.
			cmd := exec.CommandContext(ctx, cupsLPDBackend, "1", "alice", "Discharge letter", tt.copies, "", path)
			cmd.Env = append(os.Environ(), fmt.Sprintf("DEVICE_URI=lpd://%s/letters%s", h.addr, tt.options))
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("backend failed: %v\n%s", err, out)
			}
			_, _, jobs := fs.snapshot()
			if len(jobs) != 1 {
				t.Fatalf("%d jobs after the backend finished, want 1\nbackend said:\n%s", len(jobs), out)
			}
			j := jobs[0]
			if len(j.docs) != 1 || !bytes.Equal(j.docs[0], pdf) {
				t.Fatalf("document not byte-identical (%d documents)", len(j.docs))
			}
			if j.nj.Owner != "alice" || j.nj.Name != "Discharge letter" || j.nj.Attributes.Copies != tt.want {
				t.Fatalf("job = owner %q name %q copies %d; want alice, Discharge letter, %d",
					j.nj.Owner, j.nj.Name, j.nj.Attributes.Copies, tt.want)
			}
			if f := j.job.Documents[0].Format; f != document.PDF {
				t.Fatalf("format = %q, want %q", f, document.PDF)
			}
		})
	}
}
