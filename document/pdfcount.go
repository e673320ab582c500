// A fast path for counting PDF pages on the submission path: read the page tree root's /Count
// through the classic cross-reference table instead of loading every object as pdfcpu does
// (about 0.6 ms and 650 allocations for a 4 KB letter, most of a durable submission's CPU).
// Files it cannot read this way — cross-reference streams, hybrid files, encryption, damage —
// report ok=false and the caller falls back to pdfcpu, so the answer never gets worse.
package document

import (
	"bytes"
	"strconv"
)

// maxFastPages bounds a /Count the fast path believes; anything larger goes to pdfcpu.
const maxFastPages = 1 << 20

// fastPDFPages returns the page count of the PDF in data, and ok=false when it cannot tell.
func fastPDFPages(data []byte) (pages int, ok bool) {
	tailStart := max(0, len(data)-2048)
	i := bytes.LastIndex(data[tailStart:], []byte("startxref"))
	if i < 0 {
		return 0, false
	}
	lx := &pdfLexer{b: data, i: tailStart + i + len("startxref")}
	off, ok := lx.int()
	if !ok {
		return 0, false
	}
	offsets := map[int64]int64{}
	var root pdfValue
	seen := map[int64]bool{}
	// Newest section first: an object defined in a later update wins over older definitions.
	for n := 0; ; n++ {
		if n > 64 || off <= 0 || off >= int64(len(data)) || seen[off] {
			return 0, false
		}
		seen[off] = true
		trailer, ok := readXRefSection(data, off, offsets)
		if !ok {
			return 0, false
		}
		if _, enc := trailer["/Encrypt"]; enc {
			return 0, false
		}
		if _, hybrid := trailer["/XRefStm"]; hybrid {
			return 0, false
		}
		if n == 0 {
			root = trailer["/Root"]
		}
		prev, has := trailer["/Prev"]
		if !has {
			break
		}
		if prev.kind != pdfInt {
			return 0, false
		}
		off = prev.n
	}
	if root.kind != pdfRef {
		return 0, false
	}
	catalog, ok := readObjectDict(data, offsets, root.n)
	if !ok {
		return 0, false
	}
	pagesRef := catalog["/Pages"]
	if pagesRef.kind != pdfRef {
		return 0, false
	}
	tree, ok := readObjectDict(data, offsets, pagesRef.n)
	if !ok || tree["/Type"].name != "/Pages" {
		return 0, false
	}
	count := tree["/Count"]
	if count.kind != pdfInt || count.n < 1 || count.n > maxFastPages {
		return 0, false
	}
	return int(count.n), true
}

// readXRefSection parses one classic "xref ... trailer <<...>>" section at off, recording in
// offsets the in-use objects not already defined by a newer section.
func readXRefSection(data []byte, off int64, offsets map[int64]int64) (map[string]pdfValue, bool) {
	lx := &pdfLexer{b: data, i: int(off)}
	if t, _ := lx.token(); t != "xref" {
		return nil, false // a cross-reference stream: pdfcpu's job
	}
	for {
		t, ok := lx.token()
		if !ok {
			return nil, false
		}
		if t == "trailer" {
			break
		}
		start, err := strconv.ParseInt(t, 10, 64)
		if err != nil || start < 0 {
			return nil, false
		}
		count, ok := lx.int()
		// Each entry takes 20 bytes: a count beyond the file is damage, not a table.
		if !ok || count < 0 || count > int64(len(data))/18 {
			return nil, false
		}
		for k := range count {
			objOff, ok1 := lx.int()
			_, ok2 := lx.int()
			kind, ok3 := lx.token()
			if !ok1 || !ok2 || !ok3 || (kind != "n" && kind != "f") {
				return nil, false
			}
			num := start + k
			if _, newer := offsets[num]; newer {
				continue
			}
			if kind == "n" {
				offsets[num] = objOff
			} else {
				offsets[num] = -1 // freed in this update: older definitions no longer count
			}
		}
	}
	if t, _ := lx.token(); t != "<<" {
		return nil, false
	}
	return lx.dict()
}

// readObjectDict reads "num gen obj << ... >>" at the offset the cross-reference table gives.
func readObjectDict(data []byte, offsets map[int64]int64, num int64) (map[string]pdfValue, bool) {
	off, ok := offsets[num]
	if !ok || off < 0 || off >= int64(len(data)) {
		return nil, false
	}
	lx := &pdfLexer{b: data, i: int(off)}
	n, ok1 := lx.int()
	_, ok2 := lx.int()
	kw, _ := lx.token()
	open, _ := lx.token()
	if !ok1 || !ok2 || n != num || kw != "obj" || open != "<<" {
		return nil, false
	}
	return lx.dict()
}

type pdfKind int

const (
	pdfOther pdfKind = iota
	pdfInt
	pdfRef
	pdfName
)

// pdfValue keeps only what the page count needs: integers, references and names.
type pdfValue struct {
	kind pdfKind
	n    int64
	name string
}

// pdfLexer tokenizes PDF syntax (ISO 32000-1 §7.2) well enough to read dictionaries.
type pdfLexer struct {
	b     []byte
	i     int
	depth int // nesting of value(), bounded so hostile input cannot exhaust the stack
}

func isPDFSpace(c byte) bool {
	return c == 0 || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' '
}

func isPDFDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func (l *pdfLexer) skipSpace() {
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case isPDFSpace(c):
			l.i++
		case c == '%':
			for l.i < len(l.b) && l.b[l.i] != '\n' && l.b[l.i] != '\r' {
				l.i++
			}
		default:
			return
		}
	}
}

// token returns the next token: "<<", ">>", "[", "]", "{", "}", a name with its slash, "(" for
// a whole literal string, "<" for a whole hex string, or a regular word (number, keyword).
func (l *pdfLexer) token() (string, bool) {
	l.skipSpace()
	if l.i >= len(l.b) {
		return "", false
	}
	c := l.b[l.i]
	switch c {
	case '<':
		if l.i+1 < len(l.b) && l.b[l.i+1] == '<' {
			l.i += 2
			return "<<", true
		}
		j := bytes.IndexByte(l.b[l.i:], '>')
		if j < 0 {
			return "", false
		}
		l.i += j + 1
		return "<", true
	case '>':
		if l.i+1 < len(l.b) && l.b[l.i+1] == '>' {
			l.i += 2
			return ">>", true
		}
		return "", false
	case '[', ']', '{', '}':
		l.i++
		return string(c), true
	case ')':
		return "", false
	case '(':
		depth := 0
		for ; l.i < len(l.b); l.i++ {
			switch l.b[l.i] {
			case '\\':
				l.i++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					l.i++
					return "(", true
				}
			}
		}
		return "", false
	}
	j := l.i + 1
	for j < len(l.b) && !isPDFSpace(l.b[j]) && !isPDFDelim(l.b[j]) {
		j++
	}
	t := string(l.b[l.i:j])
	l.i = j
	return t, true
}

// int reads one integer token.
func (l *pdfLexer) int() (int64, bool) {
	t, ok := l.token()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(t, 10, 64)
	return n, err == nil
}

// dict reads a dictionary's entries after its "<<", up to and including the matching ">>".
func (l *pdfLexer) dict() (map[string]pdfValue, bool) {
	d := map[string]pdfValue{}
	for {
		k, ok := l.token()
		if !ok {
			return nil, false
		}
		if k == ">>" {
			return d, true
		}
		if len(k) == 0 || k[0] != '/' {
			return nil, false
		}
		v, ok := l.value()
		if !ok {
			return nil, false
		}
		d[k] = v
	}
}

// value reads one object: an integer, a reference "n g R", a name, or anything else skipped
// whole (nested dictionaries and arrays included).
func (l *pdfLexer) value() (pdfValue, bool) {
	if l.depth >= 32 {
		return pdfValue{}, false
	}
	l.depth++
	defer func() { l.depth-- }()
	t, ok := l.token()
	if !ok {
		return pdfValue{}, false
	}
	switch {
	case t == "<<":
		_, ok := l.dict()
		return pdfValue{}, ok
	case t == "[":
		for {
			save := l.i
			e, ok := l.token()
			if !ok {
				return pdfValue{}, false
			}
			if e == "]" {
				return pdfValue{}, true
			}
			l.i = save
			if _, ok := l.value(); !ok {
				return pdfValue{}, false
			}
		}
	case t == ">>" || t == "]" || t == "}":
		return pdfValue{}, false
	case t[0] == '/':
		return pdfValue{kind: pdfName, name: t}, true
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return pdfValue{}, true // a real, a keyword, a string: not needed
	}
	// "n g R" is a reference; look ahead without consuming anything else.
	save := l.i
	if _, ok := l.int(); ok {
		if r, _ := l.token(); r == "R" {
			return pdfValue{kind: pdfRef, n: n}, true
		}
	}
	l.i = save
	return pdfValue{kind: pdfInt, n: n}, true
}
