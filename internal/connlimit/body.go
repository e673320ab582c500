package connlimit

import (
	"io"
	"net/http"
	"time"
)

// BodyProgress cuts a request whose body makes no progress for idle: before each read of the
// body the connection's read deadline is moved to now+idle, so an upload of any length that
// keeps coming is served and one that stops (or drips slower than one read per idle) fails
// with a timeout. The deadline is cleared once the body is read to its end, so that a response
// streamed for long afterwards (the dashboard's event stream, a large download) is not cut.
// The HTTP server's own timeouts cover the rest: headers (ReadHeaderTimeout) and idle
// keep-alive connections (IdleTimeout).
func BodyProgress(idle time.Duration, next http.Handler) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = &progressBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle}
		}
		next.ServeHTTP(w, r)
	})
}

type progressBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	done bool
}

func (b *progressBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	// Not every ResponseWriter can set deadlines (a test recorder); then the body reads as is.
	_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done = err == io.EOF
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
