// The job-template codec: job.Attributes to IPP attributes (what the client forwards to a
// printer) and back (what the server stores). Validation against a printer's capabilities
// lives in jobtemplate.go.
package ipp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// extraTag is the IPP syntax of the job-template attributes kept in job.Attributes.Extra,
// ok=false for names not kept there. Extra values are text: keywords as they are, integers in
// decimal, resolutions as "600x600dpi".
func extraTag(name string) (goipp.Tag, bool) {
	switch name {
	case "print-content-optimize", "print-rendering-intent", "multiple-document-handling", "job-sheets":
		return goipp.TagKeyword, true
	case "printer-resolution":
		return goipp.TagResolution, true
	}
	return goipp.TagZero, false
}

// EncodeTemplate turns stored job-template attributes into IPP job attributes, for a Print-Job
// or Create-Job job group. Zero fields are left out. media-source and media-type can only travel
// inside media-col, so when either is set the size goes there too (as x/y dimensions, the way
// CUPS sends it) instead of as media.
func EncodeTemplate(a job.Attributes) goipp.Attributes {
	var out goipp.Attributes
	add := func(name string, tag goipp.Tag, vals ...goipp.Value) {
		if len(vals) > 0 {
			out.Add(goipp.MakeAttr(name, tag, vals[0], vals[1:]...))
		}
	}
	if a.Copies > 0 {
		add("copies", goipp.TagInteger, goipp.Integer(a.Copies))
	}
	if len(a.Finishings) > 0 {
		vals := make([]goipp.Value, len(a.Finishings))
		for i, f := range a.Finishings {
			vals[i] = goipp.Integer(f)
		}
		add("finishings", goipp.TagEnum, vals...)
	}
	if len(a.FinishingTemplates) > 0 {
		vals := make([]goipp.Value, len(a.FinishingTemplates))
		for i, f := range a.FinishingTemplates {
			vals[i] = goipp.Collection{goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String(f))}
		}
		add("finishings-col", goipp.TagBeginCollection, vals...)
	}
	if a.HoldUntil != "" {
		add("job-hold-until", goipp.TagKeyword, goipp.String(a.HoldUntil))
	}
	if a.JobPriority > 0 {
		add("job-priority", goipp.TagInteger, goipp.Integer(a.JobPriority))
	}
	x, y, hasDims := mediaSize(a.Media)
	switch {
	case (a.MediaSource != "" || a.MediaType != "") && (hasDims || a.Media == ""):
		col := goipp.Collection{}
		if hasDims {
			col = append(col, goipp.MakeAttribute("media-size", goipp.TagBeginCollection, mediaSizeCol(x, y)))
		}
		if a.MediaSource != "" {
			col = append(col, goipp.MakeAttribute("media-source", goipp.TagKeyword, goipp.String(a.MediaSource)))
		}
		if a.MediaType != "" {
			col = append(col, goipp.MakeAttribute("media-type", goipp.TagKeyword, goipp.String(a.MediaType)))
		}
		add("media-col", goipp.TagBeginCollection, col)
	case a.Media != "":
		add("media", goipp.TagKeyword, goipp.String(a.Media))
	}
	if a.NumberUp > 0 {
		add("number-up", goipp.TagInteger, goipp.Integer(a.NumberUp))
	}
	if a.Orientation > 0 {
		add("orientation-requested", goipp.TagEnum, goipp.Integer(a.Orientation))
	}
	if len(a.Overrides) > 0 {
		vals := make([]goipp.Value, 0, len(a.Overrides))
		for _, o := range a.Overrides {
			vals = append(vals, encodeOverride(o))
		}
		add("overrides", goipp.TagBeginCollection, vals...)
	}
	if a.OutputBin != "" {
		add("output-bin", goipp.TagKeyword, goipp.String(a.OutputBin))
	}
	if len(a.PageRanges) > 0 {
		add("page-ranges", goipp.TagRange, rangeValues(a.PageRanges)...)
	}
	if a.ColorMode != "" {
		add("print-color-mode", goipp.TagKeyword, goipp.String(a.ColorMode))
	}
	if a.PrintQuality > 0 {
		add("print-quality", goipp.TagEnum, goipp.Integer(a.PrintQuality))
	}
	if a.PrintScaling != "" {
		add("print-scaling", goipp.TagKeyword, goipp.String(a.PrintScaling))
	}
	if a.Sides != "" {
		add("sides", goipp.TagKeyword, goipp.String(a.Sides))
	}
	keys := make([]string, 0, len(a.Extra))
	for k := range a.Extra {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, ok := encodeExtra(k, a.Extra[k]); ok {
			out.Add(v)
		}
	}
	return out
}

// encodeOverride is one overrides collection: pages, document-numbers, then the attributes
// (PWG 5100.6 section 5.1.1).
func encodeOverride(o job.Override) goipp.Collection {
	var col goipp.Collection
	if len(o.Pages) > 0 {
		p := rangeValues(o.Pages)
		col.Add(goipp.MakeAttr("pages", goipp.TagRange, p[0], p[1:]...))
	}
	if len(o.DocumentNumbers) > 0 {
		dn := rangeValues(o.DocumentNumbers)
		col.Add(goipp.MakeAttr("document-numbers", goipp.TagRange, dn[0], dn[1:]...))
	}
	inner := o.Attributes
	inner.Overrides, inner.HoldUntil = nil, ""
	return append(col, EncodeTemplate(inner)...)
}

func rangeValues(rs [][2]int) []goipp.Value {
	vals := make([]goipp.Value, len(rs))
	for i, r := range rs {
		vals[i] = goipp.Range{Lower: r[0], Upper: r[1]}
	}
	return vals
}

// ranges reads a rangeOfInteger attribute's values, skipping others.
func ranges(at goipp.Attribute) [][2]int {
	var out [][2]int
	for _, v := range at.Values {
		if r, ok := v.V.(goipp.Range); ok {
			out = append(out, [2]int{r.Lower, r.Upper})
		}
	}
	return out
}

// encodeExtra encodes one Extra entry, ok=false when the name or value is not understood.
func encodeExtra(name, value string) (goipp.Attribute, bool) {
	tag, ok := extraTag(name)
	if !ok {
		return goipp.Attribute{}, false
	}
	switch tag {
	case goipp.TagInteger:
		i, err := strconv.Atoi(value)
		if err != nil {
			return goipp.Attribute{}, false
		}
		return goipp.MakeAttribute(name, tag, goipp.Integer(i)), true
	case goipp.TagResolution:
		r, ok := parseResolution(value)
		if !ok {
			return goipp.Attribute{}, false
		}
		return goipp.MakeAttribute(name, tag, r), true
	}
	return goipp.MakeAttribute(name, tag, goipp.String(value)), true
}

// DecodeTemplate reads the job-template attributes we store from a job group. It does not
// validate (see Server for that) and skips values of the wrong syntax. A media-col size without
// a media-size-name is named after the standard size it matches, else a custom_ name.
func DecodeTemplate(attrs Attrs) job.Attributes {
	var a job.Attributes
	for _, at := range attrs {
		one := Attrs{at}
		switch at.Name {
		case "copies":
			a.Copies, _ = one.Int(at.Name)
		case "finishings":
			a.Finishings = one.Ints(at.Name)
		case "finishings-col":
			a.FinishingTemplates = nil
			for _, col := range one.Collections(at.Name) {
				if t, ok := col.String("finishing-template"); ok {
					a.FinishingTemplates = append(a.FinishingTemplates, t)
				}
			}
		case "number-up":
			a.NumberUp, _ = one.Int(at.Name)
		case "overrides":
			a.Overrides = nil
			for _, col := range one.Collections(at.Name) {
				o := job.Override{Attributes: DecodeTemplate(col)}
				o.Attributes.Overrides = nil
				if p, ok := col.Get("pages"); ok {
					o.Pages = ranges(p)
				}
				if d, ok := col.Get("document-numbers"); ok {
					o.DocumentNumbers = ranges(d)
				}
				a.Overrides = append(a.Overrides, o)
			}
		case "job-hold-until":
			a.HoldUntil, _ = one.String(at.Name)
		case "job-priority":
			a.JobPriority, _ = one.Int(at.Name)
		case "media":
			a.Media, _ = one.String(at.Name)
		case "media-col":
			col, ok := one.Collection(at.Name)
			if !ok {
				continue
			}
			if name, ok := col.String("media-size-name"); ok {
				a.Media = name
			} else if size, ok := col.Collection("media-size"); ok {
				x, okx := size.Int("x-dimension")
				y, oky := size.Int("y-dimension")
				if okx && oky {
					if name, ok := matchMediaDims(standardMedia(), x, y); ok {
						a.Media = name
					} else {
						a.Media = customMediaName(x, y)
					}
				}
			}
			a.MediaSource, _ = col.String("media-source")
			a.MediaType, _ = col.String("media-type")
		case "orientation-requested":
			a.Orientation, _ = one.Int(at.Name)
		case "output-bin":
			a.OutputBin, _ = one.String(at.Name)
		case "page-ranges":
			a.PageRanges = ranges(at)
		case "print-color-mode":
			a.ColorMode, _ = one.String(at.Name)
		case "print-quality":
			a.PrintQuality, _ = one.Int(at.Name)
		case "print-scaling":
			a.PrintScaling, _ = one.String(at.Name)
		case "sides":
			a.Sides, _ = one.String(at.Name)
		default:
			if v, ok := decodeExtra(at); ok {
				if a.Extra == nil {
					a.Extra = map[string]string{}
				}
				a.Extra[at.Name] = v
			}
		}
	}
	return a
}

// decodeExtra reads an Extra attribute's first value as text.
func decodeExtra(at goipp.Attribute) (string, bool) {
	tag, ok := extraTag(at.Name)
	if !ok || len(at.Values) == 0 {
		return "", false
	}
	switch v := at.Values[0].V.(type) {
	case goipp.String:
		if tag == goipp.TagKeyword {
			return string(v), true
		}
	case goipp.Integer:
		if tag == goipp.TagInteger {
			return strconv.Itoa(int(v)), true
		}
	case goipp.Resolution:
		if tag == goipp.TagResolution {
			return formatResolution(v), true
		}
	}
	return "", false
}

// formatResolution writes "600x600dpi" (or dpcm).
func formatResolution(r goipp.Resolution) string {
	return fmt.Sprintf("%dx%d%s", r.Xres, r.Yres, r.Units)
}

// parseResolution reads "600x600dpi", "600dpi" or the dpcm forms.
func parseResolution(s string) (goipp.Resolution, bool) {
	units := goipp.UnitsDpi
	switch {
	case strings.HasSuffix(s, "dpi"):
		s = strings.TrimSuffix(s, "dpi")
	case strings.HasSuffix(s, "dpcm"):
		s, units = strings.TrimSuffix(s, "dpcm"), goipp.UnitsDpcm
	default:
		return goipp.Resolution{}, false
	}
	xs, ys, found := strings.Cut(s, "x")
	if !found {
		ys = xs
	}
	x, err1 := strconv.Atoi(xs)
	y, err2 := strconv.Atoi(ys)
	if err1 != nil || err2 != nil || x <= 0 || y <= 0 {
		return goipp.Resolution{}, false
	}
	return goipp.Resolution{Xres: x, Yres: y, Units: units}, true
}

// standardMedia are the sizes a bare media-size is matched against when no printer list is
// at hand.
func standardMedia() []string {
	return []string{
		"iso_a4_210x297mm", "na_letter_8.5x11in", "na_legal_8.5x14in", "iso_a3_297x420mm",
		"iso_a5_148x210mm", "iso_a6_105x148mm", "iso_b5_176x250mm", "jis_b5_182x257mm",
		"na_executive_7.25x10.5in", "na_ledger_11x17in", "na_index-4x6_4x6in",
		"na_number-10_4.125x9.5in", "iso_dl_110x220mm", "iso_c5_162x229mm",
	}
}
