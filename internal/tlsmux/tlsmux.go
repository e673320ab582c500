// Package tlsmux splits one listening socket into plain and TLS connections by their first
// byte, so the gateway's one port speaks ipp:// and ipps:// (http:// and https://) at once, as
// CUPS does on 631: a client picks the scheme, not the port. A TLS connection opens with a
// handshake record (content type 22); an HTTP request opens with a method name in ASCII.
package tlsmux

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// recordHandshake is the first byte of every TLS connection (RFC 8446, section 5.1).
const recordHandshake = 0x16

// Mux sorts the connections of one listener. Plain and TLS are its two sides; closing
// either, or the Mux, closes the listener.
type Mux struct {
	ln      net.Listener
	timeout time.Duration

	plain, tls *side
	closeOnce  sync.Once
	closed     chan struct{}
	acceptErr  error // why the accept loop ended; read after closed
}

// New starts sorting ln's connections. A connection that sends nothing within timeout is
// closed unsorted (it holds only its own goroutine meanwhile).
func New(ln net.Listener, timeout time.Duration) *Mux {
	m := &Mux{ln: ln, timeout: timeout, closed: make(chan struct{})}
	m.plain = &side{m: m, conns: make(chan net.Conn)}
	m.tls = &side{m: m, conns: make(chan net.Conn)}
	go m.loop()
	return m
}

// Plain is the listener of connections that do not start a TLS handshake.
func (m *Mux) Plain() net.Listener { return m.plain }

// TLS is the listener of connections that start a TLS handshake; wrap it with tls.NewListener.
func (m *Mux) TLS() net.Listener { return m.tls }

// Close closes the listener; Accept on both sides then fails. Closing again (the other side,
// as http.Server.Shutdown does with every listener it serves) is not an error.
func (m *Mux) Close() error { return m.shut(nil) }

// shut closes the listener once, recording why when the accept loop ended on an error (read
// only after closed is closed).
func (m *Mux) shut(why error) error {
	var err error
	m.closeOnce.Do(func() {
		m.acceptErr = why
		err = m.ln.Close()
		close(m.closed)
	})
	return err
}

func (m *Mux) loop() {
	var backoff time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				m.shut(err)
				return
			}
			// Out of file descriptors and the like: wait and try again, as net/http's own
			// accept loop does, rather than closing the gateway's front door for good.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
				continue
			case <-m.closed:
				return
			}
		}
		backoff = 0
		go m.sort(c)
	}
}

// sort reads the connection's first byte and hands it, byte and all, to its side.
func (m *Mux) sort(c net.Conn) {
	if m.timeout > 0 {
		c.SetReadDeadline(time.Now().Add(m.timeout))
	}
	br := bufio.NewReaderSize(c, 16)
	first, err := br.Peek(1)
	if err != nil {
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
	case <-m.closed:
		c.Close()
	}
}

// side is one of the two listeners a Mux hands connections to.
type side struct {
	m     *Mux
	conns chan net.Conn
}

func (s *side) Accept() (net.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-s.m.closed:
		if s.m.acceptErr != nil {
			return nil, s.m.acceptErr
		}
		return nil, net.ErrClosed
	}
}

func (s *side) Close() error   { return s.m.Close() }
func (s *side) Addr() net.Addr { return s.m.ln.Addr() }

// peekedConn reads first what sort peeked, then the connection.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// ServerConfig loads a listener's certificate chain and key (PEM files) for a TLS server of
// TLS 1.2 or newer, and returns the leaf certificate too, for its dates.
func ServerConfig(certFile, keyFile string) (*tls.Config, *x509.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
	}
	leaf := pair.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, nil, fmt.Errorf("tls: parse %s: %w", certFile, err)
		}
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, leaf, nil
}

// Listeners is what one HTTP server serves on ln: ln itself without conf (plain only); only
// TLS when required; otherwise both sides of a Mux, plain and TLS on the one port.
func Listeners(ln net.Listener, conf *tls.Config, required bool, sniffTimeout time.Duration) []net.Listener {
	switch {
	case conf == nil:
		return []net.Listener{ln}
	case required:
		return []net.Listener{tls.NewListener(ln, conf)}
	}
	m := New(ln, sniffTimeout)
	return []net.Listener{m.Plain(), tls.NewListener(m.TLS(), conf)}
}
