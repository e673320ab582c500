// Tests of job queries and job control: Get-Job-Attributes (state mapping, privacy),
// Get-Jobs, Cancel-Job, Cancel-My-Jobs, Hold-Job, Release-Job, and the printer operations
// Pause-Printer, Resume-Printer and Identify-Printer.
package ipp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// jobReq builds a job operation by job-id for user.
func jobReq(op goipp.Op, id int64, user string) *goipp.Message {
	m := newReq(op, lettersURI)
	addOp(m, "job-id", goipp.TagInteger, goipp.Integer(id))
	addOp(m, "requesting-user-name", goipp.TagName, goipp.String(user))
	return m
}

// doFrom sends m as if from remote (e.g. "127.0.0.1:5000" for an operator on loopback).
func doFrom(t *testing.T, s *Server, remote, path string, m *goipp.Message) *goipp.Message {
	t.Helper()
	hr := httptest.NewRequest(http.MethodPost, "http://gw.example:8631"+path, bytes.NewReader(encode(t, m)))
	hr.RemoteAddr = remote
	hr.Header.Set("Content-Type", goipp.ContentType)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, hr)
	var rsp goipp.Message
	if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatalf("HTTP %d, decode: %v", w.Code, err)
	}
	return &rsp
}

const (
	fromNetwork  = "192.0.2.10:40000"
	fromLoopback = "127.0.0.1:40000"
	// fromOtherHost is another client on the network, claiming the same names.
	fromOtherHost = "192.0.2.99:40000"
	// networkHost is fromNetwork's host: the origin host of its jobs.
	networkHost = "192.0.2.10"
	// testHost is where httptest.NewRequest's requests (do) come from.
	testHost = "192.0.2.1"
	// trustLoopback, appended to a remote in a table, runs that case with TrustLoopback.
	trustLoopback = "+trust"
)

func TestJobStateMapping(t *testing.T) {
	t.Parallel()
	cases := []struct {
		state   job.State
		dup     bool
		ipp     JobState
		reasons []string
	}{
		{job.StateReceived, false, JobPendingHeld, []string{"job-incoming"}},
		{job.StatePending, false, JobPending, []string{"job-queued"}},
		{job.StateHeld, false, JobPendingHeld, []string{"job-hold-until-specified"}},
		{job.StateAssigned, false, JobPending, []string{"job-queued"}},
		{job.StateSending, false, JobProcessing, []string{"job-transmitting"}},
		{job.StatePrinting, false, JobProcessing, []string{"job-printing"}},
		{job.StateCompleted, false, JobCompleted, []string{"job-completed-successfully"}},
		{job.StateCanceled, false, JobCanceled, []string{"job-canceled-by-user"}},
		{job.StateAborted, false, JobAborted, []string{"aborted-by-system"}},
		{job.StatePending, true, JobPending, []string{"job-queued", ReasonPossibleDuplicate}},
		{job.StatePrinting, true, JobProcessing, []string{"job-printing", ReasonPossibleDuplicate}},
	}
	for _, tc := range cases {
		svc := newFakeService()
		now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		svc.jobs[5] = &job.Job{ID: 5, UUID: "5e1f0000-0000-4000-8000-000000000005", VirtualPrinter: "letters",
			Name: "report.pdf", Owner: "alice", State: tc.state, PossibleDuplicate: tc.dup, Printer: "mailroom-1",
			Pages: 4, ImpressionsDone: 3, Created: now, Started: now.Add(time.Second), Finished: now.Add(time.Minute),
			Documents: []job.Document{{Size: 2048, Format: document.PDF}}}
		s, _ := newTestServer(t, svc, Options{})
		rsp := do(t, s, "/ipp/print/letters", jobReq(goipp.OpGetJobAttributes, 5, "alice"), nil)
		a := Attrs(rsp.Job)
		if st, _ := a.Int("job-state"); JobState(st) != tc.ipp {
			t.Errorf("%s dup=%v: job-state %s, want %s", tc.state, tc.dup, JobState(st), tc.ipp)
		}
		if r := a.Strings("job-state-reasons"); !slices.Equal(r, tc.reasons) {
			t.Errorf("%s dup=%v: reasons %v, want %v", tc.state, tc.dup, r, tc.reasons)
		}
		if n, _ := a.Int("job-impressions-completed"); n != 3 {
			t.Errorf("job-impressions-completed %d", n)
		}
		if dev, _ := a.String("output-device-assigned"); dev != "mailroom-1" {
			t.Errorf("output-device-assigned %q", dev)
		}
		if tc.ipp.Final() {
			if v, ok := a.Int("time-at-completed"); !ok || int64(v) != now.Add(time.Minute).Unix() {
				t.Errorf("%s: time-at-completed %d", tc.state, v)
			}
		} else if a.Tag("time-at-completed") != goipp.TagNoValue {
			t.Errorf("%s: time-at-completed is %s, want no-value", tc.state, a.Tag("time-at-completed"))
		}
	}
}

func TestGetJobAttributesRequestedAndPrivacy(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Name: "diagnosis.pdf", Owner: "alice", OriginHost: networkHost,
		State: job.StatePending, Attributes: job.Attributes{Copies: 2, Sides: "one-sided"}}
	s, _ := newTestServer(t, svc, Options{})
	trusting, _ := newTestServer(t, svc, Options{TrustLoopback: true})

	m := jobReq(goipp.OpGetJobAttributes, 1, "alice")
	addOp(m, "requested-attributes", goipp.TagKeyword, goipp.String("job-state"), goipp.String("copies"))
	a := Attrs(doFrom(t, s, fromNetwork, "/ipp/print/letters", m).Job)
	if len(a) != 2 || !a.Has("job-state") || !a.Has("copies") {
		t.Errorf("requested job-state, copies; got %v", a)
	}
	m = jobReq(goipp.OpGetJobAttributes, 1, "alice")
	addOp(m, "requested-attributes", goipp.TagKeyword, goipp.String("job-template"))
	a = Attrs(doFrom(t, s, fromNetwork, "/ipp/print/letters", m).Job)
	if !a.Has("copies") || !a.Has("sides") || a.Has("job-state") {
		t.Errorf("job-template group: %v", a)
	}

	for _, tc := range []struct {
		user, remote string
		trust        bool
		name         string
	}{
		{"alice", fromNetwork, false, "diagnosis.pdf"},
		{"bob", fromNetwork, false, privateValue},
		// A claimed name is not enough: alice's name from another host is anyone's claim.
		{"alice", fromOtherHost, false, privateValue},
		{"alice", fromLoopback, false, privateValue},
		// The gateway host is an operator only with trust_loopback.
		{"bob", fromLoopback, true, "diagnosis.pdf"},
	} {
		srv := s
		if tc.trust {
			srv = trusting
		}
		a := Attrs(doFrom(t, srv, tc.remote, "/ipp/print/letters", jobReq(goipp.OpGetJobAttributes, 1, tc.user)).Job)
		if name, _ := a.String("job-name"); name != tc.name {
			t.Errorf("%s from %s (trust_loopback %v) sees job-name %q, want %q", tc.user, tc.remote, tc.trust, name, tc.name)
		}
		if owner, _ := a.String("job-originating-user-name"); (owner == privateValue) != (tc.name == privateValue) {
			t.Errorf("%s from %s sees job-originating-user-name %q", tc.user, tc.remote, owner)
		}
	}
}

func TestGetJobs(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	add := func(id int64, owner string, st job.State) {
		svc.jobs[id] = &job.Job{ID: id, VirtualPrinter: "letters", Owner: owner, State: st, Name: "j", OriginHost: testHost}
	}
	add(1, "alice", job.StateCompleted)
	add(2, "bob", job.StatePending)
	add(3, "alice", job.StatePrinting)
	add(4, "alice", job.StateCanceled)
	add(5, "alice", job.StateHeld)
	// alice's name, but sent from another host: not "my" job to a client claiming alice.
	svc.jobs[7] = &job.Job{ID: 7, VirtualPrinter: "letters", Owner: "alice", State: job.StateHeld, OriginHost: networkHost}
	svc.jobs[6] = &job.Job{ID: 6, VirtualPrinter: "mono", Owner: "alice", State: job.StatePending}
	s, _ := newTestServer(t, svc, Options{})

	ids := func(rsp *goipp.Message) []int {
		var out []int
		for _, g := range rsp.Groups {
			if g.Tag == goipp.TagJobGroup {
				id, _ := Attrs(g.Attrs).Int("job-id")
				out = append(out, id)
			}
		}
		return out
	}
	cases := []struct {
		name  string
		extra func(m *goipp.Message)
		want  []int
	}{
		{"default not-completed", nil, []int{2, 3, 5, 7}},
		{"completed newest first", func(m *goipp.Message) { addOp(m, "which-jobs", goipp.TagKeyword, goipp.String("completed")) }, []int{4, 1}},
		{"all", func(m *goipp.Message) { addOp(m, "which-jobs", goipp.TagKeyword, goipp.String("all")) }, []int{2, 3, 5, 7, 4, 1}},
		{"pending-held", func(m *goipp.Message) { addOp(m, "which-jobs", goipp.TagKeyword, goipp.String("pending-held")) }, []int{5, 7}},
		{"my-jobs", func(m *goipp.Message) { addOp(m, "my-jobs", goipp.TagBoolean, goipp.Boolean(true)) }, []int{3, 5}},
		{"my-jobs with limit", func(m *goipp.Message) {
			addOp(m, "my-jobs", goipp.TagBoolean, goipp.Boolean(true))
			addOp(m, "limit", goipp.TagInteger, goipp.Integer(1))
		}, []int{3}},
		{"limit", func(m *goipp.Message) { addOp(m, "limit", goipp.TagInteger, goipp.Integer(2)) }, []int{2, 3}},
		{"first-index", func(m *goipp.Message) { addOp(m, "first-index", goipp.TagInteger, goipp.Integer(2)) }, []int{3, 5, 7}},
		{"first-index and limit", func(m *goipp.Message) {
			addOp(m, "first-index", goipp.TagInteger, goipp.Integer(2))
			addOp(m, "limit", goipp.TagInteger, goipp.Integer(1))
		}, []int{3}},
		{"first-index past the end", func(m *goipp.Message) { addOp(m, "first-index", goipp.TagInteger, goipp.Integer(9)) }, nil},
	}
	for _, tc := range cases {
		m := newReq(goipp.OpGetJobs, lettersURI)
		addOp(m, "requesting-user-name", goipp.TagName, goipp.String("alice"))
		if tc.extra != nil {
			tc.extra(m)
		}
		rsp := do(t, s, "/ipp/print/letters", m, nil)
		if status(rsp) != goipp.StatusOk {
			t.Errorf("%s: status %s", tc.name, status(rsp))
			continue
		}
		if got := ids(rsp); !slices.Equal(got, tc.want) {
			t.Errorf("%s: jobs %v, want %v", tc.name, got, tc.want)
		}
		for _, g := range rsp.Groups {
			if g.Tag == goipp.TagJobGroup && len(g.Attrs) != 2 {
				t.Errorf("%s: default attributes are job-id and job-uri, got %v", tc.name, g.Attrs)
			}
		}
	}

	m := newReq(goipp.OpGetJobs, lettersURI)
	addOp(m, "which-jobs", goipp.TagKeyword, goipp.String("fetchable"))
	rsp := do(t, s, "/ipp/print/letters", m, nil)
	if status(rsp) != goipp.StatusErrorAttributesOrValues || !Attrs(rsp.Unsupported).Has("which-jobs") {
		t.Errorf("unsupported which-jobs: status %s, unsupported %v", status(rsp), rsp.Unsupported)
	}
	m = newReq(goipp.OpGetJobs, lettersURI)
	addOp(m, "limit", goipp.TagInteger, goipp.Integer(0))
	if rsp := do(t, s, "/ipp/print/letters", m, nil); status(rsp) != goipp.StatusErrorAttributesOrValues {
		t.Errorf("limit 0: status %s", status(rsp))
	}
	m = newReq(goipp.OpGetJobs, lettersURI)
	addOp(m, "requested-attributes", goipp.TagKeyword, goipp.String("all"))
	rsp = do(t, s, "/ipp/print/letters", m, nil)
	for _, g := range rsp.Groups {
		if g.Tag == goipp.TagJobGroup && !Attrs(g.Attrs).Has("job-state") {
			t.Errorf("requested all: %v", g.Attrs)
		}
	}
}

func TestCancelJob(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		state  job.State
		user   string
		remote string
		status goipp.Status
	}{
		{"owner", job.StatePending, "alice", fromNetwork, goipp.StatusOk},
		{"owner while printing", job.StatePrinting, "alice", fromNetwork, goipp.StatusOk},
		{"someone else", job.StatePending, "mallory", fromNetwork, goipp.StatusErrorNotAuthenticated},
		{"the owner's name from another host", job.StatePending, "alice", fromOtherHost, goipp.StatusErrorNotAuthenticated},
		{"the owner's name from the gateway host", job.StatePending, "alice", fromLoopback, goipp.StatusErrorNotAuthenticated},
		{"root from the gateway host", job.StatePending, "root", fromLoopback, goipp.StatusErrorNotAuthenticated},
		{"operator (trust_loopback)", job.StatePending, "root", fromLoopback + trustLoopback, goipp.StatusOk},
		{"completed", job.StateCompleted, "alice", fromNetwork, goipp.StatusErrorNotPossible},
		{"aborted", job.StateAborted, "alice", fromNetwork, goipp.StatusErrorNotPossible},
	}
	for _, tc := range cases {
		svc := newFakeService()
		svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Owner: "alice", OriginHost: networkHost, State: tc.state}
		remote, trust := strings.CutSuffix(tc.remote, trustLoopback)
		s, _ := newTestServer(t, svc, Options{TrustLoopback: trust})
		rsp := doFrom(t, s, remote, "/ipp/print/letters", jobReq(goipp.OpCancelJob, 1, tc.user))
		if status(rsp) != tc.status {
			t.Errorf("%s: status %s, want %s", tc.name, status(rsp), tc.status)
		}
		canceled := svc.job(1).State == job.StateCanceled
		if canceled != (tc.status == goipp.StatusOk) {
			t.Errorf("%s: job %s", tc.name, svc.job(1).State)
		}
		if tc.status == goipp.StatusOk && !slices.Contains(svc.callLog(), "canceled 1 by "+tc.user) {
			t.Errorf("%s: calls %v", tc.name, svc.callLog())
		}
	}
	svc := newFakeService()
	s, _ := newTestServer(t, svc, Options{})
	if rsp := do(t, s, "/ipp/print/letters", jobReq(goipp.OpCancelJob, 77, "alice"), nil); status(rsp) != goipp.StatusErrorNotFound {
		t.Errorf("unknown job: %s", status(rsp))
	}
}

func TestCancelMyJobs(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	for id, st := range map[int64]job.State{1: job.StatePending, 2: job.StatePrinting, 3: job.StateCompleted} {
		svc.jobs[id] = &job.Job{ID: id, VirtualPrinter: "letters", Owner: "alice", OriginHost: testHost, State: st}
	}
	svc.jobs[4] = &job.Job{ID: 4, VirtualPrinter: "letters", Owner: "bob", OriginHost: testHost, State: job.StatePending}
	// Another host's alice: a claim of the name does not cancel it.
	svc.jobs[5] = &job.Job{ID: 5, VirtualPrinter: "letters", Owner: "alice", OriginHost: networkHost, State: job.StatePending}
	s, _ := newTestServer(t, svc, Options{})

	m := newReq(goipp.OpCancelMyJobs, lettersURI)
	addOp(m, "requesting-user-name", goipp.TagName, goipp.String("alice"))
	addOp(m, "job-ids", goipp.TagInteger, goipp.Integer(1), goipp.Integer(4))
	// Without credentials the refusal asks for a sign-in (an operator, or bob, may).
	if rsp := do(t, s, "/ipp/print/letters", m, nil); status(rsp) != goipp.StatusErrorNotAuthenticated {
		t.Errorf("job-ids with bob's job: %s", status(rsp))
	}
	if svc.job(1).State != job.StatePending {
		t.Error("a refused Cancel-My-Jobs canceled something")
	}

	m = newReq(goipp.OpCancelMyJobs, lettersURI)
	addOp(m, "requesting-user-name", goipp.TagName, goipp.String("alice"))
	if rsp := do(t, s, "/ipp/print/letters", m, nil); status(rsp) != goipp.StatusOk {
		t.Fatalf("Cancel-My-Jobs: %s", status(rsp))
	}
	want := map[int64]job.State{1: job.StateCanceled, 2: job.StateCanceled, 3: job.StateCompleted, 4: job.StatePending,
		5: job.StatePending}
	for id, st := range want {
		if got := svc.job(id).State; got != st {
			t.Errorf("job %d is %s, want %s", id, got, st)
		}
	}
}

func TestOperatorOperations(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		op     goipp.Op
		state  job.State
		remote string
		status goipp.Status
		call   string
	}{
		{"hold as operator", goipp.OpHoldJob, job.StatePending, fromLoopback + trustLoopback, goipp.StatusOk, "held 1 by root"},
		{"hold from the gateway host without trust_loopback", goipp.OpHoldJob, job.StatePending, fromLoopback, goipp.StatusErrorNotAuthenticated, ""},
		{"hold from the network", goipp.OpHoldJob, job.StatePending, fromNetwork + trustLoopback, goipp.StatusErrorNotAuthenticated, ""},
		{"hold a completed job", goipp.OpHoldJob, job.StateCompleted, fromLoopback + trustLoopback, goipp.StatusErrorNotPossible, ""},
		{"hold a printing job", goipp.OpHoldJob, job.StatePrinting, fromLoopback + trustLoopback, goipp.StatusErrorNotPossible, ""},
		{"release as operator", goipp.OpReleaseJob, job.StateHeld, fromLoopback + trustLoopback, goipp.StatusOk, "pending 1 by root"},
		{"release a pending job", goipp.OpReleaseJob, job.StatePending, fromLoopback + trustLoopback, goipp.StatusErrorNotPossible, ""},
		{"release from the network", goipp.OpReleaseJob, job.StateHeld, fromNetwork + trustLoopback, goipp.StatusErrorNotAuthenticated, ""},
		{"release from the gateway host without trust_loopback", goipp.OpReleaseJob, job.StateHeld, fromLoopback, goipp.StatusErrorNotAuthenticated, ""},
	}
	for _, tc := range cases {
		svc := newFakeService()
		svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", Owner: "root", State: tc.state}
		remote, trust := strings.CutSuffix(tc.remote, trustLoopback)
		s, _ := newTestServer(t, svc, Options{TrustLoopback: trust})
		rsp := doFrom(t, s, remote, "/ipp/print/letters", jobReq(tc.op, 1, "root"))
		if status(rsp) != tc.status {
			t.Errorf("%s: status %s, want %s", tc.name, status(rsp), tc.status)
		}
		if got := svc.callLog(); tc.call != "" && !slices.Contains(got, tc.call) || tc.call == "" && len(got) > 0 {
			t.Errorf("%s: calls %v", tc.name, got)
		}
	}

	for _, tc := range []struct {
		op     goipp.Op
		remote string
		status goipp.Status
		call   string
	}{
		{goipp.OpPausePrinter, fromLoopback + trustLoopback, goipp.StatusOk, "pause letters by root"},
		{goipp.OpHoldNewJobs, fromLoopback + trustLoopback, goipp.StatusOk, "pause letters by root"},
		{goipp.OpResumePrinter, fromLoopback + trustLoopback, goipp.StatusOk, "resume letters by root"},
		{goipp.OpReleaseHeldNewJobs, fromLoopback + trustLoopback, goipp.StatusOk, "resume letters by root"},
		{goipp.OpPausePrinter, fromNetwork + trustLoopback, goipp.StatusErrorNotAuthenticated, ""},
		{goipp.OpPausePrinter, fromLoopback, goipp.StatusErrorNotAuthenticated, ""},
		{goipp.OpResumePrinter, "[::1]:5000" + trustLoopback, goipp.StatusOk, "resume letters by root"},
		{goipp.OpResumePrinter, "[::1]:5000", goipp.StatusErrorNotAuthenticated, ""},
	} {
		svc := newFakeService()
		remote, trust := strings.CutSuffix(tc.remote, trustLoopback)
		s, _ := newTestServer(t, svc, Options{TrustLoopback: trust})
		m := newReq(tc.op, lettersURI)
		addOp(m, "requesting-user-name", goipp.TagName, goipp.String("root"))
		rsp := doFrom(t, s, remote, "/ipp/print/letters", m)
		if status(rsp) != tc.status {
			t.Errorf("%s from %s: status %s, want %s", tc.op, tc.remote, status(rsp), tc.status)
		}
		if got := svc.callLog(); tc.call != "" && !slices.Equal(got, []string{tc.call}) || tc.call == "" && len(got) > 0 {
			t.Errorf("%s: calls %v", tc.op, got)
		}
	}
}

func TestIdentifyPrinter(t *testing.T) {
	t.Parallel()
	cases := []struct {
		actions []string
		status  goipp.Status
		call    string
	}{
		{nil, goipp.StatusOk, "identify letters [sound]"},
		{[]string{"display"}, goipp.StatusOk, "identify letters [display]"},
		{[]string{"display", "flash"}, goipp.StatusOkIgnoredOrSubstituted, "identify letters [display]"},
	}
	for _, tc := range cases {
		svc := newFakeService()
		s, _ := newTestServer(t, svc, Options{})
		m := newReq(goipp.OpIdentifyPrinter, lettersURI)
		if len(tc.actions) > 0 {
			addOp(m, "identify-actions", goipp.TagKeyword, goipp.String(tc.actions[0]), stringValues(tc.actions[1:])...)
		}
		rsp := do(t, s, "/ipp/print/letters", m, nil)
		if status(rsp) != tc.status {
			t.Errorf("%v: status %s", tc.actions, status(rsp))
		}
		if got := svc.callLog(); !slices.Equal(got, []string{tc.call}) {
			t.Errorf("%v: calls %v", tc.actions, got)
		}
	}
}
