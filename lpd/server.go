// The LPD front-end: accepts connections, enforces limits and timeouts, dispatches daemon
// commands. Receiving jobs is in receive.go, queue listings and removal in queue.go.
package lpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/printgate/printgate/internal/tcpfront"
	"github.com/printgate/printgate/job"
)

// Spooler is what the LPD server needs from the spool and the queue service.
type Spooler interface {
	// Stage streams one document durably into the spool (see spool.Store.Stage).
	Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error)
	// Discard removes a staged document that will not be submitted (see job.Staged.Discard).
	Discard(st *job.Staged)
	// Submit stores a job with its staged documents and returns once it is durable. The server
	// sets each Staged's Name and Format before the call; Submit must record them as given.
	Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error)
	// QueueJobs lists a virtual printer's unfinished jobs in queue order, with their Documents
	// (names and sizes) where available. It serves lpq and lprm.
	QueueJobs(ctx context.Context, virtualPrinter string) ([]*job.Job, error)
	// CancelJob cancels one job. The server has already checked that agent may remove it;
	// actor names who asked, for the audit log.
	CancelJob(ctx context.Context, id int64, actor string) error
}

// Config configures a Server. Zero values take the defaults named on each field.
type Config struct {
	// Queues maps an LPD queue name, as clients send it, to a virtual printer name. Lookup is
	// exact first, then case-insensitive (Windows port dialogs invite any capitalisation).
	Queues map[string]string
	// MaxJobBytes caps the data files of one job together. Default 1 GiB.
	MaxJobBytes int64
	// ReadTimeout is how long a read may wait for the client's next bytes. Default 60 s.
	ReadTimeout time.Duration
	// WriteTimeout is how long a write to the client may block. Default 60 s.
	WriteTimeout time.Duration
	// MaxConnDuration caps one connection, however busy. Default 1 h.
	MaxConnDuration time.Duration
	// MaxConns caps concurrent connections; further ones are closed at once. Default 256.
	MaxConns int
	// MaxConnsPerHost caps the connections of one client address, so that one host (a broken
	// script, malware) cannot take every place. Default 32: a print server that forwards a
	// whole department's jobs opens several at once. Negative: no per-host cap.
	MaxConnsPerHost int
	// Refused, when set, is told of each refused connection and which limit refused it
	// (metrics).
	Refused func(frontend, limit string)
	// AdminHosts may remove any job as SuperUser (auth.lpd_admin_hosts). TrustLoopback adds
	// the gateway host itself (auth.trust_loopback).
	AdminHosts    []net.IP
	TrustLoopback bool
	// Audit, when set, is told of each refused removal (the audit log): the agent, the
	// client's address and the job.
	Audit func(ctx context.Context, agent, remote string, jobID int64, why string)
	// ShowNames lets lpq show job and file names. lpq carries no identity, and letters' names
	// can hold patient data, so by default others' names are hidden.
	ShowNames bool
	// Logger receives one line per refused request or dropped job. Default: discard.
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultMaxJobBytes     = 1 << 30
	DefaultReadTimeout     = 60 * time.Second
	DefaultWriteTimeout    = 60 * time.Second
	DefaultMaxConnDuration = time.Hour
	DefaultMaxConns        = 256
	DefaultMaxConnsPerHost = 32
)

// Server is an RFC 1179 line printer daemon in front of the spool.
type Server struct {
	cfg    Config
	sp     Spooler
	log    *slog.Logger
	queues map[string]string // lower-cased name -> virtual printer, for the fallback lookup
	// connDone, when set (tests), is called after each connection's handler has finished.
	connDone func()
}

// NewServer validates cfg, fills in defaults and returns a server that is not yet listening.
func NewServer(cfg Config, sp Spooler) (*Server, error) {
	if sp == nil {
		return nil, errors.New("lpd: new server: nil spooler")
	}
	if cfg.MaxJobBytes < 0 || cfg.ReadTimeout < 0 || cfg.WriteTimeout < 0 || cfg.MaxConnDuration < 0 || cfg.MaxConns < 0 {
		return nil, errors.New("lpd: new server: negative limit in config")
	}
	s := &Server{sp: sp, queues: map[string]string{}}
	cfg.Queues = cloneMap(cfg.Queues)
	for q, vp := range cfg.Queues {
		if err := checkToken([]byte(q)); err != nil {
			return nil, fmt.Errorf("lpd: new server: queue name %q: %w", q, err)
		}
		if vp == "" {
			return nil, fmt.Errorf("lpd: new server: queue %q names no virtual printer", q)
		}
		lq := strings.ToLower(q)
		if _, dup := s.queues[lq]; dup {
			return nil, fmt.Errorf("lpd: new server: queue names differ only in case: %q", q)
		}
		s.queues[lq] = vp
	}
	cfg.MaxJobBytes = orDefault(cfg.MaxJobBytes, DefaultMaxJobBytes)
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.WriteTimeout = orDefault(cfg.WriteTimeout, DefaultWriteTimeout)
	cfg.MaxConnDuration = orDefault(cfg.MaxConnDuration, DefaultMaxConnDuration)
	cfg.MaxConns = orDefault(cfg.MaxConns, DefaultMaxConns)
	if cfg.MaxConnsPerHost == 0 {
		cfg.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s.cfg, s.log = cfg, cfg.Logger
	return s, nil
}

// lookupQueue resolves a queue name to its virtual printer.
func (s *Server) lookupQueue(q string) (string, bool) {
	if vp, ok := s.cfg.Queues[q]; ok {
		return vp, true
	}
	vp, ok := s.queues[strings.ToLower(q)]
	return vp, ok
}

// Serve accepts connections on ln until ctx ends, then closes ln and every open connection
// and waits for their handlers. It returns nil after ctx ends, or the error that made the
// listener unusable.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return tcpfront.Listener{Proto: "lpd", MaxConns: s.cfg.MaxConns, MaxPerHost: max(s.cfg.MaxConnsPerHost, 0), Refused: s.cfg.Refused, Log: s.log,
		Refuse: func(nc net.Conn) { nc.Close() }, Handle: s.serveConn, Done: s.connDone}.Serve(ctx, ln)
}

// conn is one client connection.
type conn struct {
	srv      *Server
	w        io.Writer // the connection, with a write deadline per write
	br       *bufio.Reader
	log      *slog.Logger
	remoteIP string
	loopback bool
	// admin: the client's address is one of AdminHosts (or loopback with TrustLoopback).
	admin bool
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxConnDuration)
	defer cancel()
	// Closing the connection is what interrupts a blocked read when the context ends.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	defer nc.Close()
	tc := &timeoutConn{Conn: nc, read: s.cfg.ReadTimeout, write: s.cfg.WriteTimeout}
	c := &conn{srv: s, w: tc, br: bufio.NewReaderSize(tc, 32<<10)}
	c.remoteIP, c.loopback = remoteHost(nc.RemoteAddr())
	c.admin = s.isAdmin(nc.RemoteAddr(), c.loopback)
	c.log = s.log.With("remote", c.remoteIP)

	line, err := readLine(c.br)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			c.log.Warn("lpd: reading command", "err", err)
		}
		return
	}
	cmd, err := ParseCommand(line)
	if err != nil {
		c.log.Warn("lpd: refused command", "err", err)
		c.reply(ackFail)
		return
	}
	switch cmd.Code {
	case CmdPrintWaiting:
		// Our scheduler prints as soon as it can; there is nothing to start and RFC 1179
		// defines no reply.
		c.log.Debug("lpd: print-waiting command ignored", "queue", cmd.Queue)
	case CmdReceiveJob:
		c.receiveJob(ctx, cmd)
	case CmdQueueShort, CmdQueueLong:
		c.queueState(ctx, cmd)
	case CmdRemoveJobs:
		c.removeJobs(ctx, cmd)
	}
}

// reply writes an acknowledgement byte; a failure shows up on the next read.
func (c *conn) reply(b byte) bool {
	_, err := c.w.Write([]byte{b})
	return err == nil
}

// timeoutConn renews the deadline before every read and write, so an idle client is dropped
// after the timeout while a slow but steady transfer of a large file goes on.
type timeoutConn struct {
	net.Conn
	read, write time.Duration
}

func (t *timeoutConn) Read(p []byte) (int, error) {
	_ = t.Conn.SetReadDeadline(time.Now().Add(t.read))
	return t.Conn.Read(p)
}

func (t *timeoutConn) Write(p []byte) (int, error) {
	_ = t.Conn.SetWriteDeadline(time.Now().Add(t.write))
	return t.Conn.Write(p)
}

// isAdmin reports whether a is one of the admin hosts.
func (s *Server) isAdmin(a net.Addr, loopback bool) bool {
	if loopback && s.cfg.TrustLoopback {
		return true
	}
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return false
	}
	for _, ip := range s.cfg.AdminHosts {
		if ip.Equal(ta.IP) {
			return true
		}
	}
	return false
}

// remoteHost returns the peer's IP (or the address as text) and whether it is loopback.
func remoteHost(a net.Addr) (string, bool) {
	if a == nil {
		return "", false
	}
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String(), ta.IP.IsLoopback()
	}
	return a.String(), false
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
