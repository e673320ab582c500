// Choosing a backend by URI scheme.
package printers

import (
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Config is what a backend needs to reach its printer.
type Config struct {
	Name string
	URI  string
	PPM  int
	// Declared capabilities for backends that cannot report their own.
	Formats, Media, Sides []string
	Color                 *bool
	Logger                *slog.Logger
	Now                   func() time.Time
}

// Open returns the backend for c.URI.
func Open(c Config) (Printer, error) {
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: bad uri %q: %w", c.Name, RedactText(c.URI), parseError(err))
	}
	switch u.Scheme {
	case "file":
		return NewFile(c.Name, u.Path, c.PPM, c.Now)
	case "ipp", "ipps", "http", "https":
		// http(s):// is IPP over HTTP or TLS at that URL, as Windows writes printer addresses
		// (config check accepts it, and the IPP client maps it as it is).
		return NewIPP(c)
	case "lpd":
		return NewLPD(c)
	case "socket":
		return NewSocket(c)
	}
	return nil, fmt.Errorf("%w: %s (%s)", errUnsupportedScheme, u.Scheme, c.Name)
}
