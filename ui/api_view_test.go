// What the read-only API shows to whom: events and printers through the same views as the
// dashboard and the event stream, against a fake service.
package ui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// viewService answers the reads these tests make; any other call panics.
type viewService struct {
	Service
	events   []job.Event
	printers []queue.PrinterInfo
}

func (s *viewService) Events(context.Context, job.EventFilter) ([]job.Event, error) {
	return slices.Clone(s.events), nil
}

func (s *viewService) Printers() []queue.PrinterInfo { return slices.Clone(s.printers) }

func (s *viewService) Printer(name string) (queue.PrinterInfo, error) {
	for _, p := range s.printers {
		if p.Name == name {
			return p, nil
		}
	}
	return queue.PrinterInfo{}, queue.ErrUnknownPrinter
}

// getJSON serves one GET through a router with the API registered, as operator (anonymous
// when empty), and decodes the answer into v.
func getJSON(t *testing.T, svc Service, operator, path string, v any) {
	t.Helper()
	r := mux.NewRouter()
	NewAPI(svc, fixedAuth{operator}, slog.New(slog.NewTextHandler(io.Discard, nil))).Register(r)
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, rec.Body)
	}
}

func TestEventsAPIHidesActorsFromAnonymousViewers(t *testing.T) {
	t.Parallel()
	held := job.Event{ID: 2, Kind: job.EventOperator, JobID: 1, Actor: "alice", Message: "held by alice"}
	received := job.Event{ID: 1, Kind: job.EventJobState, JobID: 1, Actor: "drjones", Message: "job received via ipp"}
	probe := job.Event{ID: 3, Kind: job.EventPrinterState, Printer: "p1", Message: "ready -> stopped (reasons: media-empty)"}
	svc := &viewService{events: []job.Event{held, received, probe}}
	tests := []struct {
		name     string
		operator string
		want     []job.Event
	}{
		{"operator sees actors", "op", []job.Event{held, received, probe}},
		{"anonymous sees them hidden", "", []job.Event{
			{ID: 2, Kind: job.EventOperator, JobID: 1, Actor: "(hidden)", Message: "held by (hidden)"},
			{ID: 1, Kind: job.EventJobState, JobID: 1, Actor: "(hidden)", Message: "job received via ipp"},
			probe,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got struct {
				Events []job.Event `json:"events"`
			}
			getJSON(t, svc, tt.operator, "/api/v1/events", &got)
			if !slices.Equal(got.Events, tt.want) {
				t.Errorf("events\n got %+v\nwant %+v", got.Events, tt.want)
			}
		})
	}
}

func TestPrintersAPIMasksPasswords(t *testing.T) {
	t.Parallel()
	svc := &viewService{printers: []queue.PrinterInfo{
		{Name: "ward7", URI: "ipp://alice:s3cret@10.0.0.5/ipp/print",
			ProbeError: `printers: ward7: ipp: Get-Printer-Attributes "ipp://alice:s3cret@10.0.0.5/ipp/print": refused`,
			Message:    "cannot reach ipps://alice:s3cret@spooler/q"},
		{Name: "plain", URI: "lpd://10.0.0.6/q"},
	}}
	want := []queue.PrinterInfo{
		{Name: "ward7", URI: "ipp://alice:xxxxx@10.0.0.5/ipp/print",
			ProbeError: `printers: ward7: ipp: Get-Printer-Attributes "ipp://alice:xxxxx@10.0.0.5/ipp/print": refused`,
			Message:    "cannot reach ipps://alice:xxxxx@spooler/q"},
		{Name: "plain", URI: "lpd://10.0.0.6/q"},
	}
	tests := []struct {
		name, operator, path string
		want                 []queue.PrinterInfo
	}{
		{"list, anonymous", "", "/api/v1/printers", want},
		{"list, operator", "op", "/api/v1/printers", want},
		{"one, operator", "op", "/api/v1/printers/ward7", want[:1]},
		{"one, anonymous", "", "/api/v1/printers/ward7", want[:1]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []queue.PrinterInfo
			if strings.HasSuffix(tt.path, "/printers") {
				var list struct {
					Printers []queue.PrinterInfo `json:"printers"`
				}
				getJSON(t, svc, tt.operator, tt.path, &list)
				got = list.Printers
			} else {
				var one queue.PrinterInfo
				getJSON(t, svc, tt.operator, tt.path, &one)
				got = []queue.PrinterInfo{one}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("printers\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestEventsAPIMasksPrinterPasswords(t *testing.T) {
	t.Parallel()
	svc := &viewService{events: []job.Event{{ID: 1, Kind: job.EventPrinterState, Printer: "ward7",
		Message: `ready -> unreachable: printers: ward7: ipp: Get-Printer-Attributes "ipp://alice:s3cret@10.0.0.5/ipp/print": refused`}}}
	for _, operator := range []string{"op", ""} {
		var got struct {
			Events []job.Event `json:"events"`
		}
		getJSON(t, svc, operator, "/api/v1/events", &got)
		if len(got.Events) != 1 || got.Events[0].Message !=
			`ready -> unreachable: printers: ward7: ipp: Get-Printer-Attributes "ipp://alice:xxxxx@10.0.0.5/ipp/print": refused` {
			t.Errorf("operator %q: events %+v", operator, got.Events)
		}
	}
}
