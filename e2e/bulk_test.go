//go:build e2e

// End-to-end tests of bulk runs through a real `printgate serve` child and the printgate CLI:
// a 1,000-letter run over three file printers of different speeds, a merged PDF split into
// letters, three SIGKILLs during a run, a cron schedule across a restart, an interactive job
// overtaking a run, and an upload cut by a crash. Run: go test -tags e2e -run Bulk -v ./e2e/
package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool/spooltest"
	"github.com/printgate/printgate/ui"
)

// submitRun runs `printgate bulk submit ... --json` and returns the committed run.
func submitRun(t *testing.T, g *bulkGW, args ...string) *job.Run {
	t.Helper()
	out := g.mustCLI(append([]string{"bulk", "submit", "--json"}, args...)...)
	var r job.Run
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("bulk submit output %q: %v", out, err)
	}
	return &r
}

// waitRun polls the run's status until cond holds.
func waitRun(t *testing.T, g *bulkGW, id int64, timeout time.Duration, what string, cond func(*queue.RunStatus) bool) *queue.RunStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st, err := g.api.RunStatus(g.ctx(), id)
		if err != nil {
			t.Fatalf("run %d status: %v", id, err)
		}
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d: no %s within %s (state %s, %d/%d letters done, %v)", id, what, timeout, st.State, st.Done,
				st.Total, st.ByState)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func completed(st *queue.RunStatus) bool { return st.State == job.RunCompleted }

// originals returns the manifest's letters that are not reprints, by sequence number, failing
// the test if one is missing or listed twice.
func originals(t *testing.T, letters []job.Letter, n int) map[int64]job.Letter {
	t.Helper()
	out := map[int64]job.Letter{}
	for _, l := range letters {
		if l.Reprint {
			continue
		}
		if _, dup := out[l.Seq]; dup {
			t.Fatalf("letter %d listed twice in the manifest", l.Seq)
		}
		out[l.Seq] = l
	}
	for seq := int64(1); seq <= int64(n); seq++ {
		if _, ok := out[seq]; !ok {
			t.Fatalf("letter %d missing from the manifest", seq)
		}
	}
	if len(out) != n {
		t.Fatalf("manifest lists %d letters, want %d", len(out), n)
	}
	return out
}

var printedName = regexp.MustCompile(`^job-(\d+)-1\.pdf$`)

// printed maps job id to the paths a file printer wrote for it, over every start of g.
func printed(t *testing.T, g *bulkGW) map[int64][]string {
	t.Helper()
	out := map[int64][]string{}
	for gen := 1; gen <= g.gen; gen++ {
		for _, p := range g.printers {
			dir := g.outDir(gen, p.Name)
			es, err := os.ReadDir(dir)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range es {
				m := printedName.FindStringSubmatch(e.Name()) // .part files are cut copies
				if m == nil {
					continue
				}
				id, _ := strconv.ParseInt(m[1], 10, 64)
				out[id] = append(out[id], filepath.Join(dir, e.Name()))
			}
		}
	}
	return out
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Acceptance 1: a 1,000-letter run from a folder over three printers of different speeds.
func TestBulkRunFromFolderAcrossThreePrinters(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"slow", 2500}, {"mid", 5000}, {"fast", 10000}})
	dir := filepath.Join(t.TempDir(), "letters")
	writeLetters(t, dir, 1000, func(i int) int { return 1 + i%4 })
	start := time.Now()
	run := submitRun(t, g, "--name", "shielded patients", "--printer", "letters", "--dir", dir)
	if run.Letters != 1000 || run.Pages != 2500 {
		t.Fatalf("registered %d letters, %d pages; want 1000, 2500", run.Letters, run.Pages)
	}
	st := waitRun(t, g, run.ID, 150*time.Second, "completion", completed)
	t.Logf("1000 letters (2500 pages) registered and printed in %s", time.Since(start).Round(time.Millisecond))
	if st.Done != 1000 || st.Duplicates != 0 {
		t.Fatalf("done %d, possible duplicates %d", st.Done, st.Duplicates)
	}
	_, letters, err := g.api.Manifest(g.ctx(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	byseq := originals(t, letters, 1000)
	files := printed(t, g)
	perPrinter := map[string][]job.Letter{}
	for seq, l := range byseq {
		if l.State != job.StateCompleted || l.Printer == "" || l.UpstreamID == "" {
			t.Fatalf("letter %d: %s at %q", seq, l.State, l.Printer)
		}
		if l.Source != fmt.Sprintf("letter-%07d.pdf", seq) || l.Pages != 1+int(seq)%4 {
			t.Fatalf("letter %d: source %q, %d pages", seq, l.Source, l.Pages)
		}
		// What the printer got is the letter, byte for byte, and only there.
		paths := files[l.JobID]
		if len(paths) != 1 || filepath.Base(filepath.Dir(paths[0])) != l.Printer {
			t.Fatalf("letter %d (job %d, printer %s) printed as %v", seq, l.JobID, l.Printer, paths)
		}
		if got := fileSHA(t, paths[0]); got != l.SHA256 {
			t.Fatalf("letter %d: printed sha256 %s, manifest says %s", seq, got, l.SHA256)
		}
		perPrinter[l.Printer] = append(perPrinter[l.Printer], l)
	}
	// Per printer, in the order the printer took them, the sequence numbers increase.
	for name, ls := range perPrinter {
		sort.Slice(ls, func(i, j int) bool { return ls[i].Started.Before(ls[j].Started) })
		for i := 1; i < len(ls); i++ {
			if ls[i].Seq <= ls[i-1].Seq {
				t.Fatalf("printer %s took letter %d after letter %d", name, ls[i].Seq, ls[i-1].Seq)
			}
		}
	}
	t.Logf("letters per printer: slow %d, mid %d, fast %d", len(perPrinter["slow"]), len(perPrinter["mid"]), len(perPrinter["fast"]))
	if len(perPrinter["slow"]) == 0 || len(perPrinter["fast"]) <= len(perPrinter["slow"]) {
		t.Fatalf("spread: slow %d, mid %d, fast %d letters; want all used, the fastest most", len(perPrinter["slow"]),
			len(perPrinter["mid"]), len(perPrinter["fast"]))
	}
	// The CSV manifest has a line per letter too.
	csv := g.mustCLI("bulk", "manifest", strconv.FormatInt(run.ID, 10), "--csv")
	if lines := strings.Count(csv, "\n"); lines != 1001 {
		t.Fatalf("CSV manifest has %d lines, want header + 1000", lines)
	}
	show := g.mustCLI("bulk", "show", strconv.FormatInt(run.ID, 10))
	for _, want := range []string{"completed", "1000 done of 1000", "slow", "mid", "fast"} {
		if !strings.Contains(show, want) {
			t.Fatalf("bulk show output lacks %q:\n%s", want, show)
		}
	}
}

// Acceptance 2: a 2,000-page merged PDF split every 2 pages is 1,000 letters with the right
// pages, checked page by page against the merged file's content streams.
func TestBulkMergedPDFSplitIntoLetters(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"a", 10000}, {"b", 10000}})
	merged := filepath.Join(t.TempDir(), "mailmerge.pdf")
	if err := os.WriteFile(merged, bulkPDF("mail merge", 2000), 0o644); err != nil {
		t.Fatal(err)
	}
	counter := document.NewCounter()
	want, err := counter.PageDigests(bytes.NewReader(mustRead(t, merged)))
	if err != nil || len(want) != 2000 {
		t.Fatalf("digests of the merged PDF: %d, %v", len(want), err)
	}
	// A page count that does not divide is refused before anything is queued.
	out, errOut, err := g.cli("bulk", "submit", "--name", "odd", "--pdf", merged, "--pages-per-letter", "3")
	if err == nil || !strings.Contains(errOut, "not divisible") {
		t.Fatalf("split by 3 of 2000 pages: err %v, stdout %q, stderr %q", err, out, errOut)
	}
	if runs, err := g.api.Runs(g.ctx(), nil); err != nil || len(runs) != 0 {
		t.Fatalf("runs after the refused split: %d, %v", len(runs), err)
	}
	run := submitRun(t, g, "--name", "merge", "--pdf", merged, "--pages-per-letter", "2")
	if run.Letters != 1000 || run.Pages != 2000 {
		t.Fatalf("registered %d letters, %d pages; want 1000, 2000", run.Letters, run.Pages)
	}
	waitRun(t, g, run.ID, 150*time.Second, "completion", completed)
	_, letters, err := g.api.Manifest(g.ctx(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := printed(t, g)
	for seq, l := range originals(t, letters, 1000) {
		from := 2*seq - 1
		if l.Source != fmt.Sprintf("mailmerge.pdf#pages=%d-%d", from, from+1) || l.Pages != 2 {
			t.Fatalf("letter %d: source %q, %d pages", seq, l.Source, l.Pages)
		}
		if len(files[l.JobID]) != 1 {
			t.Fatalf("letter %d printed %d times", seq, len(files[l.JobID]))
		}
		got, err := counter.PageDigests(bytes.NewReader(mustRead(t, files[l.JobID][0])))
		if err != nil {
			t.Fatalf("letter %d: %v", seq, err)
		}
		if len(got) != 2 || got[0] != want[from-1] || got[1] != want[from] {
			t.Fatalf("letter %d does not hold pages %d-%d of the merged PDF", seq, from, from+1)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Acceptance 3: SIGKILL three times during a run; it completes, no letter is missing, and
// every letter that reached a printer twice carries the possible-duplicate flag.
func TestBulkRunSurvivesThreeSIGKILLs(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"a", 1500}, {"b", 3000}, {"c", 4500}})
	dir := filepath.Join(t.TempDir(), "letters")
	writeLetters(t, dir, 1000, func(i int) int { return 1 + i%4 })
	run := submitRun(t, g, "--name", "crashy", "--dir", dir)
	for k, at := range []int{150, 400, 650} {
		waitRun(t, g, run.ID, 90*time.Second, fmt.Sprintf("%d letters done", at), func(st *queue.RunStatus) bool { return st.Done >= at })
		g.kill()
		t.Logf("SIGKILL %d after %d+ letters", k+1, at)
		g.start()
	}
	st := waitRun(t, g, run.ID, 150*time.Second, "completion", completed)
	_, letters, err := g.api.Manifest(g.ctx(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := printed(t, g)
	twice, flagged := 0, 0
	for seq, l := range originals(t, letters, 1000) {
		if l.State != job.StateCompleted {
			t.Fatalf("letter %d: %s", seq, l.State)
		}
		n := len(files[l.JobID])
		if n == 0 {
			t.Fatalf("letter %d (job %d) never reached a printer", seq, l.JobID)
		}
		if l.PossibleDuplicate {
			flagged++
		}
		if n > 1 {
			twice++
			if !l.PossibleDuplicate {
				t.Fatalf("letter %d reached printers %d times (%v) without the possible-duplicate flag", seq, n, files[l.JobID])
			}
		}
	}
	t.Logf("after 3 SIGKILLs: %d letters sent twice, %d flagged possible-duplicate (status says %d)", twice, flagged, st.Duplicates)
	if st.Duplicates != flagged {
		t.Fatalf("status counts %d duplicates, manifest %d", st.Duplicates, flagged)
	}
}

// Acceptance 4: a cron schedule survives a restart, keeps firing, fires a missed firing once
// late, and prints a letter left in the drop folder only once.
func TestBulkCronScheduleAcrossRestart(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"a", 10000}})
	drop := filepath.Join(t.TempDir(), "drop")
	writeLetters(t, drop, 2, func(int) int { return 1 })
	age(t, drop)
	out := g.mustCLI("bulk", "submit", "--name", "drop folder", "--dir", drop, "--cron", "*/2 * * * * *")
	if !strings.Contains(out, "schedule 1") || !strings.Contains(out, "next firing") {
		t.Fatalf("bulk submit --cron said %q", out)
	}
	first := waitScheduleRuns(t, g, 1, 30*time.Second)
	if first[0].Letters != 2 {
		t.Fatalf("first firing registered %d letters, want 2", first[0].Letters)
	}
	g.stop()
	// Down across at least one firing; a new letter arrives meanwhile.
	time.Sleep(3 * time.Second)
	if err := os.WriteFile(filepath.Join(drop, "letter-0000003.pdf"), bulkPDF("late letter", 1), 0o644); err != nil {
		t.Fatal(err)
	}
	age(t, drop)
	g.start()
	list := g.mustCLI("bulk", "list")
	if !strings.Contains(list, "*/2 * * * * *") || !strings.Contains(list, drop) {
		t.Fatalf("schedule not listed after restart:\n%s", list)
	}
	runs := waitScheduleRuns(t, g, 2, 30*time.Second)
	newest := runs[0]
	_, letters, err := g.api.Manifest(g.ctx(), newest.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(letters) != 1 || letters[0].Source != "letter-0000003.pdf" {
		t.Fatalf("firing after restart registered %v, want only letter-0000003.pdf", letters)
	}
	evs, err := g.api.Events(g.ctx(), map[string][]string{"kind": {job.EventSchedule}, "limit": {"1000"}})
	if err != nil {
		t.Fatal(err)
	}
	late := 0
	for _, e := range evs {
		if strings.Contains(e.Message, "fired late") {
			late++
		}
	}
	if late != 1 {
		t.Fatalf("%d 'fired late' events, want 1 (the firing missed while down)", late)
	}
	// More firings happen; the letters still in the folder make no new runs.
	time.Sleep(5 * time.Second)
	if runs := scheduleRunsOf(t, g); len(runs) != 2 {
		t.Fatalf("%d runs after further firings with nothing new, want 2", len(runs))
	}
}

// age dates every file of dir a minute back: a drop folder leaves fresh files for later.
func age(t *testing.T, dir string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	for _, e := range es {
		if err := os.Chtimes(filepath.Join(dir, e.Name()), old, old); err != nil {
			t.Fatal(err)
		}
	}
}

func scheduleRunsOf(t *testing.T, g *bulkGW) []*queue.RunStatus {
	t.Helper()
	runs, err := g.api.Runs(g.ctx(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []*queue.RunStatus
	for _, r := range runs {
		if r.ScheduleID != 0 && r.State != job.RunDiscarded && r.State != job.RunUploading {
			out = append(out, r)
		}
	}
	return out
}

func waitScheduleRuns(t *testing.T, g *bulkGW, n int, timeout time.Duration) []*queue.RunStatus {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		runs := scheduleRunsOf(t, g)
		if len(runs) >= n {
			return runs
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d runs from the schedule after %s, want %d", len(runs), timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Acceptance 5: while a 1,000-letter run prints, a single interactive job overtakes every
// letter not yet at a printer: on its printer only letters already in flight go before it.
func TestBulkInteractiveJobOvertakesRun(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"a", 300}, {"b", 600}, {"c", 900}})
	dir := filepath.Join(t.TempDir(), "letters")
	writeLetters(t, dir, 1000, func(i int) int { return 1 + i%4 })
	run := submitRun(t, g, "--name", "big mailing", "--dir", dir)
	waitRun(t, g, run.ID, 60*time.Second, "20 letters done", func(st *queue.RunStatus) bool { return st.Done >= 20 })
	t0 := time.Now()
	_, before, err := g.api.Manifest(g.ctx(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	inflight := map[int64]bool{}
	for _, l := range before {
		if l.State.Active() {
			inflight[l.JobID] = true
		}
	}
	j, err := g.api.Submit(g.ctx(), bytes.NewReader(bulkPDF("urgent discharge letter", 1)), ui.SubmitOptions{Printer: "letters", Name: "urgent"})
	if err != nil {
		t.Fatal(err)
	}
	for !j.State.Final() {
		if time.Since(t0) > 60*time.Second {
			t.Fatalf("interactive job still %s after 60 s", j.State)
		}
		time.Sleep(100 * time.Millisecond)
		if j, err = g.api.Job(g.ctx(), j.ID); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(t0)
	if j.State != job.StateCompleted {
		t.Fatalf("interactive job %s", j.State)
	}
	st, _ := g.api.RunStatus(g.ctx(), run.ID)
	t.Logf("interactive job done in %s on %s; the run had %d of 1000 letters done then", took.Round(time.Millisecond), j.Printer, st.Done)
	if st.Done > 900 {
		t.Fatalf("the run was nearly over (%d done) before the interactive job finished", st.Done)
	}
	// In flight at submission: at most 2 letters of at most 4 pages on a 300 ppm printer,
	// under 2 s; the job must not have waited for the run.
	if took > 10*time.Second {
		t.Fatalf("interactive job took %s", took)
	}
	_, after, err := g.api.Manifest(g.ctx(), run.ID)
	if err != nil {
		t.Fatal(err)
	}
	// On the job's printer, no letter that was not yet on its way when the job was queued went
	// to the printer before it. A letter assigned just before the job's commit reaches
	// "sending" a moment later: 250 ms of slack cover that on a busy machine.
	queued := j.Created.Add(250 * time.Millisecond)
	for _, l := range after {
		if l.Printer != j.Printer || l.Started.IsZero() || inflight[l.JobID] {
			continue
		}
		if l.Started.After(queued) && l.Started.Before(j.Started) {
			t.Fatalf("letter %d (not in flight when the job was queued at %s) started on %s at %s, before the interactive job (%s)",
				l.Seq, j.Created.Format(time.RFC3339Nano), l.Printer, l.Started.Format(time.RFC3339Nano),
				j.Started.Format(time.RFC3339Nano))
		}
	}
	g.mustCLI("bulk", "cancel", strconv.FormatInt(run.ID, 10))
	waitRun(t, g, run.ID, 30*time.Second, "cancellation", func(st *queue.RunStatus) bool {
		return st.State == job.RunCanceled && st.ByState[job.StatePending]+st.ByState[job.StateHeld] == 0
	})
}

// A crash in the middle of an upload registers nothing: after the restart the run is
// discarded and its letters and documents are gone.
func TestBulkUploadCutByCrashRegistersNothing(t *testing.T) {
	t.Parallel()
	g := startBulkGW(t, []bulkPrinter{{"a", 10000}})
	dir := filepath.Join(t.TempDir(), "letters")
	writeLetters(t, dir, 3000, func(int) int { return 1 })
	done := make(chan error, 1)
	go func() {
		_, _, err := g.cli("bulk", "submit", "--name", "cut", "--dir", dir, "--batch", "100")
		done <- err
	}()
	var up *queue.RunStatus
	for deadline := time.Now().Add(60 * time.Second); up == nil; {
		runs, _ := g.api.Runs(g.ctx(), nil)
		if len(runs) == 1 && runs[0].State == job.RunUploading && runs[0].Letters >= 200 {
			up = runs[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no upload in progress seen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	g.kill()
	if err := <-done; err == nil {
		t.Fatal("bulk submit succeeded although the gateway was killed during the upload")
	}
	g.start()
	r, err := g.api.RunStatus(g.ctx(), up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != job.RunDiscarded || r.Total != 0 {
		t.Fatalf("after the restart the cut upload is %s with %d letters; want discarded with none", r.State, r.Total)
	}
	jobs, err := g.api.Jobs(g.ctx(), map[string][]string{"run": {strconv.FormatInt(up.ID, 10)}})
	if err != nil || len(jobs) != 0 {
		t.Fatalf("%d jobs of the cut run remain (%v)", len(jobs), err)
	}
	if n := spooltest.Documents(t, g.spool); n != 0 {
		t.Fatalf("%d documents remain in the spool", n)
	}
}
