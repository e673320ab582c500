//go:build peers

// The IPP client against a real printer: CUPS' ippeveprinter on a loopback port.
package ipp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// startIPPEvePrinter runs ippeveprinter with print command cmd (a shell script body) and
// returns its printer URI. It is killed when the test ends.
func startIPPEvePrinter(t *testing.T, script string, formats ...string) string {
	t.Helper()
	bin := needTool(t, "ippeveprinter")
	dir := t.TempDir()
	cmdPath := filepath.Join(dir, "print.sh")
	if err := os.WriteFile(cmdPath, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	spoolDir := filepath.Join(dir, "spool")
	if err := os.Mkdir(spoolDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-n", "localhost", "-r", "off", "-p", strconv.Itoa(port), "-c", cmdPath,
		"-d", spoolDir, "-f", strings.Join(formats, ","), "printgate test")
	// ippeveprinter 2.4 initialises Avahi even with -r off and exits without a system bus:
	// give it a private one.
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS="+privateBus(t))
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ippeveprinter: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("ippeveprinter log:\n%s", logs.String())
		}
	})
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("ippeveprinter exited (%v):\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ippeveprinter did not listen on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Sprintf("ipp://127.0.0.1:%d/ipp/print", port)
}

// privateBus starts a D-Bus daemon for the test and returns its address.
func privateBus(t *testing.T) string {
	t.Helper()
	bin := needTool(t, "dbus-daemon")
	sock := filepath.Join(t.TempDir(), "bus")
	cmd := exec.Command(bin, "--session", "--nofork", "--print-address=1", "--address=unix:path="+sock)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case addr, ok := <-line:
		if !ok || addr == "" {
			t.Fatal("dbus-daemon printed no address")
		}
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("dbus-daemon did not start")
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestClientAgainstIPPEvePrinter(t *testing.T) {
	uri := startIPPEvePrinter(t, "exit 0", document.PDF, document.JPEG)
	c, err := NewClient(uri, ClientOptions{UserName: "printgate-test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ps, err := c.GetPrinterAttributes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ps.State == 0 || !ps.Accepting || !strings.Contains(strings.Join(ps.Formats, ","), document.PDF) || ps.QueuedJobs < 0 {
		t.Fatalf("printer status %+v", ps)
	}
	if _, err := c.GetPrinterAttributes(ctx, "printer-state", "printer-state-reasons", "printer-is-accepting-jobs",
		"queued-job-count", "pages-per-minute"); err != nil {
		t.Fatal(err)
	}

	pdf := testPDF(1)
	tmpl, dropped := ps.SupportedTemplate(forwardTemplateForTest())
	t.Logf("forwarded %v, dropped %v", names(Attrs(tmpl)), dropped)
	js, err := c.PrintJob(ctx, JobRequest{Name: "peer test", User: "alice", Template: tmpl},
		Document{Reader: bytes.NewReader(pdf), Size: int64(len(pdf)), Format: document.PDF, Name: "a.pdf"})
	if err != nil {
		t.Fatalf("Print-Job: %v", err)
	}
	if js.ID <= 0 || js.State == 0 {
		t.Fatalf("job status %+v", js)
	}
	waitJob(ctx, t, c, js.ID, JobCompleted)
	if err := c.CancelJob(ctx, js.ID); !errors.Is(err, ErrNotPossible) {
		t.Errorf("cancel of a completed job: %v", err)
	}

	cj, err := c.CreateJob(ctx, JobRequest{Name: "created"})
	if err != nil {
		t.Fatalf("Create-Job: %v", err)
	}
	if _, err := c.SendDocument(ctx, cj.ID, Document{Reader: bytes.NewReader(pdf), Size: -1, Format: document.PDF}, true); err != nil {
		t.Fatalf("Send-Document (chunked): %v", err)
	}
	waitJob(ctx, t, c, cj.ID, JobCompleted)

	_, err = c.PrintJob(ctx, JobRequest{}, Document{Reader: strings.NewReader("UNIRAST\x00"), Size: 8, Format: document.URF})
	var ie *Error
	if !errors.Is(err, ErrJobRefused) || errors.Is(err, ErrBusy) || !errors.As(err, &ie) {
		t.Errorf("unsupported format: %v", err)
	}
	if err := c.ValidateJob(ctx, JobRequest{}, document.URF); !errors.Is(err, ErrJobRefused) {
		t.Errorf("Validate-Job URF: %v", err)
	}
}

// forwardTemplateForTest is a typical stored template, as printers would forward it.
func forwardTemplateForTest() goipp.Attributes {
	return ForwardTemplate(job.Attributes{Copies: 1, Sides: "one-sided", Media: "na_letter_8.5x11in",
		ColorMode: "monochrome", PrintQuality: 4, HoldUntil: "indefinite"})
}

func TestClientBusyFromIPPEvePrinter(t *testing.T) {
	// The print command takes a while: ippeveprinter answers server-error-busy meanwhile.
	uri := startIPPEvePrinter(t, "sleep 4", document.PDF)
	c, err := NewClient(uri, ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pdf := testPDF(1)
	first, err := c.PrintJob(ctx, JobRequest{}, Document{Reader: bytes.NewReader(pdf), Size: int64(len(pdf)), Format: document.PDF})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PrintJob(ctx, JobRequest{}, Document{Reader: bytes.NewReader(pdf), Size: int64(len(pdf)), Format: document.PDF})
	if !errors.Is(err, ErrBusy) || errors.Is(err, ErrJobRefused) {
		t.Errorf("second Print-Job while the first prints: %v, want ErrBusy", err)
	}
	waitJob(ctx, t, c, first.ID, JobCompleted)
}

// waitJob polls until the job reaches want (or any final state, which fails the test if not
// want), bounded by ctx.
func waitJob(ctx context.Context, t *testing.T, c *Client, id int, want JobState) {
	t.Helper()
	for {
		js, err := c.GetJobAttributes(ctx, id)
		if err != nil {
			t.Fatalf("Get-Job-Attributes %d: %v", id, err)
		}
		if js.State == want {
			return
		}
		if js.State.Final() {
			t.Fatalf("job %d ended %s (%v), want %s", id, js.State, js.Reasons, want)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %d still %s: %v", id, js.State, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
