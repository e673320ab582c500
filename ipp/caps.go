// Capabilities as advertised: defaults filled in, names canonical, values clients would choke
// on dropped.
package ipp

import (
	"slices"
	"strconv"
	"strings"

	"github.com/printgate/printgate/document"
)

// normalizeCaps returns c with the documented defaults applied and every list deduplicated.
func normalizeCaps(c Capabilities) Capabilities {
	var n Capabilities
	for _, f := range c.Formats {
		f = strings.ToLower(strings.TrimSpace(f))
		if f != "" && f != document.Octet && !slices.Contains(n.Formats, f) {
			n.Formats = append(n.Formats, f)
		}
	}
	n.Media = canonicalMedia(c.Media, nil)
	if len(n.Media) == 0 {
		n.Media = []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}
	}
	n.MediaDefault = n.Media[0]
	if m, ok := matchMedia(n.Media, c.MediaDefault); ok {
		n.MediaDefault = m
	}
	n.MediaReady = canonicalMedia(c.MediaReady, n.Media)
	if len(n.MediaReady) == 0 {
		n.MediaReady = n.Media
	}
	n.MediaSources = keywords(c.MediaSources, "auto")
	n.MediaTypes = keywords(c.MediaTypes, "stationery")
	n.OutputBins = keywords(c.OutputBins, "face-down")
	for _, s := range c.Sides {
		if (s == "one-sided" || s == "two-sided-long-edge" || s == "two-sided-short-edge") && !slices.Contains(n.Sides, s) {
			n.Sides = append(n.Sides, s)
		}
	}
	if !slices.Contains(n.Sides, "one-sided") {
		n.Sides = append([]string{"one-sided"}, n.Sides...)
	}
	n.ColorModes = []string{"auto", "monochrome"}
	for _, m := range c.ColorModes {
		if validColorMode(m) && !slices.Contains(n.ColorModes, m) {
			n.ColorModes = append(n.ColorModes, m)
		}
	}
	for _, r := range c.Resolutions {
		if r > 0 && !slices.Contains(n.Resolutions, r) {
			n.Resolutions = append(n.Resolutions, r)
		}
	}
	if len(n.Resolutions) == 0 {
		n.Resolutions = []int{300}
	}
	n.RasterTypes = keywords(c.RasterTypes, "")
	if len(n.RasterTypes) == 0 {
		n.RasterTypes = []string{"sgray_8"}
		if colorOffered(n) {
			n.RasterTypes = append(n.RasterTypes, "srgb_8")
		}
	}
	n.PPM = max(c.PPM, 1)
	if colorOffered(n) {
		n.PPMColor = c.PPMColor
		if n.PPMColor <= 0 {
			n.PPMColor = n.PPM
		}
	}
	n.MaxCopies = c.MaxCopies
	if n.MaxCopies <= 0 {
		n.MaxCopies = 999
	}
	normalizeFinishing(&n, c)
	n.URF = keywords(c.URF, "")
	if len(n.URF) == 0 {
		n.URF = deriveURF(n)
	}
	return n
}

// canonicalMedia maps names to PWG self-describing ones and drops names without dimensions
// (ipp-2.0.test and Windows want PWG names). When within is not nil, only its sizes are kept.
func canonicalMedia(in, within []string) []string {
	var out []string
	for _, m := range in {
		if pwg, ok := legacyMedia(m); ok {
			m = pwg
		}
		if _, _, ok := mediaSize(m); !ok {
			continue
		}
		if within != nil {
			var ok bool
			if m, ok = matchMedia(within, m); !ok {
				continue
			}
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// keywords deduplicates in, drops empty and non-keyword values (a numeric media-source makes
// Windows 11 hang), and falls back to def (when not "").
func keywords(in []string, def string) []string {
	var out []string
	for _, k := range in {
		if isKeyword(k) && !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 && def != "" {
		out = []string{def}
	}
	return out
}

// isKeyword reports whether s is an IPP keyword: a lower-case letter, then letters, digits,
// '-', '_' or '.' (RFC 8011 section 5.1.4), at most 255 bytes.
func isKeyword(s string) bool {
	if s == "" || len(s) > 255 || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// validColorMode reports whether m is a print-color-mode keyword of PWG 5100.13.
func validColorMode(m string) bool {
	switch m {
	case "auto", "auto-monochrome", "bi-level", "color", "highlight", "monochrome",
		"process-bi-level", "process-monochrome":
		return true
	}
	return false
}

// colorOffered reports whether the pool prints colour.
func colorOffered(c Capabilities) bool { return slices.Contains(c.ColorModes, "color") }

// duplexOffered reports whether the pool prints on both sides.
func duplexOffered(c Capabilities) bool {
	return slices.Contains(c.Sides, "two-sided-long-edge") || slices.Contains(c.Sides, "two-sided-short-edge")
}

// offers reports whether c lists format (octet-stream is always accepted).
func offers(c Capabilities, format string) bool {
	return format == document.Octet || slices.Contains(c.Formats, format)
}

// deriveURF builds urf-supported (Apple raster capabilities) from the other capabilities:
// version, copies, qualities, resolutions, 8-bit grey, and colour and duplex when offered.
func deriveURF(c Capabilities) []string {
	res := make([]string, len(c.Resolutions))
	for i, r := range c.Resolutions {
		res[i] = strconv.Itoa(r)
	}
	urf := []string{"V1.4", "CP1", "PQ3-4-5", "RS" + strings.Join(res, "-"), "W8"}
	if colorOffered(c) {
		urf = append(urf, "SRGB24")
	}
	if duplexOffered(c) {
		urf = append(urf, "DM1")
	}
	return urf
}

// deviceCommands maps formats to IEEE 1284 device ID command set names.
func deviceCommands(formats []string) []string {
	var cmds []string
	for _, f := range formats {
		var cmd string
		switch f {
		case document.PDF:
			cmd = "PDF"
		case document.PostScript:
			cmd = "POSTSCRIPT"
		case document.PCL:
			cmd = "PCL"
		case document.JPEG:
			cmd = "JPEG"
		case document.PWGRaster:
			cmd = "PWGRaster"
		case document.URF:
			cmd = "URF"
		}
		if cmd != "" && !slices.Contains(cmds, cmd) {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}
