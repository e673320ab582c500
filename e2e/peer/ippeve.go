// Simulated physical printers: ippeveprinter with a print command that takes pages/ppm time,
// reports progress, logs what it printed, and can run out of paper on request.
package peer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ControlJobName is the job-name of the job SetMediaEmpty submits to an idle printer so that its
// print command runs and can report media-empty. The print command prints and logs nothing for it.
const ControlJobName = "printgate-peer-control"

// IPPEveOptions configures a simulated printer.
type IPPEveOptions struct {
	Name     string   // printer-name; required
	PPM      int      // pages-per-minute advertised and simulated (monochrome); default 60
	ColorPPM int      // if > 0, the printer is a colour printer with this colour speed
	Duplex   bool     // advertise two-sided printing (-2)
	Formats  []string // document-format-supported; default application/pdf, image/jpeg, image/pwg-raster
	// TimeScale multiplies the simulated time per impression (60/PPM seconds), so a test can
	// advertise realistic speeds and still run fast. 0 means 1.
	TimeScale float64
	// KeepDocuments keeps a copy of every printed document (PrintedJob.DocPath) besides its sha256.
	KeepDocuments bool
	// Attributes are more printer attributes, as lines of an ippeveprinter attributes file
	// ("ATTR enum finishings-supported 3,4,20"); each replaces the attribute of its name that the
	// options above give. ippeveprinter then runs with -a (ippeve_attrs.go).
	Attributes []string
}

// IPPEve is a running ippeveprinter.
type IPPEve struct {
	Name string // printer-name
	Port int    // TCP port on 127.0.0.1 (and [::1])
	Dir  string // private directory: print command, spool, logs, job records

	t       testing.TB
	opts    IPPEveOptions
	spp     float64 // simulated seconds per impression
	busAddr string  // private D-Bus address
	args    []string
	mu      sync.Mutex // guards proc and restarts
	proc    *proc
	starts  int // how many times ippeveprinter was started (for log names)
}

// PrintedJob is one job the print command handled, as its log says.
type PrintedJob struct {
	Printer         string        // printer-name of the IPPEve that printed it
	JobID           int           // ippeveprinter's job-id (restarts from 1 after Restart)
	JobName         string        // job-name as ippeveprinter passed it
	User            string        // job-originating-user-name
	Format          string        // document format the job was processed as
	Size            int64         // document bytes
	SHA256          string        // hex sha256 of the document
	Pages           int           // pages counted (pdfinfo/qpdf for PDF, page headers for PWG raster)
	PagesEstimated  bool          // Pages is 1 because the format could not be counted
	Copies          int           // copies requested
	Impressions     int           // Pages × Copies: the simulated work
	ImpressionsDone int           // impressions finished so far (== Impressions when Completed)
	SecondsPerPage  float64       // simulated seconds per impression
	Start, End      time.Time     // when the print command started and (if Completed) finished
	Stopped         time.Duration // time spent waiting for paper (media-empty) within the job
	Completed       bool          // the print command finished the job (false: killed or still printing)
	DocPath         string        // copy of the document when KeepDocuments, else ""
}

// Duration is how long the print command took (End-Start), 0 if not completed.
func (j PrintedJob) Duration() time.Duration {
	if !j.Completed {
		return 0
	}
	return j.End.Sub(j.Start)
}

// StartIPPEvePrinter starts an ippeveprinter on a free loopback port and returns once it answers
// Get-Printer-Attributes.
func StartIPPEvePrinter(t testing.TB, opts IPPEveOptions) *IPPEve {
	t.Helper()
	requireExecutable(t, IPPEvePrinterPath)
	requireExecutable(t, PdfinfoPath)
	if opts.Name == "" {
		t.Fatalf("peer: IPPEveOptions.Name is required")
	}
	if opts.PPM <= 0 {
		opts.PPM = 60
	}
	if len(opts.Formats) == 0 {
		opts.Formats = []string{"application/pdf", "image/jpeg", "image/pwg-raster"}
	}
	if opts.TimeScale <= 0 {
		opts.TimeScale = 1
	}
	p := &IPPEve{
		Name: opts.Name,
		Port: FreePort(t),
		Dir:  shortTempDir(t, "pg-ippeve-"),
		t:    t,
		opts: opts,
		spp:  60 / float64(opts.PPM) * opts.TimeScale,
	}
	for _, d := range []string{"spool", "state/jobs", "state/docs"} {
		if err := os.MkdirAll(filepath.Join(p.Dir, d), 0o755); err != nil {
			t.Fatalf("peer: %v", err)
		}
	}
	script := filepath.Join(p.Dir, "print-command.sh")
	if err := os.WriteFile(script, []byte(p.printCommand()), 0o755); err != nil {
		t.Fatalf("peer: write print command: %v", err)
	}
	p.busAddr = startPrivateBus(t, p.Dir)

	speed := strconv.Itoa(opts.PPM)
	if opts.ColorPPM > 0 {
		speed += "," + strconv.Itoa(opts.ColorPPM)
	}
	p.args = []string{
		"-n", "localhost", // without it ippeveprinter advertises the machine's host name
		"-r", "off", // no DNS-SD registration
		"-p", strconv.Itoa(p.Port),
		"-c", script,
		"-f", strings.Join(opts.Formats, ","),
		"-s", speed,
		"-d", filepath.Join(p.Dir, "spool"),
		"-D", "file:///dev/null", // the print command's stdout; otherwise .prn files pile up in the spool
	}
	if opts.Duplex {
		p.args = append(p.args, "-2")
	}
	p.args = append(p.args, opts.Name)
	p.start(t)
	if len(opts.Attributes) > 0 {
		file := filepath.Join(p.Dir, "attributes.conf")
		if err := p.attributesFile(file, opts.Attributes); err != nil {
			t.Fatalf("%v", err)
		}
		if err := p.proc.stop(); err != nil {
			t.Fatalf("peer: stop ippeveprinter %q to restart it with its attributes: %v", p.Name, err)
		}
		// -f, -s and -2 are the options -a excludes; the file has what they said.
		p.args = []string{"-n", "localhost", "-r", "off", "-p", strconv.Itoa(p.Port), "-c", script,
			"-d", filepath.Join(p.Dir, "spool"), "-D", "file:///dev/null", "-a", file, opts.Name}
		p.start(t)
	}
	return p
}

// URI is the printer's IPP URI on IPv4 loopback.
func (p *IPPEve) URI() string {
	return fmt.Sprintf("ipp://127.0.0.1:%d/ipp/print", p.Port)
}

// SecondsPerPage is the simulated time per impression (60/PPM × TimeScale).
func (p *IPPEve) SecondsPerPage() float64 { return p.spp }

// start runs ippeveprinter with p.args and waits until it answers.
func (p *IPPEve) start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	p.starts++
	logPath := filepath.Join(p.Dir, fmt.Sprintf("ippeveprinter.%d.log", p.starts))
	cmd := exec.Command(IPPEvePrinterPath, p.args...)
	cmd.Env = envWith("DBUS_SYSTEM_BUS_ADDRESS="+p.busAddr, "TMPDIR="+filepath.Join(p.Dir, "spool"))
	pr, err := startProc("ippeveprinter "+p.Name, cmd, logPath)
	if err == nil {
		p.proc = pr
	}
	p.mu.Unlock()
	if err != nil {
		t.Fatalf("%v", err)
	}
	stopInCleanup(t, pr)
	if why := waitFor(15*time.Second, 50*time.Millisecond, pr, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := QueryPrinter(ctx, p.URI())
		return err == nil
	}); why != "" {
		t.Fatalf("peer: ippeveprinter %q on port %d did not answer Get-Printer-Attributes: %s", p.Name, p.Port, why)
	}
}

// Kill sends SIGKILL to ippeveprinter and its print command, as a power cut would, and waits
// for it to exit. The job it was printing stays in Jobs() with Completed false. Call it (and the
// other methods that may fail the test) from the test's goroutine.
func (p *IPPEve) Kill() {
	p.t.Helper()
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	if err := pr.kill(); err != nil {
		p.t.Fatalf("peer: kill ippeveprinter %q: %v", p.Name, err)
	}
}

// Freeze stops ippeveprinter and its print command (SIGSTOP to the group) so that what it is
// printing cannot change while a test reads it; Thaw lets it go on, Kill ends it frozen. A test
// that kills a printer "while it prints a letter" freezes it, checks, then kills: between an
// unfrozen check and the kill the letter could finish (seen on a loaded machine).
func (p *IPPEve) Freeze() {
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	pr.signalGroup(syscall.SIGSTOP)
}

// Thaw undoes Freeze (SIGCONT to the group).
func (p *IPPEve) Thaw() {
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	pr.signalGroup(syscall.SIGCONT)
}

// Restart starts ippeveprinter again on the same port with the same name and options (after
// Kill, or stopping it first if it still runs). Its job history starts empty and its job-ids
// start again from 1, so a job-id watched before the restart may name a different job after it;
// the job log kept by Jobs/Printed survives, and so does a media-empty switch left on.
func (p *IPPEve) Restart(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	pr := p.proc
	p.mu.Unlock()
	if err := pr.stop(); err != nil {
		t.Fatalf("peer: stop ippeveprinter %q before restart: %v", p.Name, err)
	}
	p.start(t)
}

// Status asks the printer for its state.
func (p *IPPEve) Status(ctx context.Context) (PrinterStatus, error) {
	return QueryPrinter(ctx, p.URI())
}

// Log returns what ippeveprinter has written to stderr since its last (re)start.
func (p *IPPEve) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.proc.logText()
}

// Jobs returns every job the print command started, oldest first, including ones still printing
// or cut short by Kill.
func (p *IPPEve) Jobs() []PrintedJob {
	p.t.Helper()
	dir := filepath.Join(p.Dir, "state", "jobs")
	entries, err := os.ReadDir(dir)
	if err != nil {
		p.t.Fatalf("peer: read job log of %q: %v", p.Name, err)
	}
	var jobs []PrintedJob
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		j, err := readJobRecord(filepath.Join(dir, e.Name()))
		if err != nil {
			p.t.Fatalf("peer: job log of %q: %v", p.Name, err)
		}
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].Start.Before(jobs[b].Start) })
	return jobs
}

// Printed returns the jobs the print command finished, oldest first. ippeveprinter reports such a
// job completed (job-state 9) only after the command has exited, a few milliseconds later.
func (p *IPPEve) Printed() []PrintedJob {
	p.t.Helper()
	var done []PrintedJob
	for _, j := range p.Jobs() {
		if j.Completed {
			done = append(done, j)
		}
	}
	return done
}

// WaitPrinted waits until at least n jobs are finished and returns them; the test fails after
// timeout.
func (p *IPPEve) WaitPrinted(t testing.TB, n int, timeout time.Duration) []PrintedJob {
	t.Helper()
	var got []PrintedJob
	if why := waitFor(timeout, 50*time.Millisecond, nil, func() bool {
		got = p.Printed()
		return len(got) >= n
	}); why != "" {
		t.Fatalf("peer: %q printed %d jobs, want %d: %s", p.Name, len(got), n, why)
	}
	return got
}

// SetMediaEmpty makes the printer run out of paper (true) or refills it (false), and returns once
// printer-state-reasons shows it.
//
// ippeveprinter only learns printer-state-reasons from a running print command, and will not start
// a job while media-empty is set, so: a printing job stops before its next page, reports
// media-empty, and waits for paper; an idle printer is sent a control job (ControlJobName) whose
// print command does the same. While out of paper the printer is therefore "processing" with
// media-empty in its reasons and answers server-error-busy to new jobs, like a real printer that
// holds the job it is on.
func (p *IPPEve) SetMediaEmpty(empty bool) {
	t := p.t
	t.Helper()
	ctl := filepath.Join(p.Dir, "state", "media-empty")
	timeout := 15*time.Second + time.Duration(2*p.spp*float64(time.Second))
	if !empty {
		if err := os.Remove(ctl); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("peer: %v", err)
		}
		if why := waitFor(timeout, 50*time.Millisecond, nil, func() bool {
			st, err := p.status()
			return err == nil && !st.HasReason("media-empty")
		}); why != "" {
			t.Fatalf("peer: %q still reports media-empty after refill: %s", p.Name, why)
		}
		return
	}
	if err := os.WriteFile(ctl, nil, 0o644); err != nil {
		t.Fatalf("peer: %v", err)
	}
	var lastErr error
	if why := waitFor(timeout, 100*time.Millisecond, nil, func() bool {
		st, err := p.status()
		if err != nil {
			lastErr = err
			return false
		}
		if st.HasReason("media-empty") {
			return true
		}
		if st.State == 3 { // idle: nothing runs the print command, so give it a job to run
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := printJob(ctx, p.URI(), ControlJobName, p.opts.Formats[0], []byte("%PDF-1.4\n%%EOF\n")); err != nil {
				lastErr = err // server-error-busy when a real job got there first: it will report instead
			}
		}
		return false
	}); why != "" {
		t.Fatalf("peer: %q does not report media-empty (last error: %v): %s", p.Name, lastErr, why)
	}
}

// status queries the printer with a short timeout.
func (p *IPPEve) status() (PrinterStatus, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return QueryPrinter(ctx, p.URI())
}

// printCommand returns the shell script ippeveprinter runs for each job (argv[1] is the spooled
// document; job attributes arrive as IPP_* environment variables; stdout goes to /dev/null and
// stderr lines STATE:/ATTR:/INFO: are read by ippeveprinter).
func (p *IPPEve) printCommand() string {
	keep := 0
	if p.opts.KeepDocuments {
		keep = 1
	}
	return fmt.Sprintf(printCommandTemplate,
		shellQuote(p.Name), shellQuote(filepath.Join(p.Dir, "state")),
		strconv.FormatFloat(p.spp, 'f', 3, 64), keep, shellQuote(ControlJobName))
}

// printCommandTemplate: %[1]s printer name, %[2]s state dir, %[3]s seconds per impression,
// %[4]d keep documents, %[5]s control job name (all shell-quoted where strings).
const printCommandTemplate = `#!/bin/sh
# Print command of a simulated printer, written by e2e/peer. It "prints" the document in $1 at a
# fixed time per impression, reports progress to ippeveprinter, records what it printed, and stops
# before each page while the media-empty control file exists.
set -u
doc="$1"
printer=%[1]s
state=%[2]s
spp=%[3]s
keep=%[4]d
ctl="$state/media-empty"
now() { date +%%s%%N; }
oneline() { printf '%%s' "$1" | tr '\n\r' '  '; }

stopped_ns=0
media_wait() {
	[ -e "$ctl" ] || return 0
	t0=$(now)
	echo "STATE: +media-empty" >&2
	echo "INFO: Out of paper." >&2
	while [ -e "$ctl" ]; do sleep 0.05; done
	echo "STATE: -media-empty" >&2
	echo "INFO: Paper loaded." >&2
	stopped_ns=$((stopped_ns + $(now) - t0))
}

if [ "${IPP_JOB_NAME:-}" = %[5]s ]; then
	media_wait
	exit 0
fi

start=$(now)
id=${IPP_JOB_ID:-0}
rec="$state/jobs/$start-$id"
size=$(wc -c < "$doc")
sha=$(sha256sum "$doc" | cut -d' ' -f1)
pages=""
estimated=0
case "$(head -c 5 "$doc" | tr -d '\000')" in
%%PDF-)
	pages=$(pdfinfo "$doc" 2>/dev/null | sed -n 's/^Pages:[[:space:]]*//p')
	[ -n "$pages" ] || pages=$(qpdf --show-npages "$doc" 2>/dev/null) ;;
RaS2*)
	pages=$(grep -a -o PwgRaster "$doc" | wc -l) ;;
%%!PS*)
	pages=$(grep -a -c '^%%%%Page:' "$doc") ;;
UNIRA*)
	# URF (Apple raster): cups-filters' rastertopdf reads it; its PDF has the pages.
	pages=$(/usr/lib/cups/filter/rastertopdf 1 u t 1 "" "$doc" 2>/dev/null | pdfinfo - 2>/dev/null | sed -n 's/^Pages:[[:space:]]*//p') ;;
esac
case "$pages" in ''|*[!0-9]*|0) pages=1; estimated=1 ;; esac
copies=${IPP_COPIES:-1}
case "$copies" in ''|*[!0-9]*|0) copies=1 ;; esac
impressions=$((pages * copies))
docpath=""
if [ "$keep" = 1 ]; then
	docpath="$state/docs/$start-$id"
	cp "$doc" "$docpath"
fi

done_imp=0
end=0
record() {
	{
		echo "printer=$printer"
		echo "job_id=$id"
		echo "job_name=$(oneline "${IPP_JOB_NAME:-}")"
		echo "user=$(oneline "${IPP_JOB_ORIGINATING_USER_NAME:-}")"
		echo "format=${CONTENT_TYPE:-}"
		echo "size=$size"
		echo "sha256=$sha"
		echo "pages=$pages"
		echo "pages_estimated=$estimated"
		echo "copies=$copies"
		echo "impressions=$impressions"
		echo "impressions_done=$done_imp"
		echo "seconds_per_page=$spp"
		echo "start_ns=$start"
		echo "end_ns=$end"
		echo "stopped_ns=$stopped_ns"
		echo "completed=$1"
		echo "doc=$docpath"
	} > "$rec.tmp" && mv "$rec.tmp" "$rec"
}

record 0
echo "ATTR: job-impressions=$impressions" >&2
while [ "$done_imp" -lt "$impressions" ]; do
	media_wait
	sleep "$spp"
	done_imp=$((done_imp + 1))
	echo "ATTR: job-impressions-completed=$done_imp" >&2
done
end=$(now)
record 1
echo "INFO: Printed $impressions impressions." >&2
exit 0
`

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readJobRecord parses one key=value job record written by the print command.
func readJobRecord(path string) (PrintedJob, error) {
	f, err := os.Open(path)
	if err != nil {
		return PrintedJob{}, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			kv[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return PrintedJob{}, fmt.Errorf("read %s: %w", path, err)
	}
	return parseJobRecord(kv)
}

// parseJobRecord converts a record's fields; every numeric field must parse.
func parseJobRecord(kv map[string]string) (PrintedJob, error) {
	var errs []error
	num := func(k string) int64 {
		n, err := strconv.ParseInt(kv[k], 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("field %s=%q: %w", k, kv[k], err))
		}
		return n
	}
	spp, err := strconv.ParseFloat(kv["seconds_per_page"], 64)
	if err != nil {
		errs = append(errs, fmt.Errorf("field seconds_per_page=%q: %w", kv["seconds_per_page"], err))
	}
	j := PrintedJob{
		Printer:         kv["printer"],
		JobID:           int(num("job_id")),
		JobName:         kv["job_name"],
		User:            kv["user"],
		Format:          kv["format"],
		Size:            num("size"),
		SHA256:          kv["sha256"],
		Pages:           int(num("pages")),
		PagesEstimated:  kv["pages_estimated"] == "1",
		Copies:          int(num("copies")),
		Impressions:     int(num("impressions")),
		ImpressionsDone: int(num("impressions_done")),
		SecondsPerPage:  spp,
		Start:           time.Unix(0, num("start_ns")),
		Stopped:         time.Duration(num("stopped_ns")),
		Completed:       kv["completed"] == "1", // the print command's record key, not a job state
		DocPath:         kv["doc"],
	}
	if end := num("end_ns"); end > 0 {
		j.End = time.Unix(0, end)
	}
	if len(errs) > 0 {
		return PrintedJob{}, fmt.Errorf("bad job record: %w", errors.Join(errs...))
	}
	return j, nil
}
