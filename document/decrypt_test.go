package document

import (
	"bytes"
	"errors"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

// encryptedLetter is a 3-page PDF encrypted (AES-256) with user password "s3cret".
func encryptedLetter(t *testing.T) (plain, enc []byte) {
	t.Helper()
	plain = readLetter(t, 3)
	conf := PDFConfig()
	conf.UserPW, conf.OwnerPW = "s3cret", "s3cret-owner"
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(plain), &out, conf); err != nil {
		t.Fatal(err)
	}
	return plain, out.Bytes()
}

func TestDecryptPDF(t *testing.T) {
	t.Parallel()
	plain, enc := encryptedLetter(t)
	c := NewCounter()
	for _, tc := range []struct {
		name     string
		in       []byte
		password string
		err      error
	}{
		{"user password", enc, "s3cret", nil},
		{"owner password", enc, "s3cret-owner", nil},
		{"wrong password", enc, "guess", ErrPDFPassword},
		{"not encrypted", plain, "anything", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := DecryptPDF(bytes.NewReader(tc.in), tc.password)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			conf := PDFConfig()
			ctx, err := api.ReadContext(bytes.NewReader(out), conf)
			if err != nil {
				t.Fatalf("decrypted PDF unreadable: %v", err)
			}
			if ctx.Encrypt != nil {
				t.Fatal("still encrypted")
			}
			if n, est := c.CountReader(bytes.NewReader(out), int64(len(out)), PDF); n != 3 || est {
				t.Fatalf("decrypted PDF counts %d pages (estimated %v), want 3", n, est)
			}
		})
	}
	if _, err := DecryptPDF(bytes.NewReader([]byte("%PDF-1.7 garbage")), "x"); err == nil {
		t.Fatal("a malformed PDF decrypted without error")
	}
}
