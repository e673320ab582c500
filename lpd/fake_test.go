package lpd

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// fakeSpool is an in-memory Spooler that records what happened to every staged document.
type fakeSpool struct {
	mu        sync.Mutex
	nextID    int64
	live      map[*job.Staged][]byte // staged, neither submitted nor discarded
	submitted []fakeJob
	discarded int
	canceled  []int64
	queued    []*job.Job // returned by QueueJobs in addition to submitted jobs
	submitErr error
	// submitGate, when set, makes Submit wait for a receive before returning.
	submitGate chan struct{}
	// keepBytes false drops document bytes (benchmarks).
	keepBytes bool
	events    chan string
}

type fakeJob struct {
	nj   job.NewJob
	job  *job.Job
	docs [][]byte
}

func newFakeSpool() *fakeSpool {
	return &fakeSpool{live: map[*job.Staged][]byte{}, keepBytes: true, events: make(chan string, 4096)}
}

func (f *fakeSpool) event(e string) {
	select {
	case f.events <- e:
	default:
	}
}

func (f *fakeSpool) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	h := sha256.New()
	sink := &byteSink{}
	// Benchmarks keep nothing and hash nothing: they measure the protocol, not the spool.
	var w io.Writer = io.Discard
	if f.keepBytes {
		w = io.MultiWriter(h, sink)
	}
	n, err := io.Copy(w, &ctxReader{ctx, r})
	if err != nil {
		f.event("stage-failed")
		return nil, fmt.Errorf("fake stage: %w: %v", job.ErrTruncated, err)
	}
	if n == 0 {
		f.event("stage-failed")
		return nil, job.ErrEmptyDocument
	}
	st := &job.Staged{Name: name, Format: format, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Pages: 1}
	f.mu.Lock()
	f.live[st] = sink.b
	f.mu.Unlock()
	f.event("stage")
	return st, nil
}

func (f *fakeSpool) Discard(st *job.Staged) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live[st]; ok {
		delete(f.live, st)
		f.discarded++
		f.event("discard")
	}
}

func (f *fakeSpool) Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	f.event("submit-start")
	if f.submitGate != nil {
		select {
		case <-f.submitGate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		f.event("submit-failed")
		return nil, f.submitErr
	}
	f.nextID++
	j := &job.Job{ID: f.nextID, VirtualPrinter: nj.VirtualPrinter, Name: nj.Name, Owner: nj.Owner,
		OriginHost: nj.OriginHost, Origin: nj.Origin, State: job.StatePending, Attributes: nj.Attributes}
	fj := fakeJob{nj: nj, job: j}
	for i, d := range docs {
		b, ok := f.live[d]
		if !ok {
			return nil, errors.New("fake submit: document not staged or already used")
		}
		delete(f.live, d)
		fj.docs = append(fj.docs, b)
		j.Documents = append(j.Documents, job.Document{JobID: j.ID, Seq: i + 1, Name: d.Name,
			Format: d.Format, Size: d.Size, SHA256: d.SHA256})
	}
	f.submitted = append(f.submitted, fj)
	f.event("submit")
	return j, nil
}

func (f *fakeSpool) QueueJobs(ctx context.Context, vp string) ([]*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*job.Job
	for _, j := range f.queued {
		if j.VirtualPrinter == vp && !j.State.Final() {
			out = append(out, j)
		}
	}
	for _, fj := range f.submitted {
		if fj.job.VirtualPrinter == vp && !fj.job.State.Final() {
			out = append(out, fj.job)
		}
	}
	return out, nil
}

func (f *fakeSpool) CancelJob(ctx context.Context, id int64, actor string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, j := range f.queued {
		if j.ID == id {
			j.State = job.StateCanceled
			f.canceled = append(f.canceled, id)
			f.event("cancel")
			return nil
		}
	}
	return job.ErrNotFound
}

// snapshot returns the counters under the lock.
func (f *fakeSpool) snapshot() (live, discarded int, jobs []fakeJob) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live), f.discarded, append([]fakeJob(nil), f.submitted...)
}

// waitFor reads events until want has been seen, failing after a bound.
func (f *fakeSpool) waitFor(t testing.TB, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-f.events:
			if e == want {
				return
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s", want)
		}
	}
}

type byteSink struct{ b []byte }

func (s *byteSink) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// harness is a server on a loopback port that lives until the test ends.
type harness struct {
	addr string
	srv  *Server
	// conns receives one value per connection whose handler has finished.
	conns chan struct{}
}

// startServer runs a server on a loopback port until the test ends.
func startServer(t testing.TB, cfg Config, sp Spooler) *harness {
	t.Helper()
	if cfg.Queues == nil {
		cfg.Queues = map[string]string{"letters": "letters-vp", "Ward": "ward-vp"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := NewServer(cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{srv: srv, conns: make(chan struct{}, 1<<16)}
	srv.connDone = func() {
		select {
		case h.conns <- struct{}{}:
		default:
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// waitConn waits until one more connection handler has finished.
func (h *harness) waitConn(t testing.TB) {
	t.Helper()
	select {
	case <-h.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("connection handler did not finish within 10s")
	}
}

// testWriter sends server logs to the test log, so a failure shows what the server said.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Logf("%s", p)
	return len(p), nil
}

// wire is a scripted client connection.
type wire struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dialWire(t testing.TB, addr string) *wire {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { c.Close() })
	return &wire{t: t, c: c, br: bufio.NewReader(c)}
}

func (w *wire) send(parts ...string) {
	w.t.Helper()
	for _, p := range parts {
		if _, err := io.WriteString(w.c, p); err != nil {
			w.t.Fatalf("write %q: %v", p, err)
		}
	}
}

// ack reads one acknowledgement byte; -1 means the server closed the connection instead.
func (w *wire) ack() int {
	w.t.Helper()
	b, err := w.br.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) || isReset(err) {
			return -1
		}
		w.t.Fatalf("read ack: %v", err)
	}
	return int(b)
}

func (w *wire) expectAck(want int) {
	w.t.Helper()
	if got := w.ack(); got != want {
		w.t.Fatalf("ack = %d, want %d", got, want)
	}
}

// rest reads until the server closes.
func (w *wire) rest() string {
	w.t.Helper()
	b, err := io.ReadAll(w.br)
	if err != nil && !isReset(err) {
		w.t.Fatalf("read reply: %v", err)
	}
	return string(b)
}

func (w *wire) closeWrite() {
	w.t.Helper()
	if err := w.c.(*net.TCPConn).CloseWrite(); err != nil {
		w.t.Fatal(err)
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}
