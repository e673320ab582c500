package document

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
)

// MIME types the gateway knows: the one set every front-end (IPP, LPD, raw, the web API), the
// queue and the printers use.
const (
	PDF        = "application/pdf"
	PostScript = "application/postscript"
	PWGRaster  = "image/pwg-raster"
	URF        = "image/urf"
	JPEG       = "image/jpeg"
	PNG        = "image/png"
	PCL        = "application/vnd.hp-pcl"
	// PCLXL is PCL 6 "enhanced" (HP's binary page language, IANA application/vnd.hp-PCLXL):
	// what the format bridge sends a printer declared to take it. Sniff still calls a PJL job
	// in PCL XL plain PCL (see there); only configuration and the converter name it.
	PCLXL = "application/vnd.hp-pclxl"
	Text  = "text/plain"
	Octet = "application/octet-stream"
)

// SniffLen is how many leading bytes Sniff looks at; it ignores any beyond. Callers that want
// the same answer for the same document (every front-end does) hand it this many when the
// document has them.
const SniffLen = 1024

// The PJL Universal Exit Language sequence, which starts a PJL job.
const uel = "\x1b%-12345X"

// Sniff recognises a document format from its first bytes (up to SniffLen of them) and returns
// one of the constants above; Octet when it cannot tell. The rules, in order:
//
//   - magic at the very start wins: "%PDF-" is PDF; "%!" is PostScript, also after one
//     Ctrl-D (which Windows PostScript drivers send first); "RaS2" is PWG raster (PWG 5102.4's
//     sync word; CUPS raster v2 shares it and its header layout); "UNIRAST" is URF (Apple
//     raster); FF D8 FF is JPEG; the PNG signature is PNG; ESC E (PCL reset) is PCL;
//   - a PJL job (the Universal Exit Language, also after one Ctrl-D) is what its
//     "@PJL ENTER LANGUAGE" names: PDF, POSTSCRIPT or, for PCL and every other language (PCL
//     XL among them), PCL. Without that line in the window, a "%PDF-" or "%!PS" in it decides,
//     and failing both it is PCL: PJL is the PCL family's job wrapper, and only PCL printers
//     take it;
//   - otherwise "%PDF-" anywhere in the window is PDF: readers accept a header within the
//     first KiB, and LPD and raw clients put line ends or mail headers before it;
//   - nothing else, plain text included, is recognised: text has no magic, and only the
//     client's word (an LPD format letter, an IPP document-format) says text/plain.
//
// Before the sniffers were merged the IPP front-end left a PJL job whose language it could
// not see unrecognised; it is PCL now, as it already was for LPD, the raw port and the web
// API, so that such a job is only sent to PCL printers (or refused by a pool without one)
// rather than passed raw to a printer that would print its bytes as garbage.
func Sniff(head []byte) string {
	if len(head) > SniffLen {
		head = head[:SniffLen]
	}
	switch {
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return PDF
	case bytes.HasPrefix(head, []byte("%!")), bytes.HasPrefix(head, []byte("\x04%!")):
		return PostScript
	case bytes.HasPrefix(head, []byte("RaS2")):
		return PWGRaster
	case bytes.HasPrefix(head, []byte("UNIRAST")):
		return URF
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return JPEG
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return PNG
	case bytes.HasPrefix(head, []byte("\x1bE")):
		return PCL
	case bytes.HasPrefix(head, []byte(uel)):
		return sniffPJL(head[len(uel):])
	case bytes.HasPrefix(head, []byte("\x04"+uel)):
		return sniffPJL(head[1+len(uel):])
	case bytes.Contains(head, []byte("%PDF-")):
		return PDF
	}
	return Octet
}

// sniffPJL decides the language of a PJL job from what follows its first UEL.
func sniffPJL(rest []byte) string {
	body := rest
	for len(rest) > 0 {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(line), []byte(uel)))
		if len(line) == 0 {
			continue
		}
		if len(line) < 4 || !strings.EqualFold(string(line[:4]), "@PJL") {
			break // the document itself
		}
		words := strings.Fields(strings.ToUpper(string(line[4:])))
		if len(words) < 2 || words[0] != "ENTER" || !strings.HasPrefix(words[1], "LANGUAGE") {
			continue
		}
		_, lang, _ := strings.Cut(strings.ToUpper(string(line)), "=")
		switch strings.TrimSpace(lang) {
		case "PDF":
			return PDF
		case "POSTSCRIPT":
			return PostScript
		}
		return PCL
	}
	switch {
	case bytes.Contains(body, []byte("%PDF-")):
		return PDF
	case bytes.Contains(body, []byte("%!PS")):
		return PostScript
	}
	return PCL
}

// SniffFile reads the start of path and sniffs it.
func SniffFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("document: sniff %s: %w", path, err)
	}
	defer f.Close()
	head := make([]byte, SniffLen)
	n, _ := io.ReadFull(f, head)
	return Sniff(head[:n]), nil
}
