//go:build e2e

// The gateway's one port over TLS, with the real clients: ipptool prints over ipps:// and
// ipp:// to the same port and gets answers in the scheme it used; with tls_required, CUPS adds
// the virtual printer over ipps:// (lpadmin -m everywhere) and lp prints through it, the CLI
// works over https:// with --ca-file, and plain requests are refused (IPP with
// client-error-forbidden naming the ipps:// address, pages redirected to https://) without a job.
package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/internal/testcert"
	"github.com/printgate/printgate/job"
)

// tlsFileConfig is ippFileConfig with the listener's certificate and key, and a raw port
// (raw_port > 0) for the virtual printer.
func tlsFileConfig(certFile, keyFile string, required bool, rawPort int) func(listen, spool string) string {
	base := ippFileConfig(0)
	return func(listen, spoolDir string) string {
		var raw string
		if rawPort > 0 {
			raw = fmt.Sprintf("    raw_port: %d\n", rawPort) // inside the last virtual printer
		}
		return base(listen, spoolDir) + raw + fmt.Sprintf("tls_cert_file: %q\ntls_key_file: %q\ntls_required: %v\n", certFile, keyFile, required)
	}
}

// schemeTest is an ipptool file: a Print-Job whose job-uri, and a Get-Printer-Attributes whose
// printer-uri-supported, printer-more-info and uri-security-supported, are those of scheme
// ("ipps" or "ipp").
func schemeTest(scheme string) string {
	security, web := "none", "http"
	if scheme == "ipps" {
		security, web = "tls", "https"
	}
	return fmt.Sprintf(`{
	NAME "Print-Job over %[1]s"
	OPERATION Print-Job
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	ATTR name requesting-user-name tls-test
	ATTR name job-name "letter over %[1]s"
	ATTR mimeMediaType document-format application/pdf
	FILE $filename
	STATUS successful-ok
	EXPECT job-uri OF-TYPE uri WITH-VALUE "/^%[1]s:\/\//"
}
{
	NAME "Get-Printer-Attributes over %[1]s"
	OPERATION Get-Printer-Attributes
	GROUP operation-attributes-tag
	ATTR charset attributes-charset utf-8
	ATTR naturalLanguage attributes-natural-language en
	ATTR uri printer-uri $uri
	STATUS successful-ok
	EXPECT printer-uri-supported OF-TYPE uri WITH-VALUE "/^%[1]s:\/\//"
	EXPECT uri-security-supported OF-TYPE keyword WITH-VALUE "%[2]s"
	EXPECT printer-more-info OF-TYPE uri WITH-VALUE "/^%[3]s:\/\//"
}
`, scheme, security, web)
}

func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIPPOverTLSAndPlainOnOnePort(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := testcert.Self(t, "127.0.0.1").Write(t, dir)
	g := startGateway(t, gatewayOptions{Config: tlsFileConfig(cert, key, false, 0)})
	hostPort := strings.TrimPrefix(g.Base, "http://")
	letter := repoFile(t, "testdata/letter-1p.pdf")

	for _, scheme := range []string{"ipps", "ipp"} {
		file := writeTestFile(t, dir, scheme+".test", schemeTest(scheme))
		uri := scheme + "://" + hostPort + "/ipp/print/letters"
		out, err := peer.RunIPPTool(t, dir, uri, file, "-f", letter)
		if passed := len(resultLine("PASS").FindAllString(out, -1)); err != nil || passed != 2 {
			t.Errorf("ipptool %s: %d of 2 passed, %v\n%s", uri, passed, err, tail(out, 3000))
		}
	}
	all, err := g.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, j := range all {
		names[j.Name] = true
	}
	if len(all) != 2 || !names["letter over ipps"] || !names["letter over ipp"] {
		t.Errorf("gateway jobs %v, want one letter over each scheme", names)
	}
}

func TestTLSRequiredCupsOverIPPSAndPlainRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pair := testcert.Self(t, "127.0.0.1")
	cert, key := pair.Write(t, dir)
	g := startGateway(t, gatewayOptions{Config: tlsFileConfig(cert, key, true, peer.FreePort(t)), TLS: pair})
	hostPort := strings.TrimPrefix(g.Base, "https://")
	letter := repoFile(t, "testdata/letter-2p.pdf")

	// The raw port cannot be encrypted; the operator is told, not left believing otherwise.
	if log := g.log(); !strings.Contains(log, "tls_required is set, but this front-end takes jobs unencrypted") ||
		!strings.Contains(log, "frontend=\"raw letters\"") {
		t.Errorf("no warning that the raw front-end is unencrypted under tls_required:\n%s", tail(log, 3000))
	}

	// Plain IPP and HTTP on the port are refused, and nothing is stored.
	file := writeTestFile(t, dir, "ipp.test", schemeTest("ipp"))
	out, err := peer.RunIPPTool(t, dir, "ipp://"+hostPort+"/ipp/print/letters", file, "-f", letter)
	if passed := len(resultLine("PASS").FindAllString(out, -1)); err == nil || passed != 0 {
		t.Errorf("plain ipptool against tls_required: %d passed, %v; want every request refused\n%s", passed, err, tail(out, 2000))
	}
	if !strings.Contains(out, "client-error-forbidden") || !strings.Contains(out, "ipps://") {
		t.Errorf("plain ipptool against tls_required does not show client-error-forbidden naming the ipps:// address:\n%s", tail(out, 2000))
	}
	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := noFollow.Get("http://" + hostPort + "/ui/")
	if err != nil {
		t.Fatalf("plain GET /ui/: %v", err)
	}
	resp.Body.Close()
	if want := "https://" + hostPort + "/ui/"; resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
		t.Errorf("plain GET /ui/: %d Location %q, want 308 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, err = noFollow.Post("http://"+hostPort+"/api/v1/jobs", "application/pdf", strings.NewReader("%PDF-1.4"))
	if err != nil {
		t.Fatalf("plain POST /api/v1/jobs: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "https://") {
		t.Errorf("plain POST /api/v1/jobs: %d %q, want 403 saying to use https://", resp.StatusCode, body)
	}
	if jobs, err := g.allJobs(); err != nil || len(jobs) != 0 {
		t.Fatalf("after plain requests the gateway holds %d jobs (%v), want none", len(jobs), err)
	}

	// CUPS adds the printer over ipps:// the way "Add Printer" does and prints through it.
	cups := peer.StartCupsd(t)
	uri := "ipps://" + hostPort + "/ipp/print/letters"
	cups.MustRun(t, "lpadmin", "-p", "gws", "-E", "-v", uri, "-m", "everywhere")
	out = cups.MustRun(t, "lp", "-d", "gws", "-t", "letter over ipps", letter)
	if !strings.Contains(out, "request id is gws-") {
		t.Fatalf("lp printed %q, want a request id", out)
	}
	var done *job.Job
	deadline := time.Now().Add(90 * time.Second)
	for done == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no completed gateway job 90 s after lp\ncupsd error_log:\n%s", tail(cups.ErrorLog(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
		jobs, err := g.allJobs()
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) > 1 {
			t.Fatalf("gateway has %d jobs, want the one lp sent", len(jobs))
		}
		if len(jobs) == 1 && jobs[0].State.Final() {
			if jobs[0].State != job.StateCompleted {
				t.Fatalf("gateway job %d ended %s (%s)", jobs[0].ID, jobs[0].State, jobs[0].StateReason)
			}
			done = jobs[0]
		}
	}
	if done.Name != "letter over ipps" {
		t.Errorf("gateway job name %q, want the lp title", done.Name)
	}
	files := outputs(t, outDirs(g)...)[done.ID]
	if len(files) != 1 || !strings.HasSuffix(files[0], ".pdf") {
		t.Fatalf("gateway job %d: printer output %v, want one .pdf", done.ID, files)
	}
	if got, want := pdfPages(t, files[0]), pdfPages(t, letter); got != want {
		t.Errorf("%s has %d pages, the letter %d", files[0], got, want)
	}

	// The CLI reaches the TLS-only gateway with the certificate it is given (PRINTGATE_CA_FILE).
	list, err := g.CLI("jobs", "list")
	if err != nil || !strings.Contains(list, "letter over ipps") {
		t.Errorf("printgate jobs list over https: %v\n%s", err, list)
	}
}
