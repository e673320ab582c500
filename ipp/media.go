// Media: PWG 5101.1 self-describing size names, their dimensions, and the media-col collections
// built from them.
package ipp

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
)

// defaultMargin is the bottom/left/right/top margin we advertise, in hundredths of mm: 1/6 inch,
// the usual unprintable border of office laser printers. The gateway passes documents through
// unchanged, so this only tells clients where not to put content.
const defaultMargin = 423

// mediaDimTolerance is how far (hundredths of mm) a media-size may be from a named size and still
// be that size: clients round inch sizes to whole hundredths of mm differently.
const mediaDimTolerance = 100

// mediaSize returns the dimensions of a PWG self-describing media name (class_name_WxHunit, e.g.
// iso_a4_210x297mm or na_letter_8.5x11in) in hundredths of millimetres. Legacy names such as
// "a4" and "letter" are understood too.
func mediaSize(name string) (x, y int, ok bool) {
	if pwg, found := legacyMedia(name); found {
		name = pwg
	}
	i := strings.LastIndexByte(name, '_')
	if i < 0 || strings.Count(name, "_") < 2 {
		return 0, 0, false
	}
	dims := name[i+1:]
	var scale float64
	switch {
	case strings.HasSuffix(dims, "mm"):
		scale, dims = 100, strings.TrimSuffix(dims, "mm")
	case strings.HasSuffix(dims, "in"):
		scale, dims = 2540, strings.TrimSuffix(dims, "in")
	default:
		return 0, 0, false
	}
	ws, hs, found := strings.Cut(dims, "x")
	if !found {
		return 0, 0, false
	}
	w, err1 := strconv.ParseFloat(ws, 64)
	h, err2 := strconv.ParseFloat(hs, 64)
	if err1 != nil || err2 != nil || w <= 0 || h <= 0 || w > 100000 || h > 100000 {
		return 0, 0, false
	}
	return int(math.Round(w * scale)), int(math.Round(h * scale)), true
}

// legacyMedia maps the pre-PWG media keywords some clients still send to PWG names.
func legacyMedia(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "a3", "iso-a3":
		return "iso_a3_297x420mm", true
	case "a4", "iso-a4":
		return "iso_a4_210x297mm", true
	case "a5", "iso-a5":
		return "iso_a5_148x210mm", true
	case "letter", "na-letter":
		return "na_letter_8.5x11in", true
	case "legal", "na-legal":
		return "na_legal_8.5x14in", true
	case "executive", "na-executive":
		return "na_executive_7.25x10.5in", true
	case "tabloid", "ledger", "na-ledger":
		return "na_ledger_11x17in", true
	case "index-4x6", "na-index-4x6":
		return "na_index-4x6_4x6in", true
	}
	return "", false
}

// matchMedia finds the name in supported that is the same size as name (so "a4" or a differently
// spelt A4 matches iso_a4_210x297mm). It returns "", false when none is.
func matchMedia(supported []string, name string) (string, bool) {
	for _, m := range supported {
		if m == name {
			return m, true
		}
	}
	x, y, ok := mediaSize(name)
	if !ok {
		return "", false
	}
	return matchMediaDims(supported, x, y)
}

// matchMediaDims finds the supported media of dimensions x by y (hundredths of mm).
func matchMediaDims(supported []string, x, y int) (string, bool) {
	for _, m := range supported {
		mx, my, ok := mediaSize(m)
		if ok && abs(mx-x) <= mediaDimTolerance && abs(my-y) <= mediaDimTolerance {
			return m, true
		}
	}
	return "", false
}

// customMediaName names a size that matches no known one, PWG style.
func customMediaName(x, y int) string {
	w, h := formatMM(x), formatMM(y)
	return fmt.Sprintf("custom_%sx%smm_%sx%smm", w, h, w, h)
}

func formatMM(hundredths int) string {
	return strconv.FormatFloat(float64(hundredths)/100, 'f', -1, 64)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// mediaSizeCol is the media-size collection for x by y hundredths of mm.
func mediaSizeCol(x, y int) goipp.Collection {
	return goipp.Collection{
		goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(x)),
		goipp.MakeAttribute("y-dimension", goipp.TagInteger, goipp.Integer(y)),
	}
}

// mediaColSpec describes one media-col value.
type mediaColSpec struct {
	// size is the PWG media name; its dimensions come from the name.
	size string
	// source and typ are media-source and media-type keywords; empty ones are left out.
	source, typ string
	// margin is the margin on all four sides, in hundredths of mm; negative leaves them out.
	margin int
}

// mediaCol builds a media-col collection, or ok=false when the size name has no dimensions.
func mediaCol(spec mediaColSpec) (goipp.Collection, bool) {
	x, y, ok := mediaSize(spec.size)
	if !ok {
		return nil, false
	}
	col := goipp.Collection{}
	if spec.margin >= 0 {
		m := goipp.Integer(spec.margin)
		col = append(col,
			goipp.MakeAttribute("media-bottom-margin", goipp.TagInteger, m),
			goipp.MakeAttribute("media-left-margin", goipp.TagInteger, m),
			goipp.MakeAttribute("media-right-margin", goipp.TagInteger, m),
		)
	}
	col = append(col, goipp.MakeAttribute("media-size", goipp.TagBeginCollection, mediaSizeCol(x, y)))
	col = append(col, goipp.MakeAttribute("media-size-name", goipp.TagKeyword, goipp.String(spec.size)))
	if spec.source != "" {
		col = append(col, goipp.MakeAttribute("media-source", goipp.TagKeyword, goipp.String(spec.source)))
	}
	if spec.margin >= 0 {
		col = append(col, goipp.MakeAttribute("media-top-margin", goipp.TagInteger, goipp.Integer(spec.margin)))
	}
	if spec.typ != "" {
		col = append(col, goipp.MakeAttribute("media-type", goipp.TagKeyword, goipp.String(spec.typ)))
	}
	return col, true
}
