// The live stream (Server-Sent Events): a "change" message with the printers' and queues'
// state whenever the scheduler signals, and a "log" message per new event-log row, so a
// dashboard updates within a second without polling.
package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// Snapshot is the data of a "change" message.
type Snapshot struct {
	At       time.Time         `json:"at"`
	Printers []SnapshotPrinter `json:"printers"`
	Virtual  []SnapshotVirtual `json:"virtual_printers"`
}

// SnapshotPrinter is one physical printer in a Snapshot.
type SnapshotPrinter struct {
	Name     string         `json:"name"`
	State    printers.State `json:"state"`
	Word     string         `json:"word"`
	Backlog  int            `json:"backlog_pages"`
	Inflight int            `json:"inflight"`
}

// SnapshotVirtual is one virtual printer in a Snapshot: its unfinished jobs and pages.
type SnapshotVirtual struct {
	Name  string `json:"name"`
	State string `json:"state"`
	Jobs  int    `json:"jobs"`
	Pages int    `json:"pages"`
}

// maxLogBacklog bounds the events replayed to a reconnecting viewer; the page it reloads
// shows the rest.
const maxLogBacklog = 500

func (d *Dashboard) stream(w http.ResponseWriter, r *http.Request) {
	r, id, _ := d.auth.withIdentity(r)
	if !id.Viewer() && !d.auth.AnonymousRead() {
		d.auth.Refuse(r, "viewing needs a sign-in or a token (anonymous_read is off)")
		writeJSON(w, http.StatusUnauthorized, apiError{Error: "operator login or API token required", Code: "unauthorized"})
		return
	}
	ctx := r.Context()
	// Subscribe before reading anything, so no change between the first read and the loop is lost.
	changes, stop := d.svc.Subscribe()
	defer stop()
	last, err := d.streamStart(ctx, r)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error(), Code: "internal"})
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no") // a reverse proxy must not buffer the stream
	w.WriteHeader(http.StatusOK)
	write := func(s string) error {
		_ = rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := fmt.Fprint(w, s); err != nil {
			return err
		}
		return rc.Flush()
	}
	send := func() error {
		msg, next, err := d.streamMessage(ctx, last, id.Operator())
		if err != nil {
			return err
		}
		last = next
		return write(msg)
	}
	if err := write("retry: 2000\n\n"); err != nil {
		return
	}
	if err := send(); err != nil {
		d.log.Debug("event stream ended", "err", err)
		return
	}
	beat := time.NewTicker(d.opts.Heartbeat)
	defer beat.Stop()
	sent := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.closing:
			return
		case <-beat.C:
			if err := write(": keep-alive\n\n"); err != nil {
				return
			}
		case <-changes:
			if wait := d.opts.StreamThrottle - time.Since(sent); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return
				case <-d.closing:
					t.Stop()
					return
				case <-t.C:
				}
				// Whatever else changed while waiting goes out in this one message.
				select {
				case <-changes:
				default:
				}
			}
			if err := send(); err != nil {
				if ctx.Err() == nil {
					d.log.Debug("event stream ended", "err", err)
				}
				return
			}
			sent = time.Now()
		}
	}
}

// streamStart finds the first event to send: after Last-Event-ID when the browser reconnects
// (or ?after=), else after the newest (a new viewer gets the page's own list).
func (d *Dashboard) streamStart(ctx context.Context, r *http.Request) (int64, error) {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("after")} {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return n, nil
		}
	}
	evs, err := d.svc.Events(ctx, job.EventFilter{Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	return evs[0].ID, nil
}

// streamMessage builds the log messages for events after last, then one change message.
func (d *Dashboard) streamMessage(ctx context.Context, last int64, operator bool) (string, int64, error) {
	evs, err := d.svc.Events(ctx, job.EventFilter{AfterID: last, Limit: maxLogBacklog})
	if err != nil {
		return "", last, err
	}
	var out []byte
	for _, row := range d.eventRows(evs, operator) {
		data, err := json.Marshal(row.Event)
		if err != nil {
			return "", last, err
		}
		out = fmt.Appendf(out, "id: %d\nevent: log\ndata: %s\n\n", row.ID, data)
		last = max(last, row.ID)
	}
	snap, err := d.snapshot(ctx)
	if err != nil {
		return "", last, err
	}
	data, err := json.Marshal(snap)
	if err != nil {
		return "", last, err
	}
	out = fmt.Appendf(out, "event: change\ndata: %s\n\n", data)
	return string(out), last, nil
}

// snapshot reads the live state a change message carries.
func (d *Dashboard) snapshot(ctx context.Context) (Snapshot, error) {
	s := Snapshot{At: d.now()}
	tallies, err := d.svc.Tallies(ctx, "virtual")
	if err != nil {
		return s, err
	}
	for _, v := range d.svc.VirtualPrinters() {
		sv := SnapshotVirtual{Name: v.Name}
		if vi, err := d.svc.VirtualState(v.Name); err == nil {
			sv.State = vi.State
		}
		for _, t := range tallies {
			if t.Key == v.Name && t.State != job.StateReceived {
				sv.Jobs += t.Jobs
				sv.Pages += t.Pages
			}
		}
		s.Virtual = append(s.Virtual, sv)
	}
	for _, p := range d.svc.Printers() {
		s.Printers = append(s.Printers, SnapshotPrinter{Name: p.Name, State: p.State, Word: printerWord(p.State).Word,
			Backlog: p.Backlog, Inflight: p.Inflight})
	}
	return s, nil
}
