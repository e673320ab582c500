//go:build peers

// The IPP backend against a real ippeveprinter (CUPS' IPP Everywhere simulator): a job goes in
// and completes with its progress, a second one meets server-error-busy, out of paper reads as
// stopped. Run with: go test -tags peers -run Peer ./printers/
package printers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
)

func TestPeerIPPEvePrinter(t *testing.T) {
	// 600 ppm: a page takes 0.1 s.
	eve := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "backend-test", PPM: 600})
	p, err := Open(Config{Name: "eve", URI: eve.URI()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := p.Probe(ctx)
	if err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if st.State != StateReady || !st.Accepting || st.PPM != 600 || st.Capabilities == nil ||
		!slices.Contains(st.Capabilities.Formats, "application/pdf") {
		t.Fatalf("Probe = %+v", st)
	}

	path := filepath.Join(peer.RepoRoot(t), "testdata", "letter-3p.pdf")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := Document{Path: path, Name: "letter-3p.pdf", Format: "application/pdf", Size: int64(len(data))}
	r, err := p.Send(ctx, &Job{ID: 1, Name: "peer letter", Owner: "carol", Pages: 3, Documents: []Document{doc}})
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	// ippeveprinter holds one job at a time: the next one is refused as busy, not failed.
	if _, err := p.Send(ctx, &Job{ID: 2, Name: "second", Pages: 3, Documents: []Document{doc}}); !errors.Is(err, ErrBusy) {
		t.Errorf("second Send while printing: %v, want ErrBusy", err)
	}
	var progress []int
	out, err := p.Watch(ctx, r, func(n int) { progress = append(progress, n) })
	if err != nil || out != OutcomeCompleted {
		t.Fatalf("Watch = %q, %v", out, err)
	}
	if len(progress) == 0 || progress[len(progress)-1] != 3 {
		t.Errorf("progress %v, want it to end at 3 impressions", progress)
	}
	printed := eve.WaitPrinted(t, 1, 10*time.Second)
	sum := sha256.Sum256(data)
	if j := printed[0]; j.SHA256 != hex.EncodeToString(sum[:]) || j.JobName != "peer letter" || j.User != "carol" || j.Pages != 3 {
		t.Errorf("printer printed %+v, want the letter byte for byte, named, for carol", j)
	}

	eve.SetMediaEmpty(true)
	if st, err := p.Probe(ctx); err != nil || st.State != StateStopped || !slices.ContainsFunc(st.Reasons, isMediaEmpty) {
		t.Errorf("out of paper: Probe = %+v, %v; want stopped with media-empty", st, err)
	}
	eve.SetMediaEmpty(false)
	if st, err := p.Probe(ctx); err != nil || !st.State.Usable() {
		t.Errorf("paper back: Probe = %+v, %v; want usable", st, err)
	}

	eve.Kill()
	if _, err := p.Probe(ctx); err == nil {
		t.Error("Probe of a killed printer succeeded")
	}
	if _, err := p.Send(ctx, &Job{ID: 3, Documents: []Document{doc}}); !errors.Is(err, ErrNotDelivered) {
		t.Errorf("Send to a killed printer: %v, want ErrNotDelivered", err)
	}
}

// isMediaEmpty matches media-empty at any severity.
func isMediaEmpty(r string) bool { return strings.HasPrefix(r, "media-empty") }
