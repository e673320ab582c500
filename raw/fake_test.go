package raw

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// fakeSpool is an in-memory Spooler that records what happened to every staged document.
type fakeSpool struct {
	mu        sync.Mutex
	nextID    int64
	live      map[*job.Staged][]byte
	submitted []fakeJob
	discarded int
	submitErr error
	keepBytes bool
}

type fakeJob struct {
	nj   job.NewJob
	doc  []byte
	st   job.Staged
	id   int64
	size int64
}

func newFakeSpool() *fakeSpool {
	return &fakeSpool{live: map[*job.Staged][]byte{}, keepBytes: true}
}

func (f *fakeSpool) Stage(ctx context.Context, r io.Reader, name, format string) (*job.Staged, error) {
	var buf bytes.Buffer
	var w io.Writer = io.Discard
	if f.keepBytes {
		w = &buf
	}
	n, err := io.Copy(w, r)
	if err != nil {
		return nil, fmt.Errorf("fake stage: %w: %v", job.ErrTruncated, err)
	}
	if n == 0 {
		return nil, job.ErrEmptyDocument
	}
	st := &job.Staged{Name: name, Format: format, Size: n}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live[st] = buf.Bytes()
	return st, nil
}

func (f *fakeSpool) Discard(st *job.Staged) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live[st]; ok {
		delete(f.live, st)
		f.discarded++
	}
}

func (f *fakeSpool) Submit(ctx context.Context, nj job.NewJob, docs []*job.Staged) (*job.Job, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.submitErr != nil {
		return nil, f.submitErr
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("fake submit: %d documents", len(docs))
	}
	b, ok := f.live[docs[0]]
	if !ok {
		return nil, fmt.Errorf("fake submit: document not staged")
	}
	delete(f.live, docs[0])
	f.nextID++
	f.submitted = append(f.submitted, fakeJob{nj: nj, doc: b, st: *docs[0], id: f.nextID, size: docs[0].Size})
	return &job.Job{ID: f.nextID, Owner: nj.Owner, Name: nj.Name}, nil
}

func (f *fakeSpool) snapshot() (live, discarded int, jobs []fakeJob) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.live), f.discarded, append([]fakeJob(nil), f.submitted...)
}

// logBuffer collects log lines for assertions, and passes them to the test log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.t.Logf("%s", p)
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	addr  string
	logs  *logBuffer
	conns chan struct{}
}

func startServer(t testing.TB, cfg Config, sp Spooler) *harness {
	t.Helper()
	if cfg.VirtualPrinter == "" {
		cfg.VirtualPrinter = "letters"
	}
	h := &harness{logs: &logBuffer{t: t}, conns: make(chan struct{}, 1<<16)}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := NewServer(cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
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

func (h *harness) waitConn(t testing.TB) {
	t.Helper()
	select {
	case <-h.conns:
	case <-time.After(10 * time.Second):
		t.Fatal("connection handler did not finish within 10s")
	}
}
