// An in-process fake of the Service (spool + queue) for unit tests, the fuzz target and the
// ipptool shake-out: it keeps documents in memory, follows the spool's state rules and counts
// every staged document until it is submitted or discarded.
package ipp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

type fakeService struct {
	mu sync.Mutex
	// printers by name; defaultName is what "" resolves to.
	printers    map[string]*PrinterInfo
	defaultName string
	jobs        map[int64]*job.Job
	nextID      int64
	// docs holds the bytes of every staged document; live are staged but neither attached
	// nor discarded.
	docs map[*job.Staged][]byte
	live map[*job.Staged]bool
	// maxDoc simulates the spool's MaxDocumentBytes (0: none).
	maxDoc int64
	// completeAfter makes pending jobs complete that long after creation, when > 0 (checked
	// lazily against now, so no goroutine runs).
	completeAfter time.Duration
	now           func() time.Time
	// stageErr and submitErr, when set, are returned by Stage (after reading) and Submit.
	stageErr, submitErr error
	// calls records operator and identify calls, e.g. "pause letters by root".
	calls []string
}

func newFakeService() *fakeService {
	f := &fakeService{
		printers:    map[string]*PrinterInfo{},
		jobs:        map[int64]*job.Job{},
		docs:        map[*job.Staged][]byte{},
		live:        map[*job.Staged]bool{},
		nextID:      1,
		now:         time.Now,
		defaultName: "letters",
	}
	f.printers["letters"] = &PrinterInfo{
		Name:      "letters",
		UUID:      "3f0c6a4e-8a7b-4c1d-9e2f-0123456789ab",
		Info:      "Letters",
		Location:  "Mail room",
		MakeModel: "printgate Virtual Printer",
		State:     PrinterIdle,
		Accepting: true,
		UpSince:   time.Now().Add(-time.Hour),
		Caps: Capabilities{
			Formats:    []string{document.PDF, document.JPEG, document.PWGRaster, document.URF},
			Media:      []string{"iso_a4_210x297mm", "na_letter_8.5x11in", "na_index-4x6_4x6in"},
			Sides:      []string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"},
			ColorModes: []string{"monochrome", "color"},
			PPM:        60,
		},
	}
	f.printers["mono"] = &PrinterInfo{
		Name:      "mono",
		UUID:      "7b1d2c3e-4f50-4a6b-8c7d-9e0f1a2b3c4d",
		State:     PrinterIdle,
		Accepting: true,
		Caps: Capabilities{
			Formats: []string{document.PDF},
			Media:   []string{"iso_a4_210x297mm"},
		},
	}
	return f
}

func (f *fakeService) VirtualPrinter(_ context.Context, name string) (*PrinterInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		name = f.defaultName
	}
	p, ok := f.printers[name]
	if !ok {
		return nil, fmt.Errorf("fake: printer %q: %w", name, ErrNotFound)
	}
	cp := *p
	return &cp, nil
}

func (f *fakeService) QueuedJobs(_ context.Context, name string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if name == "" {
		name = f.defaultName
	}
	if _, ok := f.printers[name]; !ok {
		return 0, fmt.Errorf("fake: printer %q: %w", name, ErrNotFound)
	}
	n := 0
	for _, j := range f.jobs {
		f.advance(j)
		if j.VirtualPrinter == name && !j.State.Final() {
			n++
		}
	}
	return n, nil
}

func (f *fakeService) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	src := r
	if f.maxDoc > 0 {
		src = io.LimitReader(r, f.maxDoc+1)
	}
	data, err := io.ReadAll(src)
	if err != nil {
		return nil, fmt.Errorf("fake: stage: %w: %v", job.ErrTruncated, err)
	}
	if f.maxDoc > 0 && int64(len(data)) > f.maxDoc {
		return nil, fmt.Errorf("fake: stage: %w", job.ErrTooLarge)
	}
	if len(data) == 0 {
		return nil, job.ErrEmptyDocument
	}
	if f.stageErr != nil {
		return nil, f.stageErr
	}
	sum := sha256.Sum256(data)
	st := &job.Staged{Name: name, Format: format, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Pages: 1}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.docs[st] = data
	f.live[st] = true
	return st, nil
}

func (f *fakeService) Discard(doc *job.Staged) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, doc)
}

// leaked counts staged documents neither attached to a job nor discarded.
func (f *fakeService) leaked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live)
}

func (f *fakeService) newJob(nj job.NewJob, state job.State) *job.Job {
	id := f.nextID
	f.nextID++
	j := &job.Job{
		ID: id, UUID: fmt.Sprintf("00000000-0000-4000-8000-%012d", id), VirtualPrinter: nj.VirtualPrinter,
		Name: nj.Name, Owner: nj.Owner, OriginHost: nj.OriginHost, Origin: nj.Origin, Lane: nj.Lane,
		State: state, Attributes: nj.Attributes, Created: f.now(), Updated: f.now(),
	}
	f.jobs[id] = j
	return j
}

func (f *fakeService) attach(j *job.Job, docs []*job.Staged) error {
	for _, d := range docs {
		if !f.live[d] {
			return errors.New("fake: document is not staged (discarded or attached already)")
		}
	}
	for _, d := range docs {
		delete(f.live, d)
		j.Documents = append(j.Documents, job.Document{JobID: j.ID, Seq: len(j.Documents) + 1, Name: d.Name,
			Format: d.Format, Size: d.Size, SHA256: d.SHA256, Pages: d.Pages})
		j.Pages += d.Pages
	}
	return nil
}

func (f *fakeService) Submit(_ context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	if len(docs) == 0 {
		return nil, errors.New("fake: submit without documents")
	}
	state := job.StatePending
	if nj.Hold {
		state = job.StateHeld
	}
	j := f.newJob(nj, state)
	if err := f.attach(j, docs); err != nil {
		delete(f.jobs, j.ID)
		return nil, err
	}
	cp := *j
	return &cp, nil
}

func (f *fakeService) Create(_ context.Context, nj job.NewJob) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := *f.newJob(nj, job.StateReceived)
	return &cp, nil
}

func (f *fakeService) AddDocument(_ context.Context, jobID int64, doc *job.Staged, last bool) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[jobID]
	if !ok {
		return nil, job.ErrNotFound
	}
	if j.State != job.StateReceived {
		return nil, &job.TransitionError{JobID: jobID, From: j.State, To: job.StatePending}
	}
	if err := f.attach(j, []*job.Staged{doc}); err != nil {
		return nil, err
	}
	if last {
		j.State, j.Created = job.StatePending, f.now()
	}
	cp := *j
	return &cp, nil
}

func (f *fakeService) CloseJob(_ context.Context, jobID int64) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[jobID]
	if !ok {
		return nil, job.ErrNotFound
	}
	if j.State != job.StateReceived {
		return nil, &job.TransitionError{JobID: jobID, From: j.State, To: job.StatePending}
	}
	if len(j.Documents) == 0 {
		j.State, j.StateReason, j.Finished = job.StateAborted, "closed without documents", f.now()
	} else {
		j.State = job.StatePending
	}
	cp := *j
	return &cp, nil
}

// advance completes pending jobs completeAfter after creation.
func (f *fakeService) advance(j *job.Job) {
	if f.completeAfter > 0 && j.State == job.StatePending && f.now().Sub(j.Created) >= f.completeAfter {
		j.State, j.Started, j.Finished, j.ImpressionsDone = job.StateCompleted, j.Created, f.now(), j.Pages
	}
}

func (f *fakeService) Job(_ context.Context, id int64) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil, fmt.Errorf("fake: job %d: %w", id, job.ErrNotFound)
	}
	f.advance(j)
	cp := *j
	return &cp, nil
}

func (f *fakeService) Jobs(_ context.Context, q JobQuery) ([]*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var open, done []*job.Job
	for _, j := range f.jobs {
		f.advance(j)
		if j.VirtualPrinter != q.Printer || (q.Owner != "" && j.Owner != q.Owner) ||
			(q.States != nil && !slices.Contains(q.States, j.State)) {
			continue
		}
		cp := *j
		if j.State.Final() {
			done = append(done, &cp)
		} else {
			open = append(open, &cp)
		}
	}
	sort.Slice(open, func(a, b int) bool { return open[a].ID < open[b].ID })
	sort.Slice(done, func(a, b int) bool { return done[a].ID > done[b].ID })
	out := append(open, done...)
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (f *fakeService) transition(id int64, to job.State, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return job.ErrNotFound
	}
	f.advance(j)
	if !job.CanTransition(j.State, to) {
		return &job.TransitionError{JobID: id, From: j.State, To: to}
	}
	j.State = to
	if to.Final() {
		j.Finished = f.now()
	}
	f.calls = append(f.calls, fmt.Sprintf("%s %d by %s", to, id, actor))
	return nil
}

func (f *fakeService) CancelJob(_ context.Context, id int64, actor string) error {
	return f.transition(id, job.StateCanceled, actor)
}

func (f *fakeService) HoldJob(_ context.Context, id int64, actor string) error {
	return f.transition(id, job.StateHeld, actor)
}

func (f *fakeService) ReleaseJob(_ context.Context, id int64, actor string) error {
	return f.transition(id, job.StatePending, actor)
}

func (f *fakeService) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeService) PausePrinter(_ context.Context, name, actor string) error {
	return f.record("pause %s by %s", name, actor)
}

func (f *fakeService) ResumePrinter(_ context.Context, name, actor string) error {
	return f.record("resume %s by %s", name, actor)
}

func (f *fakeService) Identify(_ context.Context, name string, actions []string) error {
	return f.record("identify %s %v", name, actions)
}

// callLog returns a copy of the recorded calls.
func (f *fakeService) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// job returns a copy of a stored job (nil when absent), without advancing it.
func (f *fakeService) job(id int64) *job.Job {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok {
		return nil
	}
	cp := *j
	return &cp
}

// document returns the bytes of a job's n-th document (0-based).
func (f *fakeService) document(id int64, n int) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	j, ok := f.jobs[id]
	if !ok || n >= len(j.Documents) {
		return nil
	}
	for st, data := range f.docs {
		if st.SHA256 == j.Documents[n].SHA256 && st.Size == j.Documents[n].Size {
			return data
		}
	}
	return nil
}

var _ Service = (*fakeService)(nil)
