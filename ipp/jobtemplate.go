// Checking a job request against the virtual printer: operation attributes (format,
// compression, fidelity) and job-template attributes. Values that decide where a job can print
// (document format, media, sides, colour) are refused when no pool member supports them — that
// is feature routing's only refusal; everything else unsupported is ignored with
// successful-ok-ignored-or-substituted-attributes, or refused when the client asked for
// fidelity (or Validate-Job, which PAPPL also treats as exact).
package ipp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// jobChecker accumulates the verdict on one request's attributes.
type jobChecker struct {
	rs *response
	// exact: unsupported values are errors, not ignored.
	exact bool
	// failed: an error status has been set.
	failed bool
	// accepted are the (canonicalised) job-template attributes to store.
	accepted goipp.Attributes
}

// bad refuses a value of the wrong syntax or out of range, whatever the fidelity.
func (k *jobChecker) bad(at goipp.Attribute, format string, args ...any) {
	k.rs.addUnsupported(at)
	k.rs.setStatus(goipp.StatusErrorAttributesOrValues, fmt.Sprintf(format, args...))
	k.failed = true
}

// refuse rejects a value no pool member supports (feature routing).
func (k *jobChecker) refuse(at goipp.Attribute, format string, args ...any) {
	k.bad(at, format, args...)
}

// unsupported ignores a value we do not support, or refuses it under fidelity.
func (k *jobChecker) unsupported(at goipp.Attribute, format string, args ...any) {
	if k.exact {
		k.bad(at, format, args...)
		return
	}
	k.rs.addUnsupported(at)
	k.rs.setStatus(goipp.StatusOkIgnoredOrSubstituted, "Ignoring "+fmt.Sprintf(format, args...))
}

func (k *jobChecker) accept(at goipp.Attribute) { k.accepted = append(k.accepted, at) }

// jobRequest is a checked job creation request.
type jobRequest struct {
	nj          job.NewJob
	format      string
	compression string
	docName     string
}

// checkJobRequest checks the operation and job-template attributes of Print-Job, Validate-Job
// and Create-Job. ok=false means rs carries the error.
func (s *Server) checkJobRequest(rq *request, rs *response) (jobRequest, bool) {
	c := normalizeCaps(rq.printer.Caps)
	k := &jobChecker{rs: rs, exact: rq.op == goipp.OpValidateJob}
	if at, ok := rq.oper.Get("ipp-attribute-fidelity"); ok {
		v, isBool := rq.oper.Bool("ipp-attribute-fidelity")
		if !isBool || len(at.Values) != 1 {
			k.bad(at, "Bad ipp-attribute-fidelity value.")
		} else if v {
			k.exact = true
		}
	}
	jr := jobRequest{}
	jr.format, jr.compression = s.checkDocumentAttributes(rq, rs, c)
	jobName, _ := rq.oper.String("job-name")
	jr.docName, _ = rq.oper.String("document-name")
	if jobName == "" {
		if n, ok := rq.jobAttrs.String("job-name"); ok {
			jobName = n
		} else {
			jobName = jr.docName
		}
	}
	if jobName == "" {
		jobName = "Untitled"
	}
	if jr.docName == "" {
		jr.docName = jobName
	}
	for _, at := range templateAttrs(rq) {
		s.checkTemplateAttr(k, c, at)
	}
	if k.failed || rs.isError() {
		return jobRequest{}, false
	}
	attrs := DecodeTemplate(Attrs(k.accepted))
	if rq.oper.Has("document-format") {
		// As given: CUPS sends Create-Job without it and names each document's format in its
		// Send-Document; the stored documents carry their own (detected) formats.
		attrs.DocumentFormat = jr.format
	}
	jr.nj = job.NewJob{
		VirtualPrinter: rq.printer.Name,
		Name:           truncateUTF8(jobName, 255),
		Owner:          rq.user,
		OriginHost:     rq.originHost(),
		Origin:         "ipp",
		Lane:           job.LaneInteractive,
		Attributes:     attrs,
	}
	if attrs.HoldUntil == "indefinite" {
		jr.nj.Hold, jr.nj.HoldReason = true, "job-hold-until=indefinite"
	}
	return jr, true
}

// templateAttrs are the request's job-template attributes: the job group, plus the ones some
// clients (CUPS' ipptool files among them) put in the operation group, which CUPS and PAPPL
// accept too. The first occurrence of a name wins.
func templateAttrs(rq *request) goipp.Attributes {
	var out goipp.Attributes
	seen := map[string]bool{}
	for _, at := range rq.oper {
		if isTemplateName(at.Name) && !seen[at.Name] {
			seen[at.Name] = true
			out = append(out, at)
		}
	}
	for _, at := range rq.jobAttrs {
		if !seen[at.Name] {
			seen[at.Name] = true
			out = append(out, at)
		}
	}
	return out
}

// isTemplateName reports whether name is a job-template attribute checkTemplateAttr knows.
func isTemplateName(name string) bool {
	switch name {
	case "copies", "sides", "media", "media-col", "print-color-mode", "print-quality",
		"orientation-requested", "page-ranges", "finishings", "output-bin", "print-scaling",
		"job-priority", "job-hold-until", "job-sheets", "multiple-document-handling", "number-up",
		"print-content-optimize", "print-rendering-intent", "printer-resolution", "finishings-col",
		"overrides":
		return true
	}
	return false
}

// checkDocumentAttributes checks document-format and compression (Print-Job, Send-Document,
// Validate-Job) and returns them with their defaults. Errors go into rs.
func (s *Server) checkDocumentAttributes(rq *request, rs *response, c Capabilities) (format, compression string) {
	format, compression = document.Octet, "none"
	if at, ok := rq.oper.Get("document-password"); ok {
		// document-password-supported is 0: the gateway neither decrypts PDFs nor keeps a
		// password to hand on (it would sit in the spool beside the document). Like any
		// unsupported operation attribute (RFC 8011 section 4.1.7; ipp-attribute-fidelity is
		// for job template attributes) it is ignored, and the client is told so; the unsupported
		// group names it with the "unsupported" out-of-band value, never echoing the password.
		rs.addUnsupported(goipp.MakeAttribute(at.Name, goipp.TagUnsupportedValue, goipp.Void{}))
		rs.setStatus(goipp.StatusOkIgnoredOrSubstituted,
			"Ignoring document-password: this printer does not print encrypted PDFs (document-password-supported is 0).")
	}
	if at, ok := rq.oper.Get("compression"); ok {
		v, _ := rq.oper.String("compression")
		if rq.oper.Tag("compression") != goipp.TagKeyword || len(at.Values) != 1 ||
			(v != "none" && v != "gzip" && v != "deflate") {
			rs.addUnsupported(at)
			rs.setStatus(goipp.StatusErrorCompressionNotSupported, fmt.Sprintf("Unsupported compression %q.", v))
		} else {
			compression = v
		}
	}
	if at, ok := rq.oper.Get("document-format"); ok {
		v, _ := rq.oper.String("document-format")
		v = strings.ToLower(v)
		switch {
		case rq.oper.Tag("document-format") != goipp.TagMimeType || len(at.Values) != 1:
			rs.addUnsupported(at)
			rs.setStatus(goipp.StatusErrorBadRequest, "Bad document-format value.")
		case !offers(c, v):
			rs.addUnsupported(at)
			rs.setStatus(goipp.StatusErrorDocumentFormatNotSupported,
				fmt.Sprintf("No printer of %s prints %q.", rq.printer.Name, v))
		default:
			format = v
		}
	}
	return format, compression
}

// checkTemplateAttr checks one job-template attribute.
func (s *Server) checkTemplateAttr(k *jobChecker, c Capabilities, at goipp.Attribute) {
	one := Attrs{at}
	n := len(at.Values)
	tag := goipp.TagZero
	if n > 0 {
		tag = at.Values[0].T
	}
	keyword := func() (string, bool) {
		v, ok := one.String(at.Name)
		return v, ok && n == 1 && tag == goipp.TagKeyword
	}
	keywordOrName := func() (string, bool) {
		v, ok := one.String(at.Name)
		return v, ok && n == 1 && (tag == goipp.TagKeyword || tag == goipp.TagName || tag == goipp.TagNameLang)
	}
	integer := func(tagWanted goipp.Tag, lo, hi int) (int, bool) {
		v, ok := one.Int(at.Name)
		return v, ok && n == 1 && tag == tagWanted && v >= lo && v <= hi
	}

	switch at.Name {
	case "copies":
		if _, ok := integer(goipp.TagInteger, 1, c.MaxCopies); !ok {
			k.bad(at, "Bad copies value (1 to %d).", c.MaxCopies)
			return
		}
		k.accept(at)
	case "sides":
		v, ok := keyword()
		switch {
		case !ok:
			k.bad(at, "Bad sides value.")
		case !slices.Contains(c.Sides, v):
			k.refuse(at, "No printer of this virtual printer prints sides=%s.", v)
		default:
			k.accept(at)
		}
	case "media":
		v, ok := keywordOrName()
		if !ok {
			k.bad(at, "Bad media value.")
			return
		}
		m, ok := matchMedia(c.Media, v)
		if !ok {
			k.refuse(at, "No printer of this virtual printer has media %s.", v)
			return
		}
		k.accept(goipp.MakeAttribute("media", goipp.TagKeyword, goipp.String(m)))
	case "media-col":
		s.checkMediaCol(k, c, at)
	case "print-color-mode":
		v, ok := keyword()
		switch {
		case !ok:
			k.bad(at, "Bad print-color-mode value.")
		case slices.Contains(c.ColorModes, v):
			k.accept(at)
		case v == "color":
			k.refuse(at, "No printer of this virtual printer prints in colour.")
		default:
			k.unsupported(at, "unsupported print-color-mode %s.", v)
		}
	case "print-quality":
		if _, ok := integer(goipp.TagEnum, 3, 5); !ok {
			k.bad(at, "Bad print-quality value.")
			return
		}
		k.accept(at)
	case "orientation-requested":
		if _, ok := integer(goipp.TagEnum, 3, 7); !ok {
			k.bad(at, "Bad orientation-requested value.")
			return
		}
		k.accept(at)
	case "page-ranges":
		prev := 0
		for _, v := range at.Values {
			r, ok := v.V.(goipp.Range)
			if !ok || v.T != goipp.TagRange || r.Lower < 1 || r.Upper < r.Lower || r.Lower <= prev {
				k.bad(at, "Bad page-ranges value.")
				return
			}
			prev = r.Upper
		}
		if n == 0 {
			k.bad(at, "Bad page-ranges value.")
			return
		}
		if !offers(c, document.PDF) {
			k.unsupported(at, "page-ranges (no PDF printer).")
			return
		}
		k.accept(at)
	case "finishings":
		s.checkFinishings(k, c, at)
	case "finishings-col":
		s.checkFinishingsCol(k, c, at)
	case "overrides":
		s.checkOverrides(k, c, at)
	case "output-bin":
		if v, ok := keywordOrName(); !ok {
			k.bad(at, "Bad output-bin value.")
		} else if !slices.Contains(c.OutputBins, v) {
			k.unsupported(at, "unsupported output-bin %s.", v)
		} else {
			k.accept(goipp.MakeAttribute(at.Name, goipp.TagKeyword, goipp.String(v)))
		}
	case "print-scaling":
		if v, ok := keyword(); !ok {
			k.bad(at, "Bad print-scaling value.")
		} else if !slices.Contains(printScalingSupported(), v) {
			k.unsupported(at, "unsupported print-scaling %s.", v)
		} else {
			k.accept(at)
		}
	case "job-priority":
		if _, ok := integer(goipp.TagInteger, 1, 100); !ok {
			k.bad(at, "Bad job-priority value.")
			return
		}
		k.accept(at)
	case "job-hold-until":
		if v, ok := keywordOrName(); !ok {
			k.bad(at, "Bad job-hold-until value.")
		} else if v != "no-hold" && v != "indefinite" {
			k.unsupported(at, "unsupported job-hold-until %s.", v)
		} else {
			k.accept(goipp.MakeAttribute(at.Name, goipp.TagKeyword, goipp.String(v)))
		}
	case "job-sheets":
		vals := one.Strings(at.Name)
		if n == 0 || len(vals) != n || n > 2 {
			k.bad(at, "Bad job-sheets value.")
			return
		}
		for _, v := range vals {
			if v != "none" {
				k.unsupported(at, "unsupported job-sheets %s.", v)
				return
			}
		}
	case "multiple-document-handling":
		if v, ok := keyword(); !ok {
			k.bad(at, "Bad multiple-document-handling value.")
		} else if v != "separate-documents-uncollated-copies" && v != "separate-documents-collated-copies" {
			k.unsupported(at, "unsupported multiple-document-handling %s.", v)
		} else {
			k.accept(at)
		}
	case "number-up":
		s.checkNumberUp(k, c, at)
	case "print-content-optimize", "print-rendering-intent":
		if v, ok := keyword(); !ok {
			k.bad(at, "Bad %s value.", at.Name)
		} else if v != "auto" {
			k.unsupported(at, "unsupported %s %s.", at.Name, v)
		} else {
			k.accept(at)
		}
	case "printer-resolution":
		var r goipp.Resolution
		ok := n == 1
		if ok {
			r, ok = at.Values[0].V.(goipp.Resolution)
		}
		if !ok || tag != goipp.TagResolution {
			k.bad(at, "Bad printer-resolution value.")
			return
		}
		if r.Units != goipp.UnitsDpi || r.Xres != r.Yres || !slices.Contains(c.Resolutions, r.Xres) {
			k.unsupported(at, "unsupported printer-resolution %s.", formatResolution(r))
			return
		}
		k.accept(at)
	case "job-name":
		// Some clients put it here instead of the operation group; checkJobRequest reads it.
	default:
		k.unsupported(at, "unsupported attribute %s.", at.Name)
	}
}

// checkMediaCol checks media-col: its size must be one the pool has (feature routing); source
// and type are ignored (or refused under fidelity) when unknown; margins are accepted and not
// forwarded (the gateway does not re-render documents).
func (s *Server) checkMediaCol(k *jobChecker, c Capabilities, at goipp.Attribute) {
	col, ok := Attrs{at}.Collection(at.Name)
	if !ok || len(at.Values) != 1 {
		k.bad(at, "Bad media-col value.")
		return
	}
	canon := goipp.Collection{}
	switch {
	case col.Has("media-size-name"):
		v, ok := col.String("media-size-name")
		if !ok {
			k.bad(at, "Bad media-size-name value.")
			return
		}
		m, ok := matchMedia(c.Media, v)
		if !ok {
			k.refuse(at, "No printer of this virtual printer has media %s.", v)
			return
		}
		canon = append(canon, goipp.MakeAttribute("media-size-name", goipp.TagKeyword, goipp.String(m)))
	case col.Has("media-size"):
		size, ok := col.Collection("media-size")
		x, okx := size.Int("x-dimension")
		y, oky := size.Int("y-dimension")
		if !ok || !okx || !oky {
			k.bad(at, "Bad media-size value.")
			return
		}
		m, ok := matchMediaDims(c.Media, x, y)
		if !ok {
			k.refuse(at, "No printer of this virtual printer has media of %dx%d hundredths of mm.", x, y)
			return
		}
		canon = append(canon, goipp.MakeAttribute("media-size-name", goipp.TagKeyword, goipp.String(m)))
	}
	for _, member := range []struct {
		name      string
		supported []string
	}{{"media-source", c.MediaSources}, {"media-type", c.MediaTypes}} {
		if !col.Has(member.name) {
			continue
		}
		v, ok := col.String(member.name)
		if !ok {
			k.bad(at, "Bad %s value.", member.name)
			return
		}
		if !slices.Contains(member.supported, v) {
			k.unsupported(at, "unsupported %s %s.", member.name, v)
			continue
		}
		canon = append(canon, goipp.MakeAttribute(member.name, goipp.TagKeyword, goipp.String(v)))
	}
	if len(canon) > 0 {
		k.accept(goipp.MakeAttribute("media-col", goipp.TagBeginCollection, canon))
	}
}
