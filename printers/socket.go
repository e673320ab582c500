// The socket backend: raw AppSocket/JetDirect printers (port 9100). The bytes go as they are;
// a job is done when all of them were written and the printer closed the connection cleanly.
package printers

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/printgate/printgate/job"

	"github.com/printgate/printgate/raw"
)

// Socket sends jobs over one TCP connection each, with raw.Client.
type Socket struct {
	name   string
	addr   string
	ppm    int
	caps   *Capabilities
	client *raw.Client
	// counter follows the printer's page counter over SNMP; nil without SNMP.
	counter *counter
}

// NewSocket returns the backend for socket://host[:port] (port 9100 by default).
func NewSocket(c Config) (*Socket, error) {
	addr, err := raw.ParseURI(c.URI)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: %w", c.Name, err)
	}
	host, _, _ := net.SplitHostPort(addr)
	cnt, err := newCounter(c.Name, host, c.SNMP, c.Now)
	if err != nil {
		return nil, err
	}
	return &Socket{name: c.Name, addr: addr, ppm: c.PPM, caps: declaredCaps(c, "AppSocket printer"),
		client: &raw.Client{}, counter: cnt}, nil
}

// Name implements Printer.
func (p *Socket) Name() string { return p.name }

// Send implements Printer: the documents back to back on one connection, then a half-close and
// a wait for the printer's clean close. A printer that could not be reached delivered nothing;
// one that got every byte but reset the connection or never closed it (raw.ErrUnconfirmed) may
// print the job, so that is a plain failure and a re-send is flagged as a possible duplicate.
func (p *Socket) Send(ctx context.Context, j *Job) (Receipt, error) {
	var readers []io.Reader
	for _, d := range j.Documents {
		f, err := d.Open()
		if err != nil {
			return Receipt{}, fmt.Errorf("printers: %s: %w", p.name, err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	counted := p.counter.begin(ctx, j)
	if err := p.client.Send(ctx, p.addr, io.MultiReader(readers...)); err != nil {
		if notDelivered(err) {
			err = fmt.Errorf("%w: %s: %w", ErrNotDelivered, p.name, err)
		} else {
			err = fmt.Errorf("printers: %s: %w", p.name, err)
		}
		if counted {
			err = p.counter.failed(j.ID, err)
		}
		return Receipt{}, err
	}
	if counted {
		return Receipt{Counted: true, JobID: j.ID}, nil
	}
	return Receipt{Done: true}, nil
}

// Watch implements Printer: with the page counter, until it counted the job's pages;
// without, the clean close was the completion.
func (p *Socket) Watch(ctx context.Context, r Receipt, progress func(int)) (Outcome, error) {
	if !r.Counted || p.counter == nil {
		return OutcomeCompleted, nil
	}
	return p.counter.watch(ctx, r, progress)
}

// TakeEvidence implements Counted.
func (p *Socket) TakeEvidence(r Receipt) (job.Evidence, bool) {
	if p.counter == nil {
		return job.Evidence{}, false
	}
	return p.counter.TakeEvidence(r)
}

// PeekEvidence implements Counted.
func (p *Socket) PeekEvidence(r Receipt) (job.Evidence, bool) { return p.counter.PeekEvidence(r) }

// Follow implements Counted.
func (p *Socket) Follow(id int64, e job.Evidence) (Receipt, bool) { return p.counter.Follow(id, e) }

// Cancel implements Printer; bytes sent cannot be taken back.
func (p *Socket) Cancel(context.Context, Receipt) error { return nil }

// Probe implements Printer: with SNMP, the printer's own status (a JetDirect printer busy with
// another client's job refuses connections, but its agent answers); without, the printer
// accepts a TCP connection, which reads a busy printer as unreachable until it is done.
func (p *Socket) Probe(ctx context.Context) (Status, error) {
	if p.counter != nil {
		return p.counter.probe(ctx, p.ppm, p.caps)
	}
	if err := tcpProbe(ctx, p.addr); err != nil {
		return Status{QueuedJobs: -1}, fmt.Errorf("printers: %s: %w", p.name, err)
	}
	return Status{State: StateReady, Accepting: true, QueuedJobs: -1, PPM: p.ppm, Capabilities: p.caps}, nil
}

// Close implements Printer.
func (p *Socket) Close() error { return nil }
