// The raw client: writes a document to a socket printer and counts it delivered only when the
// printer, after our half-close, closes its side cleanly.
package raw

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// ErrUnconfirmed: every byte was written, but the printer did not close the connection cleanly
// (it reset it, or stayed silent past CloseTimeout). The job may or may not print; resending
// it risks a duplicate, which the caller should flag.
var ErrUnconfirmed = errors.New("raw: delivery not confirmed by the printer")

// Client defaults.
const (
	DefaultWriteTimeout = 60 * time.Second
	DefaultCloseTimeout = 60 * time.Second
)

// Client sends documents to raw/AppSocket printers. The zero value is ready to use; it is safe
// for concurrent use.
type Client struct {
	// Dialer opens connections; nil uses a zero net.Dialer (the context still bounds dialing).
	Dialer *net.Dialer
	// WriteTimeout bounds a write that makes no progress (a printer that stopped reading,
	// e.g. out of paper with a full buffer). Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// CloseTimeout bounds the wait for the printer's close after all data was sent. Default
	// DefaultCloseTimeout.
	CloseTimeout time.Duration
}

// Send writes everything r yields to the printer at addr (host:port), half-closes the
// connection and waits for the printer to close its side. It returns nil only then. Data the
// printer sends back meanwhile (status, PJL replies) is read and dropped.
func (c *Client) Send(ctx context.Context, addr string, r io.Reader) error {
	if err := c.send(ctx, addr, r); err != nil {
		return fmt.Errorf("raw: send to %s: %w", addr, err)
	}
	return nil
}

func (c *Client) send(ctx context.Context, addr string, r io.Reader) error {
	d := c.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return fmt.Errorf("connection is %T, not TCP", nc)
	}
	fail := func(err error) error {
		if ctx.Err() != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return err
	}
	w := &writeTimeout{Conn: nc, d: orDefault(c.WriteTimeout, DefaultWriteTimeout)}
	n, err := io.Copy(w, r)
	if err != nil {
		return fail(fmt.Errorf("after %d bytes: %w", n, err))
	}
	if err := tc.CloseWrite(); err != nil {
		return fail(fmt.Errorf("half-close after %d bytes: %w", n, err))
	}
	_ = nc.SetReadDeadline(time.Now().Add(orDefault(c.CloseTimeout, DefaultCloseTimeout)))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		return fail(fmt.Errorf("%w: %d bytes written, then: %v", ErrUnconfirmed, n, err))
	}
	return nil
}

// writeTimeout renews the write deadline before every write.
type writeTimeout struct {
	net.Conn
	d time.Duration
}

func (w *writeTimeout) Write(p []byte) (int, error) {
	_ = w.Conn.SetWriteDeadline(time.Now().Add(w.d))
	return w.Conn.Write(p)
}

// ParseURI turns socket://host[:port] into a dialable address, port 9100 by default. A query
// (CUPS-style options) is ignored.
func ParseURI(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", fmt.Errorf("raw: parse URI: %w", parseErr(err))
	}
	shown := u.Redacted() // errors reach logs and the API: never the password
	if u.Scheme != "socket" {
		return "", fmt.Errorf("raw: parse URI %q: scheme is not socket", shown)
	}
	if u.Hostname() == "" {
		return "", fmt.Errorf("raw: parse URI %q: no host", shown)
	}
	if u.Path != "" && u.Path != "/" {
		return "", fmt.Errorf("raw: parse URI %q: unexpected path", shown)
	}
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("raw: parse URI %q: bad port", shown)
	}
	return net.JoinHostPort(u.Hostname(), port), nil
}

// parseErr is url.Parse's error without the URI it repeats, which may hold a password.
func parseErr(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
