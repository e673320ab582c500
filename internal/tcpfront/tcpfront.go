// Package tcpfront is the plumbing the gateway's plain-TCP front-ends (LPD on 515, raw on 9100)
// share: an accept loop with a connection limit (which also sorts the HTTP port's connections
// into plain and TLS, internal/tlsmux) and the decoding of the legacy text those protocols
// carry. (The byte cap on what a client may send is internal/capread, which IPP uses
// too.)
package tcpfront

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/printgate/printgate/internal/connlimit"
)

// Listener is how Serve treats connections.
type Listener struct {
	// Proto prefixes log lines and errors ("lpd", "raw").
	Proto string
	// MaxConns caps concurrent connections; one more is refused at once. MaxPerHost caps
	// those of one client address (0: no cap), so one host cannot take every place.
	MaxConns, MaxPerHost int
	// Refused, when set, is told of each refused connection and why (connlimit.Reason*).
	Refused func(proto, reason string)
	Log     *slog.Logger
	// Refuse ends a connection over the limit (an orderly close, or a reset where a clean end
	// would read as success).
	Refuse func(net.Conn)
	// Handle serves one connection; ctx ends when Serve stops.
	Handle func(ctx context.Context, nc net.Conn)
	// Done, when set, runs after each Handle returns (tests wait on it).
	Done func()
}

// Serve accepts connections on ln until ctx ends, then closes ln and every open connection's
// context and waits for their handlers. It returns nil after ctx ends, or the error that made
// the listener unusable. Transient accept errors (out of file descriptors) are retried with a
// backoff instead of spinning.
func (l Listener) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		ln.Close()
		wg.Wait()
	}()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	limit := &connlimit.Counter{Proto: l.Proto, MaxConns: l.MaxConns, MaxPerHost: l.MaxPerHost, Log: l.Log,
		Refused: l.Refused}
	backoff := time.Duration(0)
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return fmt.Errorf("%s: accept: %w", l.Proto, err)
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			l.Log.Warn(l.Proto+": accept failed, retrying", "err", err, "backoff", backoff)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		release, reason := limit.Acquire(nc.RemoteAddr())
		if reason != "" {
			l.Refuse(nc)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			func() {
				defer release()
				l.Handle(ctx, nc)
			}()
			// The slot is free before Done says the connection ended: a test that waits on
			// Done and then connects again must find room.
			if l.Done != nil {
				l.Done()
			}
		}()
	}
}

// DecodeText turns protocol text (an LPD control-file operand, a PJL header value) into a safe
// string: UTF-8 when it is valid, otherwise Latin-1 (what older Windows and Unix clients send
// for accented names). Control bytes become spaces so a job name cannot smuggle terminal
// escapes into logs or the dashboard; the result is trimmed.
func DecodeText(b []byte) string {
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		s = string(r)
	}
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r < ' ' || (r >= 0x7f && r < 0xa0) {
			return ' '
		}
		return r
	}, s))
}
