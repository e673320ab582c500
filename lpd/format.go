// Document formats: from a print command letter and the document's first bytes to a MIME type,
// and back for the client. The content is recognised by document.Sniff, as every front-end's
// is; the letters are LPD's own.
package lpd

import "github.com/printgate/printgate/document"

// FormatMIME decides a data file's MIME type. The content wins when it is recognisable, because
// clients label formats loosely: BSD and LPRng lpr send every file as 'f' (text) unless told
// otherwise, so a PDF printed with plain `lpr file.pdf` arrives as "text". The letter decides
// only for content we cannot recognise (document.Sniff answers document.Octet): 'o' is
// PostScript, 'f', 'p' and 'r' are text, anything else is document.Octet.
func FormatMIME(letter byte, head []byte) string {
	if t := document.Sniff(head); t != document.Octet {
		return t
	}
	return letterMIME(letter)
}

// letterMIME is the MIME type a print command letter names.
func letterMIME(letter byte) string {
	switch letter {
	case 'o':
		return document.PostScript
	case 'f', 'p', 'r':
		return document.Text
	}
	return document.Octet
}

// FormatLetter picks the print command letter for a MIME type when sending a job. PostScript
// and text get their own letters so an LPD that filters can do so; everything else goes raw
// ('l'), which is what printers and CUPS' cups-lpd pass through untouched.
func FormatLetter(mime string) byte {
	switch mime {
	case document.PostScript:
		return 'o'
	case document.Text:
		return 'f'
	}
	return 'l'
}
