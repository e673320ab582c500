// A private cupsd on a loopback port, its command-line clients, and queues whose output tests
// can read.
package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// CupsdOptions configures a private cupsd.
type CupsdOptions struct {
	// LogLevel is cupsd's LogLevel; default "warn", as Debian ships it, so that benchmarks
	// against cupsd measure the scheduler rather than its debug logging.
	LogLevel string
	// Extra is appended verbatim to cupsd.conf (e.g. "MaxJobs 0").
	Extra string
}

// Cupsd is a running private cupsd.
type Cupsd struct {
	Port int    // TCP port on 127.0.0.1
	Dir  string // private ServerRoot, spool, cache, state and logs

	proc *proc
}

// StartCupsd starts a private cupsd with default options.
func StartCupsd(t testing.TB) *Cupsd {
	t.Helper()
	return StartCupsdWith(t, CupsdOptions{})
}

// StartCupsdWith starts a private cupsd listening on 127.0.0.1 only, with no browsing, no web
// interface, no authentication and every operation allowed from loopback, its own spool, cache,
// state and log directories, and FileDevice enabled. It returns once the scheduler answers.
func StartCupsdWith(t testing.TB, opts CupsdOptions) *Cupsd {
	t.Helper()
	requireExecutable(t, CupsdPath)
	if opts.LogLevel == "" {
		opts.LogLevel = "warn"
	}
	c := &Cupsd{Port: FreePort(t), Dir: shortTempDir(t, "pg-cupsd-")}
	for _, d := range []string{"etc", "spool", "spool/tmp", "cache", "state", "log", "filters", "ppd"} {
		if err := os.MkdirAll(filepath.Join(c.Dir, d), 0o755); err != nil {
			t.Fatalf("peer: %v", err)
		}
	}
	filesConf := filepath.Join(c.Dir, "etc", "cups-files.conf")
	conf := filepath.Join(c.Dir, "etc", "cupsd.conf")
	if err := os.WriteFile(filesConf, []byte(c.filesConf()), 0o644); err != nil {
		t.Fatalf("peer: %v", err)
	}
	if err := os.WriteFile(conf, []byte(c.conf(opts)), 0o644); err != nil {
		t.Fatalf("peer: %v", err)
	}
	cmd := exec.Command(CupsdPath, "-f", "-c", conf, "-s", filesConf)
	cmd.Env = envWith()
	p, err := startProc("cupsd", cmd, filepath.Join(c.Dir, "log", "stdout.log"))
	if err != nil {
		t.Fatalf("%v", err)
	}
	c.proc = p
	stopInCleanup(t, p)
	t.Cleanup(func() {
		if t.Failed() {
			// At LogLevel warn cupsd may never create error_log.
			if b, err := os.ReadFile(filepath.Join(c.Dir, "log", "error_log")); err == nil {
				t.Logf("--- cupsd error_log, last %d bytes:\n%s", logTail, tail(string(b), logTail))
			}
		}
	})
	if why := waitFor(15*time.Second, 50*time.Millisecond, p, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/", c.Port), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return true
	}); why != "" {
		t.Fatalf("peer: cupsd on port %d did not answer: %s\nerror_log:\n%s", c.Port, why, tail(c.ErrorLog(), logTail))
	}
	return c
}

// filesConf is cups-files.conf: everything private to c.Dir. cupsd runs as root but runs
// filters as User lp, which is why c.Dir is world-traversable.
func (c *Cupsd) filesConf() string {
	d := c.Dir
	return fmt.Sprintf(`# written by e2e/peer
ServerRoot %[1]s/etc
RequestRoot %[1]s/spool
TempDir %[1]s/spool/tmp
CacheDir %[1]s/cache
StateDir %[1]s/state
ServerBin /usr/lib/cups
DataDir /usr/share/cups
DocumentRoot /usr/share/cups/doc-root
AccessLog %[1]s/log/access_log
ErrorLog %[1]s/log/error_log
PageLog %[1]s/log/page_log
Printcap %[1]s/state/printcap
FileDevice Yes
User lp
Group lp
SystemGroup root
Sandboxing Relaxed
`, d)
}

// conf is cupsd.conf: loopback only, nothing advertised, nothing authenticated, and job details
// visible to everyone (cups-lpd lists and removes jobs through them).
func (c *Cupsd) conf(opts CupsdOptions) string {
	return fmt.Sprintf(`# written by e2e/peer
LogLevel %s
MaxLogSize 0
Listen 127.0.0.1:%d
Browsing No
BrowseLocalProtocols none
WebInterface No
DefaultAuthType None
DefaultEncryption Never
<Location />
  Order allow,deny
  Allow from 127.0.0.1
  Allow from ::1
</Location>
<Policy default>
  JobPrivateAccess all
  JobPrivateValues none
  SubscriptionPrivateAccess all
  SubscriptionPrivateValues none
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
%s
`, opts.LogLevel, c.Port, opts.Extra)
}

// Server is the CUPS_SERVER value for this cupsd.
func (c *Cupsd) Server() string { return fmt.Sprintf("127.0.0.1:%d", c.Port) }

// Env returns the environment variables that point CUPS clients at this cupsd (to be added to
// os.Environ()): CUPS_SERVER, and CUPS_SERVERROOT/CUPS_STATEDIR so that no system client.conf
// or certificate gets in the way.
func (c *Cupsd) Env() []string {
	return []string{
		"CUPS_SERVER=" + c.Server(),
		"CUPS_SERVERROOT=" + filepath.Join(c.Dir, "etc"),
		"CUPS_STATEDIR=" + filepath.Join(c.Dir, "state"),
	}
}

// URI is the IPP URI of a queue on this cupsd.
func (c *Cupsd) URI(queue string) string {
	return fmt.Sprintf("ipp://127.0.0.1:%d/printers/%s", c.Port, queue)
}

// ErrorLog returns cupsd's error_log so far.
func (c *Cupsd) ErrorLog() string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "log", "error_log"))
	if err != nil {
		return fmt.Sprintf("(no error_log: %v)", err)
	}
	return string(b)
}

// PPDFilters returns the *cupsFilter and *cupsFilter2 lines of the PPD cupsd made for queue
// (from "-m everywhere", say): when CUPS answers "Unable to convert file", they say which
// formats it chose from the printer's answer.
func (c *Cupsd) PPDFilters(queue string) string {
	b, err := os.ReadFile(filepath.Join(c.Dir, "etc", "ppd", queue+".ppd"))
	if err != nil {
		return fmt.Sprintf("(no PPD: %v)", err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "*cupsFilter") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// Run runs a CUPS command-line client (lpadmin, lp, lpstat, cancel, cupsenable, ...; a bare
// name is looked up on PATH, then in /usr/sbin and /usr/bin) against this cupsd, with a
// one-minute limit, and returns its combined output.
func (c *Cupsd) Run(t testing.TB, name string, args ...string) (string, error) {
	t.Helper()
	path, err := findProgram(name)
	if err != nil {
		t.Fatalf("peer: %v; %s", err, installHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = envWith(c.Env()...)
	cmd.Dir = c.Dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), fmt.Errorf("peer: %s %s: timed out: %w", name, strings.Join(args, " "), ctx.Err())
	}
	if err != nil {
		return string(out), fmt.Errorf("peer: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// MustRun is Run that fails the test on error.
func (c *Cupsd) MustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := c.Run(t, name, args...)
	if err != nil {
		t.Fatalf("%v", err)
	}
	return out
}

// findProgram resolves a program name the way Run documents.
func findProgram(name string) (string, error) {
	if filepath.IsAbs(name) {
		return name, checkExecutable(name)
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin", "/sbin", "/bin"} {
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("program %q not found on PATH or in /usr/sbin, /usr/bin", name)
}

// AddRawQueue adds an enabled, accepting raw queue (-m raw) with the given device URI, e.g.
// file:///dev/null for a benchmark or socket://127.0.0.1:PORT for a RawSink. Beware: a raw queue
// with a file: URI other than a device writes nothing at all in CUPS 2.4 (no filter and no backend
// runs), so use AddRawFileQueue or AddCaptureQueue to read what it received.
func (c *Cupsd) AddRawQueue(t testing.TB, name, deviceURI string) {
	t.Helper()
	c.MustRun(t, "lpadmin", "-p", name, "-E", "-v", deviceURI, "-m", "raw")
}

// AddRawFileQueue adds a queue that writes each job's document unchanged to path (an absolute
// path). It is a pass-through queue rather than "-m raw", which writes nothing for file: URIs; the
// bytes are the same.
//
// The file is created here, empty, because cupsd no longer creates it: since Debian's security
// update 2.4.2-3+deb12u10 cupsd opens a file: device with O_WRONLY|O_EXCL and no O_CREAT, so a
// missing file stops the job ("the scheduler could not open the output file"). Older packages
// created it. Give each job whose bytes a test compares a queue of its own: whether a later job
// truncates the file is not something the harness relies on. TestHarnessCupsdFileQueues checks,
// on the installed CUPS, that the bytes lp sent arrive unchanged.
func (c *Cupsd) AddRawFileQueue(t testing.TB, name, path string) {
	t.Helper()
	if !filepath.IsAbs(path) {
		t.Fatalf("peer: AddRawFileQueue: path %q is not absolute", path)
	}
	// cupsd opens the file as root, but the filter chain runs as User lp: world-writable so that
	// either works whichever CUPS version does the writing.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		t.Fatalf("peer: AddRawFileQueue: create output file: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("peer: AddRawFileQueue: %v", err)
	}
	if err := os.Chmod(path, 0o666); err != nil { // past the umask
		t.Fatalf("peer: AddRawFileQueue: %v", err)
	}
	filter := c.writeFilter(t, name+"-cat", "#!/bin/sh\n# pass-through filter written by e2e/peer: the document goes unchanged to the file: device\n"+
		"case \"${CONTENT_TYPE:-}\" in *banner) exit 0 ;; esac\n"+
		"if [ -n \"${6:-}\" ]; then exec cat -- \"$6\"; else exec cat; fi\n")
	ppd := c.writePPD(t, name, filter)
	c.MustRun(t, "lpadmin", "-p", name, "-E", "-v", "file://"+path, "-P", ppd)
}

// CaptureQueue is a cupsd queue that keeps every document it prints as a separate file.
type CaptureQueue struct {
	Name string // queue name
	Dir  string // where the documents land

	t testing.TB
}

// CapturedDoc is one document a CaptureQueue received.
type CapturedDoc struct {
	JobID   int    // cupsd job id
	Doc     int    // document number within the job, from 1
	User    string // job-originating-user-name
	Title   string // job title (job-name)
	Copies  int    // copies requested
	Options string // the options string cupsd passed to the filter
	Format  string // the document's MIME type as cupsd typed it
	Data    []byte // the document, as cupsd spooled it
}

// AddCaptureQueue adds an enabled queue whose filter stores each document (banners excluded) in
// its own file, so tests can check every job byte for byte.
func (c *Cupsd) AddCaptureQueue(t testing.TB, name string) *CaptureQueue {
	t.Helper()
	dir := filepath.Join(c.Dir, "captured", name)
	if err := os.MkdirAll(dir, 0o777); err != nil {
		t.Fatalf("peer: %v", err)
	}
	// The filter runs as user lp.
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatalf("peer: %v", err)
	}
	filter := c.writeFilter(t, name+"-capture", fmt.Sprintf(captureFilterTemplate, shellQuote(dir)))
	ppd := c.writePPD(t, name, filter)
	c.MustRun(t, "lpadmin", "-p", name, "-E", "-v", "file:///dev/null", "-P", ppd)
	return &CaptureQueue{Name: name, Dir: dir, t: t}
}

// captureFilterTemplate is a CUPS filter (argv after the shell's $0: job-id user title copies
// options [file]) that stores the document as DIR/JOB-DOC.data with a .meta record beside it.
const captureFilterTemplate = `#!/bin/sh
# Capture filter written by e2e/peer: keeps each document of each job.
set -eu
umask 022
dir=%s
# LPD clients that ask for a banner page (LPRng does by default) get one from cups-lpd as a
# separate document: application/vnd.cups-banner, or vnd.cups-pdf-banner with cups-filters.
case "${CONTENT_TYPE:-}" in *banner) exit 0 ;; esac
job=$(printf '%%05d' "$1")
n=1
while [ -e "$dir/$job-$n.data" ]; do n=$((n + 1)); done
base="$dir/$job-$n"
{
	echo "job_id=$1"
	echo "doc=$n"
	echo "user=$2"
	printf 'title=%%s\n' "$3" | tr -d '\r'
	echo "copies=$4"
	printf 'options=%%s\n' "$5" | tr -d '\r'
	echo "format=${CONTENT_TYPE:-}"
} > "$base.meta"
if [ -n "${6:-}" ]; then cat -- "$6" > "$base.tmp"; else cat > "$base.tmp"; fi
mv "$base.tmp" "$base.data"
echo "INFO: captured job $1 document $n" >&2
`

// writeFilter writes an executable filter script into c.Dir/filters and returns its path.
func (c *Cupsd) writeFilter(t testing.TB, name, script string) string {
	t.Helper()
	path := filepath.Join(c.Dir, "filters", name)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatalf("peer: write filter: %v", err)
	}
	return path
}

// writePPD writes a minimal PPD whose only filter takes any type to the printer through filter.
func (c *Cupsd) writePPD(t testing.TB, queue, filter string) string {
	t.Helper()
	path := filepath.Join(c.Dir, "ppd", queue+".ppd")
	if err := os.WriteFile(path, fmt.Appendf(nil, passThroughPPD, filter), 0o644); err != nil {
		t.Fatalf("peer: write PPD: %v", err)
	}
	return path
}

// passThroughPPD: "*/*" at cost 0 makes cupsd send every document type straight to one filter.
const passThroughPPD = `*PPD-Adobe: "4.3"
*FormatVersion: "4.3"
*FileVersion: "1.0"
*LanguageVersion: English
*LanguageEncoding: ISOLatin1
*PCFileName: "PGPASS.PPD"
*Manufacturer: "printgate"
*Product: "(printgate pass-through)"
*ModelName: "printgate pass-through"
*ShortNickName: "printgate pass-through"
*NickName: "printgate pass-through"
*PSVersion: "(3010.000) 0"
*LanguageLevel: "3"
*ColorDevice: True
*DefaultColorSpace: RGB
*FileSystem: False
*Throughput: "1"
*LandscapeOrientation: Plus90
*TTRasterizer: Type42
*cupsFilter: "*/* 0 %s"
*OpenUI *PageSize/Media Size: PickOne
*DefaultPageSize: A4
*PageSize A4/A4: ""
*PageSize Letter/Letter: ""
*CloseUI: *PageSize
*DefaultPageRegion: A4
*DefaultImageableArea: A4
*ImageableArea A4: "0 0 595 842"
*ImageableArea Letter: "0 0 612 792"
*DefaultPaperDimension: A4
*PaperDimension A4: "595 842"
*PaperDimension Letter: "612 792"
`

// Docs returns the documents captured so far, in job and document order.
func (q *CaptureQueue) Docs() []CapturedDoc {
	q.t.Helper()
	entries, err := os.ReadDir(q.Dir)
	if err != nil {
		q.t.Fatalf("peer: read capture dir: %v", err)
	}
	var docs []CapturedDoc
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".data")
		if !ok {
			continue
		}
		d, err := readCaptured(filepath.Join(q.Dir, base))
		if err != nil {
			q.t.Fatalf("peer: capture queue %s: %v", q.Name, err)
		}
		docs = append(docs, d)
	}
	sort.Slice(docs, func(a, b int) bool {
		if docs[a].JobID != docs[b].JobID {
			return docs[a].JobID < docs[b].JobID
		}
		return docs[a].Doc < docs[b].Doc
	})
	return docs
}

// WaitDocs waits until at least n documents are captured and returns them; the test fails after
// timeout.
func (q *CaptureQueue) WaitDocs(t testing.TB, n int, timeout time.Duration) []CapturedDoc {
	t.Helper()
	var got []CapturedDoc
	if why := waitFor(timeout, 50*time.Millisecond, nil, func() bool {
		got = q.Docs()
		return len(got) >= n
	}); why != "" {
		t.Fatalf("peer: capture queue %s has %d documents, want %d: %s", q.Name, len(got), n, why)
	}
	return got
}

// readCaptured reads base.meta and base.data.
func readCaptured(base string) (CapturedDoc, error) {
	data, err := os.ReadFile(base + ".data")
	if err != nil {
		return CapturedDoc{}, err
	}
	f, err := os.Open(base + ".meta")
	if err != nil {
		return CapturedDoc{}, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return CapturedDoc{}, fmt.Errorf("read %s.meta: %w", base, err)
	}
	d := CapturedDoc{User: kv["user"], Title: kv["title"], Options: kv["options"], Format: kv["format"], Data: data}
	var errs []error
	for _, f := range []struct {
		key string
		dst *int
	}{{"job_id", &d.JobID}, {"doc", &d.Doc}, {"copies", &d.Copies}} {
		n, err := strconv.Atoi(kv[f.key])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.meta: %s=%q: %w", base, f.key, kv[f.key], err))
		}
		*f.dst = n
	}
	return d, errors.Join(errs...)
}
