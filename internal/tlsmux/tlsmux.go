// Package tlsmux splits one listening socket into plain and TLS connections by their first
// byte, so the gateway's one port speaks ipp:// and ipps:// (http:// and https://) at once, as
// CUPS does on 631: a client picks the scheme, not the port. A TLS connection opens with a
// handshake record (content type 22); an HTTP request opens with a method name in ASCII.
package tlsmux

import (
	"bufio"
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/printgate/printgate/internal/tcpfront"
)

// recordHandshake is the first byte of every TLS connection (RFC 8446, section 5.1).
const recordHandshake = 0x16

// MaxSorting bounds the connections accepted and not yet handed to a side (waiting for their
// first byte, at most the sniff timeout each); past it new ones are refused, so a flood of
// silent connections costs a bounded number of goroutines.
const MaxSorting = 1024

// Mux sorts the connections of one listener. Plain and TLS are its two sides, each closed on
// its own (each may belong to its own http.Server); the listener closes with the second, or
// with the Mux.
type Mux struct {
	ln      net.Listener
	timeout time.Duration
	stop    context.CancelFunc

	plain, tls *side
	closeOnce  sync.Once
	closed     chan struct{}
	acceptErr  error // why the accept loop ended; read after closed

	mu          sync.Mutex
	sidesClosed int
}

// New starts sorting ln's connections. The accept loop is the one LPD and raw use
// (tcpfront.Listener: transient accept errors logged and retried with a backoff, at most
// MaxSorting connections in hand). A connection that sends nothing within timeout is closed
// unsorted.
func New(ln net.Listener, timeout time.Duration, log *slog.Logger) *Mux {
	ctx, stop := context.WithCancel(context.Background())
	m := &Mux{ln: ln, timeout: timeout, stop: stop, closed: make(chan struct{})}
	m.plain = &side{m: m, conns: make(chan net.Conn), closed: make(chan struct{})}
	m.tls = &side{m: m, conns: make(chan net.Conn), closed: make(chan struct{})}
	accept := tcpfront.Listener{Proto: "http", MaxConns: MaxSorting, Log: log,
		Refuse: func(c net.Conn) { c.Close() }, Handle: m.sort}
	go func() {
		// nil once Close stopped it; otherwise the error that made the listener unusable.
		m.shut(accept.Serve(ctx, ln))
	}()
	return m
}

// Plain is the listener of connections that do not start a TLS handshake.
func (m *Mux) Plain() net.Listener { return m.plain }

// TLS is the listener of connections that start a TLS handshake; wrap it with tls.NewListener.
func (m *Mux) TLS() net.Listener { return m.tls }

// Close closes the listener; Accept on both sides then fails. Closing again is not an error.
func (m *Mux) Close() error { return m.shut(nil) }

// shut closes the listener once, recording why when the accept loop ended on an error (read
// only after closed is closed). The listener is closed here, not only by the accept loop as it
// stops, so that the port is shut when Close returns.
func (m *Mux) shut(why error) error {
	var err error
	m.closeOnce.Do(func() {
		m.acceptErr = why
		m.stop()
		err = m.ln.Close()
		close(m.closed)
	})
	return err
}

// sort reads the connection's first byte and hands it, byte and all, to its side. It gives up
// when the Mux stops (ctx).
func (m *Mux) sort(ctx context.Context, c net.Conn) {
	if m.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(m.timeout))
	}
	unblock := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	br := bufio.NewReaderSize(c, 16)
	first, err := br.Peek(1)
	// Stopped before it ran, or the Mux is stopping: either way no deadline is set after the
	// one cleared below.
	if stillWaiting := unblock(); err != nil || !stillWaiting {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	to := m.plain
	if first[0] == recordHandshake {
		to = m.tls
	}
	select {
	case to.conns <- &peekedConn{Conn: c, r: br}:
	case <-to.closed:
		c.Close()
	case <-m.closed:
		c.Close()
	}
}

// side is one of the two listeners a Mux hands connections to.
type side struct {
	m         *Mux
	conns     chan net.Conn
	closeOnce sync.Once
	closed    chan struct{}
}

func (s *side) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.closed:
		return nil, net.ErrClosed
	case <-s.m.closed:
		if s.m.acceptErr != nil {
			return nil, s.m.acceptErr
		}
		return nil, net.ErrClosed
	}
}

// Close ends this side's Accept; closing the second side closes the listener. Closing again
// is not an error.
func (s *side) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.closed)
		s.m.mu.Lock()
		s.m.sidesClosed++
		both := s.m.sidesClosed == 2
		s.m.mu.Unlock()
		if both {
			err = s.m.Close()
		}
	})
	return err
}

func (s *side) Addr() net.Addr { return s.m.ln.Addr() }

// peekedConn reads first what sort peeked, then the connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Split is what the gateway serves on ln: without conf, ln itself as the plain side and no
// TLS side; with conf, both sides of a Mux, the TLS one already speaking TLS.
func Split(ln net.Listener, conf *tls.Config, sniffTimeout time.Duration, log *slog.Logger) (plain, secure net.Listener) {
	if conf == nil {
		return ln, nil
	}
	m := New(ln, sniffTimeout, log)
	return m.Plain(), tls.NewListener(m.TLS(), conf)
}

// RedirectToTLS serves the plain side of a port that requires TLS: a page or API read (GET,
// HEAD) is redirected to the same URL over https://, so a bookmarked http:// address still
// works; anything else is refused (403) before its body is read, so nothing sent in the clear
// is accepted. (The gateway hands IPP requests to its IPP server first, which refuses them in
// IPP, where a printing client shows the reason.)
func RedirectToTLS() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := r.Host
		if host == "" {
			// HTTP/1.0 without Host: the address the client reached.
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = a.String()
			}
		}
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), http.StatusPermanentRedirect)
			return
		}
		w.Header().Set("Connection", "close")
		http.Error(w, "this gateway takes requests only over TLS: use https://"+host+r.URL.RequestURI()+
			" (ipps:// for printing)", http.StatusForbidden)
	})
}
