package raw

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// closeOutcome reads until the server ends the connection: nil for a clean close, the error
// (a reset) otherwise.
func closeOutcome(c net.Conn) error {
	_, err := io.Copy(io.Discard, c)
	return err
}

func TestServerJobs(t *testing.T) {
	t.Parallel()
	pdf := append([]byte("%PDF-1.7\n"), randomBytes(t, 1<<20)...)
	pjl := []byte("\x1b%-12345X@PJL JOB NAME = \"Microsoft Word - Brief.docx\"\r\n@PJL SET USERNAME = \"jdoe\"\r\n" +
		"@PJL ENTER LANGUAGE = PCL\r\n\x1bE\x1b&l0O...")
	tests := []struct {
		name                   string
		data                   []byte
		owner, jobName, format string
	}{
		{"PDF", pdf, "anonymous", "raw job from 127.0.0.1", document.PDF},
		{"PJL header names user and job", pjl, "jdoe", "Microsoft Word - Brief.docx", document.PCL},
		{"one byte", []byte("x"), "anonymous", "raw job from 127.0.0.1", document.Octet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSpool()
			h := startServer(t, Config{}, fs)
			c := dial(t, h.addr)
			if _, err := c.Write(tt.data); err != nil {
				t.Fatal(err)
			}
			if err := c.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if err := closeOutcome(c); err != nil {
				t.Fatalf("server did not close cleanly after storing the job: %v", err)
			}
			// The clean close came after Submit: the job is there already.
			live, _, jobs := fs.snapshot()
			if len(jobs) != 1 || live != 0 {
				t.Fatalf("%d jobs, %d live staged; want 1, 0", len(jobs), live)
			}
			j := jobs[0]
			if !bytes.Equal(j.doc, tt.data) {
				t.Fatalf("document differs: %d bytes, want %d", len(j.doc), len(tt.data))
			}
			if j.nj.Owner != tt.owner || j.nj.Name != tt.jobName || j.st.Format != tt.format ||
				j.nj.Origin != "raw" || j.nj.VirtualPrinter != "letters" || j.nj.OriginHost != "127.0.0.1" {
				t.Fatalf("job %+v format %q; want owner %q name %q format %q", j.nj, j.st.Format, tt.owner, tt.jobName, tt.format)
			}
		})
	}
}

func TestServerRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		cfg           Config
		submitErr     error
		client        func(t *testing.T, c *net.TCPConn)
		wantReset     bool
		wantLog       string
		wantDiscarded int
	}{
		{
			name:    "no bytes: dropped with a log line, not spooled",
			client:  func(t *testing.T, c *net.TCPConn) { _ = c.CloseWrite() },
			wantLog: "connection closed without data; nothing spooled",
		},
		{
			name: "too large",
			cfg:  Config{MaxJobBytes: 1000},
			client: func(t *testing.T, c *net.TCPConn) {
				_, _ = c.Write(make([]byte, 1001))
				_ = c.CloseWrite()
			},
			wantReset: true,
			wantLog:   "too large",
		},
		{
			name: "client stalls mid-job",
			cfg:  Config{ReadTimeout: 150 * time.Millisecond},
			client: func(t *testing.T, c *net.TCPConn) {
				_, _ = c.Write([]byte("%PDF-1.7 and then nothing"))
			},
			wantReset: true,
			wantLog:   "transfer failed",
		},
		{
			name: "client resets mid-job",
			client: func(t *testing.T, c *net.TCPConn) {
				_, _ = c.Write([]byte("%PDF-1.7 partial"))
				_ = c.SetLinger(0)
				_ = c.Close()
			},
			wantLog: "transfer failed",
		},
		{
			name:      "spool refuses",
			submitErr: job.ErrDiskFull,
			client: func(t *testing.T, c *net.TCPConn) {
				_, _ = c.Write([]byte("%PDF-1.7"))
				_ = c.CloseWrite()
			},
			wantReset:     true,
			wantLog:       "job not stored",
			wantDiscarded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSpool()
			fs.submitErr = tt.submitErr
			h := startServer(t, tt.cfg, fs)
			c := dial(t, h.addr)
			tt.client(t, c)
			err := closeOutcome(c)
			if tt.wantReset && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("client saw %v, want a connection reset", err)
			}
			if !tt.wantReset && err != nil && !errors.Is(err, net.ErrClosed) {
				t.Errorf("client saw %v, want a clean close", err)
			}
			h.waitConn(t)
			live, discarded, jobs := fs.snapshot()
			if live != 0 || len(jobs) != 0 || discarded != tt.wantDiscarded {
				t.Errorf("live %d, jobs %d, discarded %d; want 0, 0, %d", live, len(jobs), discarded, tt.wantDiscarded)
			}
			if !strings.Contains(h.logs.String(), tt.wantLog) {
				t.Errorf("log lacks %q:\n%s", tt.wantLog, h.logs.String())
			}
		})
	}
}

func TestServerConnectionLimitAndRecovery(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxConns: 1}, fs)
	holder := dial(t, h.addr)
	if _, err := holder.Write([]byte("%PDF-1.7 first")); err != nil {
		t.Fatal(err)
	}
	// Connections are accepted in order and the slot is taken before the next accept, so the
	// holder owns the only slot: the next client is reset at once, not left waiting.
	// The reset can arrive before the client's connect has even returned (the kernel completes
	// the handshake before the server accepts), so a reset dial is the same outcome.
	if extra, err := net.DialTimeout("tcp", h.addr, 5*time.Second); err != nil {
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("extra connection: dial: %v, want a reset", err)
		}
	} else {
		defer extra.Close()
		_ = extra.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := closeOutcome(extra); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("extra connection: %v, want a reset", err)
		}
	}
	// The holder finishes its job; then the slot is free for another.
	_ = holder.CloseWrite()
	if err := closeOutcome(holder); err != nil {
		t.Fatalf("holder: %v", err)
	}
	h.waitConn(t)
	c := dial(t, h.addr)
	_, _ = c.Write([]byte("second"))
	_ = c.CloseWrite()
	if err := closeOutcome(c); err != nil {
		t.Fatalf("second job: %v", err)
	}
	if _, _, jobs := fs.snapshot(); len(jobs) != 2 || string(jobs[0].doc) != "%PDF-1.7 first" || string(jobs[1].doc) != "second" {
		t.Fatalf("jobs = %+v", jobs)
	}
}

func TestServerMaxConnDuration(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxConnDuration: 200 * time.Millisecond}, fs)
	c := dial(t, h.addr)
	_, _ = c.Write([]byte("%PDF-1.7 trickle"))
	start := time.Now()
	if err := closeOutcome(c); err == nil {
		t.Fatal("clean close for a job cut off by age")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("connection lived %v", d)
	}
	h.waitConn(t)
	if live, _, jobs := fs.snapshot(); live != 0 || len(jobs) != 0 {
		t.Fatalf("live %d, jobs %d", live, len(jobs))
	}
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	for name, tc := range map[string]struct {
		cfg Config
		sp  Spooler
	}{
		"nil spooler":        {Config{VirtualPrinter: "v"}, nil},
		"no virtual printer": {Config{}, fs},
		"negative timeout":   {Config{VirtualPrinter: "v", ReadTimeout: -1}, fs},
	} {
		if _, err := NewServer(tc.cfg, tc.sp); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// Client and server together, and the client's view of a refusal.
func TestClientServerRoundTrip(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxJobBytes: 4 << 20}, fs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	data := append([]byte("%PDF-1.4\n"), randomBytes(t, 3<<20)...)
	var c Client
	if err := c.Send(ctx, h.addr, bytes.NewReader(data)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	_, _, jobs := fs.snapshot()
	if len(jobs) != 1 || !bytes.Equal(jobs[0].doc, data) {
		t.Fatalf("%d jobs; byte-identical: %v", len(jobs), len(jobs) == 1 && bytes.Equal(jobs[0].doc, data))
	}
	// Over the limit: the server resets, the client must not call that delivered.
	err := c.Send(ctx, h.addr, bytes.NewReader(make([]byte, 5<<20)))
	if err == nil {
		t.Fatal("Send of an oversize job succeeded")
	}
	h.waitConn(t)
	h.waitConn(t)
	if _, _, jobs := fs.snapshot(); len(jobs) != 1 {
		t.Fatalf("%d jobs after the refusal, want 1", len(jobs))
	}
}

// TestServerPerHostCapKeepsOthersPrinting: one host opens 64 idle connections (as many as the
// whole port took before there was a per-host cap); with the default limits it holds only its
// share, the rest are refused and counted, and another host's job still prints.
func TestServerPerHostCapKeepsOthersPrinting(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	var refused atomic.Int64
	h := startServer(t, Config{Refused: func(frontend, limit string) {
		if frontend == "raw" && limit == "per-host" {
			refused.Add(1)
		}
	}}, fs)
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: 5 * time.Second}
	for range 64 {
		c, err := d.Dial("tcp", h.addr)
		if err != nil {
			continue // a reset before the dial returned is a refusal too
		}
		defer c.Close()
	}
	c := dial(t, h.addr) // from 127.0.0.1
	if _, err := c.Write([]byte("%PDF-1.7 from another host")); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if err := closeOutcome(c); err != nil {
		t.Fatalf("job from another host while 127.0.0.2 holds its share: %v", err)
	}
	if _, _, jobs := fs.snapshot(); len(jobs) != 1 {
		t.Fatalf("%d jobs stored, want the other host's one", len(jobs))
	}
	deadline := time.Now().Add(10 * time.Second)
	for refused.Load() < 64-DefaultMaxConnsPerHost && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := refused.Load(); n != 64-DefaultMaxConnsPerHost {
		t.Fatalf("%d connections of 127.0.0.2 refused at the per-host cap, want %d", n, 64-DefaultMaxConnsPerHost)
	}
}
