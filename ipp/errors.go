// IPP status errors: the typed Error both sides of the protocol use, the sentinel classes callers
// test with errors.Is, and the mapping of service errors to IPP status codes.
package ipp

import (
	"context"
	"errors"
	"fmt"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// Error is an IPP status other than success: returned by Client calls when the peer answered an
// error status, and by server handlers to set the response status. Message becomes the
// status-message operation attribute.
type Error struct {
	Status  goipp.Status
	Message string
}

// Errorf builds an *Error with a formatted status-message.
func Errorf(status goipp.Status, format string, args ...any) *Error {
	return &Error{Status: status, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return "ipp: " + e.Status.String()
	}
	return fmt.Sprintf("ipp: %s: %s", e.Status, e.Message)
}

// Is lets errors.Is match an *Error against the sentinel classes below, so callers never compare
// status codes themselves.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBusy:
		return e.Status == goipp.StatusErrorBusy
	case ErrJobRefused:
		return jobRefusal(e.Status)
	case ErrNotFound:
		return e.Status == goipp.StatusErrorNotFound || e.Status == goipp.StatusErrorGone
	case ErrNotPossible:
		return e.Status == goipp.StatusErrorNotPossible
	case ErrNotAuthorized:
		return e.Status == goipp.StatusErrorForbidden ||
			e.Status == goipp.StatusErrorNotAuthenticated ||
			e.Status == goipp.StatusErrorNotAuthorized
	case ErrNotAccepting:
		return e.Status == goipp.StatusErrorNotAcceptingJobs
	}
	return false
}

// Sentinel classes of IPP errors. An *Error matches the class its status belongs to.
var (
	// ErrBusy: the printer asked to try again shortly (server-error-busy, or HTTP 503). Not a fault.
	ErrBusy = errors.New("ipp: printer busy, try again shortly")
	// ErrJobRefused: the printer refused this job's document or attributes (unsupported format,
	// attribute value, compression, size, unprintable document). Another printer of the same
	// model would refuse it too; the printer itself is fine.
	ErrJobRefused = errors.New("ipp: job refused by the printer")
	// ErrNotFound: the printer or job does not exist (client-error-not-found or -gone).
	ErrNotFound = errors.New("ipp: not found")
	// ErrNotPossible: the operation does not apply in the object's current state, e.g. canceling
	// a completed job (client-error-not-possible).
	ErrNotPossible = errors.New("ipp: not possible in the current state")
	// ErrNotAuthorized: the requester may not do this (forbidden, not-authenticated,
	// not-authorized).
	ErrNotAuthorized = errors.New("ipp: not authorized")
	// ErrNotAccepting: the printer is not accepting jobs (server-error-not-accepting-jobs).
	ErrNotAccepting = errors.New("ipp: printer not accepting jobs")
)

// jobRefusal reports whether status blames the job rather than the printer. Bad-request is not
// among them: it is as likely a firmware quirk of that printer, and another may take the job.
func jobRefusal(s goipp.Status) bool {
	switch s {
	case goipp.StatusErrorRequestEntity,
		goipp.StatusErrorRequestValue,
		goipp.StatusErrorDocumentFormatNotSupported,
		goipp.StatusErrorAttributesOrValues,
		goipp.StatusErrorConflicting,
		goipp.StatusErrorCompressionNotSupported,
		goipp.StatusErrorCompressionError,
		goipp.StatusErrorDocumentFormatError,
		goipp.StatusErrorDocumentPassword,
		goipp.StatusErrorDocumentPermission,
		goipp.StatusErrorDocumentSecurity,
		goipp.StatusErrorDocumentUnprintable:
		return true
	}
	return false
}

// statusOf maps an error from the Service (or a handler) to the IPP error the client receives.
// The second result is false for errors that are our fault (logged as such by the caller).
func statusOf(err error) (*Error, bool) {
	var ie *Error
	switch {
	case errors.As(err, &ie):
		return ie, true
	case errors.Is(err, job.ErrNotFound), errors.Is(err, ErrNotFound):
		return &Error{Status: goipp.StatusErrorNotFound, Message: "Not found."}, true
	case errors.Is(err, job.ErrDiskFull):
		// A full spool is transient and nothing already accepted is at risk: busy makes CUPS,
		// Windows and ipptool retry later instead of failing the user's print, and an operator
		// freeing space lets the retry succeed. server-error-temporary-error would read as a
		// fault of this job to some clients.
		return &Error{Status: goipp.StatusErrorBusy, Message: "Spool is full, try again later."}, true
	case errors.Is(err, job.ErrTooLarge):
		return &Error{Status: goipp.StatusErrorRequestEntity, Message: "Document is larger than the configured maximum."}, true
	case errors.Is(err, job.ErrEmptyDocument):
		return &Error{Status: goipp.StatusErrorBadRequest, Message: "No document data in request."}, true
	case errors.Is(err, job.ErrTruncated):
		return &Error{Status: goipp.StatusErrorBadRequest, Message: "Document data truncated."}, true
	case errors.Is(err, job.ErrIllegalTransition), errors.Is(err, job.ErrStateChanged), errors.Is(err, ErrNotPossible):
		return &Error{Status: goipp.StatusErrorNotPossible, Message: "Not possible in the job's current state."}, true
	case errors.Is(err, ErrNotAuthorized):
		return &Error{Status: goipp.StatusErrorForbidden, Message: "Not authorized."}, true
	case errors.Is(err, job.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: goipp.StatusErrorServiceUnavailable, Message: "Service is shutting down."}, true
	}
	return &Error{Status: goipp.StatusErrorInternal, Message: "Internal error."}, false
}
