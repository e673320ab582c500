//go:build e2e

// LPD and raw printers that do not speak IPP, read over SNMP from a real agent (Debian's snmpd
// with a pass_persist Printer MIB the test drives): paper out, jam and door open stop the
// printer within two probe intervals and clearing brings it back; a job completes only when
// the printer's page counter counted its pages; a printer killed mid-run re-sends exactly the
// letters whose pages were not counted and flags only the one it was printing; and the mail
// room's review of that letter, through the real CLI and in the browser, ends in the audit log
// and the run's manifest.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/ui"
)

// snmpProbe is the SNMP tests' probe interval: short, so that the tests are fast.
const snmpProbe = 300 * time.Millisecond

// snmpConfig: printer snmp-a (socket://sink, read over SNMP from agent), printer plain-b (a raw
// sink without SNMP); virtual printers letters (both) and only-a.
func snmpConfig(agent *peer.SNMPD, sinkA, sinkB string, maxInflight int) func(listen, spool string) string {
	return func(listen, spool string) string {
		return fmt.Sprintf(`listen: %q
spool: %q
probe_interval: %s
grace_period: 1s
fail_after: 2
recover_after: 1
log_level: debug
auth:
  trust_loopback: true
printers:
  - name: snmp-a
    uri: socket://%s
    ppm: 60
    max_inflight: %d
    snmp_community: %s
    snmp_port: %d
    snmp_poll_interval: 50ms
    snmp_confirm_timeout: 1m
  - name: plain-b
    uri: socket://%s
    ppm: 60
virtual_printers:
  - name: letters
    pool: [snmp-a, plain-b]
    default: true
  - name: only-a
    pool: [snmp-a]
`, listen, spool, snmpProbe, sinkA, maxInflight, agent.Community, agent.Port, sinkB)
	}
}

// pdfPages counts a PDF's pages as the gateway does.
func sinkPages(b []byte) int {
	n, _ := document.NewCounter().CountReader(bytes.NewReader(b), int64(len(b)), "application/pdf")
	return n
}

func submitTo(t *testing.T, g *gateway, vp, name string, pages int) *job.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := g.API.SubmitFile(ctx, repoFile(t, fmt.Sprintf("testdata/letter-%dp.pdf", pages)),
		ui.SubmitOptions{Printer: vp, Name: name, Owner: "e2e"})
	if err != nil {
		t.Fatalf("submit %s: %v", name, err)
	}
	return j
}

func TestSNMPPrinterStates(t *testing.T) {
	t.Parallel()
	agent := peer.StartSNMPD(t, peer.PrinterMIB{Status: 3, Device: 2, LifeCount: 9000,
		Supplies: []peer.MIBSupply{{Description: "Black Toner Cartridge", MaxCapacity: 1000, Level: 800}}})
	sinkA := peer.StartPrintingSink(t, agent, sinkPages)
	sinkA.Allow(1 << 30)
	sinkB := peer.RawListener(t)
	g := startGateway(t, gatewayOptions{Config: snmpConfig(agent, sinkA.Addr(), sinkB.Addr(), 2)})
	foWaitPrinter(t, g, "snmp-a", 10*time.Second, "probed over SNMP", func(p queue.PrinterInfo) bool {
		return p.State == printers.StateReady && p.PageCount != nil && *p.PageCount == 9000 && len(p.Supplies) == 1
	})

	// A letter to the SNMP printer completes once its counter counted its pages.
	j := submitTo(t, g, "only-a", "counted", 2)
	done := g.waitJobs([]int64{j.ID}, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })[j.ID]
	if ev := done.Evidence; ev == nil || ev.Printer != "snmp-a" || ev.Before != 9000 || ev.Pages != 2 || ev.After < 9002 {
		t.Errorf("completed job's evidence %+v", done.Evidence)
	}

	for _, c := range []struct {
		name   string
		octets []byte
		reason string
	}{
		{"media-empty", []byte{0x40}, "media-empty-error"},
		{"jam", []byte{0x04}, "media-jam-error"},
		{"door-open", []byte{0x08}, "door-open-error"},
	} {
		before := sinkA.Received()
		agent.Set(t, func(m *peer.PrinterMIB) { m.ErrorState = c.octets })
		// Normally within two probe intervals (logged); the bound is generous because on a
		// loaded machine an SNMP probe can time out (the printer reads unreachable for a
		// while), and speed is not what this test checks.
		took := foWaitPrinter(t, g, "snmp-a", 30*time.Second, c.name, func(p queue.PrinterInfo) bool {
			return p.State == printers.StateStopped && strings.Contains(strings.Join(p.Reasons, ","), c.reason)
		})
		t.Logf("%s: stopped %v after the agent said so (probe interval %v)", c.name, took, snmpProbe)
		// No new letters for it: they all go to plain-b.
		var ids []int64
		for i := range 3 {
			ids = append(ids, submitTo(t, g, "letters", fmt.Sprintf("%s-%d", c.name, i), 1).ID)
		}
		jobs := g.waitJobs(ids, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
		for _, id := range ids {
			if jobs[id].Printer != "plain-b" {
				t.Errorf("%s: job %d printed on %s while snmp-a was stopped", c.name, id, jobs[id].Printer)
			}
		}
		if n := sinkA.Received(); n != before {
			t.Errorf("%s: snmp-a received %d letters while stopped", c.name, n-before)
		}
		agent.Set(t, func(m *peer.PrinterMIB) { m.ErrorState = []byte{0x00} })
		foWaitPrinter(t, g, "snmp-a", 30*time.Second, "back after "+c.name, func(p queue.PrinterInfo) bool {
			return p.State == printers.StateReady
		})
	}

	// Toner low (two-octet form) only degrades it: it still prints. A new alert row becomes an
	// event; supplies and alerts reach the metrics.
	agent.Set(t, func(m *peer.PrinterMIB) {
		m.ErrorState = []byte{0x20, 0x00}
		m.Supplies[0].Level = 50
		m.Alerts = append(m.Alerts, peer.MIBAlert{Index: 31, Severity: 4, Group: 11, Code: 1104, Description: "Toner low: order a cartridge"})
	})
	foWaitPrinter(t, g, "snmp-a", 30*time.Second, "degraded", func(p queue.PrinterInfo) bool {
		return p.State == printers.StateDegraded && len(p.Alerts) == 1 && p.Supplies[0].Percent() == 5
	})
	j = submitTo(t, g, "only-a", "degraded", 1)
	g.waitJobs([]int64{j.ID}, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	var alerted bool
	for _, e := range foEvents(t, g, url.Values{"printer": {"snmp-a"}, "kind": {job.EventPrinterState}}) {
		alerted = alerted || strings.Contains(e.Message, "Toner low: order a cartridge")
	}
	if !alerted {
		t.Error("the new alert row is not in the event log")
	}
	metrics := httpGet(t, g.Base+"/metrics")
	for _, want := range []string{
		`printgate_printer_supply_level_percent{index="1",printer="snmp-a",supply="Black Toner Cartridge"} 5`,
		`printgate_printer_alerts{printer="snmp-a",severity="warning"} 1`,
		`printgate_printer_page_count{printer="snmp-a"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics has no %s", want)
		}
	}
	page := httpGet(t, g.Base+"/ui/printers/snmp-a")
	for _, want := range []string{"Black Toner Cartridge", "5%", "Toner low: order a cartridge", "toner-low-report"} {
		if !strings.Contains(page, want) {
			t.Errorf("the printer page does not show %q", want)
		}
	}
}

func httpGet(t *testing.T, u string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", u, resp.StatusCode, err)
	}
	return string(b)
}

func TestSNMPCounterConfirmsAndFailsOver(t *testing.T) {
	t.Parallel()
	agent := peer.StartSNMPD(t, peer.PrinterMIB{Status: 3, Device: 2, LifeCount: 100})
	sinkA := peer.StartPrintingSink(t, agent, sinkPages)
	sinkB := peer.RawListener(t)
	g := startGateway(t, gatewayOptions{Config: snmpConfig(agent, sinkA.Addr(), sinkB.Addr(), 4)})
	foWaitPrinter(t, g, "snmp-a", 10*time.Second, "probed over SNMP", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	// Everything goes to snmp-a first.
	if _, err := g.CLI("printers", "drain", "plain-b"); err != nil {
		t.Fatal(err)
	}

	// A bulk run of five two-page letters.
	dir := t.TempDir()
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-2p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 5; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.pdf", i)), letter, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, err := g.CLI("bulk", "submit", "--json", "--name", "stack", "--printer", "letters", "--dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	var run job.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("bulk submit: %q: %v", out, err)
	}
	letters := runLetters(t, g, run.ID)
	if len(letters) != 5 {
		t.Fatalf("run has %d letters", len(letters))
	}
	ids := make([]int64, 5)
	for i, l := range letters {
		ids[i] = l.JobID
	}

	// The printer took four letters (max_inflight 4) and printed nothing: none is complete.
	deadline := time.Now().Add(30 * time.Second)
	for sinkA.Received() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("snmp-a received %d letters, want 4", sinkA.Received())
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.waitJobs(ids[:4], 10*time.Second, "printing", func(j *job.Job) bool { return j.State == job.StatePrinting })
	// Letter 1's two pages are counted, but the printer still says printing: its last sheet
	// may be in the paper path, so it is not complete yet.
	sinkA.Allow(2)
	g.waitJobs(ids[:1], 10*time.Second, "two pages counted", func(j *job.Job) bool { return j.ImpressionsDone == 2 })
	for _, id := range ids[:4] {
		if j := jobJSON(t, g, id); j.State != job.StatePrinting {
			t.Errorf("job %d is %s before the printer moved on, want printing", id, j.State)
		}
	}
	// Letter 2's first page comes out: letter 1 is done, with its counter evidence, and the
	// gateway has read letter 2's page (its progress says so).
	sinkA.Allow(1)
	jobs := g.waitJobs(ids[:1], 10*time.Second, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	if ev := jobs[ids[0]].Evidence; ev == nil || ev.Before != 100 || ev.After < 102 {
		t.Errorf("letter 1 evidence %+v", ev)
	}
	g.waitJobs(ids[1:2], 10*time.Second, "one page counted", func(j *job.Job) bool { return j.ImpressionsDone == 1 })
	for _, id := range ids[1:4] {
		if j := jobJSON(t, g, id); j.State != job.StatePrinting {
			t.Errorf("job %d is %s with its pages not all counted, want printing", id, j.State)
		}
	}

	// The printer dies: its paper path and its agent stop at once.
	sinkA.Kill()
	agent.Stop(t)
	printedA := sinkA.Printed()
	if _, err := g.CLI("printers", "resume", "plain-b"); err != nil {
		t.Fatal(err)
	}
	jobs = g.waitJobs(ids, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	t.Logf("snmp-a printed %v pages per letter before it died", printedA)
	for i, id := range ids {
		j := jobs[id]
		switch {
		case i == 0:
			if j.Printer != "snmp-a" || j.PossibleDuplicate {
				t.Errorf("letter 1 (counted) on %s flagged %v; want completed at snmp-a, not flagged", j.Printer, j.PossibleDuplicate)
			}
		case i == 1:
			if j.Printer != "plain-b" || !j.PossibleDuplicate {
				t.Errorf("letter 2 (half printed) on %s flagged %v; want re-sent to plain-b, flagged", j.Printer, j.PossibleDuplicate)
			}
		default:
			if j.Printer != "plain-b" || j.PossibleDuplicate {
				t.Errorf("letter %d (not started) on %s flagged %v; want re-sent to plain-b, not flagged", i+1, j.Printer, j.PossibleDuplicate)
			}
		}
	}
	received := 0
	for _, b := range sinkB.Jobs() {
		if len(b) > 0 { // the probes' TCP connects bring nothing
			received++
		}
	}
	if n := received; n != 4 {
		t.Errorf("plain-b received %d letters, want exactly the 4 whose pages were not all counted", n)
	}

	// The review: the CLI lists the one possible duplicate with its evidence.
	out, err = g.CLI("jobs", "duplicates", "--run", fmt.Sprint(run.ID), "--json")
	if err != nil {
		t.Fatal(err)
	}
	var dups []job.Duplicate
	if err := json.Unmarshal([]byte(out), &dups); err != nil {
		t.Fatalf("jobs duplicates --json: %q: %v", out, err)
	}
	if len(dups) != 1 || dups[0].JobID != ids[1] || dups[0].Printer != "snmp-a" || dups[0].Evidence == nil ||
		dups[0].Evidence.Before != 102 || dups[0].Evidence.After != 103 || dups[0].Seq != 2 || dups[0].Decision != "" {
		t.Fatalf("duplicates %+v", dups)
	}
	table, err := g.CLI("jobs", "duplicates")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table, fmt.Sprint(ids[1])) || !strings.Contains(table, "snmp-a") || !strings.Contains(table, "102->103") ||
		!strings.Contains(table, "not reviewed") {
		t.Errorf("jobs duplicates table:\n%s", table)
	}
	// The stack report: snmp-a's stack may hold letter 2 twice.
	st, err := g.API.RunStatus(context.Background(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var stack string
	for _, p := range st.Printers {
		if p.Printer == "snmp-a" {
			stack = p.MayHoldDuplicates
		}
	}
	if stack != "2" {
		t.Errorf("snmp-a may hold duplicates of %q, want \"2\" (%+v)", stack, st.Printers)
	}
	// An operator records it through the CLI.
	out, err = g.CLI("jobs", "duplicate", fmt.Sprint(ids[1]), "printed-twice", "--note", "second copy shredded")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "printed twice, destroy copy") {
		t.Errorf("jobs duplicate said %q", out)
	}
	if _, err := g.CLI("jobs", "duplicate", fmt.Sprint(ids[0]), "printed-once"); err == nil {
		t.Error("a decision on a letter never flagged was accepted")
	}

	// And in the browser, another operator corrects it to printed once.
	ctx := browser(t)
	if err := chromedp.Run(ctx, chromedp.Navigate(g.Base+"/ui/duplicates?run="+fmt.Sprint(run.ID))); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the duplicate listed with its decision",
		fmt.Sprintf(`document.querySelector('tr[data-job="%d"][data-decision="printed-twice"]') !== null`, ids[1]), 10*time.Second)
	var row string
	if err := chromedp.Run(ctx, chromedp.Evaluate(fmt.Sprintf(`document.querySelector('tr[data-job="%d"]').innerText`, ids[1]), &row)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"snmp-a", "102 → 103", "printed twice, destroy copy", "second copy shredded"} {
		if !strings.Contains(row, want) {
			t.Errorf("the review row does not show %q: %q", want, row)
		}
	}
	if err := clickLive(ctx, fmt.Sprintf(`button[data-key="once-%d"]`, ids[1])); err != nil {
		t.Fatal(err)
	}
	waitJS(ctx, t, "the correction shown",
		fmt.Sprintf(`document.querySelector('tr[data-job="%d"][data-decision="printed-once"]') !== null`, ids[1]), 10*time.Second)

	// Both decisions are in the audit log, and the last one is in the manifest.
	var decisions []string
	for _, e := range foEvents(t, g, url.Values{"job": {fmt.Sprint(ids[1])}, "kind": {job.EventOperator}}) {
		if e.To == string(job.DecisionPrintedOnce) || e.To == string(job.DecisionPrintedTwice) {
			decisions = append(decisions, e.To+" by "+e.Actor)
		}
	}
	if len(decisions) != 2 || !strings.HasPrefix(decisions[0], "printed-twice") && !strings.HasPrefix(decisions[1], "printed-twice") {
		t.Errorf("audit log decisions %v, want printed-twice and printed-once", decisions)
	}
	csv, err := g.CLI("bulk", "manifest", fmt.Sprint(run.ID), "--csv")
	if err != nil {
		t.Fatal(err)
	}
	var line2 string
	for _, l := range strings.Split(csv, "\n") {
		if strings.HasPrefix(l, "2,") {
			line2 = l
		}
	}
	if !strings.Contains(line2, "possible-duplicate") || !strings.Contains(line2, ",snmp-a,printed-once,") {
		t.Errorf("manifest line of letter 2: %q\n%s", line2, csv)
	}
}

func runLetters(t *testing.T, g *gateway, id int64) []job.Letter {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, letters, err := g.API.Manifest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return letters
}

func jobJSON(t *testing.T, g *gateway, id int64) *job.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := g.API.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}
