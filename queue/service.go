// The service layer: what the front-ends (IPP, LPD, raw), the JSON API and the dashboard call.
package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/snmp"
)

// Errors the front-ends map to their protocol's answers.
var (
	ErrUnknownPrinter = errors.New("queue: unknown printer")
	ErrUnsupported    = errors.New("queue: no printer in the pool supports what the job asks for")
	ErrNotPossible    = errors.New("queue: not possible in the job's current state")
)

// Stage stores a document durably before its job is submitted.
func (s *Scheduler) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	return s.store.Stage(ctx, r, name, format)
}

// Submit records a job with its documents and wakes the scheduler. It returns after the commit.
func (s *Scheduler) Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	if err := s.checkNewJob(&nj, docs); err != nil {
		for _, d := range docs {
			d.Discard()
		}
		return nil, err
	}
	j, err := s.store.Submit(ctx, nj, docs)
	if err != nil {
		return nil, err
	}
	// The lease holder of the printer that will print it may be another gateway: wake it now.
	s.coord.Publish(NoticeJobAccepted, j.VirtualPrinter)
	s.changed()
	return j, nil
}

// Create records a job whose documents follow (IPP Create-Job).
func (s *Scheduler) Create(ctx context.Context, nj job.NewJob) (*job.Job, error) {
	if err := s.checkNewJob(&nj, nil); err != nil {
		return nil, err
	}
	j, err := s.store.Create(ctx, nj)
	if err != nil {
		return nil, err
	}
	s.notify.signal()
	return j, nil
}

// AddDocument attaches a document to a created job; with last the job becomes schedulable.
func (s *Scheduler) AddDocument(ctx context.Context, jobID int64, doc *job.Staged, last bool) (*job.Job, error) {
	j, err := s.store.AddDocument(ctx, jobID, doc, last)
	if err != nil {
		doc.Discard()
		return nil, err
	}
	if last {
		s.coord.Publish(NoticeJobAccepted, j.VirtualPrinter)
	}
	s.changed()
	return j, nil
}

// checkNewJob resolves the virtual printer ("" = default) and refuses a job no pool member can
// print (feature routing).
func (s *Scheduler) checkNewJob(nj *job.NewJob, docs []*job.Staged) error {
	v, err := s.Virtual(nj.VirtualPrinter)
	if err != nil {
		return err
	}
	nj.VirtualPrinter = v.Name
	if nj.Attributes.DocumentFormat == "" && len(docs) > 0 {
		nj.Attributes.DocumentFormat = docs[0].Format
	}
	if len(s.SupportedBy(v.Name, nj.Attributes)) == 0 {
		return fmt.Errorf("%w (virtual printer %s)", ErrUnsupported, v.Name)
	}
	return nil
}

// Virtual returns a virtual printer's config; "" is the default one.
func (s *Scheduler) Virtual(name string) (*VirtualSpec, error) {
	if name == "" {
		for _, n := range s.vorder {
			if s.virtual[n].Default {
				return s.virtual[n], nil
			}
		}
		if len(s.vorder) > 0 {
			return s.virtual[s.vorder[0]], nil
		}
	}
	v, ok := s.virtual[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownPrinter, name)
	}
	return v, nil
}

// VirtualByLPDQueue finds the virtual printer served as an LPD queue.
func (s *Scheduler) VirtualByLPDQueue(queue string) (*VirtualSpec, error) {
	for _, n := range s.vorder {
		if v := s.virtual[n]; v.LPDQueue == queue {
			return v, nil
		}
	}
	return nil, fmt.Errorf("%w: lpd queue %q", ErrUnknownPrinter, queue)
}

// VirtualPrinters lists the virtual printers in config order.
func (s *Scheduler) VirtualPrinters() []*VirtualSpec {
	out := make([]*VirtualSpec, 0, len(s.vorder))
	for _, n := range s.vorder {
		out = append(out, s.virtual[n])
	}
	return out
}

// Job returns one job.
func (s *Scheduler) Job(ctx context.Context, id int64) (*job.Job, error) {
	return s.store.Job(ctx, id)
}

// Jobs lists jobs.
func (s *Scheduler) Jobs(ctx context.Context, f job.JobFilter) ([]*job.Job, error) {
	return s.store.Jobs(ctx, f)
}

// Events lists events.
func (s *Scheduler) Events(ctx context.Context, f job.EventFilter) ([]job.Event, error) {
	return s.store.Events(ctx, f)
}

// flightOf finds a job's flight, with its printer. Called with s.mu held.
func (s *Scheduler) flightOf(id int64) *flight {
	for _, m := range s.members {
		if f, ok := m.flights[id]; ok {
			return f
		}
	}
	return nil
}

// CancelJob cancels a job wherever it is; a job at a printer is canceled there too. It returns
// once the cancel is recorded, or with the reason it could not be: an operator's cancel is
// done or refused, never lost.
func (s *Scheduler) CancelJob(ctx context.Context, id int64, actor string) error {
	s.mu.Lock()
	if f := s.flightOf(id); f != nil {
		f.actor = actor
		s.mu.Unlock()
		f.cancel(errCanceled)
		return s.cancelRecorded(ctx, f)
	}
	s.mu.Unlock()
	j, err := s.store.Job(ctx, id)
	if err != nil {
		return err
	}
	if j.State.Final() {
		return fmt.Errorf("%w: job %d is %s", ErrNotPossible, id, j.State)
	}
	if j.State.Active() && j.Printer != "" && !s.coord.Lease(j.Printer).Held {
		// At a printer another gateway drives: only that gateway can cancel it there. The row
		// says canceled now (an operator's move, not fenced), and the notice changed publishes
		// makes the holder find its flight's job canceled and cancel it at the printer
		// (cancelCanceledElsewhere).
		mv := job.CanceledInFlight(actor)
		mv.Change.From = []job.State{j.State}
		mv.Change.Message += " on gateway " + s.coord.Gateway() + "; canceled at " + j.Printer + " by the gateway that drives it"
		if err := s.store.Transition(ctx, id, mv.To, mv.Change); err != nil {
			return err
		}
		s.changed()
		return nil
	}
	mv := job.Cancel(actor)
	err = s.store.Transition(ctx, id, mv.To, mv.Change)
	if errors.Is(err, job.ErrStateChanged) {
		// It was picked up between the two reads: cancel the flight instead.
		s.mu.Lock()
		f := s.flightOf(id)
		if f != nil {
			f.actor = actor
		}
		s.mu.Unlock()
		if f != nil {
			f.cancel(errCanceled)
			return s.cancelRecorded(ctx, f)
		}
	}
	if err != nil {
		return err
	}
	s.changed()
	return nil
}

// cancelRecorded waits for a canceled flight to land and reports whether its cancel was
// recorded. A caller that stops waiting (ctx) gets nil: the cancel was taken and the flight
// goes on recording it (retrying a store that fails) until the scheduler stops.
func (s *Scheduler) cancelRecorded(ctx context.Context, f *flight) error {
	select {
	case <-f.landed:
	case <-ctx.Done():
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.cancelErr != nil {
		return fmt.Errorf("queue: cancel of job %d not recorded: %w", f.jobID, f.cancelErr)
	}
	return nil
}

// PurgeDocuments removes now the documents of every finished job, whatever the retention (an
// operator freeing a full disk); the jobs' records stay. It returns how many it removed.
func (s *Scheduler) PurgeDocuments(ctx context.Context, actor string) (int, error) {
	n, err := s.store.Purge(ctx, s.now(), actor)
	if n > 0 {
		s.changed()
	}
	return n, err
}

// HoldJob keeps a job that has not started from printing until released.
func (s *Scheduler) HoldJob(ctx context.Context, id int64, actor string) error {
	mv := job.Hold(actor)
	err := s.store.Transition(ctx, id, mv.To, mv.Change)
	if errors.Is(err, job.ErrStateChanged) || errors.Is(err, job.ErrIllegalTransition) {
		return fmt.Errorf("%w: %v", ErrNotPossible, err)
	}
	if err == nil {
		s.changed()
	}
	return err
}

// ReleaseJob lets a held job print.
func (s *Scheduler) ReleaseJob(ctx context.Context, id int64, actor string) error {
	mv := job.Release(actor)
	err := s.store.Transition(ctx, id, mv.To, mv.Change)
	if errors.Is(err, job.ErrStateChanged) || errors.Is(err, job.ErrIllegalTransition) {
		return fmt.Errorf("%w: %v", ErrNotPossible, err)
	}
	if err == nil {
		s.changed()
	}
	return err
}

// PauseVirtual stops scheduling a virtual printer's jobs (IPP Pause-Printer); they stay pending.
func (s *Scheduler) PauseVirtual(ctx context.Context, name, actor string, pause bool) error {
	v, err := s.Virtual(name)
	if err != nil {
		return err
	}
	verb := "resumed"
	if pause {
		verb = "paused"
	}
	if err := s.store.SetControl(ctx, job.Control{Scope: "virtual", Name: v.Name, Paused: pause, Actor: actor},
		fmt.Sprintf("virtual printer %s %s by %s", v.Name, verb, actor)); err != nil {
		return err
	}
	s.mu.Lock()
	s.paused[v.Name] = pause
	s.mu.Unlock()
	s.changed()
	return nil
}

// Drain stops new work for a printer (its assigned jobs move elsewhere; jobs it already has
// finish there); resume undoes it. Persisted across restarts.
func (s *Scheduler) Drain(ctx context.Context, name, actor string, drain bool) error {
	m := s.members[name]
	if m == nil {
		return fmt.Errorf("%w: %q", ErrUnknownPrinter, name)
	}
	verb := "resumed"
	if drain {
		verb = "drained"
	}
	if err := s.store.SetControl(ctx, job.Control{Scope: "printer", Name: name, Paused: drain, Actor: actor},
		fmt.Sprintf("printer %s %s by %s", name, verb, actor)); err != nil {
		return err
	}
	s.mu.Lock()
	m.drained, m.drainedBy = drain, actor
	var moved []*flight
	if drain {
		moved = s.takeAssignedLocked(m)
		for _, f := range moved {
			f.actor = actor
			// Under the lock, so the flight cannot start sending in between (see probe.go).
			f.cancel(errMoved)
		}
	}
	s.mu.Unlock()
	s.changed()
	return nil
}

// PrinterInfo is a printer's live state for the API and dashboard.
type PrinterInfo struct {
	Name        string                 `json:"name"`
	URI         string                 `json:"uri"`
	State       printers.State         `json:"state"`
	Reasons     []string               `json:"reasons,omitempty"`
	Drained     bool                   `json:"drained"`
	PPM         int                    `json:"ppm"`
	MaxInflight int                    `json:"max_inflight"`
	Inflight    int                    `json:"inflight"`
	Backlog     int                    `json:"backlog_pages"`
	PagesHour   int                    `json:"pages_last_hour"`
	LastProbe   time.Time              `json:"last_probe,omitzero"`
	ProbeError  string                 `json:"probe_error,omitempty"`
	Message     string                 `json:"message,omitempty"`
	Location    string                 `json:"location,omitempty"`
	Info        string                 `json:"info,omitempty"`
	Caps        *printers.Capabilities `json:"capabilities,omitempty"`
	// Pools lists the virtual printers this printer serves.
	Pools []string `json:"pools"`
	// Supplies, Alerts and PageCount are what the printer's SNMP agent reported last
	// (marker supplies, the alert table, prtMarkerLifeCount); empty without SNMP.
	Supplies  []snmp.Supply `json:"supplies,omitempty"`
	Alerts    []snmp.Alert  `json:"alerts,omitempty"`
	PageCount *int64        `json:"page_count,omitempty"`
	// Gateway is the gateway that drives this printer (holds its lease) when several share one
	// spool; empty for a gateway alone.
	Gateway string `json:"gateway,omitempty"`
}

// Printers lists every physical printer's live state in config order.
func (s *Scheduler) Printers() []PrinterInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]PrinterInfo, 0, len(s.order))
	for _, m := range s.sortedMembers() {
		out = append(out, s.infoLocked(m, now))
	}
	return out
}

// Printer returns one printer's live state.
func (s *Scheduler) Printer(name string) (PrinterInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[name]
	if m == nil {
		return PrinterInfo{}, fmt.Errorf("%w: %q", ErrUnknownPrinter, name)
	}
	return s.infoLocked(m, s.now()), nil
}

func (s *Scheduler) infoLocked(m *member, now time.Time) PrinterInfo {
	state := m.state
	if m.drained {
		state = printers.StateDrained
	}
	// Pages of the last hour; older marks are dropped here, where they are read.
	keep := m.doneHour[:0]
	pages := 0
	for _, d := range m.doneHour {
		if now.Sub(d.at) <= time.Hour {
			keep = append(keep, d)
			pages += d.pages
		}
	}
	m.doneHour = keep
	var pools []string
	for _, vn := range s.vorder {
		if slices.Contains(s.virtual[vn].Pool, m.spec.Name) {
			pools = append(pools, vn)
		}
	}
	return PrinterInfo{
		Name: m.spec.Name, URI: m.spec.URI, State: state, Reasons: m.status.Reasons, Drained: m.drained, PPM: m.ppm(),
		MaxInflight: m.spec.MaxInflight, Inflight: len(m.flights), Backlog: m.backlog, PagesHour: pages,
		LastProbe: m.lastProbe, ProbeError: m.probeErr, Message: m.status.Message, Location: m.spec.Location,
		Info: m.spec.Info, Caps: m.status.Capabilities, Pools: pools, Gateway: s.coord.Lease(m.spec.Name).Gateway,
		Supplies: m.status.Supplies, Alerts: m.status.Alerts, PageCount: m.status.PageCount,
	}
}

// VirtualInfo is a virtual printer's live state.
type VirtualInfo struct {
	Name     string   `json:"name"`
	UUID     string   `json:"uuid"`
	Default  bool     `json:"default"`
	Pool     []string `json:"pool"`
	LPDQueue string   `json:"lpd_queue,omitempty"`
	RawPort  int      `json:"raw_port,omitempty"`
	Location string   `json:"location,omitempty"`
	Info     string   `json:"info,omitempty"`
	// State is idle, processing or stopped, as IPP printer-state.
	State   string   `json:"state"`
	Reasons []string `json:"reasons,omitempty"`
	Paused  bool     `json:"paused"`
	// Usable counts pool members that can take work now.
	Usable int `json:"usable_members"`
	// Capabilities is the union of what the usable members can do.
	Caps    printers.Capabilities `json:"capabilities"`
	MaxPPM  int                   `json:"ppm"`
	UpSince time.Time             `json:"up_since"`
}

// VirtualState returns a virtual printer's live state; "" is the default printer.
func (s *Scheduler) VirtualState(name string) (VirtualInfo, error) {
	v, err := s.Virtual(name)
	if err != nil {
		return VirtualInfo{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	vi := VirtualInfo{Name: v.Name, UUID: v.UUID, Default: v.Default, Pool: v.Pool, LPDQueue: v.LPDQueue,
		RawPort: v.RawPort, Location: v.Location, Info: v.Info, Paused: s.paused[v.Name], UpSince: s.started}
	busy := false
	for _, name := range v.Pool {
		m := s.members[name]
		if len(m.flights) > 0 {
			busy = true
		}
		if m.usable(now) {
			vi.Usable++
		}
	}
	for _, name := range v.Pool {
		m := s.members[name]
		// Capabilities are the usable members' union; with none usable, the whole pool's, so
		// the gateway keeps accepting what it will print once a printer is back.
		if vi.Usable > 0 && !m.usable(now) {
			continue
		}
		vi.MaxPPM += m.ppm()
		c := m.status.Capabilities
		if len(m.formats()) == 0 {
			// A printer that cannot tell its formats (LPD and socket printers without a
			// configured formats list) is taken as able to print what it is sent; desktops
			// still need formats to choose from, so it offers the common page languages.
			vi.Caps.Formats = union(vi.Caps.Formats, unknownPrinterFormats)
		}
		// What it takes, and what the format bridge can make of other formats for it.
		vi.Caps.Formats = s.bridgeFormats(union(vi.Caps.Formats, m.formats()), m)
		if c != nil {
			vi.Caps.Media = union(vi.Caps.Media, c.Media)
			vi.Caps.Sides = union(vi.Caps.Sides, c.Sides)
			vi.Caps.ColorModes = union(vi.Caps.ColorModes, c.ColorModes)
			vi.Caps.MediaSources = union(vi.Caps.MediaSources, c.MediaSources)
			vi.Caps.MediaTypes = union(vi.Caps.MediaTypes, c.MediaTypes)
			vi.Caps.OutputBins = union(vi.Caps.OutputBins, c.OutputBins)
			vi.Caps.Resolutions = union(vi.Caps.Resolutions, c.Resolutions)
			vi.Caps.Finishings = union(vi.Caps.Finishings, c.Finishings)
			vi.Caps.FinishingTemplates = union(vi.Caps.FinishingTemplates, c.FinishingTemplates)
			vi.Caps.NumberUp = union(vi.Caps.NumberUp, c.NumberUp)
			vi.Caps.Overrides = union(vi.Caps.Overrides, c.Overrides)
		}
	}
	switch {
	case vi.Paused:
		vi.State, vi.Reasons = "stopped", []string{"paused"}
	case vi.Usable == 0:
		vi.State, vi.Reasons = "stopped", []string{"offline-report"}
	case busy:
		vi.State = "processing"
	default:
		vi.State = "idle"
	}
	return vi, nil
}

// unknownPrinterFormats are the document formats a virtual printer offers for a pool member
// whose formats are unknown.
var unknownPrinterFormats = []string{document.PDF, document.PostScript}

func union[T comparable](a, b []T) []T {
	for _, x := range b {
		if !slices.Contains(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// Tallies counts unfinished jobs and pages by virtual printer or printer.
func (s *Scheduler) Tallies(ctx context.Context, by string) ([]job.Tally, error) {
	return s.store.Tallies(ctx, by)
}

// Health reports whether the scheduler's last pass worked and, for a store on a database
// server (a Pinger), whether the server answers now: a front door's health check must take a
// gateway that lost its spool out of service at once, not after the next scheduling pass.
func (s *Scheduler) Health() error {
	s.mu.Lock()
	err := s.loadErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if p, ok := s.store.(Pinger); ok {
		ctx, cancel := context.WithTimeout(context.Background(), healthPingTimeout)
		defer cancel()
		return p.Ping(ctx)
	}
	return nil
}

// Pinger is a Store that can say whether its database answers (pgspool; SQLite is a file
// and needs no ping).
type Pinger interface {
	Ping(ctx context.Context) error
}

// healthPingTimeout bounds a health check's ping: HAProxy's check gives up after a few seconds.
const healthPingTimeout = 2 * time.Second
