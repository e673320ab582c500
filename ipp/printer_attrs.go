// Printer attributes of a virtual printer: the IPP/1.1, IPP/2.0 and IPP Everywhere (PWG 5100.14)
// set that ipp-1.1.test, ipp-2.0.test and ipp-everywhere.test expect, filtered by
// requested-attributes.
package ipp

import (
	"crypto/sha1"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/document"
)

// attrBuilder collects the attributes a request wants, skipping the rest before building them.
type attrBuilder struct {
	req    requested
	object string
	out    goipp.Attributes
}

func (b *attrBuilder) want(name string, class attrClass) bool {
	return b.req.wants(b.object, name, class)
}

// add appends name when wanted; attributes without values are never added (goipp would refuse
// to encode them).
func (b *attrBuilder) add(class attrClass, name string, tag goipp.Tag, vals ...goipp.Value) {
	if len(vals) == 0 || !b.want(name, class) {
		return
	}
	b.out.Add(goipp.MakeAttr(name, tag, vals[0], vals[1:]...))
}

func (b *attrBuilder) strings(class attrClass, name string, tag goipp.Tag, ss ...string) {
	b.add(class, name, tag, stringValues(ss)...)
}

func (b *attrBuilder) ints(class attrClass, name string, tag goipp.Tag, is ...int) {
	vals := make([]goipp.Value, len(is))
	for i, v := range is {
		vals[i] = goipp.Integer(v)
	}
	b.add(class, name, tag, vals...)
}

func stringValues(ss []string) []goipp.Value {
	vals := make([]goipp.Value, len(ss))
	for i, s := range ss {
		vals[i] = goipp.String(s)
	}
	return vals
}

// ippTime is a dateTime value; IPP carries deciseconds at most, so round-tripping compares equal
// only at whole seconds.
func ippTime(t time.Time) goipp.Value { return goipp.Time{Time: t.UTC().Truncate(time.Second)} }

// unixTime is an IPP integer time (printer-up-time based). Like CUPS, the gateway's up-time clock
// is Unix time: it never reads 0 and job times stay comparable across restarts.
func unixTime(t time.Time) goipp.Value {
	return goipp.Integer(min(max(t.Unix(), 1), math.MaxInt32))
}

// text127 bounds text(127) and name(127) values.
func text127(s string) string { return truncateUTF8(s, 127) }

// jobCreationAttributes are the job-template attributes Print-Job, Create-Job and Validate-Job
// accept (job-creation-attributes-supported).
func jobCreationAttributes() []string {
	return []string{"copies", "finishings", "finishings-col", "ipp-attribute-fidelity", "job-hold-until", "job-name",
		"job-priority", "job-sheets", "media", "media-col", "multiple-document-handling", "number-up",
		"orientation-requested", "output-bin", "overrides", "page-ranges", "print-color-mode",
		"print-content-optimize", "print-quality", "print-rendering-intent", "print-scaling",
		"printer-resolution", "sides"}
}

// printScalingSupported are the print-scaling keywords accepted.
func printScalingSupported() []string { return []string{"auto", "auto-fit", "fill", "fit", "none"} }

// printerAttributes builds the requested printer attributes of rq's virtual printer.
func (s *Server) printerAttributes(rq *request, req requested) goipp.Attributes {
	p := rq.printer
	c := normalizeCaps(p.Caps)
	b := &attrBuilder{req: req, object: "printer"}
	const d, t = classDescription, classTemplate
	now := s.now()
	upSince := p.UpSince
	if upSince.IsZero() {
		upSince = now
	}
	stateChanged, configChanged := p.StateChanged, p.ConfigChanged
	if stateChanged.IsZero() {
		stateChanged = upSince
	}
	if configChanged.IsZero() {
		configChanged = upSince
	}
	color := colorOffered(c)
	formats := append([]string{document.Octet}, c.Formats...)
	makeModel := p.MakeModel
	if makeModel == "" {
		makeModel = "printgate Virtual Printer"
	}
	info := p.Info
	if info == "" {
		info = p.Name
	}

	// Job template attributes: xxx-default, xxx-supported, xxx-ready.
	b.ints(t, "copies-default", goipp.TagInteger, 1)
	b.add(t, "copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: c.MaxCopies})
	addFinishingAttrs(b, c)
	b.strings(t, "job-hold-until-default", goipp.TagKeyword, "no-hold")
	b.strings(t, "job-hold-until-supported", goipp.TagKeyword, "no-hold", "indefinite")
	b.ints(t, "job-priority-default", goipp.TagInteger, 50)
	b.ints(t, "job-priority-supported", goipp.TagInteger, 100)
	b.strings(t, "job-sheets-default", goipp.TagKeyword, "none")
	b.strings(t, "job-sheets-supported", goipp.TagKeyword, "none")
	for _, side := range []string{"bottom", "left", "right", "top"} {
		b.ints(t, "media-"+side+"-margin-supported", goipp.TagInteger, defaultMargin)
	}
	if b.want("media-col-database", classExplicit) {
		var cols []goipp.Value
		for _, m := range c.Media {
			if col, ok := mediaCol(mediaColSpec{size: m, margin: defaultMargin}); ok {
				cols = append(cols, col)
			}
		}
		b.add(classExplicit, "media-col-database", goipp.TagBeginCollection, cols...)
	}
	if col, ok := mediaCol(mediaColSpec{size: c.MediaDefault, source: c.MediaSources[0], typ: c.MediaTypes[0], margin: defaultMargin}); ok {
		b.add(t, "media-col-default", goipp.TagBeginCollection, col)
	}
	if b.want("media-col-ready", t) {
		var cols []goipp.Value
		for _, m := range c.MediaReady {
			if col, ok := mediaCol(mediaColSpec{size: m, source: c.MediaSources[0], typ: c.MediaTypes[0], margin: defaultMargin}); ok {
				cols = append(cols, col)
			}
		}
		b.add(t, "media-col-ready", goipp.TagBeginCollection, cols...)
	}
	b.strings(t, "media-col-supported", goipp.TagKeyword, "media-bottom-margin", "media-left-margin",
		"media-right-margin", "media-size", "media-size-name", "media-source", "media-top-margin", "media-type")
	b.strings(t, "media-default", goipp.TagKeyword, c.MediaDefault)
	b.strings(t, "media-ready", goipp.TagKeyword, c.MediaReady...)
	if b.want("media-size-supported", t) {
		var sizes []goipp.Value
		for _, m := range c.Media {
			if x, y, ok := mediaSize(m); ok {
				sizes = append(sizes, mediaSizeCol(x, y))
			}
		}
		b.add(t, "media-size-supported", goipp.TagBeginCollection, sizes...)
	}
	b.strings(t, "media-source-supported", goipp.TagKeyword, c.MediaSources...)
	b.strings(t, "media-supported", goipp.TagKeyword, c.Media...)
	b.strings(t, "media-type-supported", goipp.TagKeyword, c.MediaTypes...)
	b.strings(t, "multiple-document-handling-default", goipp.TagKeyword, "separate-documents-collated-copies")
	b.strings(t, "multiple-document-handling-supported", goipp.TagKeyword,
		"separate-documents-uncollated-copies", "separate-documents-collated-copies")
	b.ints(t, "orientation-requested-default", goipp.TagEnum, 3)
	b.ints(t, "orientation-requested-supported", goipp.TagEnum, 3, 4, 5, 6)
	b.strings(t, "output-bin-default", goipp.TagKeyword, c.OutputBins[0])
	b.strings(t, "output-bin-supported", goipp.TagKeyword, c.OutputBins...)
	b.add(t, "page-ranges-supported", goipp.TagBoolean, goipp.Boolean(offers(c, document.PDF)))
	if color {
		b.strings(t, "print-color-mode-default", goipp.TagKeyword, "auto")
	} else {
		b.strings(t, "print-color-mode-default", goipp.TagKeyword, "monochrome")
	}
	b.strings(t, "print-color-mode-supported", goipp.TagKeyword, c.ColorModes...)
	b.strings(t, "print-content-optimize-default", goipp.TagKeyword, "auto")
	b.strings(t, "print-content-optimize-supported", goipp.TagKeyword, "auto")
	b.ints(t, "print-quality-default", goipp.TagEnum, 4)
	b.ints(t, "print-quality-supported", goipp.TagEnum, 3, 4, 5)
	b.strings(t, "print-rendering-intent-default", goipp.TagKeyword, "auto")
	b.strings(t, "print-rendering-intent-supported", goipp.TagKeyword, "auto")
	b.strings(t, "print-scaling-default", goipp.TagKeyword, "auto")
	b.strings(t, "print-scaling-supported", goipp.TagKeyword, printScalingSupported()...)
	res := make([]goipp.Value, len(c.Resolutions))
	for i, r := range c.Resolutions {
		res[i] = goipp.Resolution{Xres: r, Yres: r, Units: goipp.UnitsDpi}
	}
	b.add(t, "printer-resolution-default", goipp.TagResolution, res[0])
	b.add(t, "printer-resolution-supported", goipp.TagResolution, res...)
	b.strings(t, "sides-default", goipp.TagKeyword, "one-sided")
	b.strings(t, "sides-supported", goipp.TagKeyword, c.Sides...)

	// Printer description attributes.
	b.strings(d, "charset-configured", goipp.TagCharset, "utf-8")
	b.strings(d, "charset-supported", goipp.TagCharset, "us-ascii", "utf-8")
	b.add(d, "color-supported", goipp.TagBoolean, goipp.Boolean(color))
	b.strings(d, "compression-supported", goipp.TagKeyword, "none", "deflate", "gzip")
	b.strings(d, "document-format-default", goipp.TagMimeType, document.Octet)
	b.strings(d, "document-format-supported", goipp.TagMimeType, formats...)
	b.strings(d, "generated-natural-language-supported", goipp.TagLanguage, "en")
	b.strings(d, "identify-actions-default", goipp.TagKeyword, "sound")
	b.strings(d, "identify-actions-supported", goipp.TagKeyword, "display", "sound")
	b.strings(d, "ipp-features-supported", goipp.TagKeyword, "ipp-everywhere")
	b.strings(d, "ipp-versions-supported", goipp.TagKeyword, "1.0", "1.1", "2.0")
	b.strings(d, "job-creation-attributes-supported", goipp.TagKeyword, jobCreationAttributes()...)
	b.add(d, "job-ids-supported", goipp.TagBoolean, goipp.Boolean(true))
	kLimit := math.MaxInt32
	if s.maxDoc > 0 {
		kLimit = int(min(s.maxDoc/1024+1, math.MaxInt32))
	}
	b.add(d, "job-k-octets-supported", goipp.TagRange, goipp.Range{Lower: 0, Upper: kLimit})
	b.strings(d, "job-spooling-supported", goipp.TagKeyword, "spool")
	b.strings(d, "mopria-certified", goipp.TagText, "1.3")
	b.add(d, "multiple-document-jobs-supported", goipp.TagBoolean, goipp.Boolean(true))
	b.ints(d, "multiple-operation-time-out", goipp.TagInteger, max(int(s.opTimeout/time.Second), 1))
	b.strings(d, "multiple-operation-time-out-action", goipp.TagKeyword, "abort-job")
	b.strings(d, "natural-language-configured", goipp.TagLanguage, "en")
	ops := s.operationsSupported()
	opVals := make([]int, len(ops))
	for i, op := range ops {
		opVals[i] = int(op)
	}
	b.ints(d, "operations-supported", goipp.TagEnum, opVals...)
	b.strings(t, "overrides-supported", goipp.TagKeyword, offeredOverrides(c)...)
	// PDF is offered, so the attribute is required (PWG 5100.13); 0: encrypted PDFs are not
	// decrypted here, and document-password is not accepted.
	b.ints(d, "document-password-supported", goipp.TagInteger, 0)
	b.ints(d, "pages-per-minute", goipp.TagInteger, c.PPM)
	if color {
		b.ints(d, "pages-per-minute-color", goipp.TagInteger, c.PPMColor)
	}
	b.strings(d, "pdl-override-supported", goipp.TagKeyword, "attempted")
	b.add(d, "preferred-attributes-supported", goipp.TagBoolean, goipp.Boolean(false))
	b.add(d, "printer-config-change-date-time", goipp.TagDateTime, ippTime(configChanged))
	b.add(d, "printer-config-change-time", goipp.TagInteger, unixTime(configChanged))
	b.add(d, "printer-current-time", goipp.TagDateTime, ippTime(now))
	b.strings(d, "printer-device-id", goipp.TagText, deviceID(makeModel, c.Formats))
	b.strings(d, "printer-dns-sd-name", goipp.TagName, text127(p.Name))
	b.add(d, "printer-geo-location", goipp.TagUnknown, goipp.Void{})
	b.strings(d, "printer-get-attributes-supported", goipp.TagKeyword, "document-format")
	b.strings(d, "printer-icons", goipp.TagURI, rq.iconURLs()...)
	b.strings(d, "printer-info", goipp.TagText, text127(info))
	b.add(d, "printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(p.Accepting))
	b.strings(d, "printer-kind", goipp.TagKeyword, "document")
	b.strings(d, "printer-location", goipp.TagText, text127(p.Location))
	b.strings(d, "printer-make-and-model", goipp.TagText, text127(makeModel))
	b.strings(d, "printer-more-info", goipp.TagURI, rq.moreInfo())
	b.strings(d, "printer-name", goipp.TagName, text127(p.Name))
	b.strings(d, "printer-organization", goipp.TagText, "")
	b.strings(d, "printer-organizational-unit", goipp.TagText, "")
	s.printerState(b, p)
	b.add(d, "printer-state-change-date-time", goipp.TagDateTime, ippTime(stateChanged))
	b.add(d, "printer-state-change-time", goipp.TagInteger, unixTime(stateChanged))
	// A virtual printer has no supplies of its own; it says so with one entry whose level is
	// -2, "unknown" in the Printer MIB, and points at the dashboard, which shows the pool.
	b.add(d, "printer-supply", goipp.TagString, goipp.String(
		"index=1;class=other;type=other;unit=percent;maxcapacity=100;level=-2;"))
	b.strings(d, "printer-supply-description", goipp.TagText, "Supplies of the pool's printers (see printer-supply-info-uri)")
	b.strings(d, "printer-supply-info-uri", goipp.TagURI, rq.moreInfo())
	b.add(d, "printer-up-time", goipp.TagInteger, unixTime(now))
	b.strings(d, "printer-uri-supported", goipp.TagURI, rq.printerURI())
	b.strings(d, "printer-uuid", goipp.TagURI, "urn:uuid:"+printerUUID(p))
	if offers(c, document.PWGRaster) {
		b.add(d, "pwg-raster-document-resolution-supported", goipp.TagResolution, res...)
		b.strings(d, "pwg-raster-document-sheet-back", goipp.TagKeyword, "normal")
		b.strings(d, "pwg-raster-document-type-supported", goipp.TagKeyword, c.RasterTypes...)
	}
	if b.want("queued-job-count", d) {
		// Counted only when asked for: the count reads the spool, and every other request
		// (a Print-Job above all) would pay for it.
		n, err := s.svc.QueuedJobs(rq.hr.Context(), p.Name)
		if err != nil {
			s.log.Warn("ipp: count queued jobs", "printer", p.Name, "err", err)
		}
		b.ints(d, "queued-job-count", goipp.TagInteger, max(n, 0))
	}
	b.strings(d, "uri-authentication-supported", goipp.TagKeyword, "requesting-user-name")
	if rq.secure() {
		b.strings(d, "uri-security-supported", goipp.TagKeyword, "tls")
	} else {
		b.strings(d, "uri-security-supported", goipp.TagKeyword, "none")
	}
	if offers(c, document.URF) {
		b.strings(d, "urf-supported", goipp.TagKeyword, c.URF...)
	}
	b.strings(d, "which-jobs-supported", goipp.TagKeyword, whichJobsSupported()...)
	return b.out
}

// printerUUID is the printer's UUID without urn:uuid:. A Service that gives none gets one
// derived from the name (RFC 4122 version 5 style, SHA-1 of the name), so it is still stable
// per virtual printer and well formed.
func printerUUID(p *PrinterInfo) string {
	if u := strings.TrimPrefix(p.UUID, "urn:uuid:"); u != "" {
		return u
	}
	sum := sha1.Sum([]byte("printgate virtual printer " + p.Name))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", sum[0:4], sum[4:6], sum[6:8], sum[8:10], sum[10:16])
}

// printerState adds printer-state, printer-state-reasons and printer-state-message.
func (s *Server) printerState(b *attrBuilder, p *PrinterInfo) {
	state := p.State
	if state < PrinterIdle || state > PrinterStopped {
		state = PrinterIdle
	}
	b.ints(classDescription, "printer-state", goipp.TagEnum, int(state))
	reasons := keywords(p.Reasons, "none")
	b.strings(classDescription, "printer-state-reasons", goipp.TagKeyword, reasons...)
	b.strings(classDescription, "printer-state-message", goipp.TagText, truncateUTF8(p.Message, 255))
}

// deviceID builds printer-device-id (IEEE 1284 device ID): manufacturer, model and the
// command sets of the formats passed through.
func deviceID(makeModel string, formats []string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == ';' || r == ':' {
				return ' '
			}
			return r
		}, s)
	}
	mfg, mdl := "printgate", makeModel
	if first, rest, ok := strings.Cut(makeModel, " "); ok && rest != "" {
		mfg, mdl = first, rest
	}
	return "MFG:" + clean(mfg) + ";MDL:" + clean(mdl) + ";CMD:" + strings.Join(deviceCommands(formats), ",") + ";"
}
