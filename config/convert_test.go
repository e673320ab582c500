package config

import (
	"strings"
	"testing"
	"time"
)

// config check reads the conversion keys and each printer's formats and convert: bad values
// are refused naming the key; good ones come through with the defaults filled in.
func TestParseConversion(t *testing.T) {
	t.Parallel()
	const pool = "virtual_printers:\n  - name: letters\n    pool: [p]\n"
	printer := func(extra string) string {
		return "printers:\n  - name: p\n    uri: socket://192.0.2.9:9100\n" + extra + pool
	}
	tests := []struct {
		name, yaml, want string
	}{
		{"defaults", printer(""), ""},
		{"pcl xl printer, no conversion", printer("    formats: [application/vnd.hp-pclxl]\n    convert: false\n"), ""},
		{"tuned", "conversion:\n  timeout: 30s\n  memory_limit: 512MiB\n  max_output_size: 1GiB\n  ghostscript: /bin/sh\n" + printer(""), ""},
		{"bridge off, tool path unchecked", "conversion:\n  enabled: false\n  ghostscript: /nonexistent/gs\n" + printer(""), ""},
		{"short timeout", "conversion:\n  timeout: 100ms\n" + printer(""), "conversion: timeout 100ms: at least 1s"},
		{"tiny memory", "conversion:\n  memory_limit: 1MiB\n" + printer(""), "memory_limit"},
		{"tiny output", "conversion:\n  max_output_size: 1KiB\n" + printer(""), "max_output_size"},
		{"missing gs", "conversion:\n  ghostscript: /nonexistent/gs\n" + printer(""), `ghostscript "/nonexistent/gs": not an executable file`},
		{"format not a MIME type", printer("    formats: [PDF]\n"), `formats: "PDF" is not a MIME type`},
		{"format in capitals", printer("    formats: [application/PDF]\n"), `"application/PDF"`},
		{"unknown key", "conversion:\n  speed: 3\n" + printer(""), "speed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse("printgate.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tt.name == "defaults" && (c.Conversion.Timeout.D() != 2*time.Minute || c.Conversion.MemoryLimit != 1<<30 ||
					!c.Conversion.On() || c.Printers[0].Convert != nil) {
					t.Errorf("defaults: %+v", c.Conversion)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}
