// Package policy is the one table of who may do what over IPP, LPD and the HTTP API: for each
// operation, whether it needs nothing, the job's owner or an operator. The front-ends (ipp, lpd,
// ui) enforce it; docs/CONFIG.md shows it, rendered by Markdown (a test keeps the two equal).
package policy

import (
	"fmt"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// Need is what an operation asks of its caller.
type Need int

const (
	// Anyone: no identity needed (printing, reading the printer's description). When the
	// printer requires authentication (auth.ipp_authentication: required), an IPP request
	// still needs a signed-in user for the jobs it creates to have an owner.
	Anyone Need = iota
	// Reader: a viewer: anonymous with auth.anonymous_read, else a signed-in user or any
	// token (read or operator scope). Others' names are hidden from viewers who are not
	// operators.
	Reader
	// Owner: the job's owner. Authenticated, the owner is the signed-in user; without
	// authentication, the claimed user name and the host the job came from, both. An
	// operator may act for any owner.
	Owner
	// Operator: a signed-in operator (user, or a token of scope operator), or any request
	// from the gateway host itself with auth.trust_loopback: true.
	Operator
)

// String is the word the docs' table uses.
func (n Need) String() string {
	switch n {
	case Anyone:
		return "nothing"
	case Reader:
		return "viewer"
	case Owner:
		return "owner"
	case Operator:
		return "operator"
	}
	return fmt.Sprintf("Need(%d)", int(n))
}

// Rule is one row of the table.
type Rule struct {
	// Protocol is "IPP", "LPD" or "HTTP".
	Protocol string
	// Operation names it as its protocol does: an IPP operation name, an LPD command, or
	// "METHOD /path" with the router's path template.
	Operation string
	// Need is what the caller must be.
	Need Need
	// Note says what else applies (what is hidden, what an owner may do beyond).
	Note string
}

// ippRules are the IPP operations the server dispatches, matched on goipp.Op constants.
var ippRules = []struct {
	op   goipp.Op
	need Need
	note string
}{
	{goipp.OpPrintJob, Anyone, "the job's owner is the signed-in user, else the claimed requesting-user-name at the client's host"},
	{goipp.OpValidateJob, Anyone, ""},
	{goipp.OpCreateJob, Anyone, "as Print-Job"},
	{goipp.OpGetPrinterAttributes, Anyone, "never asks for authentication: clients read uri-authentication-supported here first"},
	{goipp.OpGetJobs, Anyone, "others' job-name, job-originating-user-name and -host-name shown as (private) to non-owners"},
	{goipp.OpGetJobAttributes, Anyone, "as Get-Jobs"},
	{goipp.OpSendDocument, Owner, ""},
	{goipp.OpCloseJob, Owner, ""},
	{goipp.OpCancelJob, Owner, ""},
	{goipp.OpCancelMyJobs, Owner, "only the caller's own jobs (an operator's too: no one cancels all jobs with it)"},
	{goipp.OpIdentifyPrinter, Anyone, "recorded in the event log"},
	{goipp.OpPausePrinter, Operator, ""},
	{goipp.OpHoldNewJobs, Operator, ""},
	{goipp.OpResumePrinter, Operator, ""},
	{goipp.OpReleaseHeldNewJobs, Operator, ""},
	{goipp.OpHoldJob, Operator, "an owner may not: a hold may belong to a paused printer or a bulk-run schedule"},
	{goipp.OpReleaseJob, Operator, "as Hold-Job"},
}

// IPP returns what op needs, and false for an operation not in the table (which the server
// must not dispatch).
func IPP(op goipp.Op) (Need, bool) {
	for _, r := range ippRules {
		if r.op == op {
			return r.need, true
		}
	}
	return 0, false
}

// IPPOps lists the IPP operations of the table in its order.
func IPPOps() []goipp.Op {
	out := make([]goipp.Op, 0, len(ippRules))
	for _, r := range ippRules {
		out = append(out, r.op)
	}
	return out
}

// LPD commands (RFC 1179 section 5, by their names in lpd.Command).
const (
	LPDPrint       = "print waiting jobs"
	LPDReceive     = "receive a printer job"
	LPDQueueShort  = "send queue state (short)"
	LPDQueueLong   = "send queue state (long)"
	LPDRemoveJobs  = "remove jobs"
	LPDAdminRemove = "remove jobs (admin)"
)

var lpdRules = []Rule{
	{"LPD", LPDPrint, Anyone, "nothing to do: the gateway prints as soon as it can"},
	{"LPD", LPDReceive, Anyone, "the job's owner is the control file's P (user) line, at the sending host"},
	{"LPD", LPDQueueShort, Anyone, "owners and hosts of jobs from other hosts shown as (hidden); file names hidden unless lpd show_names"},
	{"LPD", LPDQueueLong, Anyone, "as the short form"},
	{"LPD", LPDRemoveJobs, Owner, "the same user name from the same host (RFC 1179 carries no more)"},
	{"LPD", LPDAdminRemove, Operator, "agent root from a host in auth.lpd_admin_hosts (or from the gateway host with trust_loopback: true) removes any job"},
}

// LPD returns what an LPD command needs.
func LPD(command string) (Need, bool) {
	for _, r := range lpdRules {
		if r.Operation == command {
			return r.Need, true
		}
	}
	return 0, false
}

// HTTP routes of the API and the dashboard, by method and router path template. The ui
// package's test walks its router and fails on a route missing here or a row without a route.
var httpRules = []Rule{
	{"HTTP", "GET /healthz", Anyone, "HEAD too"},
	{"HTTP", "GET /metrics", Reader, "a read token is enough: point Prometheus at one"},
	{"HTTP", "POST /api/v1/jobs", Anyone, "printing; an owner= is taken as claimed"},
	{"HTTP", "GET /api/v1/jobs", Reader, "names, owners and documents hidden from non-operators; owner and search filters ignored"},
	{"HTTP", "GET /api/v1/jobs/{id:[0-9]+}", Reader, "as GET /api/v1/jobs"},
	{"HTTP", "POST /api/v1/jobs/{id:[0-9]+}/{action:cancel|hold|release|retry|move}", Operator, ""},
	{"HTTP", "POST /api/v1/jobs/purge", Operator, ""},
	{"HTTP", "GET /api/v1/printers", Reader, ""},
	{"HTTP", "GET /api/v1/printers/{name}", Reader, ""},
	{"HTTP", "POST /api/v1/printers/{name}/{action:drain|resume}", Operator, ""},
	{"HTTP", "GET /api/v1/virtual-printers", Reader, ""},
	{"HTTP", "GET /api/v1/events", Reader, "actors and messages about runs, schedules and letters hidden from non-operators; the event stream too"},
	{"HTTP", "GET /api/v1/events/stream", Reader, "as GET /api/v1/events"},
	{"HTTP", "POST /api/v1/runs", Operator, ""},
	{"HTTP", "GET /api/v1/runs", Operator, "run names name letters"},
	{"HTTP", "GET /api/v1/runs/schedules", Operator, ""},
	{"HTTP", "POST /api/v1/runs/schedules", Operator, ""},
	{"HTTP", "DELETE /api/v1/runs/schedules/{id:[0-9]+}", Operator, ""},
	{"HTTP", "GET /api/v1/runs/{id:[0-9]+}", Operator, ""},
	{"HTTP", "POST /api/v1/runs/{id:[0-9]+}/letters", Operator, ""},
	{"HTTP", "POST /api/v1/runs/{id:[0-9]+}/commit", Operator, ""},
	{"HTTP", "POST /api/v1/runs/{id:[0-9]+}/{action:pause|resume|cancel}", Operator, ""},
	{"HTTP", "POST /api/v1/runs/{id:[0-9]+}/reprint", Operator, ""},
	{"HTTP", "GET /api/v1/runs/{id:[0-9]+}/manifest", Operator, ""},
	{"HTTP", "GET /api/v1/duplicates", Operator, "possible duplicates name letters"},
	{"HTTP", "POST /api/v1/jobs/{id:[0-9]+}/duplicate", Operator, "printed once / printed twice, audited"},
	{"HTTP", "GET /", Anyone, "redirects to /ui/"},
	{"HTTP", "GET /ui/static/", Anyone, "the dashboard's style sheet and script"},
	{"HTTP", "GET /ipp/icons/", Anyone, "printer-icons"},
	{"HTTP", "GET /ui/", Reader, "the overview; names hidden from non-operators"},
	{"HTTP", "GET /ui/printers/{name}", Reader, ""},
	{"HTTP", "GET /ui/jobs", Reader, "as GET /api/v1/jobs"},
	{"HTTP", "GET /ui/events", Reader, "as GET /api/v1/events"},
	{"HTTP", "GET /ui/runs", Operator, "as GET /api/v1/runs"},
	{"HTTP", "GET /ui/runs/{id:[0-9]+}", Operator, ""},
	{"HTTP", "GET /ui/runs/{id:[0-9]+}/manifest.csv", Operator, ""},
	{"HTTP", "GET /ui/duplicates", Operator, "as GET /api/v1/duplicates"},
	{"HTTP", "POST /ui/jobs/{id:[0-9]+}/duplicate", Operator, ""},
	{"HTTP", "GET /ui/login", Anyone, ""},
	{"HTTP", "POST /ui/login", Anyone, "sign-in, throttled per address and per user name"},
	{"HTTP", "POST /ui/logout", Reader, ""},
	{"HTTP", "POST /ui/printers/{name}/{action:drain|resume}", Operator, ""},
	{"HTTP", "POST /ui/jobs/{id:[0-9]+}/{action:cancel|hold|release|retry|move}", Operator, ""},
	{"HTTP", "POST /ui/runs/{id:[0-9]+}/{action:pause|resume|cancel}", Operator, ""},
}

// HTTP returns what the route "METHOD template" needs.
func HTTP(route string) (Need, bool) {
	for _, r := range httpRules {
		if r.Operation == route {
			return r.Need, true
		}
	}
	return 0, false
}

// Rules is the whole table: IPP, LPD, then HTTP.
func Rules() []Rule {
	out := make([]Rule, 0, len(ippRules)+len(lpdRules)+len(httpRules))
	for _, r := range ippRules {
		out = append(out, Rule{Protocol: "IPP", Operation: r.op.String(), Need: r.need, Note: r.note})
	}
	out = append(out, lpdRules...)
	return append(out, httpRules...)
}

// Markdown renders the table as docs/CONFIG.md shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| protocol | operation | needs | note |\n|---|---|---|---|\n")
	for _, r := range Rules() {
		op := strings.ReplaceAll(r.Operation, "|", `\|`)
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.Protocol, op, r.Need, r.Note)
	}
	return b.String()
}
