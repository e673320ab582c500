// Package connlimit bounds what one client, and all of them together, can hold open on a
// front-end: a total and a per-client-address cap on connections, and a progress deadline on
// reads (a connection that sends nothing for a while is cut, however long its request is).
// The HTTP port (plain and TLS), LPD and raw all take their connections through it, so that a
// flood of idle or dripping connections from one host cannot lock the others out.
package connlimit

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// Why a connection was refused, as counted in /metrics.
const (
	ReasonTotal   = "total"    // the front-end's total cap
	ReasonPerHost = "per-host" // the client address's cap
)

// Counter admits connections under a total and a per-address cap. The zero value admits
// everything; a cap of 0 is no cap. Safe for concurrent use.
type Counter struct {
	// Proto names the front-end in log lines and refusals ("http", "lpd", "raw").
	Proto string
	// MaxConns caps the connections open at once; MaxPerHost those of one client address.
	MaxConns, MaxPerHost int
	// Log gets at most one line per 10 s about refusals, with their count.
	Log *slog.Logger
	// Refused, when set, is told of every refused connection (metrics).
	Refused func(proto, reason string)

	mu      sync.Mutex
	total   int
	perHost map[string]int
	lastLog time.Time
	dropped int
}

// Acquire admits a connection from remote, returning the function that gives its place back
// (call it once, when the connection ends), or reason when it is refused.
func (c *Counter) Acquire(remote net.Addr) (release func(), reason string) {
	host := hostOf(remote)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.MaxConns > 0 && c.total >= c.MaxConns:
		reason = ReasonTotal
	case c.MaxPerHost > 0 && c.perHost[host] >= c.MaxPerHost:
		reason = ReasonPerHost
	}
	if reason != "" {
		c.refusedLocked(remote, reason)
		return nil, reason
	}
	if c.perHost == nil {
		c.perHost = map[string]int{}
	}
	c.total++
	c.perHost[host]++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			c.total--
			if c.perHost[host]--; c.perHost[host] <= 0 {
				delete(c.perHost, host) // the map holds only hosts with open connections
			}
		})
	}, ""
}

// Open reports the connections admitted and not yet released.
func (c *Counter) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

func (c *Counter) refusedLocked(remote net.Addr, reason string) {
	if c.Refused != nil {
		c.Refused(c.Proto, reason)
	}
	c.dropped++
	if now := time.Now(); c.Log != nil && now.Sub(c.lastLog) >= 10*time.Second {
		c.Log.Warn(c.Proto+": connection limit reached, refusing connections", "remote", remote.String(),
			"limit", reason, "max_conns", c.MaxConns, "max_conns_per_host", c.MaxPerHost, "refused", c.dropped)
		c.lastLog, c.dropped = now, 0
	}
}

// hostOf is the client address without its port; connections from one host share its cap.
func hostOf(a net.Addr) string {
	if a == nil {
		return ""
	}
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

// Listener is a net.Listener whose Accept returns only connections its Counter admits (the
// others are closed at once, before any byte is read) and whose connections give their place
// back when closed. With Idle > 0 every connection it returns is a progress-deadline
// connection (see ProgressConn).
type Listener struct {
	net.Listener
	Counter *Counter
	Idle    time.Duration
}

// Accept waits for the next admitted connection.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		release, reason := l.Counter.Acquire(nc.RemoteAddr())
		if reason != "" {
			nc.Close()
			continue
		}
		return Wrap(nc, release, l.Idle), nil
	}
}

// Wrap ties release to nc's Close and, with idle > 0, cuts nc when a read waits longer than
// idle (ProgressConn).
func Wrap(nc net.Conn, release func(), idle time.Duration) net.Conn {
	return &ProgressConn{Conn: nc, release: release, idle: idle}
}

// ProgressConn is a connection whose every Read must make progress within idle: before each
// read the deadline is the earlier of now+idle and whatever deadline its user set (net/http's
// header timeout, say), so a client that stops sending is cut after idle whatever the size of
// its upload, and a slow one that keeps sending is not. Close gives the connection's place back.
type ProgressConn struct {
	net.Conn
	release func()
	idle    time.Duration

	mu       sync.Mutex
	deadline time.Time // the user's read deadline; zero = none
}

func (c *ProgressConn) Read(p []byte) (int, error) {
	if c.idle > 0 {
		c.mu.Lock()
		d := time.Now().Add(c.idle)
		if !c.deadline.IsZero() && c.deadline.Before(d) {
			d = c.deadline
		}
		c.mu.Unlock()
		c.Conn.SetReadDeadline(d)
	}
	return c.Conn.Read(p)
}

// SetReadDeadline records the user's deadline; Read combines it with the progress deadline.
func (c *ProgressConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetReadDeadline(t)
}

// SetDeadline sets both deadlines, the read one as SetReadDeadline does.
func (c *ProgressConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

// Close closes the connection and gives its place back.
func (c *ProgressConn) Close() error {
	err := c.Conn.Close()
	if c.release != nil {
		c.release()
	}
	return err
}
