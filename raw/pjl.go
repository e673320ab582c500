// PJL headers: Windows and many Unix drivers start a raw job with PJL lines naming the user and
// the job, which is all a raw connection tells us about who printed what.
package raw

import (
	"bytes"
	"strings"
	"unicode/utf8"

	"github.com/printgate/printgate/internal/tcpfront"
)

// pjlInfo returns the user and job name from a PJL header at the start of head, "" when absent.
// It reads "@PJL SET USERNAME", "@PJL JOB NAME" and "@PJL SET JOBNAME", and stops at the first
// line that is not PJL (the document itself) or at ENTER LANGUAGE.
func pjlInfo(head []byte) (user, j string) {
	const uel = "\x1b%-12345X"
	if !bytes.HasPrefix(head, []byte(uel)) {
		return "", ""
	}
	rest := head[len(uel):]
	for len(rest) > 0 {
		var line []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			line, rest = rest, nil // may be cut by the end of head; still worth a look
		}
		line = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(line), []byte(uel)))
		if len(line) == 0 {
			continue
		}
		if len(line) < 4 || !strings.EqualFold(string(line[:4]), "@PJL") {
			break
		}
		words := strings.Fields(strings.ToUpper(string(line[4:])))
		switch {
		case len(words) >= 2 && words[0] == "ENTER" && strings.HasPrefix(words[1], "LANGUAGE"):
			return user, j
		case len(words) >= 2 && words[0] == "SET" && strings.HasPrefix(words[1], "USERNAME"):
			setOnce(&user, pjlValue(line))
		case len(words) >= 2 && words[0] == "SET" && strings.HasPrefix(words[1], "JOBNAME"):
			setOnce(&j, pjlValue(line))
		case len(words) >= 2 && words[0] == "JOB" && strings.HasPrefix(words[1], "NAME"):
			setOnce(&j, pjlValue(line))
		}
	}
	return user, j
}

// pjlValue is what follows the first '=' of a PJL line: a quoted string, or a bare word.
func pjlValue(line []byte) string {
	i := bytes.IndexByte(line, '=')
	if i < 0 {
		return ""
	}
	v := bytes.TrimSpace(line[i+1:])
	if len(v) > 0 && v[0] == '"' {
		v = v[1:]
		if j := bytes.IndexByte(v, '"'); j >= 0 {
			v = v[:j]
		}
	} else if j := bytes.IndexAny(v, " \t"); j >= 0 {
		v = v[:j]
	}
	return cleanText(v)
}

// cleanText makes header bytes a safe string: UTF-8 when valid, else Latin-1; control bytes
// become spaces; at most 255 bytes.
func cleanText(b []byte) string {
	s := tcpfront.DecodeText(b)
	for len(s) > 255 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
