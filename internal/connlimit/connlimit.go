// Package connlimit bounds what one client, and all of them together, can hold open on a
// front-end: a total and a per-client-address cap on connections, and a progress deadline on
// request bodies (BodyProgress: an upload that stops for a while is cut, however long it is).
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
// back when closed. (Slow and silent clients are cut by the HTTP server's timeouts and by
// BodyProgress: a deadline set on the connection itself would also cut the server's background
// read under a long response, such as the dashboard's event stream.)
type Listener struct {
	net.Listener
	Counter *Counter
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
		return &conn{Conn: nc, release: release}, nil
	}
}

// conn gives its place back when closed.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.release() // once: Acquire's release ignores a second call
	return err
}
