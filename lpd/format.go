// Document formats: from a print command letter and the document's first bytes to a MIME type,
// and back for the client.
package lpd

import "bytes"

// Common MIME types.
const (
	MIMEOctetStream = "application/octet-stream"
	MIMEPDF         = "application/pdf"
	MIMEPostScript  = "application/postscript"
	MIMEText        = "text/plain"
	MIMEPCL         = "application/vnd.hp-pcl"
)

// SniffLen is how many leading bytes FormatMIME looks at.
const SniffLen = 1024

// FormatMIME decides a data file's MIME type. The content wins when it is recognisable, because
// clients label formats loosely: BSD and LPRng lpr send every file as 'f' (text) unless told
// otherwise, so a PDF printed with plain `lpr file.pdf` arrives as "text". The letter decides
// only for content we cannot recognise.
func FormatMIME(letter byte, head []byte) string {
	if t := sniff(head); t != "" {
		return t
	}
	switch letter {
	case 'o':
		return MIMEPostScript
	case 'f', 'p', 'r':
		return MIMEText
	}
	return MIMEOctetStream
}

// FormatLetter picks the print command letter for a MIME type when sending a job. PostScript
// and text get their own letters so an LPD that filters can do so; everything else goes raw
// ('l'), which is what printers and CUPS' cups-lpd pass through untouched.
func FormatLetter(mime string) byte {
	switch mime {
	case MIMEPostScript:
		return 'o'
	case MIMEText:
		return 'f'
	}
	return 'l'
}

// sniff recognises PDF (its header may sit anywhere in the first KiB), PostScript and PCL/PJL.
// It returns "" when unsure.
func sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	// PJL jobs start with the Universal Exit Language sequence and may wrap any language.
	if bytes.HasPrefix(head, []byte("\x1b%-12345X")) {
		switch {
		case bytes.Contains(head, []byte("%PDF-")):
			return MIMEPDF
		case bytes.Contains(head, []byte("%!PS")):
			return MIMEPostScript
		}
		return MIMEPCL
	}
	switch {
	case bytes.Contains(head, []byte("%PDF-")):
		return MIMEPDF
	case bytes.HasPrefix(head, []byte("%!")), bytes.HasPrefix(head, []byte("\x04%!")):
		return MIMEPostScript
	case bytes.HasPrefix(head, []byte("\x1bE")):
		return MIMEPCL
	}
	return ""
}
