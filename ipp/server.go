// The IPP server's HTTP layer: method and content type, the capped attribute section, draining
// what the client sent after it, and writing the response (HTTP 200 with the IPP status inside).
package ipp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/capread"
)

// Defaults for Options.
const (
	DefaultMaxAttributeBytes        = 1 << 20
	DefaultDrainBytes               = 64 << 20
	DefaultMultipleOperationTimeout = 2 * time.Minute
)

// Options configure a Server. Service is required.
type Options struct {
	// Service is the gateway behind the front door.
	Service Service
	// Logger receives one debug line per request and errors; slog.Default() when nil.
	Logger *slog.Logger
	// Auth checks HTTP Basic credentials; nil: nobody can sign in, and only TrustLoopback
	// makes operators.
	Auth Authenticator
	// RequireAuth: every operation but Get-Printer-Attributes needs a signed-in user
	// (auth.ipp_authentication: required), so every job's owner is authenticated.
	RequireAuth bool
	// AllowPlainAuth takes Basic credentials over plain HTTP (auth.ipp_plain_passwords);
	// otherwise they are refused there and sign-in is asked for over TLS only.
	AllowPlainAuth bool
	// TrustLoopback makes every request from the gateway host without credentials an
	// operator (auth.trust_loopback), as the API does.
	TrustLoopback bool
	// Refused, when set, is told of every request refused for who sent it (the audit log).
	Refused func(ctx context.Context, r Refusal)
	// MaxAttributeBytes caps the IPP attribute section of a request (everything before the
	// document); larger requests get client-error-request-entity-too-large.
	// DefaultMaxAttributeBytes when 0.
	MaxAttributeBytes int64
	// MaxDocumentBytes caps one document after decompression; larger ones get
	// client-error-request-entity-too-large and nothing is stored. 0 leaves the limit to the
	// Service (the spool enforces its own).
	MaxDocumentBytes int64
	// DrainBytes bounds how much unread request body the server reads and discards before
	// answering (so clients that write the whole document before reading see the IPP status);
	// beyond it the connection is closed instead. Default MaxDocumentBytes, else
	// DefaultDrainBytes.
	DrainBytes int64
	// MaxCompressionRatio caps how many bytes a compressed document (gzip, deflate) may
	// become per byte received, past its first MiB: a 500 KB gzip bomb of zeros would
	// otherwise be stored as 500 MB and sent to a printer as thousands of pages. Such a
	// document gets client-error-request-entity-too-large and nothing is stored.
	// DefaultMaxCompressionRatio when 0.
	MaxCompressionRatio int64
	// MultipleOperationTimeout is advertised as multiple-operation-time-out: how long a
	// Create-Job job may wait for its next Send-Document. The Service enforces it.
	// DefaultMultipleOperationTimeout when 0.
	MultipleOperationTimeout time.Duration
	// RequireTLS refuses every request that did not come over TLS with client-error-forbidden
	// and a status-message naming the ipps:// address, before its attributes are read: the
	// gateway's tls_required. (An https:// client reaches the same port over TLS.)
	RequireTLS bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Server is the IPP front door, an http.Handler. Mount it for POST on /ipp/print,
// /ipp/print/{name} and /printers/{name} (and the job URIs below them, {name}/{job-id}); it
// routes on the URL path itself. Its methods are safe for concurrent use.
type Server struct {
	svc           Service
	log           *slog.Logger
	auth          Authenticator
	requireAuth   bool
	plainAuth     bool
	trustLoopback bool
	refused       func(context.Context, Refusal)
	maxAttr       int64
	maxDoc        int64
	drain         int64
	maxRatio      int64
	opTimeout     time.Duration
	tlsOnly       bool
	now           func() time.Time
	ops           map[goipp.Op]operation
}

// NewServer validates opts and builds a Server.
func NewServer(opts Options) (*Server, error) {
	if opts.Service == nil {
		return nil, errors.New("ipp: new server: no Service")
	}
	if opts.MaxAttributeBytes < 0 || opts.MaxDocumentBytes < 0 || opts.DrainBytes < 0 || opts.MultipleOperationTimeout < 0 ||
		opts.MaxCompressionRatio < 0 {
		return nil, errors.New("ipp: new server: negative limit")
	}
	s := &Server{
		svc:           opts.Service,
		log:           opts.Logger,
		auth:          opts.Auth,
		requireAuth:   opts.RequireAuth,
		plainAuth:     opts.AllowPlainAuth,
		trustLoopback: opts.TrustLoopback,
		refused:       opts.Refused,
		maxAttr:       opts.MaxAttributeBytes,
		maxDoc:        opts.MaxDocumentBytes,
		drain:         opts.DrainBytes,
		maxRatio:      opts.MaxCompressionRatio,
		opTimeout:     opts.MultipleOperationTimeout,
		tlsOnly:       opts.RequireTLS,
		now:           opts.Now,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxAttr == 0 {
		s.maxAttr = DefaultMaxAttributeBytes
	}
	if s.maxRatio == 0 {
		s.maxRatio = DefaultMaxCompressionRatio
	}
	if s.drain == 0 {
		s.drain = DefaultDrainBytes
		if s.maxDoc > 0 {
			s.drain = s.maxDoc
		}
	}
	if s.opTimeout == 0 {
		s.opTimeout = DefaultMultipleOperationTimeout
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.ops = s.operations()
	return s, nil
}

// ServeHTTP answers one IPP request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		// Defence in depth: a bug must cost one request, not the listener's goroutine. The
		// fuzz target treats this log line as a failure, so it does not hide bugs.
		if p := recover(); p != nil {
			s.log.Error("ipp: panic serving request", "panic", p, "stack", string(debug.Stack()))
			w.Header().Set("Connection", "close")
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "IPP requests are POSTed", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != goipp.ContentType {
		http.Error(w, "Content-Type must be application/ipp", http.StatusUnsupportedMediaType)
		return
	}

	// goipp's decoder stops exactly after end-of-attributes, so the document is whatever this
	// same buffered reader holds next.
	body := bufio.NewReaderSize(r.Body, 64<<10)
	var hdr [8]byte
	if _, err := io.ReadFull(body, hdr[:]); err != nil {
		// Without a complete header there is no request-id to answer.
		w.Header().Set("Connection", "close")
		http.Error(w, "truncated IPP request header", http.StatusBadRequest)
		return
	}
	version := goipp.Version(binary.BigEndian.Uint16(hdr[0:2]))
	op := goipp.Op(binary.BigEndian.Uint16(hdr[2:4]))
	rs := newResponse(version, binary.BigEndian.Uint32(hdr[4:8]))
	if s.tlsOnly && r.TLS == nil {
		// Refused before the attributes are decoded: nothing sent in the clear is used or
		// kept. The rest is read and dropped (up to the drain bound) so that a client that
		// writes its whole request before reading sees this status, not a broken pipe.
		rs.setStatus(goipp.StatusErrorForbidden, "This printer takes jobs only over TLS: print to ipps://"+
			r.Host+r.URL.Path+" (https:// for Windows).")
		s.drainBody(body)
		s.log.Debug("ipp: plain request refused", "op", op.String(), "path", r.URL.Path, "remote", r.RemoteAddr)
		s.writeResponse(w, rs, false)
		return
	}

	capped := &capread.Reader{R: body, N: s.maxAttr, TooLarge: errAttributesTooLarge}
	var msg goipp.Message
	err := msg.Decode(io.MultiReader(bytes.NewReader(hdr[:]), capped))
	keepAlive := true
	switch {
	case capped.Over:
		// Do not drain: an oversized section may be endless. Closing is the only safe end.
		rs.setStatus(goipp.StatusErrorRequestEntity, "Request attributes are larger than the server accepts.")
		keepAlive = false
	case err != nil:
		// The decoder's errors are plain strings; whatever it was, the request is malformed,
		// and where its document starts is unknown, so the connection cannot be reused.
		rs.setStatus(goipp.StatusErrorBadRequest, "Malformed IPP request: "+err.Error())
		keepAlive = false
	default:
		rq := newRequest(r, &msg, body)
		s.handle(r.Context(), rq, rs)
		keepAlive = s.drainBody(body)
		if rq.challenge {
			// As CUPS does: HTTP 401 and the challenge, no IPP body; the client asks its user
			// (or its stored credentials) and sends the request again.
			w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
			if !keepAlive {
				w.Header().Set("Connection", "close")
			}
			http.Error(w, "sign-in required", http.StatusUnauthorized)
			return
		}
	}
	s.log.Debug("ipp: request", "op", op.String(), "status", goipp.Status(rs.status).String(),
		"path", r.URL.Path, "remote", r.RemoteAddr)
	s.writeResponse(w, rs, keepAlive)
}

// drainBody reads what is left of the request body (document bytes an operation did not use,
// junk after a compressed stream) so the client, which may only read our answer after sending
// everything, gets it. It reports whether the connection can stay open.
func (s *Server) drainBody(body io.Reader) bool {
	n, err := io.CopyN(io.Discard, body, s.drain+1)
	return n <= s.drain && errors.Is(err, io.EOF)
}

// writeResponse encodes first and writes after, so an encoding failure becomes a clean
// server-error-internal-error instead of half a message.
func (s *Server) writeResponse(w http.ResponseWriter, rs *response, keepAlive bool) {
	data, err := rs.encodeMessage().EncodeBytes()
	if err != nil {
		s.log.Error("ipp: encode response", "status", goipp.Status(rs.status).String(), "err", err)
		fallback := newResponse(rs.version, rs.requestID)
		fallback.setStatus(goipp.StatusErrorInternal, "Internal error encoding the response.")
		data, err = fallback.encodeMessage().EncodeBytes()
		if err != nil {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", goipp.ContentType)
	if !keepAlive {
		h.Set("Connection", "close")
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(data); err != nil {
		s.log.Debug("ipp: write response", "err", err)
	}
}

var errAttributesTooLarge = errors.New("ipp: attribute section too large")
