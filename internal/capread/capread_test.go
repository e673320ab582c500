package capread

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	errBig := errors.New("too large")
	var buf bytes.Buffer
	c := &Reader{R: strings.NewReader("abcd"), N: 4, TooLarge: errBig}
	if _, err := buf.ReadFrom(c); err != nil || c.Over || buf.String() != "abcd" {
		t.Fatalf("cap read at the limit = %q, %v, over %v", buf.String(), err, c.Over)
	}
	c = &Reader{R: strings.NewReader("abcde"), N: 4, TooLarge: errBig}
	buf.Reset()
	if _, err := buf.ReadFrom(c); !errors.Is(err, errBig) || !c.Over {
		t.Fatalf("cap read over the limit = %v, over %v", err, c.Over)
	}
}
