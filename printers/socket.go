// The socket backend: raw AppSocket/JetDirect printers (port 9100). The bytes go as they are;
// a job is done when all of them were written and the printer closed the connection cleanly.
package printers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"
)

// Socket sends jobs over one TCP connection each.
type Socket struct {
	name string
	addr string
	ppm  int
	caps *Capabilities
	log  *slog.Logger
	// idle bounds a write that makes no progress and the wait for the printer's close.
	idle time.Duration
}

// DefaultSocketPort is the AppSocket/JetDirect port.
const DefaultSocketPort = "9100"

// NewSocket returns the backend for socket://host[:port].
func NewSocket(c Config) (*Socket, error) {
	u, err := url.Parse(c.URI)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("printers: %s: bad uri %q: want socket://host[:port]", c.Name, c.URI)
	}
	port := u.Port()
	if port == "" {
		port = DefaultSocketPort
	}
	return &Socket{name: c.Name, addr: net.JoinHostPort(u.Hostname(), port), ppm: c.PPM,
		caps: declaredCaps(c, "AppSocket printer"), log: logger(c), idle: time.Minute}, nil
}

// Name implements Printer.
func (p *Socket) Name() string { return p.name }

// Send implements Printer: the documents back to back on one connection, then a half-close, then
// a wait until the printer hangs up (reading and dropping whatever it says meanwhile, as CUPS'
// socket backend does). A printer that never hangs up after it has every byte still has the job,
// so that wait ending is logged, not failed.
func (p *Socket) Send(ctx context.Context, job *Job) (Receipt, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: %s: %w", ErrNotDelivered, p.name, err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	conn := &deadlineConn{Conn: nc, idle: p.idle}
	for _, doc := range job.Documents {
		if err := sendFile(conn, doc.Path); err != nil {
			return Receipt{}, fmt.Errorf("printers: %s: %s: %w", p.name, doc.Name, ctxErr(ctx, err))
		}
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return Receipt{}, fmt.Errorf("printers: %s: finish: %w", p.name, ctxErr(ctx, err))
		}
	}
	_, err = io.Copy(io.Discard, conn)
	var ne net.Error
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return Receipt{}, fmt.Errorf("printers: %s: %w", p.name, ctx.Err())
	case errors.As(err, &ne) && ne.Timeout():
		p.log.Warn("printer kept the connection open after the job; taking the job as delivered", "job", job.ID)
	default:
		return Receipt{}, fmt.Errorf("printers: %s: waiting for the printer to close: %w", p.name, err)
	}
	return Receipt{Done: true}, nil
}

func sendFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// ctxErr prefers the context's error: a connection closed because ctx ended says so.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// deadlineConn gives every read and write idle time to make progress.
type deadlineConn struct {
	net.Conn
	idle time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	return c.Conn.Write(b)
}

// Watch implements Printer: the clean close was the completion.
func (p *Socket) Watch(context.Context, Receipt, func(int)) (Outcome, error) {
	return OutcomeCompleted, nil
}

// Cancel implements Printer; bytes sent cannot be taken back.
func (p *Socket) Cancel(context.Context, Receipt) error { return nil }

// Probe implements Printer: the printer accepts a TCP connection. (A JetDirect printer busy with
// another client's job refuses connections, which reads as unreachable until it is done.)
func (p *Socket) Probe(ctx context.Context) (Status, error) {
	if err := tcpProbe(ctx, p.addr); err != nil {
		return Status{QueuedJobs: -1}, fmt.Errorf("printers: %s: %w", p.name, err)
	}
	return Status{State: StateReady, Accepting: true, QueuedJobs: -1, PPM: p.ppm, Capabilities: p.caps}, nil
}

// Close implements Printer.
func (p *Socket) Close() error { return nil }
