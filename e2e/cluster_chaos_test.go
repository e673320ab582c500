//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// chaosLetters is the size of the run in make test; PRINTGATE_CHAOS_LETTERS runs it larger
// (issue 19 asks for 2,000: `PRINTGATE_CHAOS_LETTERS=2000 go test -tags e2e -run
// TestClusterChaos ./e2e`).
func chaosLetters(t *testing.T) int {
	if v := os.Getenv("PRINTGATE_CHAOS_LETTERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("PRINTGATE_CHAOS_LETTERS=%q: want a number of at least 10", v)
		}
		return n
	}
	return 120
}

const chaosLease = 2 * time.Second

// chaosConfig is one gateway of the cluster: named, on the shared database, driving the raw
// sinks as PDF printers (declared, so that nothing is converted and each letter's marker
// arrives as sent) and the ippeveprinters as IPP Everywhere printers (their speed and formats
// as they report them).
func chaosConfig(name, dbURL string, sinks []*peer.RawSink, eves []namedURI) func(listen, spool string) string {
	return func(listen, _ string) string {
		var b strings.Builder
		// The front door brings every client from one address (docs/OPERATIONS.md).
		fmt.Fprintf(&b, "listen: %s\nspool: %s\nprobe_interval: 500ms\nauth:\n  trust_loopback: true\n", listen, dbURL)
		b.WriteString("limits:\n  max_connections: 256\n  max_connections_per_host: 256\n")
		fmt.Fprintf(&b, "cluster:\n  gateway: %s\n  lease_period: %s\n", name, chaosLease)
		b.WriteString("printers:\n")
		var pool []string
		for i, s := range sinks {
			n := fmt.Sprintf("raw-%d", i+1)
			pool = append(pool, n)
			fmt.Fprintf(&b, "  - name: %s\n    uri: %s\n    ppm: 240\n    formats: [application/pdf]\n", n, s.URI())
		}
		for _, e := range eves {
			pool = append(pool, e.name)
			fmt.Fprintf(&b, "  - name: %s\n    uri: %s\n", e.name, e.uri)
		}
		fmt.Fprintf(&b, "virtual_printers:\n  - name: letters\n    default: true\n    pool: [%s]\n", strings.Join(pool, ", "))
		return b.String()
	}
}

// namedURI is a printer as one gateway's configuration names it.
type namedURI struct{ name, uri string }

var chaosMarker = regexp.MustCompile(`% chaos-letter (\d+)\n`)

// chaosIPPToolTest is one Print-Job of $filename named $name, expecting success: an ipptool
// client printing through the front door while the cluster is shaken.
const chaosIPPToolTest = `{
	NAME "Print-Job through the front door"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name ipptool-client
	ATTR name job-name $name
	ATTR mimeMediaType document-format application/pdf
	FILE $filename
	STATUS successful-ok
	EXPECT job-id
}
`

// chaosClients are the ipptool and lp clients printing through the front door during the run:
// what each was told accepted, and what went wrong for lp (which must see no error at all).
type chaosClients struct {
	mu          sync.Mutex
	ipptoolOK   []string // job-names ipptool was told accepted
	ipptoolFail int      // tries refused or cut off (not told accepted: retried)
	lpOK        []string // titles lp queued, with their CUPS request ids
	lpIDs       []string
	lpErr       []string
}

// TestClusterChaos is issue 19's chaos run at make-test size: three gateways on one PostgreSQL
// spool behind Debian's HAProxy (the documented front door) drive six printers, three raw 9100
// sinks that record every connection and three ippeveprinters. A bulk run is submitted through
// the front door with the CLI, and an ipptool client and a CUPS queue (lp, added with -m
// everywhere) print through the front door all along. One gateway is SIGKILLed part way, later
// another is stopped cleanly and restarted (a rolling restart). Then: every job the clients were
// told was accepted completed; every letter of the run printed at least once; every letter
// printed twice is flagged possible-duplicate; no raw printer ever had two connections open at
// once (two senders) and no ippeveprinter had a job from a gateway that did not hold its lease
// (taps at its door, one per gateway); the dead gateway's printers moved within two lease periods; lp saw no
// error and CUPS calls every job completed.
func TestClusterChaos(t *testing.T) {
	t.Parallel()
	_, dbURL := startPostgres(t)
	var sinks []*peer.RawSink
	var eves []*peer.IPPEve
	for i := range 3 {
		sinks = append(sinks, peer.RawListener(t))
		// 0.1 s a page: quick, yet a letter is often printing when a gateway dies.
		eves = append(eves, peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: fmt.Sprintf("eve-%d", i+1),
			PPM: 60, TimeScale: 0.1, Formats: []string{"application/pdf"}}))
	}
	// Each gateway reaches each ippeveprinter through a tap of its own, so that the printer's
	// door records which gateway sent which job when.
	taps := map[string]*peer.TapLog{}
	for _, e := range eves {
		taps[e.Name] = &peer.TapLog{}
	}
	gws := map[string]*gateway{}
	var backends []string
	for _, name := range []string{"gw-a", "gw-b", "gw-c"} {
		var mine []namedURI
		for _, e := range eves {
			tap := peer.StartIPPTap(t, name, fmt.Sprintf("127.0.0.1:%d", e.Port), taps[e.Name])
			mine = append(mine, namedURI{e.Name, tap.URI()})
		}
		gws[name] = startGateway(t, gatewayOptions{SpoolURL: dbURL, Config: chaosConfig(name, dbURL, sinks, mine)})
		backends = append(backends, strings.TrimPrefix(gws[name].Base, "http://"))
	}
	front := startFrontDoor(t, backends)
	frontURI := strings.Replace(front, "http://", "ipp://", 1) + "/ipp/print/letters"

	// Letters: one page each, told apart at the printer by a comment after %%EOF (raw sinks)
	// or by their sha256 (ippeveprinter's records).
	base, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	letter := func(dir, kind string, i int) string {
		path := filepath.Join(dir, fmt.Sprintf("%s-%05d.pdf", kind, i))
		doc := append(bytes.Clone(base), []byte(fmt.Sprintf("\n%% chaos-%s %d\n", kind, i))...)
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	n := chaosLetters(t)
	runDir := t.TempDir()
	for i := range n {
		letter(runDir, "letter", i)
	}
	extraDir := t.TempDir()

	// The CUPS client: a queue on a private cupsd pointing at the front door, made the way
	// "Add Printer" makes it. retry-job: CUPS' own answer to a server that went away mid-job.
	cups := peer.StartCupsdWith(t, peer.CupsdOptions{Extra: "JobRetryInterval 2\n"})
	cups.MustRun(t, "lpadmin", "-p", "front", "-E", "-v", frontURI, "-m", "everywhere", "-o", "printer-error-policy=retry-job")

	// The bulk run, through the front door with the operators' CLI.
	out, err := gws["gw-b"].CLI("bulk", "submit", "--server", front, "--json", "--name", "chaos", "--printer", "letters",
		"--owner", "e2e", "--dir", runDir)
	if err != nil {
		t.Fatal(err)
	}
	var run job.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.ID == 0 || run.Letters != n {
		t.Fatalf("bulk submit printed %q (%v), want a run of %d letters", out, err, n)
	}

	// The other clients, until the run has printed (bounded).
	var cl chaosClients
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < 200; i++ {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			name := fmt.Sprintf("ipptool-%03d", i)
			path := letter(extraDir, "ipptool", i)
			file := filepath.Join(extraDir, fmt.Sprintf("print-%03d.test", i))
			if err := os.WriteFile(file, []byte(chaosIPPToolTest), 0o644); err != nil {
				t.Error(err)
				return
			}
			ipOut, err := peer.RunIPPTool(t, extraDir, frontURI, file, "-f", path, "-d", "name="+name)
			cl.mu.Lock()
			if err == nil && len(resultLine("PASS").FindAllString(ipOut, -1)) == 1 {
				cl.ipptoolOK = append(cl.ipptoolOK, name)
			} else {
				cl.ipptoolFail++ // not told accepted; the next try is a new letter
			}
			cl.mu.Unlock()
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 60; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
			}
			title := fmt.Sprintf("lp-%03d", i)
			lpOut, err := cups.Run(t, "lp", "-d", "front", "-t", title, letter(extraDir, "lp", i))
			m := chaosRequestID.FindStringSubmatch(lpOut)
			cl.mu.Lock()
			if err != nil || m == nil {
				cl.lpErr = append(cl.lpErr, fmt.Sprintf("%s: %v %q", title, err, lpOut))
			} else {
				cl.lpOK, cl.lpIDs = append(cl.lpOK, title), append(cl.lpIDs, m[1])
			}
			cl.mu.Unlock()
		}
	}()
	stopClients := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopClients()

	// Kill gw-a once about a third of the run has printed.
	b := gws["gw-b"]
	runJobs := func() map[int64]*job.Job {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		jobs, err := b.API.Jobs(ctx, url.Values{"run": {strconv.FormatInt(run.ID, 10)}, "limit": {strconv.Itoa(n + 10)}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]*job.Job{}
		for _, j := range jobs {
			m[j.ID] = j
		}
		return m
	}
	completed := func() int {
		c := 0
		for _, j := range runJobs() {
			if j.State == job.StateCompleted {
				c++
			}
		}
		return c
	}
	// Bounded, with room for a large run (PRINTGATE_CHAOS_LETTERS) on a loaded machine.
	limit := 3*time.Minute + time.Duration(n)*100*time.Millisecond
	deadline := time.Now().Add(limit)
	for completed() < n/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d letters completed after %v, before any gateway was stopped", completed(), n, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	killed := time.Now()
	gws["gw-a"].Kill()
	t.Logf("gw-a SIGKILLed with %d of %d letters completed", completed(), n)

	// Later, a rolling restart of gw-c: stopped cleanly, started again.
	for completed() < 2*n/3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	gws["gw-c"].Stop()
	t.Logf("gw-c stopped cleanly with %d of %d letters completed", completed(), n)
	gws["gw-c"].Start()

	for completed() < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	stopClients()
	cl.mu.Lock()
	defer cl.mu.Unlock()

	// CUPS says each lp job completed (not stopped, aborted or still retrying): sent on, and
	// done at the gateway (its ipp backend waits for that).
	cdeadline := time.Now().Add(2 * time.Minute)
	for {
		out, _ := cups.Run(t, "lpstat", "-W", "completed", "-o", "front")
		missing := 0
		for _, id := range cl.lpIDs {
			if !strings.Contains(out, id+" ") {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(cdeadline) {
			notDone, _ := cups.Run(t, "lpstat", "-W", "not-completed", "-o", "front")
			t.Fatalf("CUPS: %d of %d lp jobs not completed 2 minutes after the run printed\n%s\ncupsd error_log:\n%s",
				missing, len(cl.lpIDs), notDone, tail(cups.ErrorLog(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Every job a client was told was accepted completes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, letters, err := b.API.Manifest(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != n {
		t.Fatalf("run %d has %d letters, want %d", run.ID, len(letters), n)
	}
	ids := make([]int64, 0, n)
	for _, l := range letters {
		ids = append(ids, l.JobID)
	}
	all, err := b.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]*job.Job{}
	for _, j := range all {
		byName[j.Name] = append(byName[j.Name], j)
	}
	for _, name := range append(append([]string(nil), cl.ipptoolOK...), cl.lpOK...) {
		js := byName[name]
		if len(js) == 0 {
			t.Errorf("%s was accepted but the cluster has no job of that name", name)
		}
		for _, j := range js {
			ids = append(ids, j.ID)
		}
	}
	done := b.waitJobs(ids, 3*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	t.Logf("ipptool: %d Print-Jobs accepted, %d tries cut off by the chaos; lp: %d jobs", len(cl.ipptoolOK), cl.ipptoolFail, len(cl.lpOK))
	if len(cl.ipptoolOK) == 0 || len(cl.lpOK) == 0 {
		t.Errorf("the clients printed %d ipptool and %d lp jobs during the run, want some of each", len(cl.ipptoolOK), len(cl.lpOK))
	}
	for _, e := range cl.lpErr {
		t.Errorf("lp saw an error: %s", e)
	}
	// What the printers received: the raw sinks by marker, the ippeveprinters by sha256.
	letterOf := map[int64]int{}
	bySHA := map[string]int{}
	for i, l := range letters {
		letterOf[l.JobID] = i
		bySHA[l.SHA256] = i
	}
	prints := make([]int, n)
	for i, s := range sinks {
		for _, data := range s.Jobs() {
			if len(data) == 0 || bytes.Contains(data, []byte("% chaos-ipptool ")) || !bytes.HasPrefix(data, []byte("%PDF")) {
				continue // a probe's connect, or another client's letter
			}
			m := chaosMarker.FindAllSubmatch(data, -1)
			if len(m) != 1 {
				continue // not a run letter (lp's, as CUPS rewrote it)
			}
			k, _ := strconv.Atoi(string(m[0][1]))
			if k < 0 || k >= n {
				t.Errorf("raw-%d received unknown letter %d", i+1, k)
				continue
			}
			prints[k]++
		}
		if o := s.Overlaps(); len(o) > 0 {
			t.Errorf("raw-%d had %d pairs of connections open at once (two senders), first %v", i+1, len(o), o[0])
		}
	}
	for _, e := range eves {
		for _, pj := range e.Printed() {
			if k, ok := bySHA[pj.SHA256]; ok {
				prints[k]++
			}
		}
	}
	twice := 0
	for id, j := range done {
		i, ok := letterOf[id]
		if !ok {
			continue
		}
		switch {
		case prints[i] == 0:
			t.Errorf("letter %d (job %d) completed on %s but no printer received it", i, id, j.Printer)
		case prints[i] > 1:
			twice++
			if !j.PossibleDuplicate {
				t.Errorf("letter %d (job %d) printed %d times and not flagged possible-duplicate", i, id, prints[i])
			}
		}
	}
	t.Logf("%d letters, %d printed more than once (all flagged)", n, twice)

	// The dead gateway's printers moved, each within two lease periods of the kill.
	evs, err := b.API.Events(ctx, url.Values{"kind": {job.EventLease}, "limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	// No ippeveprinter ever had two gateways sending: at its door (the taps), whenever the
	// sender changes from one gateway to another, the printer's lease moved to the new sender
	// after the old one's last send (its event may trail the new holder's first send by the
	// moment between taking the lease and recording it: a second is allowed).
	for _, e := range eves {
		sends := taps[e.Name].Sends()
		if len(sends) == 0 {
			t.Errorf("%s: no gateway sent it a job", e.Name)
			continue
		}
		senders := map[string]int{}
		for _, s := range sends {
			senders[s.Sender]++
		}
		for _, bad := range sendsWithoutLease(e.Name, sends, evs) {
			t.Error(bad)
		}
		t.Logf("%s: jobs sent by %v", e.Name, senders)
	}

	moved := 0
	for _, e := range evs {
		if e.From == "gw-a" && e.Printer != "" && e.At.After(killed) {
			moved++
			took := e.At.Sub(killed)
			t.Logf("printer %s moved from gw-a to %s %v after the kill", e.Printer, e.To, took.Round(time.Millisecond))
			if took > 2*chaosLease {
				t.Errorf("printer %s moved from gw-a %v after the kill, more than two lease periods (%v)", e.Printer, took, 2*chaosLease)
			}
		}
	}
	held := 0
	for _, e := range evs {
		if e.To == "gw-a" && e.Printer != "" { // not its leadership
			held++
		}
	}
	if held > 0 && moved == 0 {
		t.Errorf("gw-a held printers (%d lease events) but none moved after it was killed", held)
	}
}

// chaosRequestID matches lp's "request id is front-1 (1 file(s))".
var chaosRequestID = regexp.MustCompile(`request id is (front-\d+)`)

// sendsWithoutLease checks a printer's sends as its taps recorded them against the lease events:
// wherever the sender changes, the printer's lease must have moved to the new sender after the
// old one's last send (the event may trail the new holder's first send by the moment between
// taking the lease and recording it: a second is allowed). It returns what breaks the rule.
func sendsWithoutLease(printer string, sends []peer.TapSend, evs []job.Event) []string {
	var bad []string
	for i := 1; i < len(sends); i++ {
		s, prev := sends[i], sends[i-1]
		if s.Sender == prev.Sender {
			continue
		}
		ok := false
		for _, ev := range evs {
			if ev.Printer == printer && ev.To == s.Sender && ev.At.After(prev.At) && ev.At.Before(s.At.Add(time.Second)) {
				ok = true
			}
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: %s sent a job at %s after %s's at %s with no lease move to %s between: two gateways sending",
				printer, s.Sender, s.At.Format("15:04:05.000"), prev.Sender, prev.At.Format("15:04:05.000"), s.Sender))
		}
	}
	return bad
}

// TestSendsWithoutLease: the chaos test's ippeveprinter rule finds interleaved senders and
// accepts senders that change with the lease.
func TestSendsWithoutLease(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	send := func(who string, ms int) peer.TapSend { return peer.TapSend{Sender: who, At: at(ms)} }
	move := func(to string, ms int) job.Event {
		return job.Event{Kind: job.EventLease, Printer: "eve-1", To: to, At: at(ms)}
	}
	for _, tc := range []struct {
		name  string
		sends []peer.TapSend
		evs   []job.Event
		bad   int
	}{
		{"one sender", []peer.TapSend{send("a", 0), send("a", 100)}, nil, 0},
		{"handed over", []peer.TapSend{send("a", 0), send("b", 3000)}, []job.Event{move("b", 2500)}, 0},
		{"event trails the first send", []peer.TapSend{send("a", 0), send("b", 3000)}, []job.Event{move("b", 3200)}, 0},
		{"no move", []peer.TapSend{send("a", 0), send("b", 100)}, nil, 1},
		{"interleaved", []peer.TapSend{send("a", 0), send("b", 3000), send("a", 3100), send("b", 3200)},
			[]job.Event{move("b", 2500)}, 2},
		{"move of another printer", []peer.TapSend{send("a", 0), send("b", 3000)},
			[]job.Event{{Kind: job.EventLease, Printer: "eve-2", To: "b", At: at(2500)}}, 1},
		{"move before the old sender's last send", []peer.TapSend{send("a", 0), send("a", 2600), send("b", 3000)},
			[]job.Event{move("b", 2500)}, 1},
	} {
		if got := sendsWithoutLease("eve-1", tc.sends, tc.evs); len(got) != tc.bad {
			t.Errorf("%s: %d breaches %q, want %d", tc.name, len(got), got, tc.bad)
		}
	}
}
