// Bulk runs as a service: registering a run's letters (staged in parallel, registered in
// batches, made schedulable by one commit), starting runs at their time, noticing finished
// ones, pause/resume/cancel/reprint, and per-printer progress with an ETA.
package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// Errors of bulk runs the API maps to answers.
var (
	// ErrBadLetter: a letter is not a readable PDF; the whole batch is refused.
	ErrBadLetter = errors.New("queue: letter refused")
	// ErrBatchTooLarge: more letters in one upload request than MaxBatchLetters.
	ErrBatchTooLarge = errors.New("queue: too many letters in one batch")
	// ErrBadSchedule: the cron spec or the drop folder is not usable.
	ErrBadSchedule = errors.New("queue: bad schedule")
	// ErrBadRun: the request for a run is malformed (no name): a mistake in the request, not
	// a state of anything that could change.
	ErrBadRun = errors.New("queue: bad run request")
)

// MaxBatchLetters bounds one AddLetters batch: one commit of this many rows stays short
// enough not to hold up the scheduler's own writes for long.
const MaxBatchLetters = 1000

// BulkOptions configure the bulk-run service. Scheduler is required.
type BulkOptions struct {
	Scheduler *Scheduler
	// StageWorkers stage letters in parallel. Each letter is fsynced on its own (the spool's
	// durability rule); concurrent fsyncs share the file system's journal commits, which on
	// the test machine makes 8 workers about 10 times faster than one. Default 8.
	StageWorkers int
	// MaxLetterBytes: a letter up to this size is read into memory and staged by a worker;
	// a larger one is staged straight from the stream. Default 8 MiB.
	MaxLetterBytes int64
	// UploadTimeout discards an upload that sent no batch for this long. Default 1 h.
	UploadTimeout time.Duration
	// LateAfter: a run started or a schedule fired this long after its time is reported late.
	// Default 1 min.
	LateAfter time.Duration
	// Settle: files in a drop folder modified less than this long ago (real time) may still be
	// being copied and wait for the next firing. Default 2 s; negative disables.
	Settle time.Duration
	// Now is the clock of run start times and cron firings; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Bulk is the bulk-run service. Run drives its timers; its methods are safe for concurrent use.
type Bulk struct {
	opts    BulkOptions
	s       *Scheduler
	store   Store
	log     *slog.Logger
	now     func() time.Time
	parser  cron.Parser
	counter *document.Counter

	wake      chan struct{} // a run changed: re-plan start timers
	schedWake chan struct{} // schedules changed
	fireMu    sync.Mutex    // one schedule firing at a time
}

// NewBulk validates the options and builds the service.
func NewBulk(o BulkOptions) (*Bulk, error) {
	if o.Scheduler == nil {
		return nil, errors.New("queue: bulk: no scheduler")
	}
	if o.StageWorkers <= 0 {
		o.StageWorkers = 8
	}
	if o.MaxLetterBytes <= 0 {
		o.MaxLetterBytes = 8 << 20
	}
	if o.UploadTimeout <= 0 {
		o.UploadTimeout = time.Hour
	}
	if o.LateAfter <= 0 {
		o.LateAfter = time.Minute
	}
	if o.Settle == 0 {
		o.Settle = 2 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = o.Scheduler.log
	}
	return &Bulk{
		opts: o, s: o.Scheduler, store: o.Scheduler.store, log: o.Logger.With("component", "bulk"), now: o.Now,
		// Five fields as cron(8) has them, or six with seconds first (tests, and sub-minute
		// drop folders); descriptors such as @hourly too.
		parser:  cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor),
		counter: document.NewCounter(),
		wake:    make(chan struct{}, 1), schedWake: make(chan struct{}, 1),
	}, nil
}

func poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Recover discards uploads a previous process left uncommitted. Call it before serving.
func (b *Bulk) Recover(ctx context.Context) error {
	ids, err := b.store.RecoverRuns(ctx)
	if err != nil {
		return fmt.Errorf("queue: bulk recovery: %w", err)
	}
	if len(ids) > 0 {
		b.log.Warn("discarded uploads interrupted by the restart", "runs", ids)
	}
	return nil
}

// sweepEvery bounds how long a finished run waits to be marked completed, and how often stale
// uploads are looked for.
const sweepEvery = 500 * time.Millisecond

// Run starts scheduled runs at their time, marks finished runs completed, keeps paused runs
// held, discards stale uploads and fires the cron schedules, until ctx ends.
func (b *Bulk) Run(ctx context.Context) error {
	changes, stop := b.s.Subscribe()
	defer stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.scheduleLoop(ctx)
	}()
	defer wg.Wait()
	tick := time.NewTicker(sweepEvery)
	defer tick.Stop()
	var startTimer *time.Timer
	var startC <-chan time.Time
	dirty := true
	for {
		if dirty {
			dirty = false
			next := b.sweep(ctx)
			if startTimer != nil {
				startTimer.Stop()
			}
			startC = nil
			if !next.IsZero() {
				startTimer = time.NewTimer(max(next.Sub(b.now()), 0))
				startC = startTimer.C
			}
		}
		select {
		case <-ctx.Done():
			if startTimer != nil {
				startTimer.Stop()
			}
			return nil
		case <-changes:
			// Coalesced with the ticker: a busy run signals on every letter.
			select {
			case <-tick.C:
				dirty = true
			case <-ctx.Done():
			}
		case <-b.wake:
			dirty = true
		case <-startC:
			dirty = true
		case <-tick.C:
			// Stale uploads and pause enforcement need no event to be due.
			dirty = true
		}
	}
}

// sweep does the periodic work once and returns when the next scheduled run starts (zero when
// none is scheduled). Errors are logged: the next sweep tries again.
func (b *Bulk) sweep(ctx context.Context) time.Time {
	now := b.now()
	var next time.Time
	scheduled, err := b.store.Runs(ctx, job.RunFilter{States: []job.RunState{job.RunScheduled}})
	if err != nil {
		b.log.Error("list scheduled runs", "err", err)
	}
	for _, r := range scheduled {
		if r.StartAt.After(now) {
			if next.IsZero() || r.StartAt.Before(next) {
				next = r.StartAt
			}
			continue
		}
		msg := fmt.Sprintf("run %d started: its start time %s was reached", r.ID, r.StartAt.Format(time.RFC3339))
		if late := now.Sub(r.StartAt); late > b.opts.LateAfter {
			msg = fmt.Sprintf("run %d started late: it was due at %s, %s ago (gateway down or busy)", r.ID,
				r.StartAt.Format(time.RFC3339), late.Round(time.Second))
		}
		// Every gateway of a cluster sweeps; the run's state, checked in the store's
		// transaction, lets exactly one of them start it. The others hear ErrRunState.
		if _, err := b.store.ActivateRun(ctx, r.ID, msg); err != nil {
			if !errors.Is(err, job.ErrRunState) {
				b.log.Error("start scheduled run", "run", r.ID, "err", err)
			}
			continue
		}
		b.log.Info(msg, "run", r.ID)
		b.s.changed()
	}
	if n, err := b.store.HoldPausedRuns(ctx); err != nil {
		b.log.Error("hold letters of paused runs", "err", err)
	} else if n > 0 {
		b.log.Info("held letters that came back to a paused run", "letters", n)
	}
	done, err := b.store.FinishRuns(ctx)
	if err != nil {
		b.log.Error("finish runs", "err", err)
	}
	for _, r := range done {
		b.log.Info("bulk run completed", "run", r.ID, "name", r.Name, "letters", r.Letters)
	}
	if len(done) > 0 {
		b.s.notify.signal()
	}
	stale, err := b.store.StaleUploads(ctx, now.Add(-b.opts.UploadTimeout))
	if err != nil {
		b.log.Error("list stale uploads", "err", err)
	}
	for _, r := range stale {
		if err := b.store.DiscardRun(ctx, r.ID, fmt.Sprintf("no batch for %s", b.opts.UploadTimeout)); err != nil {
			b.log.Error("discard stale upload", "run", r.ID, "err", err)
		} else {
			b.log.Warn("discarded a stale upload", "run", r.ID, "letters", r.Letters)
		}
	}
	return next
}

// RunRequest describes a new run.
type RunRequest struct {
	Name string
	// Printer is the virtual printer; "" means the default one.
	Printer    string
	Owner      string
	OriginHost string
	Source     string
	// StartAt holds the run's letters until then; zero prints at once.
	StartAt    time.Time
	Attributes job.Attributes
	// Separator asks for a banner page per printer batch: stored, not printed yet.
	Separator bool
	// IdempotencyKey makes a retried request return the run the first one made.
	IdempotencyKey string
}

// CreateRun registers a run in state uploading after checking that its virtual printer exists
// and that some pool member can print its letters as asked.
func (b *Bulk) CreateRun(ctx context.Context, rq RunRequest) (*job.Run, error) {
	nr, err := b.newRun(rq)
	if err != nil {
		return nil, err
	}
	r, err := b.store.CreateRun(ctx, nr)
	if err != nil {
		return nil, err
	}
	b.s.notify.signal()
	return r, nil
}

func (b *Bulk) newRun(rq RunRequest) (job.NewRun, error) {
	if strings.TrimSpace(rq.Name) == "" {
		return job.NewRun{}, fmt.Errorf("%w: a run needs a name", ErrBadRun)
	}
	v, err := b.s.Virtual(rq.Printer)
	if err != nil {
		return job.NewRun{}, err
	}
	rq.Attributes.DocumentFormat = document.PDF
	if len(b.s.SupportedBy(v.Name, rq.Attributes)) == 0 {
		return job.NewRun{}, fmt.Errorf("%w (virtual printer %s)", ErrUnsupported, v.Name)
	}
	return job.NewRun{Name: rq.Name, VirtualPrinter: v.Name, Owner: rq.Owner, OriginHost: rq.OriginHost,
		Source: rq.Source, StartAt: rq.StartAt, Attributes: rq.Attributes, Separator: rq.Separator,
		IdempotencyKey: rq.IdempotencyKey}, nil
}

// LetterSource yields letters in sequence order. Next returns io.EOF after the last letter;
// the reader it returns is only valid until the next call.
type LetterSource interface {
	Next() (source string, r io.Reader, err error)
}

// UploadLetters stages the letters src yields and registers them as letters firstSeq, ... of
// an uploading run, in one commit. Any failure (a letter that is not a readable PDF, a full
// disk, a batch that does not continue the run) registers none of them.
func (b *Bulk) UploadLetters(ctx context.Context, runID, firstSeq int64, src LetterSource) (*job.Run, error) {
	r, err := b.store.Run(ctx, runID)
	if err != nil {
		return nil, err
	}
	if r.State != job.RunUploading {
		return nil, &job.RunStateError{RunID: runID, State: r.State, Action: "add letters"}
	}
	if want := int64(r.Letters) + 1; want != firstSeq {
		// Cheap refusal before staging anything; AddLetters checks again in its commit.
		return nil, &job.SequenceError{RunID: runID, Want: want, Got: firstSeq}
	}
	letters, err := b.stageLetters(ctx, src, MaxBatchLetters, true)
	if err != nil {
		return nil, err
	}
	if len(letters) == 0 {
		return r, nil
	}
	r, err = b.store.AddLetters(ctx, runID, firstSeq, letters)
	if err != nil {
		discardLetters(letters)
		return nil, err
	}
	return r, nil
}

func discardLetters(ls []job.NewLetter) {
	for _, l := range ls {
		l.Doc.Discard()
	}
}

// stageLetters reads src to the end and stages every letter with StageWorkers in parallel,
// keeping their order. strict refuses letters whose pages could not be counted (not a readable
// PDF). On error nothing staged is left behind.
func (b *Bulk) stageLetters(ctx context.Context, src LetterSource, limit int, strict bool) ([]job.NewLetter, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	type item struct {
		i      int
		source string
		data   []byte
	}
	var (
		mu      sync.Mutex
		letters []job.NewLetter
		wg      sync.WaitGroup
	)
	fail := func(err error) { cancel(err) }
	put := func(i int, source string, st *job.Staged, err error) {
		if err == nil && strict && st.PagesEstimated {
			err = fmt.Errorf("%w: letter %d (%s) is not a readable PDF", ErrBadLetter, i+1, source)
		}
		mu.Lock()
		defer mu.Unlock()
		if st != nil {
			letters[i] = job.NewLetter{Source: source, Doc: st}
		}
		if err != nil {
			fail(err)
		}
	}
	stage := func(i int, source string, r io.Reader) {
		st, err := b.store.Stage(ctx, r, source, document.PDF)
		if err != nil {
			err = fmt.Errorf("letter %d (%s): %w", i+1, source, err)
		}
		put(i, source, st, err)
	}
	items := make(chan item)
	for range b.opts.StageWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				if ctx.Err() != nil {
					continue
				}
				stage(it.i, it.source, bytes.NewReader(it.data))
			}
		}()
	}
	read := func() error {
		for i := 0; ; i++ {
			source, r, err := src.Next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%w: reading letter %d: %v", job.ErrTruncated, i+1, err)
			}
			if i >= limit {
				return fmt.Errorf("%w: more than %d", ErrBatchTooLarge, limit)
			}
			if source == "" {
				source = "letter-" + strconv.Itoa(i+1)
			}
			data, err := io.ReadAll(io.LimitReader(r, b.opts.MaxLetterBytes+1))
			if err != nil {
				return fmt.Errorf("%w: reading letter %d (%s): %v", job.ErrTruncated, i+1, source, err)
			}
			if f := document.Sniff(data); f != document.PDF {
				return fmt.Errorf("%w: letter %d (%s) is not a PDF (%s)", ErrBadLetter, i+1, source, f)
			}
			mu.Lock()
			letters = append(letters, job.NewLetter{Source: source})
			mu.Unlock()
			if int64(len(data)) > b.opts.MaxLetterBytes {
				// Too big to hold: stage it here, from the stream, while the workers go on.
				stage(i, source, io.MultiReader(bytes.NewReader(data), r))
				continue
			}
			select {
			case items <- item{i: i, source: source, data: data}:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
	}
	rerr := read()
	close(items)
	wg.Wait()
	err := rerr
	if err == nil {
		err = context.Cause(ctx)
	}
	if err == nil {
		for i, l := range letters {
			if l.Doc == nil {
				err = fmt.Errorf("queue: letter %d (%s) was not staged", i+1, l.Source)
				break
			}
		}
	}
	if err != nil {
		for _, l := range letters {
			if l.Doc != nil {
				l.Doc.Discard()
			}
		}
		return nil, err
	}
	return letters, nil
}

// CommitRun makes an uploaded run schedulable (or scheduled, when it has a start time).
//
// Committing a run that is committed already answers the run as it is and does nothing more: a
// client whose answer was lost (its gateway died between the commit and the reply) sends the
// commit again, through the front door to another gateway, and must hear "done", not a
// conflict that would have an operator submit the whole run a second time. A canceled or
// discarded run stays refused.
func (b *Bulk) CommitRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	r, err := b.store.CommitRun(ctx, id, job.CommitOptions{Actor: actor})
	if se := (*job.RunStateError)(nil); errors.As(err, &se) {
		if cur, gerr := b.store.Run(ctx, id); gerr == nil && runCommitted(cur.State) {
			return cur, nil
		}
	}
	if err != nil {
		return nil, err
	}
	b.log.Info("bulk run committed", "run", r.ID, "name", r.Name, "letters", r.Letters, "pages", r.Pages,
		"state", r.State, "actor", actor)
	poke(b.wake)
	b.s.changed()
	return r, nil
}

// runCommitted: the run was committed (and not given up since).
func runCommitted(s job.RunState) bool {
	switch s {
	case job.RunScheduled, job.RunActive, job.RunPaused, job.RunCompleted:
		return true
	}
	return false
}

// DiscardRun drops an upload that will not be committed (the client gave up).
func (b *Bulk) DiscardRun(ctx context.Context, id int64, actor string) error {
	if err := b.store.DiscardRun(ctx, id, "upload abandoned by "+actor); err != nil {
		return err
	}
	b.s.notify.signal()
	return nil
}

// PauseRun holds the run's letters that are not yet at a printer.
func (b *Bulk) PauseRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	r, err := b.store.PauseRun(ctx, id, actor)
	if err != nil {
		return nil, err
	}
	poke(b.wake)
	b.s.changed()
	return r, nil
}

// ResumeRun releases a paused run's letters.
func (b *Bulk) ResumeRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	r, err := b.store.ResumeRun(ctx, id, actor)
	if err != nil {
		return nil, err
	}
	poke(b.wake)
	b.s.changed()
	return r, nil
}

// CancelRun cancels every letter of the run that has not printed, at the printer too for
// those already there. An upload in progress is discarded instead.
func (b *Bulk) CancelRun(ctx context.Context, id int64, actor string) (*job.Run, error) {
	r, err := b.store.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.State == job.RunUploading {
		if err := b.DiscardRun(ctx, id, actor); err != nil {
			return nil, err
		}
		return b.store.Run(ctx, id)
	}
	r, inflight, err := b.store.CancelRun(ctx, id, actor)
	if err != nil {
		return nil, err
	}
	for _, jid := range inflight {
		if err := b.s.CancelJob(ctx, jid, actor); err != nil && !errors.Is(err, ErrNotPossible) {
			b.log.Warn("cancel letter of canceled run", "run", id, "job", jid, "err", err)
		}
	}
	poke(b.wake)
	b.s.changed()
	return r, nil
}

// MaxReprint bounds one reprint request.
const MaxReprint = 10000

// Reprint queues new jobs for the run's letters in ranges (inclusive sequence numbers), cloned
// from the stored documents (their hash is checked) and flagged as reprints.
func (b *Bulk) Reprint(ctx context.Context, id int64, ranges [][2]int64, actor string) ([]*job.Job, error) {
	if len(ranges) == 0 {
		return nil, fmt.Errorf("%w: no letters selected", ErrNotPossible)
	}
	originals, err := b.store.LetterJobs(ctx, id, ranges, MaxReprint)
	if err != nil {
		return nil, err
	}
	if len(originals) == 0 {
		return nil, fmt.Errorf("%w: run %d has no letters in %s", ErrNotPossible, id, FormatRanges(ranges))
	}
	for _, j := range originals {
		if len(j.Documents) == 0 || !j.Documents[0].Available() {
			return nil, fmt.Errorf("%w: the document of letter %d (job %d) was removed by retention", ErrNotPossible, j.Seq, j.ID)
		}
	}
	// The letters are read back from the spool (inline or files).
	src := &listSource{open: func(i int) (io.ReadCloser, error) { return b.store.OpenDocument(ctx, originals[i].Documents[0]) }}
	for _, j := range originals {
		src.names = append(src.names, j.Name)
	}
	letters, err := b.stageLetters(ctx, src, MaxReprint, false)
	src.close()
	if err != nil {
		return nil, err
	}
	reprints := make([]job.Reprint, len(letters))
	for i, l := range letters {
		if l.Doc.SHA256 != originals[i].Documents[0].SHA256 {
			discardLetters(letters)
			return nil, fmt.Errorf("queue: letter %d (job %d): stored document no longer matches its hash", originals[i].Seq, originals[i].ID)
		}
		reprints[i] = job.Reprint{Of: originals[i].ID, Seq: originals[i].Seq, NewLetter: l}
	}
	jobs, err := b.store.AddReprints(ctx, id, reprints, actor)
	if err != nil {
		discardLetters(letters)
		return nil, err
	}
	b.log.Info("letters queued for reprint", "run", id, "letters", len(jobs), "ranges", FormatRanges(ranges), "actor", actor)
	poke(b.wake)
	b.s.changed()
	return jobs, nil
}

// listSource yields a list of letters, each opened when its turn comes.
type listSource struct {
	names []string
	open  func(i int) (io.ReadCloser, error)
	i     int
	cur   io.Closer
}

// fileSource yields the files at paths as letters named names.
func fileSource(paths, names []string) *listSource {
	return &listSource{names: names, open: func(i int) (io.ReadCloser, error) { return os.Open(paths[i]) }}
}

func (f *listSource) Next() (string, io.Reader, error) {
	f.close()
	if f.i >= len(f.names) {
		return "", nil, io.EOF
	}
	r, err := f.open(f.i)
	if err != nil {
		return "", nil, err
	}
	f.cur = r
	name := f.names[f.i]
	f.i++
	return name, r, nil
}

func (f *listSource) close() {
	if f.cur != nil {
		f.cur.Close()
		f.cur = nil
	}
}

// GetRun returns one run.
func (b *Bulk) GetRun(ctx context.Context, id int64) (*job.Run, error) { return b.store.Run(ctx, id) }

// Runs lists runs newest first.
func (b *Bulk) Runs(ctx context.Context, f job.RunFilter) ([]*job.Run, error) {
	return b.store.Runs(ctx, f)
}

// RunPrinter is one printer's share of a run.
type RunPrinter struct {
	Printer   string `json:"printer"`
	Letters   int    `json:"letters"`
	Done      int    `json:"done"`
	Pages     int    `json:"pages"`
	PagesDone int    `json:"pages_done"`
	// FirstSeq and LastSeq bound the sequence numbers sent to this printer.
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
	// Ranges lists them as "1-40, 44, 47-90" (only with RunStatus detail).
	Ranges string `json:"ranges,omitempty"`
	// MayHoldDuplicates lists the letters whose uncertain attempt was at this printer and that
	// no operator has found printed once: its stack may hold a second copy of each (only with
	// RunStatus detail).
	MayHoldDuplicates string `json:"may_hold_duplicates,omitempty"`
}

// RunStatus is a run with its progress.
type RunStatus struct {
	*job.Run
	// ByState counts letters (reprints included) by job state.
	ByState   map[job.State]int `json:"letters_by_state"`
	Done      int               `json:"letters_done"`
	Total     int               `json:"letters_total"`
	PagesDone int               `json:"pages_done"`
	PagesLeft int               `json:"pages_left"`
	Reprints  int               `json:"reprints"`
	// Duplicates counts letters flagged possible-duplicate.
	Duplicates int `json:"possible_duplicates"`
	// Printers is each printer's share; letters not yet at a printer are not in it.
	Printers []RunPrinter `json:"printers"`
	// ETA is when the run should be printed, from the pages left and the speed of the pool's
	// usable printers; zero when unknown (paused, nothing usable) or finished.
	ETA time.Time `json:"eta,omitzero"`
}

// RunStatus returns a run with its per-printer progress and ETA. detail adds each printer's
// sequence ranges, which reads the whole run.
func (b *Bulk) RunStatus(ctx context.Context, id int64, detail bool) (*RunStatus, error) {
	r, err := b.store.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	tallies, err := b.store.RunTallies(ctx, id)
	if err != nil {
		return nil, err
	}
	st := &RunStatus{Run: r, ByState: map[job.State]int{}, Printers: []RunPrinter{}}
	per := map[string]*RunPrinter{}
	for _, t := range tallies {
		st.ByState[t.State] += t.Letters
		st.Total += t.Letters
		if t.Reprint {
			st.Reprints += t.Letters
		}
		switch {
		case t.State == job.StateCompleted:
			st.Done += t.Letters
			st.PagesDone += t.Pages
		case !t.State.Final():
			st.PagesLeft += t.Pages
		}
		if t.Printer == "" { // not at a printer (yet, or any more)
			continue
		}
		p := per[t.Printer]
		if p == nil {
			p = &RunPrinter{Printer: t.Printer, FirstSeq: t.FirstSeq, LastSeq: t.LastSeq}
			per[t.Printer] = p
		}
		p.Letters += t.Letters
		p.Pages += t.Pages
		if t.State == job.StateCompleted {
			p.Done += t.Letters
			p.PagesDone += t.Pages
		}
		p.FirstSeq = min(p.FirstSeq, t.FirstSeq)
		p.LastSeq = max(p.LastSeq, t.LastSeq)
	}
	if st.Duplicates, err = b.store.CountJobs(ctx, job.JobFilter{RunID: id, PossibleDuplicate: true}); err != nil {
		return nil, err
	}
	if detail {
		ranges, err := b.printerRanges(ctx, id)
		if err != nil {
			return nil, err
		}
		for name, rs := range ranges {
			if p := per[name]; p != nil {
				p.Ranges = FormatRanges(rs)
			}
		}
		suspect, err := b.suspectRanges(ctx, id)
		if err != nil {
			return nil, err
		}
		for name, rs := range suspect {
			p := per[name]
			if p == nil {
				// Every letter it held went elsewhere; its stack is still one to check.
				p = &RunPrinter{Printer: name}
				per[name] = p
			}
			p.MayHoldDuplicates = FormatRanges(rs)
		}
	}
	for _, p := range per {
		st.Printers = append(st.Printers, *p)
	}
	sort.Slice(st.Printers, func(i, j int) bool { return st.Printers[i].Printer < st.Printers[j].Printer })
	st.ETA = b.eta(r, st.PagesLeft)
	return st, nil
}

// eta: the pages left over the summed speed of the pool members that can take work now. The
// run shares the printers with interactive jobs, so this is the earliest it can be done.
func (b *Bulk) eta(r *job.Run, pagesLeft int) time.Time {
	if pagesLeft == 0 || r.State == job.RunPaused || r.State.Final() || r.State == job.RunUploading {
		return time.Time{}
	}
	v, err := b.s.Virtual(r.VirtualPrinter)
	if err != nil {
		return time.Time{}
	}
	ppm := 0
	for _, p := range b.s.Printers() {
		usable := p.State.Usable() && !p.Drained
		for _, m := range v.Pool {
			if m == p.Name && usable {
				ppm += p.PPM
			}
		}
	}
	if ppm == 0 {
		return time.Time{}
	}
	start := b.now()
	if r.State == job.RunScheduled && r.StartAt.After(start) {
		start = r.StartAt
	}
	return start.Add(time.Duration(float64(pagesLeft) / float64(ppm) * float64(time.Minute)))
}

// printerRanges reads the run in sequence order and returns, per printer, the ranges of
// sequence numbers of its letters (reprints left out).
func (b *Bulk) printerRanges(ctx context.Context, id int64) (map[string][][2]int64, error) {
	out := map[string][][2]int64{}
	err := b.Manifest(ctx, id, func(l job.Letter) error {
		if l.Printer == "" || l.Reprint {
			return nil
		}
		rs := out[l.Printer]
		if n := len(rs); n > 0 && rs[n-1][1] >= l.Seq-1 {
			rs[n-1][1] = max(rs[n-1][1], l.Seq)
		} else {
			rs = append(rs, [2]int64{l.Seq, l.Seq})
		}
		out[l.Printer] = rs
		return nil
	})
	return out, err
}

// Manifest calls fn for every letter of the run (reprints after their original) in sequence
// order, reading the spool a page at a time so that a 100,000-letter run streams.
func (b *Bulk) Manifest(ctx context.Context, id int64, fn func(job.Letter) error) error {
	if _, err := b.store.Run(ctx, id); err != nil {
		return err
	}
	var afterSeq, afterID int64
	for {
		page, err := b.store.RunLetters(ctx, id, afterSeq, afterID, 1000)
		if err != nil {
			return err
		}
		for _, l := range page {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		afterSeq, afterID = page[len(page)-1].Seq, page[len(page)-1].JobID
	}
}

// ParseRanges reads "120-130,200,7-9" into inclusive ranges.
func ParseRanges(s string) ([][2]int64, error) {
	var out [][2]int64
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		if err != nil || a < 1 {
			return nil, fmt.Errorf("%w: letters %q: want N or N-M", ErrNotPossible, part)
		}
		z := a
		if isRange {
			if z, err = strconv.ParseInt(strings.TrimSpace(hi), 10, 64); err != nil || z < a {
				return nil, fmt.Errorf("%w: letters %q: want N-M with N <= M", ErrNotPossible, part)
			}
		}
		out = append(out, [2]int64{a, z})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no letters given", ErrNotPossible)
	}
	return out, nil
}

// FormatRanges writes ranges as "1-40, 44, 47-90", shortened after 20 ranges.
func FormatRanges(rs [][2]int64) string {
	var parts []string
	for i, r := range rs {
		if i == 20 {
			parts = append(parts, fmt.Sprintf("… (%d more)", len(rs)-20))
			break
		}
		if r[0] == r[1] {
			parts = append(parts, strconv.FormatInt(r[0], 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ", ")
}
