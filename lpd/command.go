// Package lpd speaks the Line Printer Daemon protocol (RFC 1179) on both sides: a Server that
// receives jobs into the spool for a virtual printer, and a Client that sends jobs to a physical
// LPD printer or print server. Both share one implementation of the wire messages in this file
// and in control.go.
package lpd

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Wire limits. RFC 1179 gives none for lines; these keep a hostile client from making us buffer
// without bound while leaving room for long lprm lists and long queue names.
const (
	// MaxLineBytes is the longest command or subcommand line accepted, LF included.
	MaxLineBytes = 4096
	// MaxControlFileBytes is the largest control file accepted. Real ones are a few hundred bytes.
	MaxControlFileBytes = 64 << 10
	// DefaultPort is the LPD port.
	DefaultPort = 515
)

// Ack bytes. Any non-zero byte is a negative acknowledgement; we send 1.
const (
	ackOK   byte = 0
	ackFail byte = 1
)

// Sentinel errors for malformed wire input.
var (
	// ErrMalformed wraps every parse failure of a command, subcommand, control file or file name.
	ErrMalformed = errors.New("lpd: malformed input")
	// ErrLineTooLong: a command line exceeded MaxLineBytes.
	ErrLineTooLong = errors.New("lpd: line too long")
)

// malformed builds an error that matches ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// CommandCode is the first byte of a daemon command (RFC 1179 section 5).
type CommandCode byte

// Daemon commands.
const (
	CmdPrintWaiting CommandCode = 1 // start printing waiting jobs; no reply
	CmdReceiveJob   CommandCode = 2 // receive a job: subcommands follow
	CmdQueueShort   CommandCode = 3 // short queue state (lpq)
	CmdQueueLong    CommandCode = 4 // long queue state (lpq -l)
	CmdRemoveJobs   CommandCode = 5 // remove jobs (lprm)
)

func (c CommandCode) String() string {
	switch c {
	case CmdPrintWaiting:
		return "print-waiting"
	case CmdReceiveJob:
		return "receive-job"
	case CmdQueueShort:
		return "queue-state-short"
	case CmdQueueLong:
		return "queue-state-long"
	case CmdRemoveJobs:
		return "remove-jobs"
	}
	return fmt.Sprintf("command-%#02x", byte(c))
}

// Command is one daemon command line.
type Command struct {
	Code  CommandCode
	Queue string
	// Agent is the user asking to remove jobs (CmdRemoveJobs only).
	Agent string
	// List holds user names and job numbers (CmdQueueShort, CmdQueueLong, CmdRemoveJobs).
	List []string
}

// ParseCommand parses one daemon command line. line may or may not end in LF (and a CR before
// it, which some clients send, is tolerated).
func ParseCommand(line []byte) (Command, error) {
	line = trimEOL(line)
	if len(line) < 2 {
		return Command{}, malformed("command line too short (%d bytes)", len(line))
	}
	c := Command{Code: CommandCode(line[0])}
	if c.Code < CmdPrintWaiting || c.Code > CmdRemoveJobs {
		return Command{}, malformed("unknown command code %#02x", line[0])
	}
	fields := splitFields(line[1:])
	if len(fields) == 0 {
		return Command{}, malformed("%s: no queue name", c.Code)
	}
	for _, f := range fields {
		if err := checkToken(f); err != nil {
			return Command{}, fmt.Errorf("%s: %w", c.Code, err)
		}
	}
	c.Queue = string(fields[0])
	rest := fields[1:]
	switch c.Code {
	case CmdPrintWaiting, CmdReceiveJob:
		if len(rest) > 0 {
			return Command{}, malformed("%s: unexpected operands after queue name", c.Code)
		}
	case CmdRemoveJobs:
		if len(rest) == 0 {
			return Command{}, malformed("%s: no agent", c.Code)
		}
		c.Agent = string(rest[0])
		rest = rest[1:]
	}
	for _, f := range rest {
		c.List = append(c.List, string(f))
	}
	return c, nil
}

// Marshal encodes the command line, LF included.
func (c Command) Marshal() ([]byte, error) {
	if c.Code < CmdPrintWaiting || c.Code > CmdRemoveJobs {
		return nil, fmt.Errorf("lpd: marshal command: unknown code %#02x", byte(c.Code))
	}
	ops := []string{c.Queue}
	switch c.Code {
	case CmdPrintWaiting, CmdReceiveJob:
		if c.Agent != "" || len(c.List) > 0 {
			return nil, fmt.Errorf("lpd: marshal %s: takes only a queue name", c.Code)
		}
	case CmdRemoveJobs:
		ops = append(ops, c.Agent)
		ops = append(ops, c.List...)
	default:
		if c.Agent != "" {
			return nil, fmt.Errorf("lpd: marshal %s: takes no agent", c.Code)
		}
		ops = append(ops, c.List...)
	}
	b := []byte{byte(c.Code)}
	for i, op := range ops {
		if err := checkToken([]byte(op)); err != nil {
			return nil, fmt.Errorf("lpd: marshal %s: %w", c.Code, err)
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, op...)
	}
	b = append(b, '\n')
	if len(b) > MaxLineBytes {
		return nil, fmt.Errorf("lpd: marshal %s: %w", c.Code, ErrLineTooLong)
	}
	return b, nil
}

// SubcommandCode is the first byte of a receive-job subcommand (RFC 1179 section 6).
type SubcommandCode byte

// Receive-job subcommands.
const (
	SubAbort       SubcommandCode = 1 // forget what was received of this job; no reply
	SubControlFile SubcommandCode = 2 // a control file of Count bytes follows
	SubDataFile    SubcommandCode = 3 // a data file of Count bytes follows
)

func (c SubcommandCode) String() string {
	switch c {
	case SubAbort:
		return "abort-job"
	case SubControlFile:
		return "receive-control-file"
	case SubDataFile:
		return "receive-data-file"
	}
	return fmt.Sprintf("subcommand-%#02x", byte(c))
}

// Subcommand is one receive-job subcommand line.
type Subcommand struct {
	Code SubcommandCode
	// Count is the announced file size in bytes.
	Count int64
	// Name is the file name, e.g. cfA123host or dfA123host.
	Name string
}

// UnknownLength reports whether a data file's Count means "length not known, read until the
// client closes the connection". RFC 1179 is silent on this; clients use 0, and Windows'
// Standard TCP/IP port with "LPR byte counting" off announces an impossibly large size instead.
func (s Subcommand) UnknownLength() bool {
	return s.Code == SubDataFile && (s.Count == 0 || s.Count >= unknownLengthFloor)
}

// unknownLengthFloor: no print job is a terabyte; anything at or above it is a placeholder.
const unknownLengthFloor = 1 << 40

// ParseSubcommand parses one receive-job subcommand line.
func ParseSubcommand(line []byte) (Subcommand, error) {
	line = trimEOL(line)
	if len(line) == 0 {
		return Subcommand{}, malformed("empty subcommand line")
	}
	s := Subcommand{Code: SubcommandCode(line[0])}
	fields := splitFields(line[1:])
	switch s.Code {
	case SubAbort:
		if len(fields) != 0 {
			return Subcommand{}, malformed("%s: unexpected operands", s.Code)
		}
		return s, nil
	case SubControlFile, SubDataFile:
	default:
		return Subcommand{}, malformed("unknown subcommand code %#02x", line[0])
	}
	if len(fields) != 2 {
		return Subcommand{}, malformed("%s: want count and name, got %d operands", s.Code, len(fields))
	}
	n, err := parseCount(fields[0])
	if err != nil {
		return Subcommand{}, fmt.Errorf("%s: %w", s.Code, err)
	}
	if err := CheckFileName(string(fields[1])); err != nil {
		return Subcommand{}, fmt.Errorf("%s: %w", s.Code, err)
	}
	s.Count, s.Name = n, string(fields[1])
	if s.Code == SubControlFile && s.Count == 0 {
		return Subcommand{}, malformed("%s: empty control file", s.Code)
	}
	return s, nil
}

// Marshal encodes the subcommand line, LF included.
func (s Subcommand) Marshal() ([]byte, error) {
	switch s.Code {
	case SubAbort:
		return []byte{byte(SubAbort), '\n'}, nil
	case SubControlFile, SubDataFile:
	default:
		return nil, fmt.Errorf("lpd: marshal subcommand: unknown code %#02x", byte(s.Code))
	}
	if s.Count < 0 {
		return nil, fmt.Errorf("lpd: marshal %s: negative count %d", s.Code, s.Count)
	}
	if err := CheckFileName(s.Name); err != nil {
		return nil, fmt.Errorf("lpd: marshal %s: %w", s.Code, err)
	}
	b := []byte{byte(s.Code)}
	b = strconv.AppendInt(b, s.Count, 10)
	b = append(b, ' ')
	b = append(b, s.Name...)
	return append(b, '\n'), nil
}

// parseCount reads a decimal byte count: digits only, no sign, fits in int64.
func parseCount(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 19 {
		return 0, malformed("bad byte count %q", b)
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, malformed("bad byte count %q", b)
		}
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, malformed("bad byte count %q", b)
	}
	return n, nil
}

// CheckFileName validates a control or data file name as sent in a subcommand or a control
// file line. RFC 1179 wants cfA/dfA + three digits + host, but real clients vary (longer
// numbers, odd hosts), so only what could confuse parsing or a file system is refused.
func CheckFileName(name string) error {
	if name == "" {
		return malformed("empty file name")
	}
	if len(name) > 255 {
		return malformed("file name longer than 255 bytes")
	}
	if name == "." || name == ".." {
		return malformed("file name %q", name)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c == 0x7f || c == '/' {
			return malformed("file name %q contains %q", name, c)
		}
	}
	return nil
}

// checkToken refuses empty operands and control bytes inside them.
func checkToken(b []byte) error {
	if len(b) == 0 {
		return malformed("empty operand")
	}
	for _, c := range b {
		if c < ' ' || c == 0x7f || c == ' ' {
			return malformed("operand %q contains %q", b, c)
		}
	}
	return nil
}

// splitFields splits on runs of SP and HT, the white space RFC 1179 allows between operands.
func splitFields(b []byte) [][]byte {
	return bytes.FieldsFunc(b, func(r rune) bool { return r == ' ' || r == '\t' })
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// readLine reads one LF-terminated line of at most MaxLineBytes. It returns io.EOF only when
// the stream ended cleanly before any byte of a new line.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > MaxLineBytes {
			return nil, ErrLineTooLong
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return nil, io.ErrUnexpectedEOF
		default:
			return nil, err
		}
	}
}
