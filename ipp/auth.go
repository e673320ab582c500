// Who an IPP request comes from: HTTP Basic credentials checked by the gateway's Authenticator
// (only over TLS unless allowed in the clear), loopback trust when configured, or else only a
// claimed requesting-user-name at the client's address; and the checks policy asks for.
package ipp

import (
	"context"
	"fmt"
	"net"
	"net/http"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/policy"
)

// Realm is the Basic realm of the 401 challenge.
const Realm = "printgate"

// Principal is a signed-in user.
type Principal struct {
	// Name is the user (auth.users) or the token's name.
	Name string
	// Operator: the user may act on anyone's jobs and on printers.
	Operator bool
}

// Authenticator checks the user name and password of an HTTP Basic Authorization header
// (auth.users, and tokens sent as the password). It must throttle guessing itself, and record
// wrong credentials in the audit log (the server records the refusals it answers in IPP).
type Authenticator interface {
	CheckBasic(r *http.Request, user, password string) (Principal, bool)
}

// Refusal is one refused IPP request, for the audit log.
type Refusal struct {
	// Op is the operation's name; Printer and JobID its target (JobID 0 for a printer).
	Op      string
	Printer string
	JobID   int64
	// User is the signed-in or claimed user; Authenticated says which.
	User          string
	Authenticated bool
	// Remote is the client's address.
	Remote string
	// Status and Reason are what the client was told.
	Status goipp.Status
	Reason string
}

// authenticate reads the Authorization header. It returns an *Error for credentials the
// request may not use (sent in the clear, unless allowed) and sets rq.challenge for wrong ones.
func (s *Server) authenticate(rq *request) *Error {
	user, pass, ok := rq.hr.BasicAuth()
	if !ok {
		return nil
	}
	if !rq.secure() && !s.plainAuth {
		return Errorf(goipp.StatusErrorForbidden,
			"This printer takes passwords only over TLS: print to ipps://%s%s.", rq.host(), rq.hr.URL.Path)
	}
	if s.auth == nil {
		return Errorf(goipp.StatusErrorNotAuthenticated, "This printer has no users to sign in as.")
	}
	p, ok := s.auth.CheckBasic(rq.hr, user, pass)
	if !ok {
		rq.challenge = true
		return Errorf(goipp.StatusErrorNotAuthenticated, "Wrong user name or password.")
	}
	rq.principal = &p
	rq.user = truncateUTF8(p.Name, maxUserName)
	return nil
}

// canChallenge reports whether a 401 would let the client send credentials we take.
func (s *Server) canChallenge(rq *request) bool {
	return s.auth != nil && (rq.secure() || s.plainAuth)
}

// needSignIn asks for credentials: a 401 challenge where the client may answer it, else
// client-error-not-authenticated naming the ipps:// address.
func (s *Server) needSignIn(rq *request, why string) *Error {
	if s.canChallenge(rq) {
		rq.challenge = true
		return Errorf(goipp.StatusErrorNotAuthenticated, "%s", why)
	}
	if s.auth == nil {
		return Errorf(goipp.StatusErrorNotAuthenticated, "%s; this printer has no users to sign in as.", why)
	}
	return Errorf(goipp.StatusErrorNotAuthenticated, "%s: sign in over ipps://%s%s.", why, rq.host(), rq.hr.URL.Path)
}

// checkNeed applies the policy to the operation before its handler runs: operators' operations
// need an operator, and with RequireAuth every operation but reading the printer's description
// needs a signed-in user. Owners are checked by the handlers, which know the job.
func (s *Server) checkNeed(rq *request) *Error {
	need, ok := policy.IPP(rq.op)
	if !ok {
		return Errorf(goipp.StatusErrorOperationNotSupported, "Operation %s is not supported.", rq.op)
	}
	if s.requireAuth && rq.principal == nil && rq.op != goipp.OpGetPrinterAttributes {
		return s.needSignIn(rq, "This printer requires a sign-in")
	}
	if need == policy.Operator && !s.isOperator(rq) {
		if rq.principal == nil {
			return s.needSignIn(rq, "Only an operator may do "+rq.op.String())
		}
		return Errorf(goipp.StatusErrorNotAuthorized, "%s is not an operator.", rq.principal.Name)
	}
	return nil
}

// isOperator: a signed-in operator, or, with TrustLoopback and no credentials, a request from
// the gateway host itself (as the API treats it).
func (s *Server) isOperator(rq *request) bool {
	if rq.principal != nil {
		return rq.principal.Operator
	}
	if !s.trustLoopback {
		return false
	}
	ip := net.ParseIP(rq.originHost())
	return ip != nil && ip.IsLoopback()
}

// owns reports whether the requester is the job's owner: the signed-in user, or without
// sign-in the claimed name from the host the job came from (a name alone is anyone's claim).
func (s *Server) owns(rq *request, j *job.Job) bool {
	if rq.principal != nil {
		return j.Owner == rq.principal.Name
	}
	return j.Owner == rq.user && j.OriginHost == rq.originHost()
}

// mayActOn reports whether the requester owns job or is an operator.
func (s *Server) mayActOn(rq *request, j *job.Job) bool {
	return s.owns(rq, j) || s.isOperator(rq)
}

// refusedStatus reports whether a status is a refusal the audit log records.
func refusedStatus(st goipp.Status) bool {
	return st == goipp.StatusErrorForbidden || st == goipp.StatusErrorNotAuthenticated || st == goipp.StatusErrorNotAuthorized
}

// audit tells the Refused hook of a refused request.
func (s *Server) audit(ctx context.Context, rq *request, rs *response) {
	if s.refused == nil || !refusedStatus(rs.status) {
		return
	}
	if rq.challenge {
		// A challenge to a request without credentials is how the protocol asks for them:
		// CUPS sends each job's first request (and each new connection's) without, then again
		// with them. Recording it would fill the audit log with every job; a client that
		// cannot answer it has refused itself. Wrong credentials are recorded by the
		// Authenticator (once, not again here); every refusal in an IPP status is recorded.
		s.log.Debug("ipp: sign-in asked", "op", rq.op.String(), "remote", rq.hr.RemoteAddr)
		return
	}
	ref := Refusal{Op: rq.op.String(), User: rq.user, Authenticated: rq.principal != nil, Remote: rq.originHost(),
		Status: rs.status, Reason: rs.message}
	if rq.printer != nil {
		ref.Printer = rq.printer.Name
	}
	if rq.job != nil {
		ref.JobID = rq.job.ID
	}
	s.refused(ctx, ref)
}

// notYours refuses an owner's operation on another's job: without credentials with a sign-in
// request (an operator, or the owner signed in, may do it), as CUPS asks; signed in with
// client-error-not-authorized.
func (s *Server) notYours(rq *request, id int64) *Error {
	if rq.principal == nil {
		return s.needSignIn(rq, fmt.Sprintf("Job %d is not yours", id))
	}
	return Errorf(goipp.StatusErrorNotAuthorized, "Job %d is not %s's.", id, rq.principal.Name)
}
