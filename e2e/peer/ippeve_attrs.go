// ippeveprinter attributes files (-a): a simulated printer that advertises more than the plain
// options say (staples, number-up). ippeveprinter takes either the plain options (-s, -2, -f, ...)
// or an attributes file, never both, so the file holds every attribute a plain start with the
// same options advertises, read from a first short start, with IPPEveOptions.Attributes laid over.
package peer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// ippeveOwnAttrs are the attributes ippeveprinter makes itself whatever the file says (its
// create_printer and its status attributes, CUPS 2.4): left out of the file, so that they are
// not answered twice. document-format-supported stays in the file: with -a, ippeveprinter's own
// list lacks PDF, and a client reads the file's, which comes first.
var ippeveOwnAttrs = []string{
	"charset-configured", "charset-supported", "document-format-default", "generated-natural-language-supported",
	"identify-actions-default", "identify-actions-supported", "ipp-features-supported", "ipp-versions-supported",
	"job-creation-attributes-supported", "job-ids-supported", "job-k-octets-supported", "job-priority-default",
	"job-priority-supported", "job-sheets-default", "job-sheets-supported", "media-col-supported",
	"multiple-document-handling-supported", "multiple-document-jobs-supported", "multiple-operation-time-out",
	"multiple-operation-time-out-action", "natural-language-configured", "operations-supported",
	"pdl-override-supported", "preferred-attributes-supported", "printer-get-attributes-supported",
	"printer-geo-location", "printer-is-accepting-jobs", "printer-info", "printer-location", "printer-name",
	"printer-organization", "printer-organizational-unit", "printer-strings-languages-supported",
	"printer-uuid", "reference-uri-schemes-supported", "uri-authentication-supported",
	"uri-security-supported", "which-jobs-supported", "printer-state", "printer-state-reasons",
	"printer-state-message", "printer-up-time", "printer-uri-supported", "printer-current-time",
	"printer-config-change-date-time", "printer-config-change-time", "printer-state-change-date-time",
	"printer-state-change-time", "queued-job-count", "printer-icons", "printer-more-info",
	"printer-supply-info-uri", "printer-dns-sd-name", "printer-xri-supported", "device-uuid",
}

// attributesFile asks the running printer for all its attributes and writes them, with over
// replacing (or adding) attributes of the same name, as an ippeveprinter attributes file.
func (p *IPPEve) attributesFile(path string, over []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := newIPPRequest(goipp.OpGetPrinterAttributes, p.URI())
	req.Operation.Add(goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("all")))
	resp, err := doIPP(ctx, p.URI(), req, nil)
	if err != nil {
		return fmt.Errorf("peer: read the attributes of %q: %w", p.Name, err)
	}
	replaced := map[string]bool{}
	for _, line := range over {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "ATTR" {
			replaced[f[2]] = true
		}
	}
	var b strings.Builder
	b.WriteString("# Written by e2e/peer: the printer's plain attributes, then IPPEveOptions.Attributes.\n")
	for _, a := range resp.Printer {
		if replaced[a.Name] || slices.Contains(ippeveOwnAttrs, a.Name) {
			continue
		}
		if line, ok := attrLine("ATTR", a); ok {
			b.WriteString(line + "\n")
		}
	}
	for _, line := range over {
		b.WriteString(line + "\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// attrLine writes one attribute in ipptool file syntax (ATTR or MEMBER tag name values);
// ok=false for syntaxes the file cannot say (dates, out-of-band values, mixed tags).
func attrLine(directive string, a goipp.Attribute) (string, bool) {
	if len(a.Values) == 0 {
		return "", false
	}
	tag := a.Values[0].T
	name, ok := fileTag(tag)
	if !ok {
		return "", false
	}
	vals := make([]string, len(a.Values))
	for i, v := range a.Values {
		if v.T != tag {
			return "", false
		}
		s, ok := fileValue(v.V)
		if !ok {
			return "", false
		}
		vals[i] = s
	}
	return directive + " " + name + " " + a.Name + " " + strings.Join(vals, ","), true
}

// fileTag is the ipptool file name of tag.
func fileTag(tag goipp.Tag) (string, bool) {
	switch tag {
	case goipp.TagInteger:
		return "integer", true
	case goipp.TagEnum:
		return "enum", true
	case goipp.TagBoolean:
		return "boolean", true
	case goipp.TagRange:
		return "rangeOfInteger", true
	case goipp.TagResolution:
		return "resolution", true
	case goipp.TagKeyword:
		return "keyword", true
	case goipp.TagName, goipp.TagNameLang:
		return "name", true
	case goipp.TagText, goipp.TagTextLang:
		return "text", true
	case goipp.TagURI:
		return "uri", true
	case goipp.TagURIScheme:
		return "uriScheme", true
	case goipp.TagMimeType:
		return "mimeMediaType", true
	case goipp.TagCharset:
		return "charset", true
	case goipp.TagLanguage:
		return "naturalLanguage", true
	case goipp.TagString:
		return "octetString", true
	case goipp.TagBeginCollection:
		return "collection", true
	}
	return "", false
}

// fileValue writes one value in ipptool file syntax.
func fileValue(v goipp.Value) (string, bool) {
	switch v := v.(type) {
	case goipp.Integer:
		return strconv.Itoa(int(v)), true
	case goipp.Boolean:
		return strconv.FormatBool(bool(v)), true
	case goipp.Range:
		return fmt.Sprintf("%d-%d", v.Lower, v.Upper), true
	case goipp.Resolution:
		units := "dpi"
		if v.Units == goipp.UnitsDpcm {
			units = "dpcm"
		}
		return fmt.Sprintf("%dx%d%s", v.Xres, v.Yres, units), true
	case goipp.String:
		return strconv.Quote(string(v)), true
	case goipp.TextWithLang:
		return strconv.Quote(v.Text), true
	case goipp.Binary:
		return strconv.Quote(string(v)), true
	case goipp.Collection:
		var b strings.Builder
		b.WriteString("{")
		for _, m := range v {
			line, ok := attrLine("MEMBER", m)
			if !ok {
				return "", false
			}
			b.WriteString(" " + line)
		}
		b.WriteString(" }")
		return b.String(), true
	}
	return "", false
}
