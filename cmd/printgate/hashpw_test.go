package main

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestHashPassword(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	if err := hashPasswordCmd([]string{"--cost", "10"}, strings.NewReader("s3cret pass\n"), &out, &errb); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if bcrypt.CompareHashAndPassword([]byte(h), []byte("s3cret pass")) != nil {
		t.Fatalf("hash %q does not match the password", h)
	}
	if c, _ := bcrypt.Cost([]byte(h)); c != 10 {
		t.Errorf("cost %d, want 10", c)
	}
	for _, tc := range []struct {
		args  []string
		input string
	}{
		{nil, "\n"},
		{nil, strings.Repeat("x", 73) + "\n"},
		{[]string{"--cost", "4"}, "pw\n"},
		{[]string{"extra"}, "pw\n"},
	} {
		if err := hashPasswordCmd(tc.args, strings.NewReader(tc.input), &out, &errb); err == nil {
			t.Errorf("hash-password %v with %q: no error", tc.args, tc.input)
		}
	}
}
