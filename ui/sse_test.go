// The live stream: a change reaches a connected viewer within a second, new event-log rows
// follow with ids, reconnecting resumes, shutdown ends streams, JSON clients keep JSON.
package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

type sseMsg struct {
	id, event, data string
}

// openStream connects to path and returns its messages on a channel (closed at the end of
// the stream) and the response.
func (g *testGateway) openStream(ctx context.Context, path string, hdr map[string]string) (<-chan sseMsg, *http.Response) {
	g.t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, g.srv.URL+path, nil)
	if err != nil {
		g.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	ch := make(chan sseMsg, 100)
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		var m sseMsg
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimRight(line, "\n")
			switch {
			case line == "":
				if m.event != "" || m.data != "" {
					ch <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "id: "):
				m.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				m.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				m.data += line[6:]
			}
		}
	}()
	return ch, resp
}

// next returns the next message of kind event, failing after d.
func next(t *testing.T, ch <-chan sseMsg, event string, d time.Duration) sseMsg {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case m, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended waiting for %q", event)
			}
			if m.event == event {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q message within %s", event, d)
		}
	}
}

var bearer = map[string]string{"Authorization": "Bearer " + testToken}

func TestStreamPushesChangesWithinASecond(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	ch, resp := g.openStream(t.Context(), "/api/v1/events/stream", bearer)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var snap Snapshot
	first := next(t, ch, "change", timeout)
	if err := json.Unmarshal([]byte(first.data), &snap); err != nil || len(snap.Printers) != 2 {
		t.Fatalf("first change %q: %v", first.data, err)
	}
	start := time.Now()
	if err := g.sched.Drain(t.Context(), "demo-a", "alice", true); err != nil {
		t.Fatal(err)
	}
	log := next(t, ch, "log", time.Second)
	var ev job.Event
	if err := json.Unmarshal([]byte(log.data), &ev); err != nil || ev.Actor != "alice" || ev.Printer != "demo-a" || log.id == "" {
		t.Errorf("log message %+v: %v", log, err)
	}
	for {
		m := next(t, ch, "change", time.Second)
		if err := json.Unmarshal([]byte(m.data), &snap); err != nil {
			t.Fatal(err)
		}
		if snap.Printers[0].Name == "demo-a" && snap.Printers[0].State == printers.StateDrained {
			break
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("drain reached the stream after %s, want within 1 s", d)
	}
	// Submitting jobs shows up as queue depth.
	g.submit(3, "bob", "x")
	for snap.Virtual[0].Jobs != 3 {
		m := next(t, ch, "change", time.Second)
		if err := json.Unmarshal([]byte(m.data), &snap); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStreamSharesEventsPathByAccept(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	status, body := g.do(g.client(), http.MethodGet, "/api/v1/events", "", bearer)
	if status != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(body), "{") || !strings.Contains(body, `"events"`) {
		t.Fatalf("JSON events: %d %.200s", status, body)
	}
	hdr := map[string]string{"Authorization": "Bearer " + testToken, "Accept": "text/event-stream"}
	ch, resp := g.openStream(t.Context(), "/api/v1/events", hdr)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Accept: text/event-stream got %q", ct)
	}
	next(t, ch, "change", timeout)
}

func TestStreamResumesAfterLastEventID(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	evs, err := g.sched.Events(t.Context(), job.EventFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	mark := evs[0].ID
	for _, p := range []string{"demo-a", "demo-b"} {
		if err := g.sched.Drain(t.Context(), p, "alice", true); err != nil {
			t.Fatal(err)
		}
	}
	hdr := map[string]string{"Authorization": "Bearer " + testToken, "Last-Event-ID": itoa(mark)}
	ch, _ := g.openStream(t.Context(), "/api/v1/events/stream", hdr)
	var got []string
	for len(got) < 2 {
		m := next(t, ch, "log", timeout)
		var ev job.Event
		if err := json.Unmarshal([]byte(m.data), &ev); err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.Printer)
	}
	if got[0] != "demo-a" || got[1] != "demo-b" {
		t.Errorf("replayed %v, want demo-a then demo-b", got)
	}
}

func TestStreamHidesActorsFromAnonymousViewers(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true, anonymousRead: true})
	ch, _ := g.openStream(t.Context(), "/api/v1/events/stream", nil)
	next(t, ch, "change", timeout)
	if err := g.sched.Drain(t.Context(), "demo-a", "secret-operator", true); err != nil {
		t.Fatal(err)
	}
	m := next(t, ch, "log", timeout)
	if strings.Contains(m.data, "secret-operator") {
		t.Errorf("anonymous stream shows the actor: %s", m.data)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true})
	ch, _ := g.openStream(t.Context(), "/api/v1/events/stream", bearer)
	next(t, ch, "change", timeout)
	g.dash.Shutdown()
	select {
	case _, ok := <-ch:
		for ok {
			_, ok = <-ch
		}
	case <-time.After(timeout):
		t.Fatal("stream still open after Shutdown")
	}
}

func TestStreamHeartbeat(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true, heartbeat: 20 * time.Millisecond})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, g.srv.URL+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(io.LimitReader(resp.Body, 1<<20))
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no keep-alive comment: %v", err)
		}
		if strings.HasPrefix(line, ": keep-alive") {
			return
		}
	}
}
