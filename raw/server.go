// Package raw speaks the raw "AppSocket/JetDirect" protocol (TCP port 9100) on both sides: a
// Server that turns each connection into one spooled job for a virtual printer, and a Client
// that sends a document to a socket printer. The protocol has no framing and no replies: a job
// is everything the client sends until it closes its side.
package raw

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/printgate/printgate/internal/capread"
	"github.com/printgate/printgate/internal/tcpfront"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
)

// Spooler is what the raw server needs from the spool and the queue service.
type Spooler interface {
	// Stage streams one document durably into the spool (see spool.Store.Stage).
	Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error)
	// Discard removes a staged document that will not be submitted.
	Discard(st *job.Staged)
	// Submit stores a job with its staged documents and returns once it is durable.
	Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error)
}

// Config configures a Server. Zero values take the defaults named on each field.
type Config struct {
	// VirtualPrinter receives every job of this port. Required.
	VirtualPrinter string
	// MaxJobBytes caps one job. Default 1 GiB.
	MaxJobBytes int64
	// ReadTimeout is how long the server waits for the client's next bytes before it gives up
	// on the job. Drivers stream as they render, so this is generous. Default 120 s.
	ReadTimeout time.Duration
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
	// Logger receives one line per stored, dropped or refused job. Default: discard.
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultMaxJobBytes     = 1 << 30
	DefaultReadTimeout     = 120 * time.Second
	DefaultMaxConnDuration = time.Hour
	DefaultMaxConns        = 256
	DefaultMaxConnsPerHost = 32
	// DefaultPort is the AppSocket port.
	DefaultPort = 9100
)

// headLen is how much of a job's start is inspected for its format and PJL header.
const headLen = 4096

// errTooLarge: the job passed Config.MaxJobBytes.
var errTooLarge = errors.New("raw: job exceeds the maximum size")

// Server receives raw jobs for one virtual printer.
type Server struct {
	cfg Config
	sp  Spooler
	log *slog.Logger
	// connDone, when set (tests), is called after each connection's handler has finished.
	connDone func()
}

// NewServer validates cfg, fills in defaults and returns a server that is not yet listening.
func NewServer(cfg Config, sp Spooler) (*Server, error) {
	if sp == nil {
		return nil, errors.New("raw: new server: nil spooler")
	}
	if cfg.VirtualPrinter == "" {
		return nil, errors.New("raw: new server: no virtual printer")
	}
	if cfg.MaxJobBytes < 0 || cfg.ReadTimeout < 0 || cfg.MaxConnDuration < 0 || cfg.MaxConns < 0 {
		return nil, errors.New("raw: new server: negative limit in config")
	}
	cfg.MaxJobBytes = orDefault(cfg.MaxJobBytes, DefaultMaxJobBytes)
	cfg.ReadTimeout = orDefault(cfg.ReadTimeout, DefaultReadTimeout)
	cfg.MaxConnDuration = orDefault(cfg.MaxConnDuration, DefaultMaxConnDuration)
	cfg.MaxConns = orDefault(cfg.MaxConns, DefaultMaxConns)
	if cfg.MaxConnsPerHost == 0 {
		cfg.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, sp: sp, log: cfg.Logger.With("printer", cfg.VirtualPrinter)}, nil
}

// Serve accepts connections on ln until ctx ends, then closes ln and every open connection
// and waits for their handlers. It returns nil after ctx ends, or the error that made the
// listener unusable. A connection over the limit is reset: for a raw client a clean close would
// read as a job delivered.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return tcpfront.Listener{Proto: "raw", MaxConns: s.cfg.MaxConns, MaxPerHost: max(s.cfg.MaxConnsPerHost, 0), Refused: s.cfg.Refused, Log: s.log,
		Refuse: abort, Handle: s.serveConn, Done: s.connDone}.Serve(ctx, ln)
}

func (s *Server) serveConn(ctx context.Context, nc net.Conn) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.MaxConnDuration)
	defer cancel()
	// A connection cut off by age or shutdown must not look like a clean end to the client.
	stop := context.AfterFunc(ctx, func() { abort(nc) })
	defer stop()
	remote := remoteIP(nc.RemoteAddr())
	log := s.log.With("remote", remote)
	// Until the job is stored, any way out resets the connection, so a client waiting for our
	// close (as CUPS' socket backend and our Client do) sees a failure, not a clean end.
	stored := false
	defer func() {
		if !stored {
			abort(nc)
		}
	}()

	br := bufio.NewReaderSize(&readTimeout{Conn: nc, d: s.cfg.ReadTimeout}, 64<<10)
	head, err := br.Peek(headLen)
	if len(head) == 0 {
		if errors.Is(err, io.EOF) {
			// A port scanner, a monitoring probe or a driver's status check.
			log.Info("raw: connection closed without data; nothing spooled")
			nc.Close()
			stored = true // a clean close: there was nothing to refuse
			return
		}
		log.Warn("raw: job not stored: transfer failed before any data", "err", err)
		return
	}
	// Peek hands a read error over once and forgets it; after a reset the next read would see
	// a plain end of stream and a truncated job would pass for a whole one.
	if err != nil && !errors.Is(err, io.EOF) {
		log.Warn("raw: job not stored: transfer failed", "err", err)
		return
	}
	format := lpd.FormatMIME(0, head)
	user, name := pjlInfo(head)
	body := &capread.Reader{R: br, N: s.cfg.MaxJobBytes, TooLarge: errTooLarge}
	st, err := s.sp.Stage(ctx, body, firstNonEmpty(name, "raw job"), format)
	if err != nil {
		if body.Over {
			log.Warn("raw: job refused: too large", "max_bytes", s.cfg.MaxJobBytes)
		} else {
			log.Warn("raw: job not stored: transfer failed", "err", err)
		}
		return
	}
	nj := job.NewJob{
		VirtualPrinter: s.cfg.VirtualPrinter,
		Name:           firstNonEmpty(name, "raw job from "+remote),
		Owner:          firstNonEmpty(user, "anonymous"),
		OriginHost:     remote,
		Origin:         "raw",
		Attributes:     job.Attributes{Copies: 1},
	}
	j, err := s.sp.Submit(ctx, nj, []*job.Staged{st})
	if err != nil {
		s.sp.Discard(st)
		log.Error("raw: job not stored", "err", err)
		return
	}
	// The clean close is the only "accepted" this protocol has, so it comes after Submit.
	if err := nc.Close(); err != nil {
		log.Warn("raw: closing after a stored job", "job", j.ID, "err", err)
	}
	stored = true
	log.Info("raw: job received", "job", j.ID, "owner", j.Owner, "format", format, "bytes", st.Size)
}

// abort closes the connection with a reset instead of an orderly close.
func abort(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = nc.Close()
}

// readTimeout renews the read deadline before every read: an idle client is dropped while a
// slow, steady one goes on.
type readTimeout struct {
	net.Conn
	d time.Duration
}

func (r *readTimeout) Read(p []byte) (int, error) {
	_ = r.Conn.SetReadDeadline(time.Now().Add(r.d))
	return r.Conn.Read(p)
}

func remoteIP(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if a == nil {
		return ""
	}
	return a.String()
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
