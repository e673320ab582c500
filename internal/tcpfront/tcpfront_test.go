package tcpfront

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestCapReader(t *testing.T) {
	errBig := errors.New("too large")
	var buf bytes.Buffer
	c := &CapReader{R: strings.NewReader("abcd"), N: 4, TooLarge: errBig}
	if _, err := buf.ReadFrom(c); err != nil || c.Over || buf.String() != "abcd" {
		t.Fatalf("cap read at the limit = %q, %v, over %v", buf.String(), err, c.Over)
	}
	c = &CapReader{R: strings.NewReader("abcde"), N: 4, TooLarge: errBig}
	buf.Reset()
	if _, err := buf.ReadFrom(c); !errors.Is(err, errBig) || !c.Over {
		t.Fatalf("cap read over the limit = %v, over %v", err, c.Over)
	}
}

func TestDecodeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Brief an Frau Müller", "Brief an Frau Müller"},
		{"M\xfcller", "Müller"}, // Latin-1
		{" a\tb\x1b[2Jc ", "a b [2Jc"},
		{"\x85next", "next"},
	} {
		if got := DecodeText([]byte(tc.in)); got != tc.want {
			t.Errorf("DecodeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
