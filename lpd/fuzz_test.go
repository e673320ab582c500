package lpd

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"reflect"
	"testing"
	"time"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/ beside this file (Go's default place);
// f.Add seeds below cover the basics so a plain `go test` exercises every target.

func FuzzCommand(f *testing.F) {
	for _, s := range []string{"\x02letters\n", "\x03q alice 12\n", "\x04q\n", "\x05q root 1 2 -\n", "\x01q\n",
		"\x0242 cfA123host\n", "\x03125899906843000 dfA001pc\n", "\x030 dfA1h\r\n", "\x01\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		if c, err := ParseCommand(line); err == nil {
			b, err := c.Marshal()
			if err != nil {
				if errors.Is(err, ErrLineTooLong) && len(line) >= MaxLineBytes {
					return
				}
				t.Fatalf("parsed %q as %+v but cannot marshal it: %v", line, c, err)
			}
			again, err := ParseCommand(b)
			if err != nil || !reflect.DeepEqual(again, c) {
				t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", line, c, b, again, err)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseCommand(%q) error %v does not match ErrMalformed", line, err)
		}
		if s, err := ParseSubcommand(line); err == nil {
			b, err := s.Marshal()
			if err != nil {
				t.Fatalf("parsed %q as %+v but cannot marshal it: %v", line, s, err)
			}
			if again, err := ParseSubcommand(b); err != nil || again != s {
				t.Fatalf("round trip of %q: %+v -> %q -> %+v, %v", line, s, b, again, err)
			}
			if s.Code == SubDataFile && s.Count < 0 {
				t.Fatalf("negative count from %q", line)
			}
		} else if !errors.Is(err, ErrMalformed) {
			t.Fatalf("ParseSubcommand(%q) error %v does not match ErrMalformed", line, err)
		}
	})
}

func FuzzControlFile(f *testing.F) {
	for _, s := range []string{
		"Hclinic-pc\nPalice\nJDischarge letter\nNletter.pdf\nldfA123clinic-pc\nUdfA123clinic-pc\n",
		"Hh\nPbob\nfdfA001h\nfdfA001h\nNa.txt\nUdfA001h\nfdfB001h\nfdfB001h\nNb.txt\n",
		"Hh\r\nPp\r\nK3\r\nW132\r\nldfA1h\r\n",
		"PJ\xfcrgen\nJa\x1b[31mb\nldfA1h",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cf, err := ParseControlFile(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not match ErrMalformed", err)
			}
			return
		}
		if len(cf.Files) == 0 || len(cf.Files) > MaxDataFiles {
			t.Fatalf("accepted a control file printing %d files", len(cf.Files))
		}
		for _, df := range cf.Files {
			if df.Copies < 1 || !IsPrintCommand(df.Format) || CheckFileName(df.Name) != nil {
				t.Fatalf("accepted bad data file %+v", df)
			}
		}
		copies, cerr := cf.JobCopies()
		out, err := cf.Marshal()
		if err != nil {
			// Our own lines (U per file) can push a file near the limit over it.
			if len(b) > MaxControlFileBytes-MaxDataFiles*300 {
				return
			}
			t.Fatalf("cannot marshal what was parsed: %v\n%+v", err, cf)
		}
		again, err := ParseControlFile(out)
		if err != nil {
			t.Fatalf("reparse of marshalled %q: %v", out, err)
		}
		if !reflect.DeepEqual(again, cf) {
			t.Fatalf("round trip:\n%+v\n%+v", cf, again)
		}
		if c2, err2 := again.JobCopies(); c2 != copies || (err2 == nil) != (cerr == nil) {
			t.Fatalf("copies %d/%v became %d/%v", copies, cerr, c2, err2)
		}
	})
}

// FuzzServerConn feeds one whole client stream to a server connection. Whatever the bytes, the
// server must not panic or hang, and must leave no staged document behind.
func FuzzServerConn(f *testing.F) {
	jb := "\x02letters\n" + "\x0213 cfA1h\n" + "Pp\nldfA1h\nNx\n\x00" + "\x035 dfA1h\n" + "hello\x00"
	for _, s := range []string{
		jb,
		"\x02letters\n\x035 dfA1h\nhello\x00\x0210 cfA1h\nPp\nldfA1h\n\x00",
		"\x02letters\n\x0210 cfA1h\nPp\nldfA1h\n\x00\x030 dfA1h\nstream until close",
		"\x02letters\n\x035 dfA1h\nhello\x00\x01\n",
		"\x03letters alice\n",
		"\x05letters root -\n",
		"\x02nosuch\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fs := newFakeSpool()
		srv, err := NewServer(Config{
			Queues:      map[string]string{"letters": "vp"},
			MaxJobBytes: 1 << 16,
			ReadTimeout: 2 * time.Second,
			Logger:      slog.New(slog.DiscardHandler),
		}, fs)
		if err != nil {
			t.Fatal(err)
		}
		client, server := net.Pipe()
		go func() {
			_, _ = client.Write(in)
			client.Close()
		}()
		go func() { _, _ = io.Copy(io.Discard, client) }()
		done := make(chan struct{})
		go func() {
			srv.serveConn(context.Background(), server)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("server connection did not finish for input %q", in)
		}
		live, _, jobs := fs.snapshot()
		if live != 0 {
			t.Fatalf("%d staged documents leaked for input %q", live, in)
		}
		for _, j := range jobs {
			if len(j.docs) == 0 || j.nj.Owner == "" || j.nj.VirtualPrinter != "vp" {
				t.Fatalf("bad job %+v for input %q", j.nj, in)
			}
		}
	})
}
