//go:build e2e

// Who may do what over IPP and LPD, with real peers: CUPS prints as a signed-in user over
// ipps://; ipptool without credentials is refused the operator operations that it may do with
// an operator's; a client claiming another's name from another address (127.0.0.2) neither
// reads nor cancels that user's job, over IPP (a Go client bound to 127.0.0.2) and over LPD
// (LPRng's lpq and lprm); every refusal is in the audit log with the client's address.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"golang.org/x/crypto/bcrypt"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/internal/testcert"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/lpd"
	"github.com/printgate/printgate/ui"
)

const (
	azOperator     = "op"
	azOperatorPass = "opsecret-for-tests"
	azOwner        = "alice"
	azOwnerPass    = "secret"
	azToken        = "authz-token-0123456789abcdef"
)

// authzGateway starts a gateway with a certificate (ipps:// and ipp:// on one port), the users
// op (operator) and alice (scope read), an operator token for the test's own reads,
// trust_loopback off, the given ipp_authentication, and an LPD queue "letters".
func authzGateway(t *testing.T, ippAuth string) (*gateway, *ui.Client, int) {
	t.Helper()
	dir := t.TempDir()
	pair := testcert.Self(t, "127.0.0.1")
	cert, key := pair.Write(t, dir)
	hash := func(pw string) string {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		return string(h)
	}
	opHash, ownerHash := hash(azOperatorPass), hash(azOwnerPass)
	lpdPort := peer.FreePort(t)
	base := ippFileConfig(0)
	g := startGateway(t, gatewayOptions{TLS: pair, Config: func(listen, spoolDir string) string {
		cfg := base(listen, spoolDir)
		// ippFileConfig trusts loopback; these tests must not.
		cfg = strings.Replace(cfg, "auth:\n  trust_loopback: true\n", fmt.Sprintf(`auth:
  trust_loopback: false
  ipp_authentication: %s
  users:
    - name: %s
      password_hash: %q
    - name: %s
      password_hash: %q
      scope: read
  tokens:
    - name: robot
      token: %q
`, ippAuth, azOperator, opHash, azOwner, ownerHash, azToken), 1)
		return cfg + fmt.Sprintf("    lpd_queue: letters\nlpd_listen: 127.0.0.1:%d\ntls_cert_file: %q\ntls_key_file: %q\nlog_level: debug\n",
			lpdPort, cert, key)
	}})
	api := ui.NewClient(g.Base, azToken)
	api.HTTP.Transport = g.API.HTTP.Transport
	g.API = api // allJobs and waitJobs read with the operator token
	return g, api, lpdPort
}

// azEvents lists the audit log (newest first).
func azEvents(t *testing.T, api *ui.Client) []job.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs, err := api.Events(ctx, url.Values{"limit": {"500"}})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// azRefusals are the refused-attempt events whose message contains every one of want.
func azRefusals(t *testing.T, api *ui.Client, want ...string) []job.Event {
	t.Helper()
	var out []job.Event
	for _, e := range azEvents(t, api) {
		ok := e.Kind == job.EventRefused
		for _, w := range want {
			ok = ok && strings.Contains(e.Message, w)
		}
		if ok {
			out = append(out, e)
		}
	}
	return out
}

// Acceptance 1: CUPS adds the gateway as ipps://alice:secret@.../ipp/print/letters -m
// everywhere; lp prints; the gateway's job is alice's (signed in, not CUPS' local user), and
// lpstat shows the job done.
func TestAuthzCupsPrintsAsSignedInUser(t *testing.T) {
	t.Parallel()
	g, _, _ := authzGateway(t, "required")
	hostPort := strings.TrimPrefix(g.Base, "https://")
	cups := peer.StartCupsd(t)
	uri := "ipps://" + azOwner + ":" + azOwnerPass + "@" + hostPort + "/ipp/print/letters"
	cups.MustRun(t, "lpadmin", "-p", "gw", "-E", "-v", uri, "-m", "everywhere")
	letter := repoFile(t, "testdata/letter-1p.pdf")
	out := cups.MustRun(t, "lp", "-d", "gw", "-t", "signed-in letter", letter)
	m := requestID.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("lp printed %q, want a request id", out)
	}
	var done *job.Job
	deadline := time.Now().Add(90 * time.Second)
	for done == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no finished gateway job 90 s after lp\nPPD filters:\n%s\ncupsd error_log:\n%s", cups.PPDFilters("gw"), tail(cups.ErrorLog(), 4000))
		}
		time.Sleep(200 * time.Millisecond)
		jobs, err := g.allJobs()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 1 && jobs[0].State.Final() {
			done = jobs[0]
		}
	}
	if done.State != job.StateCompleted || done.Owner != azOwner || done.Name != "signed-in letter" {
		t.Fatalf("gateway job %d: %s, owner %q, name %q; want completed, %s (the signed-in user), the lp title",
			done.ID, done.State, done.Owner, done.Name, azOwner)
	}
	// CUPS saw the job through: lpstat lists it completed.
	deadline = time.Now().Add(60 * time.Second)
	for !lpstatJobs(t, cups, "completed")[m[1]] {
		if time.Now().After(deadline) {
			t.Fatalf("lpstat -W completed does not list %s\ncupsd error_log:\n%s", m[1], tail(cups.ErrorLog(), 3000))
		}
		time.Sleep(250 * time.Millisecond)
	}
	// CUPS asked without credentials first and was challenged: that asks for a sign-in and
	// refuses nobody, so a job printed leaves no refusal in the audit log.
	if got := azRefusals(t, g.API); len(got) != 0 {
		t.Errorf("a signed-in job left refusals in the audit log: %+v", got)
	}
}

// azOperatorTests is an ipptool file: Pause-Printer, Hold-Job and Cancel-Job of job $job (not
// the client's), each expected to end with status.
func azOperatorTests(status string) string {
	var b strings.Builder
	for _, op := range []string{"Pause-Printer", "Hold-Job", "Cancel-Job"} {
		jobAttr := ""
		if op != "Pause-Printer" {
			jobAttr = "\tATTR integer job-id $job\n"
		}
		fmt.Fprintf(&b, `{
	NAME "%[1]s"
	OPERATION %[1]s
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
%[2]s	ATTR name requesting-user-name mallory
	STATUS %[3]s
}
`, op, jobAttr, status)
	}
	return b.String()
}

// Acceptance 2: from 127.0.0.1 with trust_loopback off, ipptool without credentials is refused
// Pause-Printer, Hold-Job and Cancel-Job of another's job (plain ipp://: not-authenticated,
// naming ipps://; ipps:// without credentials: the 401 challenge it cannot answer); with the
// operator's credentials over ipps:// they succeed, and the audit log names the operator.
func TestAuthzOperatorOperationsNeedAnOperator(t *testing.T) {
	t.Parallel()
	g, api, _ := authzGateway(t, "optional")
	hostPort := strings.TrimPrefix(g.Base, "https://")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// bob's job, pending: the printers are drained.
	for _, p := range []string{"file-a", "file-b"} {
		if _, err := api.PrinterAction(ctx, p, "drain"); err != nil {
			t.Fatal(err)
		}
	}
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	id := azPrint(t, ippPlainURI(hostPort), "127.0.0.1", "bob", "bob's letter", letter)

	// Plain ipp://: the IPP answer client-error-not-authenticated (a password may not cross
	// in the clear, so there is no challenge to answer).
	file := writeTestFile(t, dir, "refused.test", azOperatorTests("client-error-not-authenticated"))
	out, err := peer.RunIPPTool(t, dir, ippPlainURI(hostPort), file, "-d", "job="+strconv.FormatInt(id, 10))
	if passed := len(resultLine("PASS").FindAllString(out, -1)); err != nil || passed != 3 {
		t.Errorf("ipptool over ipp:// without credentials: %d of 3 refused as not-authenticated (%v)\n%s", passed, err, tail(out, 3000))
	}
	// ipps://: HTTP 401 with the Basic challenge, which ipptool without a password cannot
	// answer; it reports client-error-not-authenticated and counts the test failed.
	out, _ = peer.RunIPPTool(t, dir, "ipps://"+hostPort+"/ipp/print/letters", file, "-d", "job="+strconv.FormatInt(id, 10))
	if passed, refused := len(resultLine("PASS").FindAllString(out, -1)), strings.Count(out, "status-code = client-error-not-authenticated (Unauthorized)"); passed != 0 || refused != 3 {
		t.Errorf("ipptool over ipps:// without credentials: %d passed, %d challenged; want 0 and 3\n%s", passed, refused, tail(out, 3000))
	}
	if j, err := api.Job(ctx, id); err != nil || j.State != job.StatePending {
		t.Fatalf("bob's job after refused operator operations: %+v %v, want pending", j, err)
	}
	// The plain refusals are audited with the address; the ipps:// challenges only asked.
	if got := azRefusals(t, api, "127.0.0.1", "Hold-Job"); len(got) != 1 {
		t.Errorf("refused Hold-Jobs in the audit log: %d, want the plain one, with the address", len(got))
	}

	// The operator's credentials in the URI (ipptool answers the challenge with them).
	opURI := "ipps://" + azOperator + ":" + azOperatorPass + "@" + hostPort + "/ipp/print/letters"
	file = writeTestFile(t, dir, "allowed.test", azOperatorTests("successful-ok"))
	out, err = peer.RunIPPTool(t, dir, opURI, file, "-d", "job="+strconv.FormatInt(id, 10))
	if passed := len(resultLine("PASS").FindAllString(out, -1)); err != nil || passed != 3 {
		t.Fatalf("ipptool as the operator: %d of 3 passed (%v)\n%s", passed, err, tail(out, 3000))
	}
	if j, err := api.Job(ctx, id); err != nil || j.State != job.StateCanceled {
		t.Fatalf("bob's job after the operator's Cancel-Job: %+v %v", j, err)
	}
	var paused, canceled bool
	for _, e := range azEvents(t, api) {
		paused = paused || (e.Kind == job.EventOperator && e.Actor == azOperator)
		canceled = canceled || (e.JobID == id && e.To == string(job.StateCanceled) && e.Actor == azOperator)
	}
	if !paused || !canceled {
		t.Errorf("audit log: pause by %s %v, cancel of job %d by %s %v; want both", azOperator, paused, id, azOperator, canceled)
	}

	// Wrong credentials are a refusal, audited (last: ipptool's retries lock the address out
	// for the sign-in throttle's window).
	badURI := "ipps://" + azOperator + ":wrong@" + hostPort + "/ipp/print/letters"
	out, _ = peer.RunIPPTool(t, dir, badURI, file, "-d", "job="+strconv.FormatInt(id, 10))
	if passed := len(resultLine("PASS").FindAllString(out, -1)); passed != 0 {
		t.Errorf("ipptool with a wrong password: %d passed\n%s", passed, tail(out, 2000))
	}
	if got := azRefusals(t, api, "IPP sign-in", "for "+azOperator, "from 127.0.0.1"); len(got) == 0 {
		t.Errorf("no audited refusal of the wrong password")
	}
}

// ippPlainURI is the plain IPP URI of "letters" at hostPort.
func ippPlainURI(hostPort string) string { return "ipp://" + hostPort + "/ipp/print/letters" }

// azClient is an HTTP client whose connections come from source (127.0.0.1 or 127.0.0.2).
func azClient(source string) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

// azDo sends one IPP request from source claiming user and returns the answer.
func azDo(t *testing.T, uri, source string, m *goipp.Message, doc []byte) *goipp.Message {
	t.Helper()
	body, err := m.EncodeBytes()
	if err != nil {
		t.Fatal(err)
	}
	httpURI := "http" + strings.TrimPrefix(uri, "ipp")
	req, err := http.NewRequest(http.MethodPost, httpURI, bytes.NewReader(append(body, doc...)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", goipp.ContentType)
	resp, err := azClient(source).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IPP from %s: HTTP %d", source, resp.StatusCode)
	}
	var rsp goipp.Message
	if err := rsp.Decode(resp.Body); err != nil {
		t.Fatal(err)
	}
	return &rsp
}

func azRequest(op goipp.Op, uri, user string, id int64) *goipp.Message {
	m := goipp.NewRequest(goipp.DefaultVersion, op, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	if id > 0 {
		m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(id)))
	}
	return m
}

// azPrint prints doc from source as user and returns the job id.
func azPrint(t *testing.T, uri, source, user, name string, doc []byte) int64 {
	t.Helper()
	m := azRequest(goipp.OpPrintJob, uri, user, 0)
	m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(name)))
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String("application/pdf")))
	rsp := azDo(t, uri, source, m, doc)
	if goipp.Status(rsp.Code) != goipp.StatusOk {
		t.Fatalf("Print-Job from %s: %s", source, goipp.Status(rsp.Code))
	}
	for _, a := range rsp.Job {
		if a.Name == "job-id" && len(a.Values) == 1 {
			if v, ok := a.Values[0].V.(goipp.Integer); ok {
				return int64(v)
			}
		}
	}
	t.Fatalf("Print-Job from %s: no job-id", source)
	return 0
}

// azString is the first value of attribute name in attrs.
func azString(attrs goipp.Attributes, name string) string {
	for _, a := range attrs {
		if a.Name == name && len(a.Values) > 0 {
			return a.Values[0].V.String()
		}
	}
	return ""
}

// Acceptance 3: carol prints from 127.0.0.2; a client at 127.0.0.1 claiming her name neither
// reads her job's name nor cancels it, over IPP and over LPD (LPRng's lpq and lprm); from
// her own address she does both. Every refusal is audited with the address.
func TestAuthzClaimedNameFromAnotherHost(t *testing.T) {
	t.Parallel()
	g, api, lpdPort := authzGateway(t, "optional")
	hostPort := strings.TrimPrefix(g.Base, "https://")
	uri := ippPlainURI(hostPort)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, p := range []string{"file-a", "file-b"} {
		if _, err := api.PrinterAction(ctx, p, "drain"); err != nil {
			t.Fatal(err)
		}
	}
	letter, err := os.ReadFile(repoFile(t, "testdata/letter-1p.pdf"))
	if err != nil {
		t.Fatal(err)
	}

	// IPP.
	id := azPrint(t, uri, "127.0.0.2", "carol", "BLOGGS-Fred-referral", letter)
	attrs := azDo(t, uri, "127.0.0.1", azRequest(goipp.OpGetJobAttributes, uri, "carol", id), nil)
	if name, owner := azString(attrs.Job, "job-name"), azString(attrs.Job, "job-originating-user-name"); name != "(private)" || owner != "(private)" {
		t.Errorf("carol's job read from 127.0.0.1 claiming carol: job-name %q, owner %q; want both (private)", name, owner)
	}
	jobs := azDo(t, uri, "127.0.0.1", azRequest(goipp.OpGetJobs, uri, "carol", 0), nil)
	for _, grp := range jobs.Groups {
		for _, a := range grp.Attrs {
			if strings.Contains(a.Values.String(), "BLOGGS") {
				t.Errorf("Get-Jobs from 127.0.0.1 shows carol's job name: %s", a.Values)
			}
		}
	}
	rsp := azDo(t, uri, "127.0.0.1", azRequest(goipp.OpCancelJob, uri, "carol", id), nil)
	if st := goipp.Status(rsp.Code); st != goipp.StatusErrorNotAuthenticated {
		t.Errorf("Cancel-Job of carol's job from 127.0.0.1 claiming carol: %s, want client-error-not-authenticated", st)
	}
	if j, err := api.Job(ctx, id); err != nil || j.State != job.StatePending {
		t.Fatalf("carol's job after the claim: %+v %v", j, err)
	}
	if got := azRefusals(t, api, "Cancel-Job", "carol (claimed)", "from 127.0.0.1"); len(got) != 1 {
		t.Errorf("audited refusals of the claimed Cancel-Job: %d, want 1", len(got))
	}
	attrs = azDo(t, uri, "127.0.0.2", azRequest(goipp.OpGetJobAttributes, uri, "carol", id), nil)
	if name := azString(attrs.Job, "job-name"); name != "BLOGGS-Fred-referral" {
		t.Errorf("carol at 127.0.0.2 reads her job's name as %q", name)
	}
	if st := goipp.Status(azDo(t, uri, "127.0.0.2", azRequest(goipp.OpCancelJob, uri, "carol", id), nil).Code); st != goipp.StatusOk {
		t.Errorf("carol's own Cancel-Job from 127.0.0.2: %s", st)
	}

	// LPD: a job of LPRng's user (root) sent from 127.0.0.2, and one LPRng sends from 127.0.0.1.
	l := peer.LPRng(t)
	c := lpd.Client{Dialer: &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}, Host: "ward-pc"}
	before := azJobIDs(t, g)
	path := repoFile(t, "testdata/letter-1p.pdf")
	if err := c.Send(ctx, fmt.Sprintf("127.0.0.1:%d", lpdPort), "letters", lpd.ClientJob{Name: "BLOGGS letter",
		User: "root", Files: []lpd.ClientFile{{Path: path, Name: "BLOGGS-Fred-referral.pdf"}}}); err != nil {
		t.Fatal(err)
	}
	other := azNewJob(t, g, before)
	before = azJobIDs(t, g)
	if out, err := l.Lpr(t, "letters", lpdPort, "-J", "own letter", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	own := azNewJob(t, g, before)

	out, err := l.Lpq(t, "letters", lpdPort)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if listed := feLpqJobs(out); !listed[other] || !listed[own] {
		t.Errorf("lpq from 127.0.0.1 does not list both jobs %d and %d:\n%s", other, own, out)
	}
	if strings.Contains(out, "127.0.0.2") || strings.Contains(out, "ward-pc") || strings.Contains(out, "BLOGGS") {
		t.Errorf("lpq from 127.0.0.1 shows the other host's job's host or names:\n%s", out)
	}
	// The same name (root), another address: lprm is refused and the job stays.
	out, _ = l.Lprm(t, "letters", lpdPort, strconv.FormatInt(other, 10))
	if j, err := api.Job(ctx, other); err != nil || j.State != job.StatePending {
		t.Fatalf("job %d from 127.0.0.2 after lprm from 127.0.0.1 as the same user: %+v %v\n%s", other, j, err, out)
	}
	if !strings.Contains(out, "permission denied") {
		t.Errorf("lprm of another host's job: LPRng printed %q, want the gateway's permission denied", out)
	}
	if got := azRefusals(t, api, "lpd", fmt.Sprintf("remove job %d", other), "from 127.0.0.1"); len(got) != 1 {
		t.Errorf("audited refusals of the lprm: %d, want 1", len(got))
	}
	// Its own job it removes.
	if out, err := l.Lprm(t, "letters", lpdPort, strconv.FormatInt(own, 10)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if j, err := api.Job(ctx, own); err != nil || j.State != job.StateCanceled {
		t.Errorf("own job %d after lprm: %+v %v, want canceled", own, j, err)
	}
}

func azJobIDs(t *testing.T, g *gateway) map[int64]bool {
	t.Helper()
	jobs, err := g.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]bool{}
	for _, j := range jobs {
		out[j.ID] = true
	}
	return out
}

// azNewJob waits for the one job not in before.
func azNewJob(t *testing.T, g *gateway, before map[int64]bool) int64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for id := range azJobIDs(t, g) {
			if !before[id] {
				return id
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no new job within 30 s")
	return 0
}
