// What the dashboard's templates show: rows built from the service's types, states and reasons
// in words, times, and the queue-depth history behind the small charts.
package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/queue"
)

// status is a state for people: a word, a longer explanation and a CSS class for its colour.
// The word is always shown; colour only repeats it.
type status struct {
	Word, Hint, Class string
}

var printerStatus = map[printers.State]status{
	printers.StateReady:       {"Ready", "idle and taking work", "ok"},
	printers.StateBusy:        {"Printing", "working and taking work", "busy"},
	printers.StateDegraded:    {"Needs attention", "still printing, but reports a problem", "warn"},
	printers.StateStopped:     {"Stopped", "not printing; its work goes to other printers", "bad"},
	printers.StateUnreachable: {"Unreachable", "not answering; its work goes to other printers", "bad"},
	printers.StateDrained:     {"Drained", "taken out of service by an operator", "off"},
	printers.StateUnknown:     {"Not checked yet", "waiting for the first status check", "off"},
}

func printerWord(s printers.State) status { return statusOf(printerStatus, s) }

// statusOf looks a state up in a table; a state the table lacks is shown as it is.
func statusOf[S ~string](table map[S]status, s S) status {
	if st, ok := table[s]; ok {
		return st
	}
	return status{string(s), "", "off"}
}

var jobStatus = map[job.State]status{
	job.StateReceived:  {"Receiving", "documents still arriving", "off"},
	job.StatePending:   {"Waiting", "queued for a printer", "wait"},
	job.StateHeld:      {"Held", "kept back until released", "warn"},
	job.StateAssigned:  {"Assigned", "printer chosen, about to send", "busy"},
	job.StateSending:   {"Sending", "being sent to the printer", "busy"},
	job.StatePrinting:  {"Printing", "the printer has it", "busy"},
	job.StateCompleted: {"Printed", "the printer reported it done", "ok"},
	job.StateCanceled:  {"Canceled", "", "off"},
	job.StateAborted:   {"Failed", "gave up after errors", "bad"},
}

func jobWord(s job.State) status { return statusOf(jobStatus, s) }

var virtualStatus = map[string]status{
	"idle":       {"Idle", "nothing printing", "ok"},
	"processing": {"Printing", "jobs at printers", "busy"},
	"stopped":    {"Stopped", "no printer can take its work", "bad"},
}

// reasonWords are IPP printer-state-reasons a mail room meets, in plain words.
var reasonWords = map[string]string{
	"media-empty": "Out of paper", "media-needed": "Load paper", "media-low": "Paper low", "media-jam": "Paper jam",
	"toner-low": "Toner low", "toner-empty": "Toner empty", "marker-supply-low": "Toner or ink low",
	"marker-supply-empty": "Toner or ink empty", "marker-waste-full": "Waste toner full",
	"door-open": "Door open", "cover-open": "Cover open", "input-tray-missing": "Paper tray missing",
	"output-tray-missing": "Output tray missing", "output-area-full": "Output tray full",
	"paused": "Paused at the printer", "offline": "Offline", "shutdown": "Shut down",
	"connecting-to-device": "Connecting", "timed-out": "Not answering", "stopped-partly": "Partly stopped",
	"spool-area-full": "Printer's memory full", "moving-to-paused": "Pausing", "fuser-over-temp": "Fuser too hot",
	"interpreter-resource-unavailable": "Cannot read the job", "other": "Other problem",
	"printer-not-accepting-jobs": "Not accepting jobs", "not-accepting-jobs": "Not accepting jobs",
}

// reasonText turns "media-empty-error" into "Out of paper (error)".
func reasonText(r string) string {
	if r == "" || r == "none" {
		return ""
	}
	base, sev := r, ""
	for _, s := range []string{"-report", "-warning", "-error"} {
		if b, ok := strings.CutSuffix(r, s); ok {
			base, sev = b, strings.TrimPrefix(s, "-")
		}
	}
	w, ok := reasonWords[base]
	if !ok {
		w = strings.ReplaceAll(base, "-", " ")
		w = strings.ToUpper(w[:1]) + w[1:]
	}
	if sev == "error" || sev == "warning" {
		w += " (" + sev + ")"
	}
	return w
}

func reasonTexts(rs []string) []string {
	var out []string
	for _, r := range rs {
		if t := reasonText(r); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// depth is a count of jobs and pages.
type depth struct{ Jobs, Pages int }

func (d *depth) add(t job.Tally) { d.Jobs += t.Jobs; d.Pages += t.Pages }

type virtualRow struct {
	queue.VirtualInfo
	Status status
	// Waiting (pending) and Held by lane; Active at printers; Total of everything unfinished.
	Interactive, Bulk, Held, Active, Total depth
	Chart                                  chart
}

func newVirtualRow(vi queue.VirtualInfo, tallies []job.Tally, c chart) virtualRow {
	st := statusOf(virtualStatus, vi.State)
	if vi.Paused {
		st = status{"Paused", "an operator paused it; jobs wait", "warn"}
	}
	row := virtualRow{VirtualInfo: vi, Status: st, Chart: c}
	for _, t := range tallies {
		if t.Key != vi.Name || t.State == job.StateReceived {
			continue
		}
		row.Total.add(t)
		switch {
		case t.State == job.StateHeld:
			row.Held.add(t)
		case t.State.Active():
			row.Active.add(t)
		case t.Lane == job.LaneBulk:
			row.Bulk.add(t)
		default:
			row.Interactive.add(t)
		}
	}
	return row
}

type printerRow struct {
	queue.PrinterInfo
	Status  status
	Reasons []string
	// ClearIn is how long the backlog takes at the printer's speed.
	ClearIn time.Duration
	Chart   chart
}

func newPrinterRow(p queue.PrinterInfo, c chart) printerRow {
	p = viewPrinter(p)
	row := printerRow{PrinterInfo: p, Status: printerWord(p.State), Reasons: reasonTexts(p.Reasons), Chart: c}
	if p.PPM > 0 && p.Backlog > 0 {
		row.ClearIn = time.Duration(float64(p.Backlog) / float64(p.PPM) * float64(time.Minute))
	}
	return row
}

type jobRow struct {
	*job.Job
	Status status
	// Hidden: name and owner are not shown to this viewer.
	Hidden bool
}

func (d *Dashboard) jobRows(jobs []*job.Job, operator bool) []jobRow {
	out := make([]jobRow, 0, len(jobs))
	for _, j := range jobs {
		r := jobRow{Job: j, Status: jobWord(j.State), Hidden: !operator}
		if !operator {
			c := *j
			c.Name, c.Owner, c.OriginHost, c.Documents = "", "", "", nil
			r.Job = &c
		}
		out = append(out, r)
	}
	return out
}

type eventRow struct {
	job.Event
	KindWord string
	Class    string
}

var eventKindWords = map[string]status{
	job.EventJobState:     {"Job", "", "off"},
	job.EventFailover:     {"Failover", "", "warn"},
	job.EventPrinterState: {"Printer", "", "busy"},
	job.EventOperator:     {"Operator", "", "ok"},
	job.EventRecovery:     {"Recovery", "", "warn"},
	job.EventRetention:    {"Retention", "", "off"},
	job.EventRun:          {"Bulk run", "", "busy"},
}

func (d *Dashboard) eventRows(evs []job.Event, operator bool) []eventRow {
	out := make([]eventRow, 0, len(evs))
	for _, e := range evs {
		k, ok := eventKindWords[e.Kind]
		if !ok {
			k = status{e.Kind, "", "off"}
		}
		out = append(out, eventRow{Event: viewEvent(e, operator), KindWord: k.Word, Class: k.Class})
	}
	return out
}

// viewEvent is an event as a caller may see it: to one who is not an operator, the actor is
// "(hidden)", in the message too. The actor may be a job's owner canceling their own job (or,
// for a job received, simply its owner): not for anonymous eyes. To everyone, a printer
// password in the message (a failed check quoting the printer's URI) is masked. The dashboard,
// the event stream and GET /api/v1/events all show events through it.
func viewEvent(e job.Event, operator bool) job.Event {
	e.Message = printers.RedactText(e.Message)
	if !operator && e.Actor != "" {
		e.Message = strings.ReplaceAll(e.Message, e.Actor, "(hidden)")
		e.Actor = "(hidden)"
	}
	if !operator && privateEvent(e.Kind) && e.Message != "" {
		// Runs and schedules are named after what they print, and their events name the
		// letters' files (a patient's name); refusals name who tried from where.
		e.Message = "(hidden)"
	}
	return e
}

// privateEvent reports whether only operators see the messages of events of kind.
func privateEvent(kind string) bool {
	switch kind {
	case job.EventRun, job.EventSchedule, job.EventRefused:
		return true
	}
	return false
}

// viewPrinter is a printer as the API and the dashboard show it: its URI with the password
// masked, and any password masked in its last check's error and its status message. The
// backends keep passwords out of their errors; this is the second line of defence.
func viewPrinter(p queue.PrinterInfo) queue.PrinterInfo {
	p.URI = printers.RedactURI(p.URI)
	p.ProbeError = printers.RedactText(p.ProbeError)
	p.Message = printers.RedactText(p.Message)
	return p
}

// --- history and charts ---

// history keeps recent samples per series (virtual printer depth, printer backlog) in memory:
// a restart starts the charts afresh, which the page says.
type history struct {
	keep time.Duration
	mu   sync.Mutex
	s    map[string][]point
}

type point struct {
	at time.Time
	v  float64
}

func newHistory(keep time.Duration) *history { return &history{keep: keep, s: map[string][]point{}} }

func (h *history) add(key string, at time.Time, v float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	ps := h.s[key]
	cut := 0
	for cut < len(ps) && at.Sub(ps[cut].at) > h.keep {
		cut++
	}
	h.s[key] = append(ps[cut:], point{at, v})
}

// chart is a small SVG line of a series over the history window.
type chart struct {
	// Points is the polyline, in a 0..W × 0..H box (y grows down).
	Points string
	// Area closes the line to the bottom, for the filled shape.
	Area      string
	W, H      int
	Max, Last float64
	Since     time.Time
	Samples   int
	// Label says the same in words, for screen readers and the tooltip.
	Label string
}

const chartW, chartH = 240, 48

func (h *history) chart(key string, now time.Time) chart {
	h.mu.Lock()
	ps := append([]point(nil), h.s[key]...)
	h.mu.Unlock()
	c := chart{W: chartW, H: chartH, Samples: len(ps)}
	if len(ps) == 0 {
		c.Label = "no samples yet"
		return c
	}
	c.Since, c.Last = ps[0].at, ps[len(ps)-1].v
	lo := ps[0].v
	for _, p := range ps {
		c.Max = max(c.Max, p.v)
		lo = min(lo, p.v)
	}
	top := max(c.Max, 1)
	// The chart spans the window, or less while the history is younger than the window
	// (after a start), so that a few minutes of samples are not a sliver at the right edge.
	start := now.Add(-h.keep)
	if ps[0].at.After(start) {
		start = ps[0].at
	}
	span := max(now.Sub(start).Seconds(), 1)
	var b strings.Builder
	for i, p := range ps {
		x := float64(chartW) * p.at.Sub(start).Seconds() / span
		x = min(max(x, 0), chartW)
		y := chartH - 2 - (chartH-4)*p.v/top
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, y)
	}
	c.Points = b.String()
	first := strings.SplitN(c.Points, ",", 2)[0]
	lastX := c.Points[strings.LastIndexByte(c.Points, ' ')+1:]
	lastX = strings.SplitN(lastX, ",", 2)[0]
	c.Area = fmt.Sprintf("%s,%d %s %s,%d", first, chartH, c.Points, lastX, chartH)
	c.Label = fmt.Sprintf("over the last %s: now %g, lowest %g, highest %g", roundDur(now.Sub(c.Since)), c.Last, lo, c.Max)
	return c
}

func roundDur(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "minute"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes", int(d.Minutes()+0.5))
	}
	return "hour"
}

type actCtx struct {
	Page    any
	Name    string
	Drained bool
}

type runCtx struct {
	Page any
	Run  RunView
}

// runStatus words the spool's run states (job.RunState).
var runStatus = map[string]status{
	string(job.RunUploading): {"Uploading", "letters still arriving; none prints before the upload is complete", "off"},
	string(job.RunScheduled): {"Scheduled", "waits for its start time", "wait"},
	string(job.RunActive):    {"Printing", "letters waiting or at printers", "busy"},
	string(job.RunPaused):    {"Paused", "an operator paused it; letters at printers finish", "warn"},
	string(job.RunCompleted): {"Printed", "every letter done", "ok"},
	string(job.RunCanceled):  {"Canceled", "", "off"},
	string(job.RunDiscarded): {"Discarded", "the upload never completed", "off"},
}

func runWord(s string) status {
	if st, ok := runStatus[s]; ok {
		return st
	}
	return status{s, "", "off"}
}

// runCan says which buttons a run in state s offers (the spool refuses the rest anyway).
func runCan(s, action string) bool {
	switch action {
	case "pause":
		return s == "scheduled" || s == "active"
	case "resume":
		return s == "paused"
	case "cancel":
		return s == "scheduled" || s == "active" || s == "paused"
	}
	return false
}

// --- template functions ---

func (d *Dashboard) funcs() template.FuncMap {
	return template.FuncMap{
		"printerWord": printerWord,
		"jobWord":     jobWord,
		"clock": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			now := d.now()
			if y1, m1, d1 := t.Date(); y1 == now.Year() && m1 == now.Month() && d1 == now.Day() {
				return t.Format("15:04:05")
			}
			return t.Format("2 Jan 15:04")
		},
		"iso": func(t time.Time) string { return t.Format(time.RFC3339) },
		"ago": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			s := d.now().Sub(t).Round(time.Second)
			if s < time.Second {
				return "just now"
			}
			return s.String() + " ago"
		},
		"dur": func(x time.Duration) string {
			if x <= 0 {
				return "—"
			}
			if x < time.Minute {
				return fmt.Sprintf("%d s", int(x.Seconds()+0.5))
			}
			if x < time.Hour {
				return fmt.Sprintf("%d min", int(x.Minutes()+0.5))
			}
			return fmt.Sprintf("%d h %d min", int(x.Hours()), int(x.Minutes())%60)
		},
		"join": strings.Join,
		// act bundles a printer's name and drain state with the page, for its buttons.
		"act": func(page any, name string, drained bool) actCtx {
			return actCtx{Page: page, Name: name, Drained: drained}
		},
		"runctx":   func(page any, r RunView) runCtx { return runCtx{Page: page, Run: r} },
		"runWord":  func(s string) string { return runWord(s).Word },
		"runClass": func(s string) string { return runWord(s).Class },
		"runCan":   runCan,
		"path":     url.PathEscape,
		"pct": func(done, total int) int {
			if total <= 0 {
				return 0
			}
			return done * 100 / total
		},
		"plural": func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		},
	}
}
