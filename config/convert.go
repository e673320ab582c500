// The format bridge's configuration: the conversion tools and their limits, and per printer
// the formats: override and the convert: opt-out (docs/CONFIG.md, "Format conversion").
package config

import (
	"os"
	"strings"
	"time"
)

// Conversion configures the format bridge (document/convert).
type Conversion struct {
	// Enabled turns the bridge on (the default); false sends every job only to printers that
	// take its format, as it is.
	Enabled *bool `yaml:"enabled"`
	// Ghostscript and RasterToPDF are the tools; empty finds gs on PATH and cups-filters'
	// /usr/lib/cups/filter/rastertopdf.
	Ghostscript string `yaml:"ghostscript"`
	RasterToPDF string `yaml:"rastertopdf"`
	// Timeout bounds one document's conversion; MemoryLimit each tool process's address
	// space; MaxOutputSize the bytes one conversion step may write.
	Timeout       Duration `yaml:"timeout"`
	MemoryLimit   ByteSize `yaml:"memory_limit"`
	MaxOutputSize ByteSize `yaml:"max_output_size"`
}

// On reports whether the bridge is enabled.
func (c Conversion) On() bool { return c.Enabled == nil || *c.Enabled }

// conversionDefaults fills in the unset conversion keys.
func (c *Config) conversionDefaults() {
	v := &c.Conversion
	if v.Timeout == 0 {
		v.Timeout = Duration(2 * time.Minute)
	}
	if v.MemoryLimit == 0 {
		v.MemoryLimit = 1 << 30
	}
	if v.MaxOutputSize == 0 {
		v.MaxOutputSize = 2 << 30
	}
}

// checkConversion checks the conversion keys and each printer's formats and convert.
func (c *Config) checkConversion(bad func(line int, format string, args ...any)) {
	v := c.Conversion
	if v.Timeout.D() < time.Second {
		bad(0, "conversion: timeout %v: at least 1s", v.Timeout.D())
	}
	if v.MemoryLimit < 64<<20 {
		bad(0, "conversion: memory_limit %d bytes: at least 64MiB (Ghostscript alone needs about 30MiB)", v.MemoryLimit)
	}
	if v.MaxOutputSize < 1<<20 {
		bad(0, "conversion: max_output_size %d bytes: at least 1MiB", v.MaxOutputSize)
	}
	for key, path := range map[string]string{"ghostscript": v.Ghostscript, "rastertopdf": v.RasterToPDF} {
		if path == "" || !v.On() {
			continue
		}
		if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			bad(0, "conversion: %s %q: not an executable file", key, path)
		}
	}
	for _, p := range c.Printers {
		for _, f := range p.Formats {
			if !mimeType(f) {
				bad(p.line, "printer %q: formats: %q is not a MIME type in lower case (e.g. application/pdf)", p.Name, f)
			}
		}
		for f, ppm := range p.FormatPPM {
			if !mimeType(f) {
				bad(p.line, "printer %q: format_ppm: %q is not a MIME type in lower case (e.g. image/pwg-raster)", p.Name, f)
			}
			if ppm < 1 || ppm > 10000 {
				bad(p.line, "printer %q: format_ppm: %s: %d pages a minute out of range 1-10000", p.Name, f, ppm)
			}
		}
	}
}

// mimeType: f is a MIME type without parameters, in lower case.
func mimeType(f string) bool {
	typ, sub, ok := strings.Cut(f, "/")
	return ok && typ != "" && sub != "" && !strings.ContainsAny(f, " ;,") && f == strings.ToLower(f)
}
