//go:build e2e

// End-to-end tests of the gateway's printer backends against real servers on loopback: the
// lpd:// backend into CUPS' cups-lpd (one process per connection behind
// systemd-socket-activate, in front of a private cupsd), the socket:// backend into a raw
// AppSocket listener, and the ipp:// backend into a queue of that cupsd. Every document the
// far side receives must be byte-identical to the file submitted with `printgate submit`.
// Run: go test -tags e2e -count=1 -run TestBackends -v ./e2e/
package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// beOwner is the owner of every submitted job; LPD and IPP carry it to the server.
const beOwner = "e2e-clerk"

// beReceived is one document as a server received it.
type beReceived struct {
	data        []byte
	title, user string // "" when the protocol carries none (socket)
}

// TestBackendsLPDSocketAndCUPSByteIdentical: four letters of 1-4 pages each through each of the
// three backends, all submitted with one `printgate submit` per backend. Every gateway job
// completes on its backend's printer; each server receives each letter exactly once, byte for
// byte, with its job name and owner where the protocol carries them.
func TestBackendsLPDSocketAndCUPSByteIdentical(t *testing.T) {
	t.Parallel()
	cupsd := peer.StartCupsd(t)
	lpdQueue := cupsd.AddCaptureQueue(t, "lpdq")
	ippQueue := cupsd.AddCaptureQueue(t, "ippq")
	lpdPort := peer.StartCupsLPD(t, cupsd)
	sink := peer.RawListener(t)

	ps := []opPrinter{
		{name: "via-lpd", uri: fmt.Sprintf("lpd://127.0.0.1:%d/%s", lpdPort, lpdQueue.Name), ppm: 600},
		{name: "via-socket", uri: sink.URI(), ppm: 600},
		{name: "via-cups", uri: cupsd.URI(ippQueue.Name), ppm: 600},
	}
	g := startGateway(t, gatewayOptions{Config: func(listen, spoolDir string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %q\nspool: %q\nprobe_interval: 1s\nlog_level: debug\nauth:\n  trust_loopback: true\nprinters:\n", listen, spoolDir)
		for _, p := range ps {
			fmt.Fprintf(&b, "  - name: %s\n    uri: %q\n    ppm: %d\n", p.name, p.uri, p.ppm)
		}
		// One virtual printer per backend, so each letter's route is known in advance.
		b.WriteString("virtual_printers:\n")
		for _, p := range ps {
			fmt.Fprintf(&b, "  - name: %s\n    pool: [%s]\n", p.name, p.name)
		}
		return b.String()
	}})

	// The letters, copied under distinct names: the default job name is the file name.
	var files []string
	want := map[string]string{} // sha256 -> job name
	for pages := 1; pages <= 4; pages++ {
		name := fmt.Sprintf("backend-letter-%dp.pdf", pages)
		data, err := os.ReadFile(repoFile(t, fmt.Sprintf("testdata/letter-%dp.pdf", pages)))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
		want[sha256Hex(data)] = name
	}

	ids := map[string][]int64{} // printer -> job ids
	var all []int64
	for _, p := range ps {
		out, err := g.CLI(append([]string{"submit", "--printer", p.name, "--owner", beOwner}, files...)...)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Fields(out) {
			id, err := strconv.ParseInt(line, 10, 64)
			if err != nil {
				t.Fatalf("printgate submit printed %q, want job ids", out)
			}
			ids[p.name] = append(ids[p.name], id)
			all = append(all, id)
		}
		if len(ids[p.name]) != len(files) {
			t.Fatalf("printgate submit of %d files to %s printed %q", len(files), p.name, out)
		}
	}
	start := time.Now()
	jobs := g.waitJobs(all, time.Minute, "completed", func(j *job.Job) bool { return j.State.Final() })
	t.Logf("%d jobs final %s after the last submission", len(all), time.Since(start).Round(time.Millisecond))
	for name, list := range ids {
		for _, id := range list {
			j := jobs[id]
			if j.State != job.StateCompleted || j.Printer != name || j.PossibleDuplicate || j.Attempts != 0 {
				t.Errorf("job %d (%s): %s (%s) on %q, flagged %v, %d attempts; want completed on %s at the first attempt",
					id, j.Name, j.State, j.StateReason, j.Printer, j.PossibleDuplicate, j.Attempts, name)
			}
		}
	}

	// LPD and socket jobs are complete once the transfer is acknowledged: the server may still
	// be handing the document on (cups-lpd to cupsd to the capture filter).
	captured := func(q *peer.CaptureQueue) []beReceived {
		var out []beReceived
		for _, d := range q.WaitDocs(t, len(files), 30*time.Second) {
			out = append(out, beReceived{data: d.Data, title: d.Title, user: d.User})
		}
		return out
	}
	t.Run("lpd", func(t *testing.T) { beCheck(t, captured(lpdQueue), want, true) })
	t.Run("socket", func(t *testing.T) {
		// The gateway's health probes connect and hang up: empty connections, not jobs.
		var got []beReceived
		deadline := time.Now().Add(30 * time.Second)
		for {
			got = got[:0]
			for _, d := range sink.Jobs() {
				if len(d) > 0 {
					got = append(got, beReceived{data: d})
				}
			}
			if len(got) >= len(files) || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if errs := sink.Errors(); len(errs) > 0 {
			t.Errorf("raw listener errors: %v", errs)
		}
		beCheck(t, got, want, false)
	})
	t.Run("ipp-cups-queue", func(t *testing.T) { beCheck(t, captured(ippQueue), want, true) })
}

// beCheck checks that got holds each wanted document (sha256 -> job name) exactly once and
// nothing else; withMeta also checks the title and user the server recorded.
func beCheck(t *testing.T, got []beReceived, want map[string]string, withMeta bool) {
	t.Helper()
	seen := map[string]int{}
	for _, d := range got {
		sum := sha256Hex(d.data)
		name, ok := want[sum]
		if !ok {
			t.Errorf("received %d bytes (sha256 %s, title %q) matching no submitted letter", len(d.data), sum, d.title)
			continue
		}
		seen[sum]++
		if withMeta && (d.title != name || d.user != beOwner) {
			t.Errorf("%s arrived as title %q from user %q, want title %q from %q", name, d.title, d.user, name, beOwner)
		}
	}
	for sum, name := range want {
		if seen[sum] != 1 {
			t.Errorf("%s received %d times, want once", name, seen[sum])
		}
	}
	if len(got) != len(want) {
		t.Errorf("received %d documents, want %d", len(got), len(want))
	}
}
