// Encrypted PDFs (IPP document-password, PWG 5100.13): the gateway decrypts them at the front
// door with the password the client sent, so that the spool never holds a password (it would
// sit beside the document and in the job's attributes, which the API shows) and every printer
// of the pool can print the letter, not only one that takes document-password itself. The
// decrypted letter is stored like every other letter.
package document

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// MaxPasswordLen is document-password-supported: the longest password taken, in octets (PDF
// passwords are at most 127 bytes of UTF-8 for AES-256, 32 for the older handlers).
const MaxPasswordLen = 127

// MaxEncryptedPDF bounds an encrypted PDF the gateway decrypts: decryption holds the whole
// document in memory (the PDF library's model), so a larger one is refused rather than let
// one client take the gateway's memory. Letters are a few hundred KB.
const MaxEncryptedPDF = 64 << 20

var (
	// ErrPDFPassword: the password does not open the PDF.
	ErrPDFPassword = errors.New("document: the password does not open the PDF")
	// ErrEncryptedTooLarge: the encrypted PDF is larger than MaxEncryptedPDF.
	ErrEncryptedTooLarge = fmt.Errorf("document: an encrypted PDF is larger than %d bytes", MaxEncryptedPDF)
)

// DecryptPDF reads a PDF from r and returns it decrypted with password (its user or owner
// password). A PDF that is not encrypted is returned as it is. Malformed input is an error,
// never a panic.
func DecryptPDF(r io.Reader, password string) (out []byte, err error) {
	defer pdfGuard(&err)
	data, err := io.ReadAll(io.LimitReader(r, MaxEncryptedPDF+1))
	if err != nil {
		return nil, fmt.Errorf("document: read encrypted PDF: %w", err)
	}
	if len(data) > MaxEncryptedPDF {
		return nil, ErrEncryptedTooLarge
	}
	conf := newConfig()
	conf.ValidationMode = model.ValidationRelaxed
	conf.UserPW, conf.OwnerPW = password, password
	var buf bytes.Buffer
	if err := api.Decrypt(bytes.NewReader(data), &buf, conf); err != nil {
		switch {
		case errors.Is(err, pdfcpu.ErrWrongPassword):
			return nil, ErrPDFPassword
		case strings.Contains(err.Error(), "not encrypted"):
			return data, nil
		}
		return nil, fmt.Errorf("document: decrypt PDF: %w", err)
	}
	return buf.Bytes(), nil
}
