// Adapters from the scheduler to the interfaces the protocol front-ends define (ipp.Service,
// lpd.Spooler, raw): the front-ends know nothing of the queue, the queue speaks their terms here.
package queue

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
)

// The adapters must keep up with the front-ends' interfaces.
var (
	_ ipp.Service = IPPService{}
	_ lpd.Spooler = LPDService{}
)

// LPDService adapts the scheduler to lpd.Spooler (and the raw front-end's smaller interface).
type LPDService struct{ *Scheduler }

// Discard removes a staged document that will not be submitted.
func (LPDService) Discard(st *job.Staged) { st.Discard() }

// QueueJobs lists a virtual printer's unfinished jobs in queue order, for lpq and lprm.
func (a LPDService) QueueJobs(ctx context.Context, virtualPrinter string) ([]*job.Job, error) {
	return a.store.Jobs(ctx, job.JobFilter{VirtualPrinter: virtualPrinter, States: job.Unfinished, Order: "schedule", Limit: 1000})
}

// IPPService adapts the scheduler to ipp.Service, translating the queue's errors to IPP ones.
type IPPService struct {
	*Scheduler
	// MakeModel is printer-make-and-model for every virtual printer.
	MakeModel string
}

func ippErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnknownPrinter):
		return fmt.Errorf("%w: %v", ipp.ErrNotFound, err)
	case errors.Is(err, ErrNotPossible):
		return fmt.Errorf("%w: %v", ipp.ErrNotPossible, err)
	case errors.Is(err, ErrUnsupported):
		return ipp.Errorf(goipp.StatusErrorAttributesOrValues, "%v", err)
	}
	return err
}

// VirtualPrinter implements ipp.Service.
func (a IPPService) VirtualPrinter(ctx context.Context, name string) (*ipp.PrinterInfo, error) {
	vi, err := a.VirtualState(name)
	if err != nil {
		return nil, ippErr(err)
	}
	state := ipp.PrinterIdle
	switch vi.State {
	case "processing":
		state = ipp.PrinterProcessing
	case "stopped":
		state = ipp.PrinterStopped
	}
	uuid := vi.UUID
	if len(uuid) > 9 && uuid[:9] == "urn:uuid:" {
		uuid = uuid[9:]
	}
	mm := a.MakeModel
	if mm == "" {
		mm = "printgate virtual printer"
	}
	msg := ""
	if vi.Usable == 0 && !vi.Paused {
		msg = "no printer of the pool can print now; jobs are kept until one can"
	}
	return &ipp.PrinterInfo{
		Name: vi.Name, UUID: uuid, Info: vi.Info, Location: vi.Location, MakeModel: mm,
		State: state, Reasons: vi.Reasons, Message: msg, Accepting: true, UpSince: vi.UpSince,
		Caps: ipp.Capabilities{Formats: vi.Caps.Formats, Media: vi.Caps.Media, Sides: vi.Caps.Sides,
			ColorModes: vi.Caps.ColorModes, MediaSources: vi.Caps.MediaSources, MediaTypes: vi.Caps.MediaTypes,
			OutputBins: vi.Caps.OutputBins, Resolutions: vi.Caps.Resolutions,
			Finishings: vi.Caps.Finishings, FinishingTemplates: vi.Caps.FinishingTemplates,
			NumberUp: vi.Caps.NumberUp, Overrides: vi.Caps.Overrides,
			PPM: max(vi.MaxPPM, 1)},
	}, nil
}

// PrinterInfos describes every virtual printer, in configuration order (for DNS-SD).
func (a IPPService) PrinterInfos(ctx context.Context) ([]*ipp.PrinterInfo, error) {
	var infos []*ipp.PrinterInfo
	for _, v := range a.VirtualPrinters() {
		p, err := a.VirtualPrinter(ctx, v.Name)
		if err != nil {
			return nil, fmt.Errorf("virtual printer %s: %w", v.Name, err)
		}
		infos = append(infos, p)
	}
	return infos, nil
}

// QueuedJobs implements ipp.Service.
func (a IPPService) QueuedJobs(ctx context.Context, name string) (int, error) {
	v, err := a.Virtual(name)
	if err != nil {
		return 0, ippErr(err)
	}
	return a.store.CountJobs(ctx, job.JobFilter{VirtualPrinter: v.Name, States: job.Unfinished})
}

// Stage implements ipp.Service.
func (a IPPService) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	return a.Scheduler.Stage(ctx, r, name, format)
}

// Discard implements ipp.Service.
func (IPPService) Discard(doc *job.Staged) { doc.Discard() }

// Submit implements ipp.Service.
func (a IPPService) Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	j, err := a.Scheduler.Submit(ctx, nj, docs)
	return j, ippErr(err)
}

// Create implements ipp.Service.
func (a IPPService) Create(ctx context.Context, nj job.NewJob) (*job.Job, error) {
	j, err := a.Scheduler.Create(ctx, nj)
	return j, ippErr(err)
}

// CloseJob implements ipp.Service: a received job with documents becomes schedulable, one
// without any is aborted (there is nothing to print).
func (a IPPService) CloseJob(ctx context.Context, jobID int64) (*job.Job, error) {
	j, err := a.store.Job(ctx, jobID)
	if err != nil {
		return nil, err
	}
	if j.State != job.StateReceived {
		return nil, fmt.Errorf("%w: job %d is %s", ipp.ErrNotPossible, jobID, j.State)
	}
	mv := job.CloseReceived(j.StateReason, len(j.Documents))
	if err := a.store.Transition(ctx, jobID, mv.To, mv.Change); err != nil {
		return nil, err
	}
	a.changed()
	return a.store.Job(ctx, jobID)
}

// Jobs implements ipp.Service: unfinished jobs oldest first, then finished ones newest first.
func (a IPPService) Jobs(ctx context.Context, q ipp.JobQuery) ([]*job.Job, error) {
	var open, done []job.State
	states := q.States
	if states == nil {
		states = append(append([]job.State{}, job.Unfinished...), job.Finished...)
	}
	for _, s := range states {
		if s.Final() {
			done = append(done, s)
		} else {
			open = append(open, s)
		}
	}
	var out []*job.Job
	if len(open) > 0 {
		js, err := a.store.Jobs(ctx, job.JobFilter{VirtualPrinter: q.Printer, States: open, Owner: q.Owner, Order: "oldest", Limit: q.Limit})
		if err != nil {
			return nil, err
		}
		out = js
	}
	if len(done) > 0 && (q.Limit <= 0 || len(out) < q.Limit) {
		limit := 0
		if q.Limit > 0 {
			limit = q.Limit - len(out)
		}
		js, err := a.store.Jobs(ctx, job.JobFilter{VirtualPrinter: q.Printer, States: done, Owner: q.Owner, Limit: limit})
		if err != nil {
			return nil, err
		}
		out = append(out, js...)
	}
	return out, nil
}

// CancelJob implements ipp.Service.
func (a IPPService) CancelJob(ctx context.Context, id int64, actor string) error {
	return ippErr(a.Scheduler.CancelJob(ctx, id, actor))
}

// HoldJob implements ipp.Service.
func (a IPPService) HoldJob(ctx context.Context, id int64, actor string) error {
	return ippErr(a.Scheduler.HoldJob(ctx, id, actor))
}

// ReleaseJob implements ipp.Service.
func (a IPPService) ReleaseJob(ctx context.Context, id int64, actor string) error {
	return ippErr(a.Scheduler.ReleaseJob(ctx, id, actor))
}

// PausePrinter implements ipp.Service.
func (a IPPService) PausePrinter(ctx context.Context, name, actor string) error {
	return ippErr(a.PauseVirtual(ctx, name, actor, true))
}

// ResumePrinter implements ipp.Service.
func (a IPPService) ResumePrinter(ctx context.Context, name, actor string) error {
	return ippErr(a.PauseVirtual(ctx, name, actor, false))
}

// Identify implements ipp.Service. A virtual printer has no panel or beeper: the request is
// recorded where the mail room sees it, on the dashboard's event log.
func (a IPPService) Identify(ctx context.Context, name string, actions []string) error {
	v, err := a.Virtual(name)
	if err != nil {
		return ippErr(err)
	}
	return a.store.RecordEvent(ctx, job.Event{Kind: job.EventOperator,
		Message: fmt.Sprintf("identify requested for virtual printer %s (%v)", v.Name, actions)})
}
