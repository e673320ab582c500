//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
)

// scheduleFired matches a schedule's firing event: `schedule 1 "nightly" fired...`.
var scheduleFired = regexp.MustCompile(`^schedule (\d+) "nightly" fired`)

// TestClusterScheduleFiresOnce is issue 19's acceptance 4: a cron schedule made with the CLI
// fires exactly once per due time with three gateways running on one PostgreSQL spool, and
// goes on firing once per due time after its leader is SIGKILLed: one run per firing with new
// letters, every letter of the drop folder registered once, and never two firings of one due
// time (they would be moments apart; the schedule fires every 10 s).
func TestClusterScheduleFiresOnce(t *testing.T) {
	t.Parallel()
	pg, dbURL := startPostgres(t)
	sinks := []*peer.RawSink{peer.RawListener(t), peer.RawListener(t)}
	gws := map[string]*gateway{}
	for _, name := range []string{"gw-a", "gw-b", "gw-c"} {
		gws[name] = startGateway(t, gatewayOptions{SpoolURL: dbURL, Config: chaosConfig(name, dbURL, sinks, nil)})
	}
	b := gws["gw-b"]
	base, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	drop := t.TempDir()
	put := func(name string) {
		doc := append(bytes.Clone(base), []byte("\n% "+name+"\n")...)
		if err := os.WriteFile(filepath.Join(drop, name), doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	put("first-1.pdf")
	put("first-2.pdf")
	// Leases settled first (no move for two lease periods): the leader must hear of a schedule
	// made on another gateway, not happen to wake on a lease change (it did not, before).
	{
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		last, since := -1, time.Now()
		for time.Since(since) < 2*chaosLease {
			evs, err := b.API.Events(ctx, url.Values{"kind": {job.EventLease}, "limit": {"1000"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != last {
				last, since = len(evs), time.Now()
			}
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
	}
	if _, err := b.CLI("bulk", "submit", "--name", "nightly", "--dir", drop, "--cron", "*/10 * * * * *", "--printer", "letters"); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// registered: file name -> how many times a run of the schedule holds it; runs: how many.
	registered := func(g *gateway) (map[string]int, int) {
		t.Helper()
		runs, err := g.API.Runs(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, n := map[string]int{}, 0
		for _, r := range runs {
			if r.ScheduleID == 0 {
				continue
			}
			n++
			_, letters, err := g.API.Manifest(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range letters {
				got[filepath.Base(l.Source)]++
			}
		}
		return got, n
	}
	// firings are the times of the schedule's firing events, oldest first.
	firings := func(g *gateway) []time.Time {
		t.Helper()
		evs, err := g.API.Events(ctx, url.Values{"kind": {job.EventSchedule}, "limit": {"1000"}})
		if err != nil {
			t.Fatal(err)
		}
		var at []time.Time
		for _, e := range evs {
			if scheduleFired.MatchString(e.Message) {
				at = append(at, e.At)
			}
		}
		sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
		return at
	}
	// onceEach: no two firings of one due time (moments apart), and at least n firings.
	onceEach := func(g *gateway, n int) {
		t.Helper()
		at := firings(g)
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 5*time.Second {
				t.Errorf("two firings %v apart (%s and %s): one due time fired twice", gap.Round(time.Millisecond),
					at[i-1].Format(time.RFC3339Nano), at[i].Format(time.RFC3339Nano))
			}
		}
		if len(at) < n {
			t.Errorf("%d firings, want at least %d", len(at), n)
		}
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				actx, acancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer acancel()
				t.Fatalf("%s: not within %v\nPostgreSQL sessions:\n%s", what, limit, pg.Activity(actx))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitFor("the first firing's run", 45*time.Second, func() bool { got, _ := registered(b); return got["first-2.pdf"] > 0 })
	// Two more due times pass with all three gateways up.
	n := len(firings(b))
	waitFor("two more firings", 45*time.Second, func() bool { return len(firings(b)) >= n+2 })
	got, runs := registered(b)
	if runs != 1 || got["first-1.pdf"] != 1 || got["first-2.pdf"] != 1 || len(got) != 2 {
		t.Fatalf("with three gateways: %d runs holding %v, want one run with each letter once", runs, got)
	}
	onceEach(b, n+2)

	// The leader, as the event log names it: the newest leadership event.
	leader := func(g *gateway, after time.Time) string {
		t.Helper()
		evs, err := g.API.Events(ctx, url.Values{"kind": {job.EventLease}, "limit": {"1000"}})
		if err != nil {
			t.Fatal(err)
		}
		var who string
		var at time.Time
		for _, e := range evs {
			if e.Printer == "" && strings.Contains(e.Message, "leads the cluster") && e.At.After(after) && e.At.After(at) {
				who, at = e.To, e.At
			}
		}
		return who
	}
	lead := leader(b, time.Time{})
	if gws[lead] == nil {
		t.Fatalf("no gateway of the three is named leader in the event log (%q)", lead)
	}
	killed := time.Now()
	gws[lead].Kill()
	t.Logf("leader %s SIGKILLed", lead)
	var other *gateway
	for name, g := range gws {
		if name != lead {
			other = g
			break
		}
	}
	waitFor("a new leader", 30*time.Second, func() bool { l := leader(other, killed); return l != "" && l != lead })
	t.Logf("new leader %s", leader(other, killed))
	put("second-1.pdf")
	waitFor("the run of the letter added after the kill", 60*time.Second, func() bool {
		got, _ := registered(other)
		return got["second-1.pdf"] > 0
	})
	n = len(firings(other))
	waitFor("another firing after the kill", 30*time.Second, func() bool { return len(firings(other)) >= n+1 })
	got, runs = registered(other)
	want := map[string]int{"first-1.pdf": 1, "first-2.pdf": 1, "second-1.pdf": 1}
	if runs != 2 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the leader was killed: %d runs holding %v, want 2 runs holding %v", runs, got, want)
	}
	onceEach(other, n+1)
}
