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

	// TLSCAFile is a PEM file of certificates an ipps:// or https:// printer's certificate is
	// checked against instead of the system's store: the printer's own certificate, or the CA
	// that issued it. Empty: the system's store.
	TLSCAFile string
	// TLSSkipVerify accepts any certificate from an ipps:// or https:// printer: the connection
	// is encrypted but the printer not authenticated. Not with TLSCAFile.
	TLSSkipVerify bool

	// SNMP, when not nil, reads a socket or LPD printer's status and page counter over SNMP
	// (the other backends refuse it: IPP printers report both themselves).
	SNMP *SNMPConfig
}

// Open returns the backend for c.URI.
func Open(c Config) (Printer, error) {
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil, fmt.Errorf("printers: %s: bad uri %q: %w", c.Name, RedactText(c.URI), parseError(err))
	}
	if err := checkTLSOptions(c, u.Scheme); err != nil {
		return nil, fmt.Errorf("printers: %s: %w", c.Name, err)
	}
	if c.SNMP != nil && u.Scheme != "lpd" && u.Scheme != "socket" {
		return nil, fmt.Errorf("printers: %s: SNMP is for lpd:// and socket:// printers (%s:// reports its own status)", c.Name, u.Scheme)
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
