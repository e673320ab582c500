package raw

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// peer is a scripted socket printer: it reads everything, then behaves as told.
func peer(t *testing.T, after func(c *net.TCPConn)) (addr string, got chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan []byte, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		got <- b
		after(c.(*net.TCPConn))
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String(), got
}

func TestClientPeerBehaviour(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		client    Client
		after     func(c *net.TCPConn)
		wantErr   error // nil: success
		wantValue string
	}{
		{
			name:  "printer closes cleanly",
			after: func(c *net.TCPConn) { c.Close() },
		},
		{
			name: "printer sends status back, then closes",
			after: func(c *net.TCPConn) {
				_, _ = c.Write([]byte("@PJL USTATUS JOB\r\nEND\r\n\f"))
				c.Close()
			},
		},
		{
			name: "printer resets",
			after: func(c *net.TCPConn) {
				_ = c.SetLinger(0)
				c.Close()
			},
			wantErr: ErrUnconfirmed,
		},
		{
			name:    "printer never closes",
			client:  Client{CloseTimeout: 150 * time.Millisecond},
			after:   func(c *net.TCPConn) { time.Sleep(2 * time.Second) }, // the peer's behaviour, not a test wait
			wantErr: ErrUnconfirmed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			addr, got := peer(t, tt.after)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			data := strings.Repeat("letter ", 10000)
			err := tt.client.Send(ctx, addr, strings.NewReader(data))
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Send: %v", err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Send error = %v, want %v", err, tt.wantErr)
			}
			if b := <-got; string(b) != data {
				t.Fatalf("printer got %d bytes, want %d", len(b), len(data))
			}
		})
	}
}

func TestClientContextAndWriteTimeout(t *testing.T) {
	t.Parallel()
	// A printer that accepts but never reads: writes stall once the socket buffers fill.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		close(accepted)
		for c := range accepted {
			c.Close()
		}
	})
	big := func() io.Reader { return io.LimitReader(zeros{}, 1<<30) }

	start := time.Now()
	err = (&Client{WriteTimeout: 200 * time.Millisecond}).Send(context.Background(), ln.Addr().String(), big())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write timeout: err = %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = (&Client{}).Send(ctx, ln.Addr().String(), big())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("context deadline: err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestParseURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri, want string
		err       bool
	}{
		{"socket://printer.example", "printer.example:9100", false},
		{"socket://10.0.0.5:9101", "10.0.0.5:9101", false},
		{"socket://[::1]:9100/?waiteof=false", "[::1]:9100", false},
		{"socket://h/queue", "", true},
		{"socket://:9100", "", true},
		{"socket://h:0", "", true},
		{"lpd://h/q", "", true},
	}
	for _, tt := range tests {
		got, err := ParseURI(tt.uri)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("ParseURI(%q) = %q, %v; want %q, error %v", tt.uri, got, err, tt.want, tt.err)
		}
	}
}

func TestPJLInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, head, user, job string
	}{
		{"windows HP driver", "\x1b%-12345X@PJL JOB NAME = \"Microsoft Word - a.docx\"\r\n@PJL SET USERNAME = \"jdoe\"\r\n@PJL ENTER LANGUAGE=PCL\r\n", "jdoe", "Microsoft Word - a.docx"},
		{"no spaces, SET JOBNAME", "\x1b%-12345X@PJL SET JOBNAME=\"Rota\"\n@pjl set username=bob\n", "bob", "Rota"},
		{"stops at ENTER LANGUAGE", "\x1b%-12345X@PJL ENTER LANGUAGE=PDF\n@PJL SET USERNAME=\"late\"\n", "", ""},
		{"stops at document data", "\x1b%-12345X@PJL JOB\n%PDF-1.7\n@PJL SET USERNAME=\"x\"\n", "", ""},
		{"no UEL: not PJL", "@PJL SET USERNAME=\"x\"\n", "", ""},
		{"Latin-1 and escapes cleaned", "\x1b%-12345X@PJL SET USERNAME=\"J\xfcrgen\x1b[2J\"\n", "Jürgen [2J", ""},
		{"unterminated quote cut by head", "\x1b%-12345X@PJL JOB NAME=\"Long na", "", "Long na"},
		{"first value wins", "\x1b%-12345X@PJL SET USERNAME=a\n@PJL SET USERNAME=b\n", "a", ""},
		{"empty", "", "", ""},
	}
	for _, tt := range tests {
		user, j := pjlInfo([]byte(tt.head))
		if user != tt.user || j != tt.job {
			t.Errorf("%s: pjlInfo = %q, %q; want %q, %q", tt.name, user, j, tt.user, tt.job)
		}
	}
}

// ParseURI's errors reach logs and the API: a password in the URI must not show in them.
func TestParseURIErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{
		"socket://alice:s3cret@h/queue", // a path
		"socket://alice:s3cret@h:0",     // bad port
		"socket://alice:s3cret@h:http",  // url.Parse fails
		"socket://alice:s3cret@:9100",   // no host
		"lpd://alice:s3cret@h/q",        // not socket
	} {
		_, err := ParseURI(uri)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURI(%q): %v, want an error without the password", uri, err)
		}
	}
}
