// The LPD backend: RFC 1179 print queues (print servers, older network printers). The protocol
// has no completion report, so a job is done once the server acknowledged its last file.
package printers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
)

// LPD sends jobs to one queue of an LPD server.
type LPD struct {
	name   string
	addr   string // host:port
	queue  string
	ppm    int
	caps   *Capabilities
	client *lpd.Client
	log    *slog.Logger
	// counter follows the printer's page counter over SNMP; nil without SNMP.
	counter *counter
}

// NewLPD returns the backend for lpd://host[:port]/queue.
func NewLPD(c Config) (*LPD, error) {
	addr, queue, err := lpd.ParseURI(c.URI)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", c.Name, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	cnt, err := newCounter(c.Name, host, c.SNMP, c.Now)
	if err != nil {
		return nil, err
	}
	return &LPD{name: c.Name, addr: addr, queue: queue, ppm: c.PPM, caps: declaredCaps(c, "LPD print queue"),
		client: &lpd.Client{}, log: logger(c), counter: cnt}, nil
}

// Name implements Printer.
func (p *LPD) Name() string { return p.name }

// Send implements Printer: one LPD job whose data files are the job's documents, in order.
// A refusal at any step, or a server that cannot be reached, delivered nothing: LPD servers
// queue a job only once its last file is acknowledged.
func (p *LPD) Send(ctx context.Context, j *Job) (Receipt, error) {
	cj := lpd.ClientJob{Name: j.Name, User: j.Owner, Copies: max(j.Copies, 1)}
	for _, d := range j.Documents {
		f := lpd.ClientFile{Name: d.Name, Path: d.Path, Format: lpd.FormatLetter(d.Format)}
		switch {
		case d.Data != nil:
			f.Path, f.Reader, f.Size = "", bytes.NewReader(d.Data), int64(len(d.Data))
		case d.Opener != nil:
			rc, err := d.Opener()
			if err != nil {
				return Receipt{}, fmt.Errorf("%w: %s: open document: %w", ErrNotDelivered, p.name, err)
			}
			defer rc.Close()
			f.Path, f.Reader, f.Size = "", rc, d.Size
		}
		cj.Files = append(cj.Files, f)
	}
	counted := p.counter.begin(ctx, j)
	err := p.client.Send(ctx, p.addr, p.queue, cj)
	switch {
	case err == nil && counted:
		return Receipt{Counted: true, JobID: j.ID}, nil
	case err == nil:
		return Receipt{Done: true}, nil
	case errors.Is(err, lpd.ErrRefused), notDelivered(err):
		err = fmt.Errorf("%w: %s: %w", ErrNotDelivered, p.name, err)
	default:
		err = fmt.Errorf("printers: %s: %w", p.name, err)
	}
	if counted {
		err = p.counter.failed(j.ID, err)
	}
	return Receipt{}, err
}

// Watch implements Printer: with the page counter, until it counted the job's pages (a print
// server queues, the printer prints); without, the acknowledged transfer was the completion.
func (p *LPD) Watch(ctx context.Context, r Receipt, progress func(int)) (Outcome, error) {
	if !r.Counted || p.counter == nil {
		return OutcomeCompleted, nil
	}
	return p.counter.watch(ctx, r, progress)
}

// TakeEvidence implements Counted.
func (p *LPD) TakeEvidence(r Receipt) (job.Evidence, bool) {
	if p.counter == nil {
		return job.Evidence{}, false
	}
	return p.counter.TakeEvidence(r)
}

// PeekEvidence implements Counted.
func (p *LPD) PeekEvidence(r Receipt) (job.Evidence, bool) { return p.counter.PeekEvidence(r) }

// Follow implements Counted.
func (p *LPD) Follow(id int64, e job.Evidence) (Receipt, bool) { return p.counter.Follow(id, e) }

// Cancel implements Printer; a transferred LPD job is the server's.
func (p *LPD) Cancel(context.Context, Receipt) error { return nil }

// Probe implements Printer: with SNMP, the printer's own status; without, the server accepts a
// TCP connection. RFC 1179's queue-state command would tell more, but its answer is free text
// that differs per server.
func (p *LPD) Probe(ctx context.Context) (Status, error) {
	if p.counter != nil {
		return p.counter.probe(ctx, p.ppm, p.caps)
	}
	if err := tcpProbe(ctx, p.addr); err != nil {
		return Status{QueuedJobs: -1}, fmt.Errorf("printers: %s: %w", p.name, err)
	}
	return Status{State: StateReady, Accepting: true, QueuedJobs: -1, PPM: p.ppm, Capabilities: p.caps}, nil
}

// Close implements Printer.
func (p *LPD) Close() error { return nil }

// tcpProbe connects to addr and hangs up.
func tcpProbe(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// notDelivered reports whether err says the printer was never reached: a failed dial or name
// look-up, so nothing can have been printed.
func notDelivered(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// declaredCaps are the capabilities the configuration declares for a printer that cannot
// report its own; nil lists mean "unknown" (taken as able).
func declaredCaps(c Config, model string) *Capabilities {
	caps := &Capabilities{Formats: c.Formats, Media: c.Media, Sides: c.Sides, MakeModel: model}
	if c.Color != nil {
		caps.ColorModes = []string{"monochrome"}
		if *c.Color {
			caps.ColorModes = append(caps.ColorModes, "color", "auto")
		}
	}
	return caps
}

func logger(c Config) *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}
