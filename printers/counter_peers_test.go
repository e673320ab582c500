//go:build peers

// The socket backend with SNMP against Debian's snmpd and a printing sink: a job completes
// when the page counter counted its pages, not when its bytes were sent, and the evidence of
// jobs taken from a dead printer says which pages came out. Run with:
// go test -tags peers -run Counter ./printers/
package printers

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/snmp"
)

func TestMain(m *testing.M) {
	peer.ServePassPersistIfAsked()
	os.Exit(m.Run())
}

// pagesJob is a job whose document says its page count ("pages=N").
func pagesJob(id int64, pages int) *Job {
	return &Job{ID: id, Name: "letter", Pages: pages, Copies: 1,
		Documents: []Document{{Data: []byte("pages=" + strconv.Itoa(pages) + "\n"), Format: "application/octet-stream"}}}
}

func countMarked(b []byte) int {
	_, after, _ := bytes.Cut(b, []byte("pages="))
	n, _ := strconv.Atoi(string(bytes.TrimSpace(after)))
	return n
}

func TestPeerCounterConfirmsCompletion(t *testing.T) {
	agent := peer.StartSNMPD(t, peer.PrinterMIB{Status: 3, Device: 2, LifeCount: 500})
	sink := peer.StartPrintingSink(t, agent, countMarked)
	p, err := Open(Config{Name: "raw", URI: "socket://" + sink.Addr(), SNMP: &SNMPConfig{
		Agent:   snmp.Config{Version: "2c", Community: agent.Community, Port: agent.Port, Timeout: time.Second},
		Confirm: true, PollInterval: 20 * time.Millisecond, ConfirmTimeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := p.Probe(ctx)
	if err != nil || st.State != StateReady || st.PageCount == nil || *st.PageCount != 500 {
		t.Fatalf("probe %+v, %v", st, err)
	}

	r, err := p.Send(ctx, pagesJob(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if r.Done || !r.Counted {
		t.Fatalf("receipt %+v: the counter must follow the job", r)
	}
	progress := make(chan int, 10)
	done := make(chan Outcome, 1)
	go func() {
		out, err := p.Watch(ctx, r, func(n int) { progress <- n })
		if err != nil {
			t.Errorf("watch: %v", err)
		}
		done <- out
	}()
	// The bytes are at the printer, nothing is printed: the job is not complete.
	sink.Allow(1)
	for n := range progress {
		if n == 1 {
			break
		}
	}
	select {
	case out := <-done:
		t.Fatalf("Watch returned %s with one of two pages counted", out)
	default:
	}
	sink.Allow(1)
	if out := <-done; out != OutcomeCompleted {
		t.Fatalf("outcome %s", out)
	}
	ev, ok := p.(Counted).TakeEvidence(r)
	if !ok || ev.Before != 500 || ev.Pages != 2 || ev.After != 502 || ev.Verdict() != job.CountedAll {
		t.Errorf("evidence %+v, %v", ev, ok)
	}

	// A gateway restart: a fresh backend follows a job the old one sent, from its evidence.
	r, err = p.Send(ctx, pagesJob(5, 1))
	if err != nil {
		t.Fatal(err)
	}
	sent, ok := p.(Counted).PeekEvidence(r)
	if !ok || sent.Before != 502 || sent.Pages != 1 {
		t.Fatalf("evidence at send %+v, %v", sent, ok)
	}
	p2, err := Open(Config{Name: "raw", URI: "socket://" + sink.Addr(), SNMP: &SNMPConfig{
		Agent:   snmp.Config{Version: "2c", Community: agent.Community, Port: agent.Port, Timeout: time.Second},
		Confirm: true, PollInterval: 20 * time.Millisecond, ConfirmTimeout: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	r2, ok := p2.(Counted).Follow(5, sent)
	if !ok || !r2.Counted {
		t.Fatalf("Follow: %+v, %v", r2, ok)
	}
	sink.Allow(1)
	if out, err := p2.Watch(ctx, r2, nil); err != nil || out != OutcomeCompleted {
		t.Fatalf("resumed watch: %s, %v", out, err)
	}
	if ev, _ := p2.(Counted).TakeEvidence(r2); ev.After != 503 {
		t.Errorf("resumed evidence %+v", ev)
	}
	p.(Counted).TakeEvidence(r)

	// Three jobs queued at the printer; it prints the first and one page of the second, dies.
	var rs []Receipt
	for i, pages := range []int{1, 2, 1} {
		r, err := p.Send(ctx, pagesJob(int64(10+i), pages))
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	sink.Allow(2)
	sink.WaitPrinted(t, 2+1+2, 10*time.Second)
	// A reading after the last page, as the probes and watches make.
	if _, err := p.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	sink.Kill()
	agent.Stop(t)
	var verdicts []job.Counted
	for _, r := range rs {
		ev, ok := p.(Counted).TakeEvidence(r)
		if !ok {
			t.Fatalf("no evidence for %+v", r)
		}
		verdicts = append(verdicts, ev.Verdict())
	}
	want := []job.Counted{job.CountedAll, job.CountedUncertain, job.CountedNone}
	for i := range want {
		if verdicts[i] != want[i] {
			t.Fatalf("verdicts %v, want %v (printed %v)", verdicts, want, sink.Printed())
		}
	}
	if _, err := p.Probe(ctx); err == nil {
		t.Error("a dead agent answered the probe")
	}
}
