// printgate bulk: submit a run of letters (a folder of PDFs, or a merged PDF split here every N
// pages), at once, at a time or on a cron schedule, and follow or control it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/ui"
)

const bulkUsage = `usage:
  printgate bulk submit --name NAME [--printer P] (--dir DIR | --pdf MERGED.pdf --pages-per-letter N)
                        [--at 2026-12-01T02:00 | --cron "0 2 * * 1-5"] [--copies N] [--sides S] [--media M]
  printgate bulk list
  printgate bulk show ID
  printgate bulk pause|resume|cancel ID
  printgate bulk reprint ID --letters 120-130[,200]
  printgate bulk manifest ID [--csv]
  printgate bulk unschedule SCHEDULE-ID`

func bulkCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return &usageError{bulkUsage}
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "submit":
		return bulkSubmit(ctx, rest, stdout, stderr)
	case "list":
		return bulkList(ctx, rest, stdout, stderr)
	case "show", "pause", "resume", "cancel", "reprint", "manifest", "unschedule":
		return bulkControl(ctx, sub, rest, stdout, stderr)
	}
	return &usageError{fmt.Sprintf("unknown bulk command %q\n%s", sub, bulkUsage)}
}

// atLayouts are the accepted --at forms, read in the local time zone unless they carry one.
var atLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

func parseAt(s string, loc *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range atLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--at %q: want local time as 2026-12-01T02:00 (or RFC 3339)", s)
}

// localTime says a time the way an operator reads it, with the zone made explicit.
func localTime(t time.Time) string {
	t = t.Local()
	zone := t.Format("MST")
	if off := "UTC" + t.Format("-07:00"); zone != "UTC" && zone != off {
		zone += ", " + off
	}
	return fmt.Sprintf("%s local time (%s)", t.Format("2006-01-02 15:04:05"), zone)
}

// pdfLetters lists the PDFs of dir in name order, one letter each.
func pdfLetters(dir string) ([]ui.LetterFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []ui.LetterFile
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") || !strings.EqualFold(filepath.Ext(e.Name()), ".pdf") {
			continue
		}
		out = append(out, ui.LetterFile{Source: e.Name(), Path: filepath.Join(dir, e.Name())})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no PDF files in %s", dir)
	}
	return out, nil
}

// splitLetters splits a merged PDF into letters of per pages in a temporary folder. The page
// count is checked first: an indivisible one is an error before anything is written or sent.
func splitLetters(ctx context.Context, merged string, per int, status func(string)) ([]ui.LetterFile, func(), error) {
	c := document.NewCounter()
	pages, err := c.PDFPages(merged)
	if err != nil {
		return nil, nil, err
	}
	n, err := document.SplitPages(pages, per)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w; nothing was queued", merged, err)
	}
	tmp, err := os.MkdirTemp("", "printgate-split-")
	if err != nil {
		return nil, nil, err
	}
	cleanup := func() { os.RemoveAll(tmp) }
	f, err := os.Open(merged)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	defer f.Close()
	status(fmt.Sprintf("splitting %s: %d pages into %d letters of %d pages", filepath.Base(merged), pages, n, per))
	base := filepath.Base(merged)
	out := make([]ui.LetterFile, 0, n)
	_, err = c.Split(ctx, f, per, func(l document.Letter) error {
		p := filepath.Join(tmp, fmt.Sprintf("letter-%07d.pdf", l.Seq))
		if err := os.WriteFile(p, l.PDF, 0o600); err != nil {
			return err
		}
		out = append(out, ui.LetterFile{Source: fmt.Sprintf("%s#pages=%d-%d", base, l.From, l.Thru), Path: p})
		return nil
	})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("split %s: %w; nothing was queued", merged, err)
	}
	return out, cleanup, nil
}

// progress draws the upload: a bar redrawn in place on a terminal, a plain line per batch
// otherwise (logs, CI).
type progress struct {
	w          io.Writer
	tty        bool
	total      int
	totalBytes int64
	start      time.Time

	mu        sync.Mutex
	letters   int
	bytes     int64
	lastDraw  time.Time
	drawnOnce bool
}

func newProgress(w io.Writer, total int, totalBytes int64) *progress {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progress{w: w, tty: tty, total: total, totalBytes: totalBytes, start: time.Now()}
}

func (p *progress) addBytes(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.bytes += n
	if p.tty && time.Since(p.lastDraw) > 100*time.Millisecond {
		p.drawLocked()
	}
}

func (p *progress) batchDone(letters int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.letters = letters
	if p.tty {
		p.drawLocked()
		return
	}
	fmt.Fprintf(p.w, "registered %d/%d letters (%.1f MB, %.1f s)\n", p.letters, p.total, float64(p.bytes)/1e6,
		time.Since(p.start).Seconds())
}

func (p *progress) drawLocked() {
	p.lastDraw = time.Now()
	frac := 0.0
	if p.totalBytes > 0 {
		frac = min(float64(p.bytes)/float64(p.totalBytes), 1)
	}
	const width = 30
	filled := int(frac * width)
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r[%s] %3.0f%%  %d/%d letters registered  %.1f MB  %.1f s ", bar, frac*100, p.letters, p.total,
		float64(p.bytes)/1e6, time.Since(p.start).Seconds())
	p.drawnOnce = true
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawnOnce {
		p.drawLocked()
		fmt.Fprintln(p.w)
	}
}

func bulkSubmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulk submit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	var rq ui.CreateRunRequest
	fs.StringVar(&rq.Name, "name", "", "run name (required)")
	fs.StringVar(&rq.Printer, "printer", "", "virtual printer (default: the gateway's default)")
	fs.StringVar(&rq.Owner, "owner", os.Getenv("USER"), "owner of the letters")
	fs.IntVar(&rq.Attributes.Copies, "copies", 0, "copies of each letter")
	fs.StringVar(&rq.Attributes.Sides, "sides", "", "one-sided, two-sided-long-edge, two-sided-short-edge")
	fs.StringVar(&rq.Attributes.Media, "media", "", "media keyword, e.g. iso_a4_210x297mm")
	dir := fs.String("dir", "", "folder of PDFs, one letter each, in name order")
	pdf := fs.String("pdf", "", "one merged PDF to split into letters")
	per := fs.Int("pages-per-letter", 0, "with --pdf: pages of each letter")
	at := fs.String("at", "", "hold the letters until this local time, e.g. 2026-12-01T02:00")
	cronSpec := fs.String("cron", "", `with --dir: a cron schedule ("0 2 * * 1-5"); the gateway re-reads DIR, on its own host, at each firing`)
	batch := fs.Int("batch", 500, "letters per upload request")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	switch {
	case rq.Name == "":
		return &usageError{"bulk submit: --name is required\n" + bulkUsage}
	case (*dir == "") == (*pdf == ""):
		return &usageError{"bulk submit: give exactly one of --dir and --pdf"}
	case *pdf != "" && *per < 1:
		return &usageError{"bulk submit: --pdf needs --pages-per-letter N"}
	case *cronSpec != "" && (*dir == "" || *at != ""):
		return &usageError{"bulk submit: --cron works with --dir (a drop folder) and without --at"}
	case *batch < 1 || *batch > queue.MaxBatchLetters:
		return &usageError{fmt.Sprintf("bulk submit: --batch between 1 and %d", queue.MaxBatchLetters)}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if *cronSpec != "" {
		return bulkSchedule(ctx, c, cf, rq, *cronSpec, *dir, stdout)
	}
	var startAt time.Time
	if *at != "" {
		t, err := parseAt(*at, time.Local)
		if err != nil {
			return &usageError{err.Error()}
		}
		if !t.After(time.Now()) {
			return &usageError{fmt.Sprintf("--at %s is in the past", localTime(t))}
		}
		startAt = t
		rq.At = t.Format(time.RFC3339)
	}
	status := func(s string) { fmt.Fprintln(stderr, s) }
	var letters []ui.LetterFile
	if *dir != "" {
		var err error
		if letters, err = pdfLetters(*dir); err != nil {
			return err
		}
		abs, _ := filepath.Abs(*dir)
		rq.Source = "folder " + abs
	} else {
		ls, cleanup, err := splitLetters(ctx, *pdf, *per, status)
		if err != nil {
			return err
		}
		defer cleanup()
		letters = ls
		rq.Source = fmt.Sprintf("%s split every %d pages", filepath.Base(*pdf), *per)
	}
	var totalBytes int64
	for _, l := range letters {
		if fi, err := os.Stat(l.Path); err == nil {
			totalBytes += fi.Size()
		}
	}
	run, err := createRunWithRetry(ctx, c, rq, stderr)
	if err != nil {
		return err
	}
	bar := newProgress(stderr, len(letters), totalBytes)
	if err := uploadRun(ctx, c, run.ID, letters, *batch, bar); err != nil {
		bar.finish()
		// Nothing half-registered may print: the uncommitted run is dropped (the gateway would
		// drop it at its next start or after the upload timeout anyway).
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, derr := c.RunAction(dctx, run.ID, "cancel"); derr != nil {
			fmt.Fprintf(stderr, "printgate: could not discard run %d: %v\n", run.ID, derr)
		}
		return fmt.Errorf("run %d not registered, nothing will print: %w", run.ID, err)
	}
	bar.finish()
	id := run.ID
	if run, err = commitWithRetry(ctx, c, id, stderr); err != nil {
		return fmt.Errorf("commit run %d: %w", id, err)
	}
	if cf.json {
		return printJSON(stdout, run)
	}
	when := "printing now"
	if !startAt.IsZero() {
		when = "held until " + localTime(startAt)
	}
	fmt.Fprintf(stdout, "run %d %q: %d letters, %d pages for %s, %s\n", run.ID, run.Name, run.Letters, run.Pages,
		run.VirtualPrinter, when)
	return nil
}

// uploadRun sends letters in batches. A batch whose answer was lost is retried; if the gateway
// had registered it, it says where it expects the next one and the upload goes on from there.
func uploadRun(ctx context.Context, c *ui.Client, runID int64, letters []ui.LetterFile, batch int, bar *progress) error {
	next := int64(1)
	retries := 0
	for int(next) <= len(letters) {
		end := min(int(next)-1+batch, len(letters))
		ans, err := c.UploadLetters(ctx, runID, next, letters[next-1:end], bar.addBytes)
		var se *ui.SequenceError
		switch {
		case err == nil:
			next, retries = ans.Next, 0
			bar.batchDone(int(next - 1))
		case errors.As(err, &se):
			if se.Next < 1 || int(se.Next) > len(letters)+1 || se.Next == next {
				return err
			}
			next = se.Next
			bar.batchDone(int(next - 1))
		default:
			var ae *ui.APIError
			if errors.As(err, &ae) || ctx.Err() != nil || retries >= 3 {
				return err
			}
			retries++
			select {
			case <-time.After(time.Duration(retries) * time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

func bulkSchedule(ctx context.Context, c *ui.Client, cf *clientFlags, rq ui.CreateRunRequest, spec, dir string, stdout io.Writer) error {
	abs := dir
	if !filepath.IsAbs(dir) {
		// The gateway reads the folder on its own host; a relative path can only mean this
		// machine's working directory, which is right when both run here.
		var err error
		if abs, err = filepath.Abs(dir); err != nil {
			return err
		}
	}
	sc, err := c.CreateSchedule(ctx, ui.CreateScheduleRequest{Name: rq.Name, Printer: rq.Printer, Owner: rq.Owner,
		Cron: spec, Dir: abs, Attributes: rq.Attributes})
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, sc)
	}
	fmt.Fprintf(stdout, "schedule %d %q: %q reads %s on the gateway host; next firing %s\n", sc.ID, sc.Name, sc.Spec,
		sc.Dir, localTime(sc.Next))
	return nil
}

func runDone(st *queue.RunStatus) string {
	return fmt.Sprintf("%d/%d", st.Done, st.Total)
}

func eta(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func bulkList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulk list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	state := fs.String("state", "", "filter by run state (comma-separated)")
	limit := fs.Int("limit", 50, "how many runs")
	if _, err := parseInterspersed(fs, args); err != nil {
		return err
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {strconv.Itoa(*limit)}}
	if *state != "" {
		q.Set("state", *state)
	}
	runs, err := c.Runs(ctx, q)
	if err != nil {
		return err
	}
	schedules, err := c.Schedules(ctx)
	if err != nil {
		return err
	}
	if cf.json {
		return printJSON(stdout, map[string]any{"runs": runs, "schedules": schedules})
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATE\tLETTERS DONE\tPAGES\tPRINTER\tCREATED\tETA\tNAME")
	for _, r := range runs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.ID, r.State, runDone(r), r.Pages, r.VirtualPrinter,
			r.Created.Local().Format("2006-01-02 15:04"), eta(r.ETA), r.Name)
	}
	if len(schedules) > 0 {
		fmt.Fprintln(tw, "\nSCHEDULE\tCRON\tNEXT FIRING\tPRINTER\tFOLDER (gateway host)\tNAME")
		for _, s := range schedules {
			next := eta(s.Next)
			if s.Error != "" {
				next = "error: " + s.Error
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Spec, next, s.VirtualPrinter, s.Dir, s.Name)
		}
	}
	return tw.Flush()
}

func bulkControl(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bulk "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addClientFlags(fs)
	letters := fs.String("letters", "", "reprint: sequence numbers, e.g. 120-130,200")
	asCSV := fs.Bool("csv", false, "manifest: CSV instead of JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{fmt.Sprintf("usage: printgate bulk %s ID", sub)}
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		return &usageError{fmt.Sprintf("%q is not a number", pos[0])}
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	switch sub {
	case "show":
		st, err := c.RunStatus(ctx, id)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, st)
		}
		return printRunStatus(stdout, st)
	case "pause", "resume", "cancel":
		r, err := c.RunAction(ctx, id, sub)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, r)
		}
		fmt.Fprintf(stdout, "run %d %q: %s\n", r.ID, r.Name, r.State)
		return nil
	case "reprint":
		if *letters == "" {
			return &usageError{"usage: printgate bulk reprint ID --letters 120-130"}
		}
		jobs, err := c.Reprint(ctx, id, *letters)
		if err != nil {
			return err
		}
		if cf.json {
			return printJSON(stdout, jobs)
		}
		fmt.Fprintf(stdout, "run %d: %d letters queued for reprint (flagged reprint in the manifest)\n", id, len(jobs))
		for _, j := range jobs {
			fmt.Fprintf(stdout, "  letter %d -> job %d\n", j.Seq, j.ID)
		}
		return nil
	case "manifest":
		return c.WriteManifest(ctx, id, *asCSV, stdout)
	case "unschedule":
		if err := c.DeleteSchedule(ctx, id); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schedule %d deleted\n", id)
		return nil
	}
	return &usageError{bulkUsage}
}

func printRunStatus(w io.Writer, st *queue.RunStatus) error {
	fmt.Fprintf(w, "run %d %q for %s: %s\n", st.ID, st.Name, st.VirtualPrinter, st.State)
	if st.Source != "" {
		fmt.Fprintf(w, "source:   %s\n", st.Source)
	}
	fmt.Fprintf(w, "letters:  %d done of %d (%d pages done, %d left)\n", st.Done, st.Total, st.PagesDone, st.PagesLeft)
	if !st.StartAt.IsZero() {
		fmt.Fprintf(w, "start at: %s\n", localTime(st.StartAt))
	}
	if !st.ETA.IsZero() {
		fmt.Fprintf(w, "eta:      %s\n", localTime(st.ETA))
	}
	if st.Duplicates > 0 || st.Reprints > 0 {
		fmt.Fprintf(w, "flags:    %d possible duplicates, %d reprints\n", st.Duplicates, st.Reprints)
	}
	var states []string
	for _, s := range []job.State{job.StateHeld, job.StatePending, job.StateAssigned, job.StateSending,
		job.StatePrinting, job.StateCompleted, job.StateCanceled, job.StateAborted} {
		if n := st.ByState[s]; n > 0 {
			states = append(states, fmt.Sprintf("%d %s", n, s))
		}
	}
	fmt.Fprintf(w, "states:   %s\n", strings.Join(states, ", "))
	if len(st.Printers) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINTER\tLETTERS DONE\tPAGES DONE\tSEQUENCE")
	for _, p := range st.Printers {
		seq := p.Ranges
		if seq == "" {
			seq = fmt.Sprintf("%d-%d", p.FirstSeq, p.LastSeq)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%d/%d\t%s\n", p.Printer, p.Done, p.Letters, p.PagesDone, p.Pages, seq)
	}
	return tw.Flush()
}

// newBulk builds the bulk-run service and discards the uploads a previous process left
// uncommitted, before the API can take new ones.
func newBulk(ctx context.Context, sched *queue.Scheduler, log *slog.Logger) (*queue.Bulk, error) {
	b, err := queue.NewBulk(queue.BulkOptions{Scheduler: sched, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := b.Recover(ctx); err != nil {
		return nil, err
	}
	return b, nil
}
