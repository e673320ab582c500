// The LPD client: sends one job (control file and data files) to a remote queue and reports
// success only when the server acknowledged every step.
package lpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrRefused matches every negative acknowledgement from a server (see NackError).
var ErrRefused = errors.New("lpd: server refused")

// NackError is a non-zero acknowledgement byte: the server refused Step. RFC 1179 gives no
// reason, so the step is all there is to go on: a refusal of "receive-job" means the queue is
// unknown or not accepting; of a data file usually that it is too large or the server's disk
// is full.
type NackError struct {
	Step string
	Code byte
}

func (e *NackError) Error() string {
	return fmt.Sprintf("lpd: server refused %s (code %d)", e.Step, e.Code)
}

// Unwrap lets errors.Is(err, ErrRefused) match.
func (e *NackError) Unwrap() error { return ErrRefused }

// DefaultStepTimeout bounds each step of a Client's conversation.
const DefaultStepTimeout = 60 * time.Second

// Client sends jobs to LPD servers. The zero value is ready to use; a Client is safe for
// concurrent use and holds no connection between jobs.
type Client struct {
	// Dialer opens connections; nil uses a zero net.Dialer (the context still bounds dialing).
	Dialer *net.Dialer
	// StepTimeout bounds each step: an acknowledgement wait, or a write of file data that makes
	// no progress. Default DefaultStepTimeout.
	StepTimeout time.Duration
	// Host is the H line and the host part of file names. Default: os.Hostname.
	Host string
	// DataFirst sends the data files before the control file, as BSD lpr does. By default the
	// control file goes first (CUPS' default), so the server knows the job before its data.
	DataFirst bool
}

// ClientJob is one job to send.
type ClientJob struct {
	Name string // J line: job name; cut to 99 bytes
	User string // P line: user; cut to 31 bytes. Default "anonymous"
	Host string // H line, overriding Client.Host
	// Copies repeats each file's print line (the RFC 1179 way to ask for copies). Default 1.
	Copies int
	// Files are sent in order; at least one.
	Files []ClientFile
	// Number (1-999) names the control and data files; 0 picks one at random.
	Number int
}

// ClientFile is one data file of a job: a path, or a reader with its exact size.
type ClientFile struct {
	// Name is the N line, the file name lpq shows; cut to 131 bytes. Default: Path's base name.
	Name string
	// Format is the print command letter; 0 means 'l' (raw, passed through untouched).
	// FormatLetter maps a MIME type to one.
	Format byte
	// Path is a file to send. When empty, Reader and Size are used.
	Path string
	// Reader yields exactly Size bytes.
	Reader io.Reader
	Size   int64
}

// Send transfers job to queue at addr (host:port) and returns nil once the server has
// acknowledged the last file. ctx bounds the whole conversation; StepTimeout each step.
func (c *Client) Send(ctx context.Context, addr, queue string, j ClientJob) error {
	if err := c.send(ctx, addr, queue, j); err != nil {
		return fmt.Errorf("lpd: send to %s/%s: %w", addr, queue, err)
	}
	return nil
}

// openFile is a data file ready to go.
type openFile struct {
	r    io.Reader
	size int64
	name string // dfA... on the wire
}

func (c *Client) send(ctx context.Context, addr, queue string, j ClientJob) error {
	if err := checkToken([]byte(queue)); err != nil {
		return fmt.Errorf("queue name: %w", err)
	}
	if len(j.Files) == 0 {
		return errors.New("job has no files")
	}
	if len(j.Files) > MaxDataFiles {
		return fmt.Errorf("job has %d files, at most %d fit one job", len(j.Files), MaxDataFiles)
	}
	host := firstNonEmpty(j.Host, c.Host)
	if host == "" {
		host, _ = os.Hostname()
	}
	host = cleanOperand(firstNonEmpty(host, "localhost"), 31)
	num := j.Number
	if num <= 0 || num > 999 {
		num = 1 + rand.IntN(999)
	}
	cf := &ControlFile{
		Host:    host,
		User:    cleanOperand(firstNonEmpty(j.User, "anonymous"), 31),
		JobName: cleanOperand(j.Name, 99),
	}
	files := make([]openFile, len(j.Files))
	for i, f := range j.Files {
		of := openFile{r: f.Reader, size: f.Size, name: DataFileName(num, i, host)}
		if f.Path != "" {
			fh, err := os.Open(f.Path)
			if err != nil {
				return err
			}
			defer fh.Close()
			st, err := fh.Stat()
			if err != nil {
				return err
			}
			of.r, of.size = fh, st.Size()
		}
		if of.r == nil {
			return fmt.Errorf("file %d: neither a path nor a reader", i+1)
		}
		// Several servers read a zero count as "until the connection closes".
		if of.size <= 0 {
			return fmt.Errorf("file %d: empty or unknown size (%d bytes)", i+1, of.size)
		}
		format := f.Format
		if format == 0 {
			format = 'l'
		}
		if !IsPrintCommand(format) {
			return fmt.Errorf("file %d: %q is not a print command letter", i+1, format)
		}
		name := f.Name
		if name == "" && f.Path != "" {
			name = baseName(f.Path)
		}
		cf.Files = append(cf.Files, DataFile{Name: of.name, Format: format, Copies: max(j.Copies, 1),
			SourceName: cleanOperand(name, 131)})
		files[i] = of
	}
	control, err := cf.Marshal()
	if err != nil {
		return err
	}

	d := c.Dialer
	if d == nil {
		d = &net.Dialer{}
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	step := orDefault(c.StepTimeout, DefaultStepTimeout)
	tc := &timeoutConn{Conn: nc, read: step, write: step}
	s := &session{w: tc, r: bufio.NewReader(tc)}

	err = s.run(num, host, queue, control, files, c.DataFirst)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// session is one client conversation.
type session struct {
	w io.Writer
	r *bufio.Reader
}

func (s *session) run(num int, host, queue string, control []byte, files []openFile, dataFirst bool) error {
	cmd, err := Command{Code: CmdReceiveJob, Queue: queue}.Marshal()
	if err != nil {
		return err
	}
	if err := s.step("receive-job", cmd); err != nil {
		return err
	}
	sendControl := func() error {
		name := ControlFileName(num, host)
		line, err := Subcommand{Code: SubControlFile, Count: int64(len(control)), Name: name}.Marshal()
		if err != nil {
			return err
		}
		if err := s.step("control file "+name, line); err != nil {
			return err
		}
		return s.step("control file "+name+" contents", append(control[:len(control):len(control)], 0))
	}
	sendData := func(f openFile) error {
		line, err := Subcommand{Code: SubDataFile, Count: f.size, Name: f.name}.Marshal()
		if err != nil {
			return err
		}
		if err := s.step("data file "+f.name, line); err != nil {
			return err
		}
		n, err := io.CopyN(s.w, f.r, f.size)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("data file %s: source ended after %d of %d bytes", f.name, n, f.size)
			}
			return fmt.Errorf("data file %s: after %d of %d bytes: %w", f.name, n, f.size, err)
		}
		return s.step("data file "+f.name+" contents", []byte{0})
	}
	if !dataFirst {
		if err := sendControl(); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := sendData(f); err != nil {
			return err
		}
	}
	if dataFirst {
		return sendControl()
	}
	return nil
}

// step writes b and waits for the acknowledgement byte.
func (s *session) step(what string, b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	ack, err := s.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: server closed the connection without an acknowledgement", what)
		}
		return fmt.Errorf("%s: waiting for acknowledgement: %w", what, err)
	}
	if ack != ackOK {
		return &NackError{Step: what, Code: ack}
	}
	return nil
}

// cleanOperand makes s safe for a control-file line: no control bytes, at most n bytes, not
// cut inside a character.
func cleanOperand(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	for len(s) > n {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// ParseURI splits lpd://host[:port]/queue into a dialable address (port 515 by default) and
// the queue name. A query (CUPS-style options) is ignored.
func ParseURI(uri string) (addr, queue string, err error) {
	u, err := url.Parse(uri)
	if err != nil {
		return "", "", fmt.Errorf("lpd: parse URI: %w", parseErr(err))
	}
	shown := u.Redacted() // errors reach logs and the API: never the password
	if u.Scheme != "lpd" {
		return "", "", fmt.Errorf("lpd: parse URI %q: scheme is not lpd", shown)
	}
	if u.Hostname() == "" {
		return "", "", fmt.Errorf("lpd: parse URI %q: no host", shown)
	}
	port := u.Port()
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", "", fmt.Errorf("lpd: parse URI %q: bad port", shown)
	}
	queue = strings.TrimPrefix(u.Path, "/")
	if queue == "" || strings.Contains(queue, "/") {
		return "", "", fmt.Errorf("lpd: parse URI %q: want exactly one path element, the queue", shown)
	}
	if err := checkToken([]byte(queue)); err != nil {
		return "", "", fmt.Errorf("lpd: parse URI %q: queue: %w", shown, err)
	}
	return net.JoinHostPort(u.Hostname(), port), queue, nil
}

// parseErr is url.Parse's error without the URI it repeats, which may hold a password.
func parseErr(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
