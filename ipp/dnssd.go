// DNS-SD TXT records of a virtual printer (Bonjour Printing 1.2 / PWG 5100.14 keys), so
// desktops find it as a driverless printer. Publishing them is avahi.go's concern.
package ipp

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/printgate/printgate/document"
)

// maxTXTEntry is the longest key=value a TXT record string can hold (a one-byte length).
const maxTXTEntry = 255

// DashboardURL is printer-more-info for a client that reached the gateway as host (host:port):
// the printer's dashboard page. DNS-SD's adminurl is the same URL for the advertised host.
func DashboardURL(host string, tls bool, printer string) string {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	return scheme + "://" + host + PathDashboardPrinter + url.PathEscape(printer)
}

// TXTRecord builds the TXT record strings ("key=value") advertising virtual printer p. host is
// host:port as clients will use it (for adminurl); tls says whether the listener is HTTPS/IPPS.
// Every string fits DNS-SD's 255-byte limit: long free text is cut at a character boundary, and
// pdl keeps as many formats as fit, most useful first.
func TXTRecord(p *PrinterInfo, host string, tls bool) ([]string, error) {
	c := normalizeCaps(p.Caps)
	makeModel := p.MakeModel
	if makeModel == "" {
		makeModel = "printgate Virtual Printer"
	}
	yesNo := func(b bool) string {
		if b {
			return "T"
		}
		return "F"
	}
	urf := "none"
	if offers(c, document.URF) {
		urf = strings.Join(c.URF, ",")
	}
	entries := []string{
		"txtvers=1",
		"qtotal=1",
		"rp=" + strings.TrimPrefix(PathPrint, "/") + "/" + p.Name,
		"ty=" + makeModel,
		"product=(" + makeModel + ")",
		"pdl=" + pdlList(c.Formats),
		"UUID=" + printerUUID(p),
		"URF=" + urf,
		"Color=" + yesNo(colorOffered(c)),
		"Duplex=" + yesNo(duplexOffered(c)),
		"kind=document",
		"PaperMax=" + paperMax(c.Media),
		"adminurl=" + DashboardURL(host, tls, p.Name),
		"note=" + p.Location,
		"mopria-certified=1.3",
	}
	if tls {
		entries = append(entries, "TLS=1.2")
	}
	for i, e := range entries {
		key, _, _ := strings.Cut(e, "=")
		switch key {
		case "ty", "note":
			entries[i] = truncateUTF8(e, maxTXTEntry)
		case "product":
			if len(e) > maxTXTEntry {
				entries[i] = truncateUTF8(e, maxTXTEntry-1) + ")"
			}
		}
		if len(entries[i]) > maxTXTEntry {
			return nil, fmt.Errorf("ipp: TXT record of %s: %s is %d bytes, more than %d", p.Name, key, len(entries[i]), maxTXTEntry)
		}
	}
	return entries, nil
}

// pdlList is the pdl value: the formats clients choose from, the ones they prefer first, as
// many as fit in a TXT string.
func pdlList(formats []string) string {
	preferred := []string{document.PDF, document.URF, document.PWGRaster, document.JPEG, document.PostScript, document.PCL}
	ordered := []string{}
	for _, f := range preferred {
		if slices.Contains(formats, f) {
			ordered = append(ordered, f)
		}
	}
	for _, f := range formats {
		if !slices.Contains(ordered, f) {
			ordered = append(ordered, f)
		}
	}
	ordered = append(ordered, document.Octet)
	out := ""
	for _, f := range ordered {
		next := f
		if out != "" {
			next = out + "," + f
		}
		if len("pdl=")+len(next) > maxTXTEntry {
			continue
		}
		out = next
	}
	return out
}

// paperMax is the Bonjour PaperMax key: the class of the widest media (widths in hundredths of
// mm: A4 is 21000, A3 29700, A2 42000, the class boundaries PAPPL uses too).
func paperMax(media []string) string {
	widest := 0
	for _, m := range media {
		if x, y, ok := mediaSize(m); ok {
			widest = max(widest, min(x, y))
		}
	}
	switch {
	case widest < 21000:
		return "<legal-A4"
	case widest < 29700:
		return "legal-A4"
	case widest < 42000:
		return "tabloid-A3"
	case widest < 59400:
		return "isoC-A2"
	default:
		return ">isoC-A2"
	}
}
