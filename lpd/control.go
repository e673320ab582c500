// Control files (RFC 1179 section 7): parsing what clients send, building what we send, and the
// cfA/dfA file names that tie a control file to its data files.
package lpd

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/printgate/printgate/internal/tcpfront"
)

// MaxDataFiles is the most distinct data files one control file may print.
const MaxDataFiles = 52 // dfA..dfZ, dfa..dfz: the names one job number can carry

// ControlFile is what a control file says about a job.
type ControlFile struct {
	Host    string // H: host the job came from (RFC: mandatory)
	User    string // P: user identification (RFC: mandatory)
	JobName string // J: job name for the banner page
	Class   string // C: class for the banner page
	Title   string // T: title for pr
	Banner  string // L: print a banner page for this user; empty for none
	MailTo  string // M: mail this user when done
	// Copies is an LPRng-style K line; 0 when absent. Repeated print lines are the RFC way.
	Copies int
	// Files are the distinct data files printed, in order of their first print line.
	Files []DataFile
	// Other holds the lines we do not act on (fonts, indent, width, symlink data, unknown
	// letters), in order, so they can be logged and written back.
	Other []Line
}

// DataFile is one data file a control file prints.
type DataFile struct {
	Name string // dfA123host
	// Format is the print command letter: 'l' raw, 'f' text, 'o' PostScript, ...
	Format byte
	// Copies is how many print lines name this file.
	Copies int
	// SourceName is the N line: the file's original name, if given.
	SourceName string
}

// Line is one control-file line: a command letter and its operand.
type Line struct {
	Cmd     byte
	Operand string
}

// printLetters are the RFC 1179 print commands: each names a data file to print.
const printLetters = "cdfglnoprtv"

// IsPrintCommand reports whether c is a control-file letter that prints a data file.
func IsPrintCommand(c byte) bool { return c != 0 && strings.IndexByte(printLetters, c) >= 0 }

// ParseControlFile parses a control file. Unknown command letters are kept in Other; a control
// file that prints nothing, names a data file badly, contains NUL or control bytes as commands,
// or prints one file in two formats is refused with an error matching ErrMalformed.
func ParseControlFile(b []byte) (*ControlFile, error) {
	if len(b) > MaxControlFileBytes {
		return nil, malformed("control file of %d bytes exceeds %d", len(b), MaxControlFileBytes)
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return nil, malformed("control file contains NUL at offset %d", i)
	}
	cf := &ControlFile{}
	index := map[string]int{} // data file name -> position in cf.Files
	// N lines come before their print lines in some clients and after them in others (BSD lpr,
	// CUPS); see attachSourceName.
	pendingN, havePendingN := "", false
	last := -1 // index of the file named by the latest print line
	lineNo := 0
	for len(b) > 0 {
		var raw []byte
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			raw, b = b[:i], b[i+1:]
		} else {
			raw, b = b, nil
		}
		lineNo++
		raw = bytes.TrimSuffix(raw, []byte{'\r'})
		if len(raw) == 0 {
			continue // blank lines carry nothing; some clients end with one
		}
		cmd := raw[0]
		if cmd <= ' ' || cmd >= 0x7f {
			return nil, malformed("control file line %d: bad command byte %#02x", lineNo, cmd)
		}
		op := raw[1:]
		if IsPrintCommand(cmd) {
			name := string(op)
			if err := CheckFileName(name); err != nil {
				return nil, fmt.Errorf("control file line %d: %w", lineNo, err)
			}
			i, seen := index[name]
			if !seen {
				if len(cf.Files) == MaxDataFiles {
					return nil, malformed("control file prints more than %d data files", MaxDataFiles)
				}
				i = len(cf.Files)
				index[name] = i
				cf.Files = append(cf.Files, DataFile{Name: name, Format: cmd})
			} else if cf.Files[i].Format != cmd {
				return nil, malformed("control file line %d: data file %s printed as both %q and %q",
					lineNo, name, cf.Files[i].Format, cmd)
			}
			cf.Files[i].Copies++
			if havePendingN && cf.Files[i].SourceName == "" {
				cf.Files[i].SourceName = pendingN
			}
			havePendingN = false
			last = i
			continue
		}
		text := tcpfront.DecodeText(op)
		switch cmd {
		case 'H':
			setOnce(&cf.Host, text)
		case 'P':
			setOnce(&cf.User, text)
		case 'J':
			setOnce(&cf.JobName, text)
		case 'C':
			setOnce(&cf.Class, text)
		case 'T':
			setOnce(&cf.Title, text)
		case 'L':
			setOnce(&cf.Banner, text)
		case 'M':
			setOnce(&cf.MailTo, text)
		case 'N':
			// attachSourceName: an N right after a file's print lines names that file; an N
			// with no unnamed file before it waits for the next print line.
			if last >= 0 && cf.Files[last].SourceName == "" && !havePendingN {
				cf.Files[last].SourceName = text
			} else {
				pendingN, havePendingN = text, true
			}
		case 'U':
			if err := CheckFileName(string(op)); err != nil {
				return nil, fmt.Errorf("control file line %d: unlink: %w", lineNo, err)
			}
		case 'K':
			n, err := strconv.Atoi(string(op))
			if err != nil || n < 1 || n > 999 {
				return nil, malformed("control file line %d: bad copies %q", lineNo, op)
			}
			cf.Copies = n
		default:
			cf.Other = append(cf.Other, Line{Cmd: cmd, Operand: text})
		}
	}
	if len(cf.Files) == 0 {
		return nil, malformed("control file prints no data file")
	}
	return cf, nil
}

// JobCopies is the number of copies the control file asks for, the same for every data file.
// Repeated print lines are the RFC 1179 way; an LPRng K line counts when lines are not
// repeated. Different counts per file cannot be expressed as one job and are refused.
func (c *ControlFile) JobCopies() (int, error) {
	n := 0
	for _, f := range c.Files {
		if n == 0 {
			n = f.Copies
		} else if f.Copies != n {
			return 0, malformed("data files ask for different copy counts (%d and %d)", n, f.Copies)
		}
	}
	if n <= 1 && c.Copies > 1 {
		n = c.Copies
	}
	return max(n, 1), nil
}

// Marshal builds the control file: H, P, J, C, L, T, M, the other lines, then for each data
// file its print lines (one per copy), N and U, the order BSD lpr uses.
func (c *ControlFile) Marshal() ([]byte, error) {
	if len(c.Files) == 0 {
		return nil, fmt.Errorf("lpd: marshal control file: no data files")
	}
	var b bytes.Buffer
	put := func(cmd byte, op string) error {
		if strings.ContainsAny(op, "\n\r\x00") {
			return fmt.Errorf("lpd: marshal control file: %c operand %q contains a line break or NUL", cmd, op)
		}
		b.WriteByte(cmd)
		b.WriteString(op)
		b.WriteByte('\n')
		return nil
	}
	for _, l := range []Line{{'H', c.Host}, {'P', c.User}, {'J', c.JobName}, {'C', c.Class},
		{'L', c.Banner}, {'T', c.Title}, {'M', c.MailTo}} {
		if l.Operand == "" {
			continue
		}
		if err := put(l.Cmd, l.Operand); err != nil {
			return nil, err
		}
	}
	if c.Copies > 0 {
		if err := put('K', strconv.Itoa(c.Copies)); err != nil {
			return nil, err
		}
	}
	for _, l := range c.Other {
		if l.Cmd <= ' ' || l.Cmd >= 0x7f || IsPrintCommand(l.Cmd) || strings.IndexByte("HPJCLTMNUK", l.Cmd) >= 0 {
			return nil, fmt.Errorf("lpd: marshal control file: %q is not an other-line command", l.Cmd)
		}
		if err := put(l.Cmd, l.Operand); err != nil {
			return nil, err
		}
	}
	for _, f := range c.Files {
		if !IsPrintCommand(f.Format) {
			return nil, fmt.Errorf("lpd: marshal control file: %q is not a print command", f.Format)
		}
		if err := CheckFileName(f.Name); err != nil {
			return nil, fmt.Errorf("lpd: marshal control file: %w", err)
		}
		for range max(f.Copies, 1) {
			_ = put(f.Format, f.Name)
		}
		if f.SourceName != "" {
			if err := put('N', f.SourceName); err != nil {
				return nil, err
			}
		}
		_ = put('U', f.Name)
	}
	if b.Len() > MaxControlFileBytes {
		return nil, fmt.Errorf("lpd: marshal control file: %d bytes exceeds %d", b.Len(), MaxControlFileBytes)
	}
	return b.Bytes(), nil
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// ControlFileName is the RFC 1179 name of a job's control file: cfA, three digits, host.
func ControlFileName(j int, host string) string {
	return fmt.Sprintf("cfA%03d%s", j%1000, fileHost(host))
}

// DataFileName is the name of a job's index-th data file (0-based): dfA, dfB, ... dfZ, dfa, ...
func DataFileName(j, index int, host string) string {
	return fmt.Sprintf("df%c%03d%s", dataLetter(index), j%1000, fileHost(host))
}

func dataLetter(i int) byte {
	i %= MaxDataFiles
	if i < 26 {
		return byte('A' + i)
	}
	return byte('a' + i - 26)
}

// fileHost keeps the host part of a file name to characters every LPD accepts.
func fileHost(h string) string {
	var b strings.Builder
	for i := 0; i < len(h) && b.Len() < 31; i++ {
		c := h[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' {
			b.WriteByte(c)
		}
	}
	if b.Len() == 0 {
		return "localhost"
	}
	return b.String()
}
