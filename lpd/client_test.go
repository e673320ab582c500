package lpd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
)

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// Client and server together: what the client sends is what the spool receives, byte for byte.
func TestClientServerRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pdf := append([]byte("%PDF-1.7\n"), randomBytes(t, 3<<20)...) // several buffers' worth
	path := filepath.Join(dir, "Entlassbrief Müller.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	text := []byte("plain text letter\n")
	tests := []struct {
		name      string
		client    Client
		job       ClientJob
		want      wantJob
		wantDatas [][]byte
	}{
		{
			name:   "one file from a path, control first",
			client: Client{Host: "gateway-1"},
			job:    ClientJob{Name: "Letter 1", User: "alice", Files: []ClientFile{{Path: path}}},
			want: wantJob{printer: "letters-vp", owner: "alice", name: "Letter 1", host: "127.0.0.1", copies: 1,
				formats: []string{document.PDF}, docNames: []string{"Entlassbrief Müller.pdf"}},
			wantDatas: [][]byte{pdf},
		},
		{
			name:   "two files, data first, copies, reader with size",
			client: Client{Host: "gateway-1", DataFirst: true},
			job: ClientJob{Name: "Pack", User: "bob", Copies: 2, Files: []ClientFile{
				{Path: path, Name: "a.pdf"},
				{Reader: bytes.NewReader(text), Size: int64(len(text)), Name: "b.txt", Format: 'f'},
			}},
			want: wantJob{printer: "letters-vp", owner: "bob", name: "Pack", host: "127.0.0.1", copies: 2,
				formats: []string{document.PDF, document.Text}, docNames: []string{"a.pdf", "b.txt"}},
			wantDatas: [][]byte{pdf, text},
		},
		{
			name:   "defaults and overlong names are cut to RFC sizes",
			client: Client{},
			job: ClientJob{Name: strings.Repeat("n", 200), User: strings.Repeat("ü", 40), Host: "h",
				Files: []ClientFile{{Reader: bytes.NewReader(text), Size: int64(len(text))}}},
			want: wantJob{printer: "letters-vp", owner: strings.Repeat("ü", 15), name: strings.Repeat("n", 99), host: "127.0.0.1", copies: 1,
				formats: []string{document.Octet}},
			wantDatas: [][]byte{text},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSpool()
			h := startServer(t, Config{}, fs)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := tt.client.Send(ctx, h.addr, "letters", tt.job); err != nil {
				t.Fatalf("Send: %v", err)
			}
			// Send returned after the final acknowledgement, which follows Submit.
			_, _, jobs := fs.snapshot()
			if len(jobs) != 1 {
				t.Fatalf("%d jobs, want 1", len(jobs))
			}
			j := jobs[0]
			got := wantJob{printer: j.nj.VirtualPrinter, owner: j.nj.Owner, name: j.nj.Name, host: j.nj.OriginHost,
				copies: j.nj.Attributes.Copies}
			for i, d := range j.job.Documents {
				got.formats = append(got.formats, d.Format)
				if tt.want.docNames != nil {
					got.docNames = append(got.docNames, d.Name)
				}
				if !bytes.Equal(j.docs[i], tt.wantDatas[i]) {
					t.Errorf("document %d differs: %d bytes, want %d", i, len(j.docs[i]), len(tt.wantDatas[i]))
				}
			}
			if len(j.docs) != len(tt.wantDatas) {
				t.Errorf("%d documents, want %d", len(j.docs), len(tt.wantDatas))
			}
			if !equalJob(got, tt.want) {
				t.Errorf("job = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func equalJob(a, b wantJob) bool {
	return a.printer == b.printer && a.owner == b.owner && a.name == b.name && a.host == b.host &&
		a.copies == b.copies && strings.Join(a.formats, ",") == strings.Join(b.formats, ",") &&
		strings.Join(a.docNames, ",") == strings.Join(b.docNames, ",")
}

func TestClientRefusals(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxJobBytes: 100}, fs)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	small := ClientFile{Reader: strings.NewReader("hello"), Size: 5}
	c := &Client{Host: "h"}

	err := c.Send(ctx, h.addr, "nosuch", ClientJob{User: "u", Files: []ClientFile{small}})
	var nack *NackError
	if !errors.As(err, &nack) || !errors.Is(err, ErrRefused) || nack.Step != "receive-job" {
		t.Fatalf("unknown queue: err = %v, want a NackError for receive-job", err)
	}

	big := ClientFile{Reader: bytes.NewReader(make([]byte, 200)), Size: 200}
	err = c.Send(ctx, h.addr, "letters", ClientJob{User: "u", Files: []ClientFile{big}})
	if !errors.As(err, &nack) || !strings.HasPrefix(nack.Step, "data file dfA") {
		t.Fatalf("oversize: err = %v, want a NackError for the data file", err)
	}

	// A reader shorter than its announced size is our error, and the server keeps nothing.
	short := ClientFile{Reader: strings.NewReader("abc"), Size: 10}
	err = c.Send(ctx, h.addr, "letters", ClientJob{User: "u", Files: []ClientFile{short}})
	if err == nil || !strings.Contains(err.Error(), "source ended after 3 of 10 bytes") {
		t.Fatalf("short reader: err = %v", err)
	}
	h.waitConn(t)
	h.waitConn(t)
	h.waitConn(t)
	if live, _, jobs := fs.snapshot(); live != 0 || len(jobs) != 0 {
		t.Fatalf("after refusals: %d live staged, %d jobs", live, len(jobs))
	}
}

func TestClientValidates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := &Client{}
	// None of these may dial: the address is unroutable on purpose.
	addr := "192.0.2.1:1"
	tests := []struct {
		name  string
		queue string
		job   ClientJob
		want  string
	}{
		{"bad queue", "a b", ClientJob{Files: []ClientFile{{Reader: strings.NewReader("x"), Size: 1}}}, "queue name"},
		{"no files", "q", ClientJob{}, "no files"},
		{"empty file", "q", ClientJob{Files: []ClientFile{{Reader: strings.NewReader(""), Size: 0}}}, "empty"},
		{"no source", "q", ClientJob{Files: []ClientFile{{Size: 3}}}, "neither a path nor a reader"},
		{"missing path", "q", ClientJob{Files: []ClientFile{{Path: "/nonexistent/file.pdf"}}}, "no such file"},
		{"bad letter", "q", ClientJob{Files: []ClientFile{{Reader: strings.NewReader("x"), Size: 1, Format: 'H'}}}, "not a print command"},
	}
	for _, tt := range tests {
		err := c.Send(ctx, addr, tt.queue, tt.job)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

// silentServer accepts connections and reads without ever answering.
func silentServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, bufio.NewReader(c))
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func TestClientTimeouts(t *testing.T) {
	t.Parallel()
	addr := silentServer(t)
	j := ClientJob{User: "u", Files: []ClientFile{{Reader: strings.NewReader("x"), Size: 1}}}

	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := (&Client{}).Send(ctx, addr, "q", j)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Send took %v", d)
		}
	})
	t.Run("step timeout", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		err := (&Client{StepTimeout: 200 * time.Millisecond}).Send(context.Background(), addr, "q", j)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() || !strings.Contains(err.Error(), "receive-job") {
			t.Fatalf("err = %v, want a timeout in the receive-job step", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Send took %v", d)
		}
	})
}

func TestParseURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri, addr, queue string
		err              bool
	}{
		{"lpd://printer.example/queue1", "printer.example:515", "queue1", false},
		{"lpd://10.1.2.4:5515/letters", "10.1.2.4:5515", "letters", false},
		{"lpd://[::1]:8515/letters?reserve=none", "[::1]:8515", "letters", false},
		{"lpd://[fe80::1]/q", "[fe80::1]:515", "q", false},
		{"lpd://h/my%20queue", "", "", true},
		{"lpd://h/", "", "", true},
		{"lpd://h", "", "", true},
		{"lpd://h/a/b", "", "", true},
		{"lpd:///q", "", "", true},
		{"lpd://h:0/q", "", "", true},
		{"lpd://h:99999/q", "", "", true},
		{"ipp://h/q", "", "", true},
		{"::", "", "", true},
	}
	for _, tt := range tests {
		addr, queue, err := ParseURI(tt.uri)
		if (err != nil) != tt.err || addr != tt.addr || queue != tt.queue {
			t.Errorf("ParseURI(%q) = %q, %q, %v; want %q, %q, error %v", tt.uri, addr, queue, err, tt.addr, tt.queue, tt.err)
		}
	}
}

// ParseURI's errors reach logs and the API: a password in the URI must not show in them.
func TestParseURIErrorsHidePassword(t *testing.T) {
	t.Parallel()
	for _, uri := range []string{
		"lpd://alice:s3cret@h",            // no queue
		"lpd://alice:s3cret@h:0/q",        // bad port
		"lpd://alice:s3cret@h:http/q",     // url.Parse fails
		"lpd://alice:s3cret@/q",           // no host
		"ipp://alice:s3cret@h/q",          // not lpd
		"lpd://alice:s3cret@h/my%20queue", // bad queue name
	} {
		_, _, err := ParseURI(uri)
		if err == nil || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURI(%q): %v, want an error without the password", uri, err)
		}
	}
}
