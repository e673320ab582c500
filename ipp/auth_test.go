package ipp

import (
	"bytes"
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/policy"
)

// fakeAuth knows alice (an owner, password "secret") and op (an operator, "opsecret").
type fakeAuth struct{}

func (fakeAuth) CheckBasic(_ *http.Request, user, password string) (Principal, bool) {
	switch {
	case user == "alice" && password == "secret":
		return Principal{Name: "alice"}, true
	case user == "op" && password == "opsecret":
		return Principal{Name: "op", Operator: true}, true
	}
	return Principal{}, false
}

// refusals records the Refused hook's calls.
type refusals struct {
	mu  sync.Mutex
	got []Refusal
}

func (r *refusals) add(_ context.Context, ref Refusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, ref)
}

func (r *refusals) list() []Refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// authReq sends m from remote, over TLS when secure, with Basic credentials when user is
// not empty. It returns the HTTP status and, for 200, the IPP answer.
func authReq(t *testing.T, s *Server, remote string, secure bool, user, pass string, m *goipp.Message, doc []byte) (int, http.Header, *goipp.Message) {
	t.Helper()
	hr := httptest.NewRequest(http.MethodPost, "http://gw.example:8631/ipp/print/letters", bytes.NewReader(append(encode(t, m), doc...)))
	hr.RemoteAddr = remote
	hr.Header.Set("Content-Type", goipp.ContentType)
	if secure {
		hr.TLS = &tls.ConnectionState{}
	}
	if user != "" {
		hr.SetBasicAuth(user, pass)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	if w.Code != http.StatusOK {
		return w.Code, w.Header(), nil
	}
	var rsp goipp.Message
	if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return w.Code, w.Header(), &rsp
}

func TestBasicAuthentication(t *testing.T) {
	t.Parallel()
	type tc struct {
		name       string
		opts       Options
		remote     string
		secure     bool
		user, pass string
		op         goipp.Op
		claim      string
		wantHTTP   int
		wantStatus goipp.Status
		wantCall   string
	}
	withAuth := Options{Auth: fakeAuth{}}
	plainOK := Options{Auth: fakeAuth{}, AllowPlainAuth: true}
	required := Options{Auth: fakeAuth{}, RequireAuth: true}
	cases := []tc{
		{"operator over TLS holds", withAuth, fromNetwork, true, "op", "opsecret", goipp.OpHoldJob, "x", 200, goipp.StatusOk, "held 1 by op"},
		{"operator over TLS cancels another's job", withAuth, fromNetwork, true, "op", "opsecret", goipp.OpCancelJob, "x", 200, goipp.StatusOk, "canceled 1 by op"},
		{"no credentials over TLS: challenged", withAuth, fromLoopback, true, "", "", goipp.OpHoldJob, "root", 401, 0, ""},
		{"wrong password: challenged again", withAuth, fromNetwork, true, "op", "guess", goipp.OpHoldJob, "op", 401, 0, ""},
		{"an owner is no operator", withAuth, fromNetwork, true, "alice", "secret", goipp.OpHoldJob, "", 200, goipp.StatusErrorNotAuthorized, ""},
		{"an authenticated owner cancels her job from anywhere", withAuth, fromOtherHost, true, "alice", "secret", goipp.OpCancelJob, "bob", 200, goipp.StatusOk, "canceled 1 by alice"},
		{"credentials in the clear are refused", withAuth, fromNetwork, false, "op", "opsecret", goipp.OpHoldJob, "", 200, goipp.StatusErrorForbidden, ""},
		{"in the clear, no challenge: told to use ipps", withAuth, fromLoopback, false, "", "", goipp.OpPausePrinter, "root", 200, goipp.StatusErrorNotAuthenticated, ""},
		{"in the clear when allowed", plainOK, fromNetwork, false, "op", "opsecret", goipp.OpPausePrinter, "", 200, goipp.StatusOk, "pause letters by op"},
		{"in the clear when allowed, without: challenged", plainOK, fromNetwork, false, "", "", goipp.OpPausePrinter, "", 401, 0, ""},
		{"required: Get-Jobs without sign-in challenged", required, fromNetwork, true, "", "", goipp.OpGetJobs, "alice", 401, 0, ""},
		{"required: Get-Printer-Attributes stays open", required, fromNetwork, true, "", "", goipp.OpGetPrinterAttributes, "", 200, goipp.StatusOk, ""},
		{"no authenticator: in the clear, not-authenticated", Options{}, fromNetwork, false, "", "", goipp.OpHoldJob, "root", 200, goipp.StatusErrorNotAuthenticated, ""},
	}
	for _, c := range cases {
		svc := newFakeService()
		svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Owner: "alice", OriginHost: networkHost, State: job.StatePending}
		refused := &refusals{}
		c.opts.Refused = refused.add
		s, _ := newTestServer(t, svc, c.opts)
		m := newReq(c.op, lettersURI)
		if c.claim != "" {
			addOp(m, "requesting-user-name", goipp.TagName, goipp.String(c.claim))
		}
		if c.op == goipp.OpHoldJob || c.op == goipp.OpCancelJob {
			addOp(m, "job-id", goipp.TagInteger, goipp.Integer(1))
		}
		code, hdr, rsp := authReq(t, s, c.remote, c.secure, c.user, c.pass, m, nil)
		if code != c.wantHTTP {
			t.Errorf("%s: HTTP %d, want %d", c.name, code, c.wantHTTP)
			continue
		}
		if code == http.StatusUnauthorized {
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), `Basic realm="printgate"`) {
				t.Errorf("%s: WWW-Authenticate %q", c.name, hdr.Get("WWW-Authenticate"))
			}
		} else if status(rsp) != c.wantStatus {
			t.Errorf("%s: %s, want %s", c.name, status(rsp), c.wantStatus)
		}
		if got := svc.callLog(); c.wantCall != "" && !slices.Contains(got, c.wantCall) || c.wantCall == "" && len(got) > 0 {
			t.Errorf("%s: calls %v", c.name, got)
		}
		// Every refusal reaches the audit hook, with the client's address.
		// A challenge asks for credentials and is no refusal here (wrong ones are recorded by
		// the Authenticator); every refusal in an IPP status is.
		refusedNow := code != http.StatusUnauthorized && refusedStatus(c.wantStatus)
		if got := refused.list(); refusedNow != (len(got) == 1) || refusedNow && got[0].Remote != strings.Split(c.remote, ":")[0] {
			t.Errorf("%s: refusals %+v", c.name, got)
		}
	}
}

func TestAuthenticatedUserOwnsTheJob(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{Auth: fakeAuth{}, RequireAuth: true})
	m := newReq(goipp.OpPrintJob, lettersURI)
	addOp(m, "requesting-user-name", goipp.TagName, goipp.String("mallory"))
	addOp(m, "document-format", goipp.TagMimeType, goipp.String("application/pdf"))
	if code, _, _ := authReq(t, s, fromNetwork, true, "", "", m, testPDF(1)); code != http.StatusUnauthorized {
		t.Fatalf("Print-Job without sign-in on a printer that requires it: HTTP %d", code)
	}
	code, _, rsp := authReq(t, s, fromNetwork, true, "alice", "secret", m, testPDF(1))
	if code != http.StatusOK || status(rsp) != goipp.StatusOk {
		t.Fatalf("Print-Job as alice: HTTP %d %v", code, rsp)
	}
	id, _ := Attrs(rsp.Job).Int("job-id")
	if j := svc.job(int64(id)); j == nil || j.Owner != "alice" {
		t.Fatalf("job %d: %+v, want owner alice (signed in), not the claimed mallory", id, j)
	}
	// She reads her job's name from another host; a claim of her name from her own host
	// without credentials is challenged (the printer requires sign-in).
	ga := jobReq(goipp.OpGetJobAttributes, int64(id), "x")
	_, _, rsp = authReq(t, s, fromOtherHost, true, "alice", "secret", ga, nil)
	if owner, _ := Attrs(rsp.Job).String("job-originating-user-name"); owner != "alice" {
		t.Errorf("job-originating-user-name %q", owner)
	}
	if code, _, _ := authReq(t, s, fromNetwork, true, "", "", jobReq(goipp.OpGetJobAttributes, int64(id), "alice"), nil); code != http.StatusUnauthorized {
		t.Errorf("a claim of alice without credentials: HTTP %d", code)
	}
}

func TestURIAuthenticationSupported(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		opts   Options
		secure bool
		auth   string
		sec    string
	}{
		{Options{}, false, "requesting-user-name", "none"},
		{Options{}, true, "requesting-user-name", "tls"},
		{Options{Auth: fakeAuth{}}, false, "requesting-user-name", "none"},
		{Options{Auth: fakeAuth{}}, true, "basic", "tls"},
		{Options{Auth: fakeAuth{}, AllowPlainAuth: true}, false, "basic", "none"},
	} {
		s, _ := newTestServer(t, newFakeService(), c.opts)
		m := newReq(goipp.OpGetPrinterAttributes, lettersURI)
		_, _, rsp := authReq(t, s, fromNetwork, c.secure, "", "", m, nil)
		a := Attrs(rsp.Printer)
		if got, _ := a.String("uri-authentication-supported"); got != c.auth {
			t.Errorf("%+v secure=%v: uri-authentication-supported %q, want %q", c.opts, c.secure, got, c.auth)
		}
		if got, _ := a.String("uri-security-supported"); got != c.sec {
			t.Errorf("%+v secure=%v: uri-security-supported %q, want %q", c.opts, c.secure, got, c.sec)
		}
	}
}

// TestPolicyCoversDispatch: every operation the server dispatches has a row in the policy
// table, and the table names no operation the server does not serve.
func TestPolicyCoversDispatch(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, newFakeService(), Options{})
	served := s.operationsSupported()
	table := policy.IPPOps()
	slices.Sort(table)
	if !slices.Equal(served, table) {
		t.Errorf("dispatched %v, policy table %v", served, table)
	}
}

// TestCancelMyJobsWithoutANameOwnsOnlyItsHostsJobs: a client sending no name was once the owner
// of every "anonymous" job (raw port, API submissions without an owner) and canceled them all.
func TestCancelMyJobsWithoutANameOwnsOnlyItsHostsJobs(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Owner: "anonymous", OriginHost: "192.0.2.10", State: job.StatePending}
	svc.jobs[2] = &job.Job{ID: 2, VirtualPrinter: "letters", Owner: "anonymous", OriginHost: "192.0.2.99", State: job.StatePending}
	s, _ := newTestServer(t, svc, Options{})
	m := newReq(goipp.OpCancelMyJobs, lettersURI) // no requesting-user-name
	code, _, rsp := authReq(t, s, "192.0.2.50:1000", false, "", "", m, nil)
	if code != http.StatusOK || status(rsp) != goipp.StatusOk {
		t.Fatalf("Cancel-My-Jobs from a third host: HTTP %d %v", code, rsp)
	}
	if svc.job(1).State != job.StatePending || svc.job(2).State != job.StatePending {
		t.Fatalf("a nameless client at a third host canceled others' anonymous jobs: %s, %s", svc.job(1).State, svc.job(2).State)
	}
	_, _, rsp = authReq(t, s, fromNetwork, false, "", "", m, nil)
	if status(rsp) != goipp.StatusOk || svc.job(1).State != job.StateCanceled || svc.job(2).State != job.StatePending {
		t.Errorf("Cancel-My-Jobs from job 1's host: %s; jobs %s, %s; want only job 1 canceled", status(rsp), svc.job(1).State, svc.job(2).State)
	}
}
