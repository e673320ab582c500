package lpd

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/printgate/printgate/document"
)

func TestParseControlFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     string
		want   *ControlFile
		copies int
		errMsg string // substring of the error; "" for success
	}{
		{
			name: "CUPS backend style: N before print line",
			in:   "Hclinic-pc\nPalice\nJDischarge letter\nNletter.pdf\nldfA123clinic-pc\nUdfA123clinic-pc\n",
			want: &ControlFile{Host: "clinic-pc", User: "alice", JobName: "Discharge letter",
				Files: []DataFile{{Name: "dfA123clinic-pc", Format: 'l', Copies: 1, SourceName: "letter.pdf"}}},
			copies: 1,
		},
		{
			name: "BSD lpr style: copies, N after print lines, two files",
			in: "Hhost\nPbob\nJjob\nCA\nLbob\nfdfA001host\nfdfA001host\nNa.txt\nUdfA001host\n" +
				"fdfB001host\nfdfB001host\nNb.txt\nUdfB001host\n",
			want: &ControlFile{Host: "host", User: "bob", JobName: "job", Class: "A", Banner: "bob",
				Files: []DataFile{
					{Name: "dfA001host", Format: 'f', Copies: 2, SourceName: "a.txt"},
					{Name: "dfB001host", Format: 'f', Copies: 2, SourceName: "b.txt"},
				}},
			copies: 2,
		},
		{
			name: "N before each print line, two files",
			in:   "Hh\nPp\nNfirst\nodfA1h\nNsecond\nodfB1h\n",
			want: &ControlFile{Host: "h", User: "p", Files: []DataFile{
				{Name: "dfA1h", Format: 'o', Copies: 1, SourceName: "first"},
				{Name: "dfB1h", Format: 'o', Copies: 1, SourceName: "second"},
			}},
			copies: 1,
		},
		{
			name: "LPRng K copies, CRLF, blank lines, unknown and font lines kept",
			in:   "Hh\r\nPp\r\n\r\nK3\r\nW132\r\n1R\r\nZoption\r\nldfA1h\r\n",
			want: &ControlFile{Host: "h", User: "p", Copies: 3,
				Files: []DataFile{{Name: "dfA1h", Format: 'l', Copies: 1}},
				Other: []Line{{'W', "132"}, {'1', "R"}, {'Z', "option"}}},
			copies: 3,
		},
		{
			name: "no trailing newline, first H wins, Latin-1 user",
			in:   "Hfirst\nHsecond\nPJ\xfcrgen\nldfA1h",
			want: &ControlFile{Host: "first", User: "Jürgen",
				Files: []DataFile{{Name: "dfA1h", Format: 'l', Copies: 1}}},
			copies: 1,
		},
		{
			name: "control bytes in a job name become spaces",
			in:   "Pp\nJa\x1b[31mb\nldfA1h\n",
			want: &ControlFile{User: "p", JobName: "a [31mb",
				Files: []DataFile{{Name: "dfA1h", Format: 'l', Copies: 1}}},
			copies: 1,
		},
		{name: "prints nothing", in: "Hh\nPp\nJjob\n", errMsg: "prints no data file"},
		{name: "empty", in: "", errMsg: "prints no data file"},
		{name: "NUL inside", in: "Hh\nPp\x00\nldfA1h\n", errMsg: "NUL"},
		{name: "print line without file", in: "Pp\nl\n", errMsg: "empty file name"},
		{name: "print line with path", in: "Pp\nl/etc/passwd\n", errMsg: "file name"},
		{name: "print line with space", in: "Pp\nldfA1 h\n", errMsg: "file name"},
		{name: "line starting with space", in: "Pp\n Hh\nldfA1h\n", errMsg: "bad command byte"},
		{name: "line starting with control byte", in: "Pp\n\x01x\nldfA1h\n", errMsg: "bad command byte"},
		{name: "line starting with high byte", in: "Pp\n\xe9x\nldfA1h\n", errMsg: "bad command byte"},
		{name: "one file two formats", in: "Pp\nldfA1h\nodfA1h\n", errMsg: "printed as both"},
		{name: "bad unlink name", in: "Pp\nldfA1h\nU\n", errMsg: "unlink"},
		{name: "bad K", in: "Pp\nKx\nldfA1h\n", errMsg: "bad copies"},
		{name: "K zero", in: "Pp\nK0\nldfA1h\n", errMsg: "bad copies"},
		{name: "too many files", in: manyFiles(MaxDataFiles + 1), errMsg: "more than"},
		{name: "too large", in: "Pp\nldfA1h\n" + strings.Repeat("Xpadding\n", MaxControlFileBytes/9+1), errMsg: "exceeds"},
		{
			name:   "different copy counts per file",
			in:     "Pp\nldfA1h\nldfA1h\nldfB1h\n",
			want:   &ControlFile{User: "p", Files: []DataFile{{Name: "dfA1h", Format: 'l', Copies: 2}, {Name: "dfB1h", Format: 'l', Copies: 1}}},
			errMsg: "different copy counts",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseControlFile([]byte(tt.in))
			if err == nil && tt.want != nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseControlFile = %+v, want %+v", got, tt.want)
			}
			if err == nil {
				var copies int
				copies, err = got.JobCopies()
				if err == nil && copies != tt.copies {
					t.Fatalf("JobCopies = %d, want %d", copies, tt.copies)
				}
			}
			if tt.errMsg == "" {
				if err != nil {
					t.Fatalf("ParseControlFile: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tt.errMsg) {
				t.Fatalf("error = %v, want ErrMalformed containing %q", err, tt.errMsg)
			}
		})
	}
}

func manyFiles(n int) string {
	var b strings.Builder
	b.WriteString("Pp\n")
	for i := range n {
		fmt.Fprintf(&b, "ldf%03dh\n", i)
	}
	return b.String()
}

func TestControlFileMarshalRoundTrip(t *testing.T) {
	t.Parallel()
	cf := &ControlFile{Host: "ward-3", User: "jürgen", JobName: "Letter 7", Class: "c", Title: "t",
		Banner: "jürgen", MailTo: "m", Copies: 2,
		Other: []Line{{'W', "80"}, {'I', "4"}},
		Files: []DataFile{
			{Name: "dfA007ward-3", Format: 'l', Copies: 2, SourceName: "a.pdf"},
			{Name: "dfB007ward-3", Format: 'o', Copies: 2, SourceName: "b.ps"},
		}}
	b, err := cf.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	want := "Hward-3\nPjürgen\nJLetter 7\nCc\nLjürgen\nTt\nMm\nK2\nW80\nI4\n" +
		"ldfA007ward-3\nldfA007ward-3\nNa.pdf\nUdfA007ward-3\n" +
		"odfB007ward-3\nodfB007ward-3\nNb.ps\nUdfB007ward-3\n"
	if string(b) != want {
		t.Fatalf("Marshal =\n%q\nwant\n%q", b, want)
	}
	got, err := ParseControlFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, cf) {
		t.Fatalf("round trip = %+v, want %+v", got, cf)
	}
}

func TestControlFileMarshalRefuses(t *testing.T) {
	t.Parallel()
	ok := []DataFile{{Name: "dfA1h", Format: 'l', Copies: 1}}
	tests := []struct {
		name string
		cf   ControlFile
	}{
		{"no files", ControlFile{User: "p"}},
		{"newline in user", ControlFile{User: "a\nldfZ1h", Files: ok}},
		{"NUL in job name", ControlFile{JobName: "a\x00", Files: ok}},
		{"not a print letter", ControlFile{Files: []DataFile{{Name: "dfA1h", Format: 'H'}}}},
		{"bad file name", ControlFile{Files: []DataFile{{Name: "a b", Format: 'l'}}}},
		{"other line shadows a known command", ControlFile{Files: ok, Other: []Line{{'P', "root"}}}},
		{"other line is a print line", ControlFile{Files: ok, Other: []Line{{'l', "dfB1h"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if b, err := tt.cf.Marshal(); err == nil {
				t.Fatalf("Marshal(%+v) = %q, want error", tt.cf, b)
			}
		})
	}
}

func TestFileNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		got, want string
	}{
		{ControlFileName(7, "ward-3.clinic.example"), "cfA007ward-3.clinic.example"},
		{ControlFileName(1234, "h"), "cfA234h"},
		{DataFileName(7, 0, "h"), "dfA007h"},
		{DataFileName(7, 25, "h"), "dfZ007h"},
		{DataFileName(7, 26, "h"), "dfa007h"},
		{DataFileName(7, 51, "h"), "dfz007h"},
		{DataFileName(7, 0, "bad host/with spaces"), "dfA007badhostwithspaces"},
		{DataFileName(7, 0, ""), "dfA007localhost"},
		{DataFileName(7, 0, strings.Repeat("h", 40)), "dfA007" + strings.Repeat("h", 31)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
		if err := CheckFileName(tt.got); err != nil {
			t.Errorf("CheckFileName(%q): %v", tt.got, err)
		}
	}
}

func TestFormatMIME(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		letter byte
		head   string
		want   string
	}{
		{"raw PDF", 'l', "%PDF-1.7\n...", document.PDF},
		{"PDF sent as text by plain lpr", 'f', "%PDF-1.4\n", document.PDF},
		{"PDF after junk", 'l', "\r\n\r\n%PDF-1.4", document.PDF},
		{"PostScript", 'l', "%!PS-Adobe-3.0\n", document.PostScript},
		{"PostScript with ctrl-D", 'l', "\x04%!PS", document.PostScript},
		{"PJL wrapping PDF", 'l', "\x1b%-12345X@PJL ENTER LANGUAGE=PDF\n%PDF-1.7", document.PDF},
		{"PJL wrapping PCL", 'l', "\x1b%-12345X@PJL JOB\n\x1bE", document.PCL},
		{"PCL reset", 'l', "\x1bE\x1b&l0O", document.PCL},
		{"text as f", 'f', "hello\n", document.Text},
		{"text as p", 'p', "hello\n", document.Text},
		{"unknown as o", 'o', "????", document.PostScript},
		{"PJL sent as text", 'f', "\x1b%-12345X@PJL ENTER LANGUAGE = PCLXL\r\n", document.PCL},
		{"JPEG sent as text", 'f', "\xff\xd8\xff\xe0", document.JPEG},
		{"unknown as r", 'r', "\x00\x01", document.Text},
		{"unknown raw", 'l', "\x00\x01\x02", document.Octet},
		{"no letter yet", 0, "abc", document.Octet},
		{"empty", 'l', "", document.Octet},
		{"PDF beyond the sniff window", 'l', strings.Repeat(" ", document.SniffLen) + "%PDF-", document.Octet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := FormatMIME(tt.letter, []byte(tt.head)); got != tt.want {
				t.Fatalf("FormatMIME(%q, %q) = %q, want %q", tt.letter, tt.head, got, tt.want)
			}
		})
	}
	for mime, want := range map[string]byte{document.PDF: 'l', document.PostScript: 'o', document.Text: 'f', "image/pwg-raster": 'l'} {
		if got := FormatLetter(mime); got != want {
			t.Errorf("FormatLetter(%q) = %q, want %q", mime, got, want)
		}
	}
}
