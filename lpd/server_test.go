package lpd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// Script steps for a receive-job conversation.
const noAck = -2

type step struct {
	send       string
	ack        int // the byte expected after send (-1: server closed), or noAck
	closeWrite bool
}

func exp(send string, ack int) step { return step{send: send, ack: ack} }
func only(send string) step         { return step{send: send, ack: noAck} }
func halfClose(ack int) step        { return step{closeWrite: true, ack: ack} }

// ctlSub and datSub build subcommand lines for content of the given length.
func ctlSub(name, content string) string { return fmt.Sprintf("\x02%d %s\n", len(content), name) }
func datSub(name string, content string) string {
	return fmt.Sprintf("\x03%d %s\n", len(content), name)
}

// sendControl and sendData are the two acknowledged steps of one file.
func sendControl(name, content string, final int) []step {
	return []step{exp(ctlSub(name, content), 0), exp(content+"\x00", final)}
}

func sendData(name, content string, final int) []step {
	return []step{exp(datSub(name, content), 0), exp(content+"\x00", final)}
}

func script(parts ...any) []step {
	var out []step
	for _, p := range parts {
		switch v := p.(type) {
		case step:
			out = append(out, v)
		case []step:
			out = append(out, v...)
		default:
			panic(fmt.Sprintf("script part %T", p))
		}
	}
	return out
}

type wantJob struct {
	printer, owner, name, host string
	copies                     int
	docs                       []string
	formats                    []string
	docNames                   []string
}

var (
	pdfDoc  = "%PDF-1.7\n1 0 obj << >> endobj\ntrailer\n%%EOF\n"
	textDoc = "Dear Ms Smith,\nplease find enclosed...\n"
	psDoc   = "%!PS-Adobe-3.0\nshowpage\n"
	binDoc  = "\x00\x01\x02\x03binary\xff\x00\n\x00"
)

func controlFor(user string, lines ...string) string {
	return "Hpc-7\nP" + user + "\nJDischarge letter\n" + strings.Join(lines, "\n") + "\n"
}

func TestServerReceiveJob(t *testing.T) {
	t.Parallel()
	oneJob := controlFor("alice", "ldfA001pc-7", "NLetter.pdf", "UdfA001pc-7")
	big := strings.Repeat("x", 60)
	tests := []struct {
		name          string
		cfg           Config
		submitErr     error
		steps         []step
		want          []wantJob
		wantDiscarded int
	}{
		{
			name: "control file first",
			steps: script(exp("\x02letters\n", 0), sendControl("cfA001pc-7", oneJob, 0),
				sendData("dfA001pc-7", pdfDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "alice", name: "Discharge letter", host: "127.0.0.1", copies: 1,
				docs: []string{pdfDoc}, formats: []string{document.PDF}, docNames: []string{"Letter.pdf"}}},
		},
		{
			name: "data file first, text sent as f",
			steps: script(exp("\x02letters\n", 0), sendData("dfA001pc-7", textDoc, 0),
				sendControl("cfA001pc-7", controlFor("bob", "fdfA001pc-7", "Nnote.txt"), 0)),
			want: []wantJob{{printer: "letters-vp", owner: "bob", name: "Discharge letter", host: "127.0.0.1", copies: 1,
				docs: []string{textDoc}, formats: []string{document.Text}, docNames: []string{"note.txt"}}},
		},
		{
			name: "two data files around the control file, documents in control-file order",
			steps: script(exp("\x02letters\n", 0), sendData("dfA002h", psDoc, 0),
				sendControl("cfA002h", "Hh\nPcarol\nldfB002h\nNsecond.bin\nodfA002h\nNfirst.ps\n", 0),
				sendData("dfB002h", binDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "carol", name: "second.bin", host: "127.0.0.1", copies: 1,
				docs: []string{binDoc, psDoc}, formats: []string{document.Octet, document.PostScript},
				docNames: []string{"second.bin", "first.ps"}}},
		},
		{
			name: "copies from repeated print lines; queue name in other case",
			steps: script(exp("\x02LETTERS\n", 0),
				sendControl("cfA003h", "Hh\nPdan\nldfA003h\nldfA003h\nldfA003h\n", 0),
				sendData("dfA003h", pdfDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "dan", name: "dfA003h", host: "127.0.0.1", copies: 3,
				docs: []string{pdfDoc}, formats: []string{document.PDF}, docNames: []string{"dfA003h"}}},
		},
		{
			name: "missing P and H fall back to anonymous and the peer address",
			steps: script(exp("\x02ward\n", 0), sendControl("cfA004h", "ldfA004h\n", 0),
				sendData("dfA004h", textDoc, 0)),
			want: []wantJob{{printer: "ward-vp", owner: "anonymous", name: "dfA004h", host: "127.0.0.1", copies: 1,
				docs: []string{textDoc}, formats: []string{document.Octet}, docNames: []string{"dfA004h"}}},
		},
		{
			name: "two jobs on one connection",
			steps: script(exp("\x02letters\n", 0),
				sendControl("cfA005h", "Hh\nPerin\nldfA005h\n", 0), sendData("dfA005h", textDoc, 0),
				sendData("dfA006h", pdfDoc, 0), sendControl("cfA006h", "Hh\nPfay\nldfA006h\n", 0)),
			want: []wantJob{
				{printer: "letters-vp", owner: "erin", name: "dfA005h", host: "127.0.0.1", copies: 1, docs: []string{textDoc},
					formats: []string{document.Octet}, docNames: []string{"dfA005h"}},
				{printer: "letters-vp", owner: "fay", name: "dfA006h", host: "127.0.0.1", copies: 1, docs: []string{pdfDoc},
					formats: []string{document.PDF}, docNames: []string{"dfA006h"}},
			},
		},
		{
			name: "abort subcommand forgets the first attempt",
			steps: script(exp("\x02letters\n", 0), sendData("dfA007h", binDoc, 0), only("\x01\n"),
				sendControl("cfA008h", "Pgus\nldfA008h\n", 0), sendData("dfA008h", textDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "gus", name: "dfA008h", host: "127.0.0.1", copies: 1,
				docs: []string{textDoc}, formats: []string{document.Octet}, docNames: []string{"dfA008h"}}},
			wantDiscarded: 1,
		},
		{
			name: "data file of unknown length (Windows without byte counting) runs to the client's close",
			steps: script(exp("\x02letters\n", 0), sendControl("cfA009h", "Pwin\nldfA009h\n", 0),
				exp("\x03125899906843000 dfA009h\n", 0), only(pdfDoc+binDoc), halfClose(0)),
			want: []wantJob{{printer: "letters-vp", owner: "win", name: "dfA009h", host: "127.0.0.1", copies: 1,
				docs: []string{pdfDoc + binDoc}, formats: []string{document.PDF}, docNames: []string{"dfA009h"}}},
		},
		{
			name: "data file the control file does not print is discarded",
			steps: script(exp("\x02letters\n", 0), sendData("dfZ010h", binDoc, 0), sendData("dfA010h", textDoc, 0),
				sendControl("cfA010h", "Phal\nfdfA010h\n", 0)),
			want: []wantJob{{printer: "letters-vp", owner: "hal", name: "dfA010h", host: "127.0.0.1", copies: 1,
				docs: []string{textDoc}, formats: []string{document.Text}, docNames: []string{"dfA010h"}}},
			wantDiscarded: 1,
		},
		{
			name: "LPRng given one file twice: the repeated data file is drained, not a new job",
			steps: script(exp("\x02letters\n", 0), sendControl("cfA011h", "Pp\nldfA011h\nldfA011h\n", 0),
				sendData("dfA011h", pdfDoc, 0), sendData("dfA011h", pdfDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "p", name: "dfA011h", host: "127.0.0.1", copies: 2,
				docs: []string{pdfDoc}, formats: []string{document.PDF}, docNames: []string{"dfA011h"}}},
		},
		{
			name: "LPRng shape: N with full paths before each print line, A/D/Q lines",
			steps: script(exp("\x02letters\n", 0),
				sendControl("cfA175localhost", "Hlocalhost\nProot\nJPack\nCA\nLroot\nAroot@localhost+175\n"+
					"D2026-11-23-10:59:46.063\nQletters\nN/home/root/a.pdf\nfdfA175localhost\n"+
					"NC:\\Users\\x\\b.txt\nfdfB175localhost\nUdfA175localhost\nUdfB175localhost\n", 0),
				sendData("dfA175localhost", pdfDoc, 0), sendData("dfB175localhost", textDoc, 0)),
			want: []wantJob{{printer: "letters-vp", owner: "root", name: "Pack", host: "127.0.0.1", copies: 1,
				docs: []string{pdfDoc, textDoc}, formats: []string{document.PDF, document.Text}, docNames: []string{"a.pdf", "b.txt"}}},
		},
		// Refusals: a negative acknowledgement, nothing stored, staged documents discarded.
		{name: "unknown queue", steps: script(exp("\x02nosuchqueue\n", 1), exp("", -1))},
		{name: "garbage command", steps: script(exp("GET / HTTP/1.1\n", 1), exp("", -1))},
		{
			name:  "announced data file larger than the job limit",
			cfg:   Config{MaxJobBytes: 64},
			steps: script(exp("\x02letters\n", 0), exp("\x0365 dfA011h\n", 1), exp("", -1)),
		},
		{
			name: "second data file takes the job over the limit",
			cfg:  Config{MaxJobBytes: 100},
			steps: script(exp("\x02letters\n", 0), sendData("dfA012h", big, 0),
				exp(datSub("dfB012h", big), 1), exp("", -1)),
			wantDiscarded: 1,
		},
		{
			name: "data file of unknown length over the limit",
			cfg:  Config{MaxJobBytes: 100},
			steps: script(exp("\x02letters\n", 0), sendControl("cfA013h", "Pp\nldfA013h\n", 0),
				exp("\x030 dfA013h\n", 0), only(strings.Repeat("y", 101)), halfClose(1)),
		},
		{
			name: "control file that prints nothing, data already staged",
			steps: script(exp("\x02letters\n", 0), sendData("dfA014h", pdfDoc, 0),
				exp(ctlSub("cfA014h", "Hh\nPp\n"), 0), exp("Hh\nPp\n\x00", 1), exp("", -1)),
			wantDiscarded: 1,
		},
		{
			name: "control file with binary garbage",
			steps: script(exp("\x02letters\n", 0), exp(ctlSub("cfA015h", "\x01\x02\x03ldfA015h\n"), 0),
				exp("\x01\x02\x03ldfA015h\n\x00", 1)),
		},
		{
			name: "control file asks different copies per file",
			steps: script(exp("\x02letters\n", 0),
				exp(ctlSub("cfA016h", "Pp\nldfA016h\nldfA016h\nldfB016h\n"), 0),
				exp("Pp\nldfA016h\nldfA016h\nldfB016h\n\x00", 1)),
		},
		{
			name:  "control file too large announced",
			steps: script(exp("\x02letters\n", 0), exp(fmt.Sprintf("\x02%d cfA017h\n", MaxControlFileBytes+1), 1)),
		},
		{
			name: "control file not followed by NUL",
			steps: script(exp("\x02letters\n", 0), exp(ctlSub("cfA018h", "Pp\nldfA018h\n"), 0),
				exp("Pp\nldfA018h\nX", 1)),
		},
		{
			name:  "data file not followed by NUL",
			steps: script(exp("\x02letters\n", 0), exp(datSub("dfA019h", pdfDoc), 0), exp(pdfDoc+"X", 1)),
			// Staged, then refused: discarded.
			wantDiscarded: 1,
		},
		{
			name: "data file sent twice",
			steps: script(exp("\x02letters\n", 0), sendData("dfA020h", pdfDoc, 0),
				exp(datSub("dfA020h", pdfDoc), 1)),
			wantDiscarded: 1,
		},
		{
			name: "second control file for one job",
			steps: script(exp("\x02letters\n", 0), sendControl("cfA021h", "Pp\nldfA021h\n", 0),
				exp(ctlSub("cfB021h", "Pp\nldfA021h\n"), 1)),
		},
		{
			name:  "malformed subcommand",
			steps: script(exp("\x02letters\n", 0), exp("\x03abc dfA022h\n", 1)),
		},
		{
			name:  "subcommand with a path as file name",
			steps: script(exp("\x02letters\n", 0), exp("\x0310 ../../etc/cron.d/x\n", 1)),
		},
		{
			name: "client hangs up in the middle of a data file",
			steps: script(exp("\x02letters\n", 0), sendControl("cfA023h", "Pp\nldfA023h\n", 0),
				exp("\x031000 dfA023h\n", 0), only(pdfDoc)),
		},
		{
			name:          "client hangs up after a data file, before the control file",
			steps:         script(exp("\x02letters\n", 0), sendData("dfA024h", pdfDoc, 0)),
			wantDiscarded: 1,
		},
		{
			name: "client hangs up before a data file the control file prints",
			steps: script(exp("\x02letters\n", 0), sendData("dfA025h", pdfDoc, 0),
				sendControl("cfA025h", "Pp\nldfA025h\nldfB025h\n", 0)),
			wantDiscarded: 1,
		},
		{
			name: "client hangs up inside the control file",
			steps: script(exp("\x02letters\n", 0), sendData("dfA026h", pdfDoc, 0),
				exp(ctlSub("cfA026h", "Pp\nldfA026h\n"), 0), only("Pp\n")),
			wantDiscarded: 1,
		},
		{
			name:      "spool refuses the job",
			submitErr: job.ErrDiskFull,
			steps: script(exp("\x02letters\n", 0), sendControl("cfA027h", "Pp\nldfA027h\n", 0),
				sendData("dfA027h", pdfDoc, 1)),
			wantDiscarded: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fs := newFakeSpool()
			fs.submitErr = tt.submitErr
			h := startServer(t, tt.cfg, fs)
			w := dialWire(t, h.addr)
			runScript(t, w, tt.steps)
			w.c.Close()
			h.waitConn(t)
			checkSpool(t, fs, tt.want, tt.wantDiscarded)
		})
	}
}

func runScript(t *testing.T, w *wire, steps []step) {
	t.Helper()
	for i, s := range steps {
		if s.closeWrite {
			w.closeWrite()
		} else {
			w.send(s.send)
		}
		if s.ack != noAck {
			if got := w.ack(); got != s.ack {
				t.Fatalf("step %d (%q): ack = %d, want %d", i, clip(s.send, 40), got, s.ack)
			}
		}
	}
}

func checkSpool(t *testing.T, fs *fakeSpool, want []wantJob, wantDiscarded int) {
	t.Helper()
	live, discarded, jobs := fs.snapshot()
	if live != 0 {
		t.Errorf("%d staged documents neither submitted nor discarded", live)
	}
	if discarded != wantDiscarded {
		t.Errorf("discarded %d staged documents, want %d", discarded, wantDiscarded)
	}
	if len(jobs) != len(want) {
		t.Fatalf("submitted %d jobs, want %d", len(jobs), len(want))
	}
	for i, w := range want {
		j := jobs[i]
		got := wantJob{printer: j.nj.VirtualPrinter, owner: j.nj.Owner, name: j.nj.Name, host: j.nj.OriginHost,
			copies: j.nj.Attributes.Copies}
		for k, d := range j.job.Documents {
			got.docs = append(got.docs, string(j.docs[k]))
			got.formats = append(got.formats, d.Format)
			got.docNames = append(got.docNames, d.Name)
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("job %d = %+v\nwant %+v", i, got, w)
		}
		if j.nj.Origin != "lpd" {
			t.Errorf("job %d origin = %q", i, j.nj.Origin)
		}
	}
}

// The final acknowledgement must not leave before Submit has returned: a client that saw it
// may delete its copy.
func TestServerAcksOnlyAfterSubmit(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	fs.submitGate = make(chan struct{})
	h := startServer(t, Config{}, fs)
	w := dialWire(t, h.addr)
	runScript(t, w, script(exp("\x02letters\n", 0), sendControl("cfA001h", "Pp\nldfA001h\n", 0),
		exp(datSub("dfA001h", pdfDoc), 0)))
	w.send(pdfDoc + "\x00")
	fs.waitFor(t, "submit-start")
	// Submit is blocked: no acknowledgement may be on the wire yet.
	_ = w.c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if b, err := w.br.ReadByte(); err == nil {
		t.Fatalf("acknowledgement %d arrived while Submit was still running", b)
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("read: %v", err)
	}
	close(fs.submitGate)
	_ = w.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	w.expectAck(0)
	if _, _, jobs := fs.snapshot(); len(jobs) != 1 {
		t.Fatalf("%d jobs after the final acknowledgement, want 1", len(jobs))
	}
}

// A run of bad clients must not stop the listener from serving a good one.
func TestServerSurvivesBadClients(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxJobBytes: 1 << 20}, fs)
	bad := [][]step{
		script(exp("\x02nosuch\n", 1)),
		script(exp("\xff\xfe\xfd\n", 1)),
		script(exp("\x02letters\n", 0), exp("\x039999999999 dfA1h\n", 1)),
		script(exp("\x02letters\n", 0), sendData("dfA1h", pdfDoc, 0), exp(ctlSub("cfA1h", "junk"), 0), exp("junk\x00", 1)),
		script(exp("\x02letters\n", 0), exp("\x03100 dfA1h\n", 0), only("short")),
		script(only(strings.Repeat("A", 3*MaxLineBytes))),
	}
	for _, steps := range bad {
		w := dialWire(t, h.addr)
		runScript(t, w, steps)
		w.c.Close()
		h.waitConn(t)
	}
	w := dialWire(t, h.addr)
	runScript(t, w, script(exp("\x02letters\n", 0), sendControl("cfA2h", "Pgood\nldfA2h\n", 0),
		sendData("dfA2h", pdfDoc, 0)))
	w.c.Close()
	h.waitConn(t)
	checkSpool(t, fs, []wantJob{{printer: "letters-vp", owner: "good", name: "dfA2h", host: "127.0.0.1", copies: 1,
		docs: []string{pdfDoc}, formats: []string{document.PDF}, docNames: []string{"dfA2h"}}}, 1)
}

func TestServerIdleTimeout(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{ReadTimeout: 150 * time.Millisecond}, fs)
	tests := []struct {
		name          string
		steps         []step
		wantReply     string
		wantDiscarded int
	}{
		{"silent after connecting", nil, "", 0},
		{"silent inside a command line", script(only("\x02lett")), "", 0},
		{"silent between files", script(exp("\x02letters\n", 0), sendData("dfA1h", pdfDoc, 0)), "", 1},
		// The partial file never becomes a staged document; the refusal is acknowledged.
		{"stalls inside a data file", script(exp("\x02letters\n", 0), exp("\x03100 dfA1h\n", 0), only("abc")), "\x01", 0},
	}
	discarded := 0
	for _, tt := range tests {
		// Sequential: each case checks the shared spool after its own connection.
		w := dialWire(t, h.addr)
		start := time.Now()
		runScript(t, w, tt.steps)
		// The server must hang up on its own.
		if got := w.rest(); got != tt.wantReply {
			t.Errorf("%s: unexpected reply %q", tt.name, got)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: server took %v to drop an idle client", tt.name, d)
		}
		h.waitConn(t)
		discarded += tt.wantDiscarded
		checkSpool(t, fs, nil, discarded)
	}
}

func TestServerConnectionLimit(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxConns: 2}, fs)
	// Two clients hold both slots: each has had its command acknowledged, so its handler runs.
	holders := []*wire{dialWire(t, h.addr), dialWire(t, h.addr)}
	for _, w := range holders {
		w.send("\x02letters\n")
		w.expectAck(0)
	}
	extra := dialWire(t, h.addr)
	if got := extra.rest(); got != "" {
		t.Fatalf("refused connection got %q", got)
	}
	// Freeing a slot lets the next client in.
	holders[0].c.Close()
	h.waitConn(t)
	w := dialWire(t, h.addr)
	runScript(t, w, script(exp("\x02letters\n", 0), sendControl("cfA1h", "Pp\nldfA1h\n", 0),
		sendData("dfA1h", pdfDoc, 0)))
	if _, _, jobs := fs.snapshot(); len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
}

func TestServerMaxConnDuration(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{MaxConnDuration: 200 * time.Millisecond, ReadTimeout: time.Minute}, fs)
	w := dialWire(t, h.addr)
	runScript(t, w, script(exp("\x02letters\n", 0), sendData("dfA1h", pdfDoc, 0)))
	// Only the connection age can end this: the read timeout is a minute away.
	start := time.Now()
	if got := w.ack(); got != -1 {
		t.Fatalf("read %d, want the server to hang up", got)
	}
	h.waitConn(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("connection lived %v", d)
	}
	checkSpool(t, fs, nil, 1)
}

func TestNewServerValidates(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	tests := []struct {
		name string
		cfg  Config
		sp   Spooler
	}{
		{"nil spooler", Config{}, nil},
		{"space in queue name", Config{Queues: map[string]string{"a b": "vp"}}, fs},
		{"empty virtual printer", Config{Queues: map[string]string{"q": ""}}, fs},
		{"queues differing only in case", Config{Queues: map[string]string{"q": "a", "Q": "b"}}, fs},
		{"negative timeout", Config{ReadTimeout: -1}, fs},
		{"negative max bytes", Config{MaxJobBytes: -1}, fs},
	}
	for _, tt := range tests {
		if _, err := NewServer(tt.cfg, tt.sp); err == nil {
			t.Errorf("%s: NewServer accepted it", tt.name)
		}
	}
	s, err := NewServer(Config{Queues: map[string]string{"q": "vp"}}, fs)
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.MaxJobBytes != DefaultMaxJobBytes || s.cfg.MaxConns != DefaultMaxConns ||
		s.cfg.ReadTimeout != DefaultReadTimeout || s.cfg.MaxConnDuration != DefaultMaxConnDuration {
		t.Errorf("defaults not applied: %+v", s.cfg)
	}
}

func TestExactReader(t *testing.T) {
	t.Parallel()
	r := &exactReader{r: strings.NewReader("abcdef"), n: 4}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil || buf.String() != "abcd" {
		t.Fatalf("exact read = %q, %v", buf.String(), err)
	}
	r = &exactReader{r: strings.NewReader("ab"), n: 4}
	buf.Reset()
	if _, err := buf.ReadFrom(r); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("short exact read error = %v", err)
	}
}

// A data file of unknown length ends at the client's close; a reset is not a close, and the
// partial file must not become a job.
func TestServerResetDuringUnknownLength(t *testing.T) {
	t.Parallel()
	fs := newFakeSpool()
	h := startServer(t, Config{}, fs)
	w := dialWire(t, h.addr)
	runScript(t, w, script(exp("\x02letters\n", 0), sendControl("cfA1h", "Pp\nldfA1h\n", 0),
		exp("\x030 dfA1h\n", 0), only(pdfDoc)))
	tc := w.c.(*net.TCPConn)
	_ = tc.SetLinger(0)
	tc.Close()
	h.waitConn(t)
	checkSpool(t, fs, nil, 0)
}
