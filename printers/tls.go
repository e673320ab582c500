// Trusting an ipps:// or https:// printer's certificate: the system's certificate store by
// default, the operator's own certificate file instead (tls_ca_file), or nothing at all
// (tls_skip_verify). Printers make their own self-signed certificates, which no system store
// trusts, so without one of the two keys such a printer cannot be reached over TLS.
package printers

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/printgate/printgate/internal/tlstrust"
)

// httpTransport returns the HTTP transport for the IPP printer of c: one of its own, cloned
// from http.DefaultTransport (proxy from the environment, net/http's timeouts), at least TLS
// 1.2, trusting what c says.
func httpTransport(c Config) (*http.Transport, error) {
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil, fmt.Errorf("bad uri %q: %w", RedactText(c.URI), parseError(err))
	}
	cfg, err := tlsConfig(c, u)
	if err != nil {
		return nil, err
	}
	var tr *http.Transport
	if d, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = d.Clone()
	} else {
		tr = &http.Transport{Proxy: http.ProxyFromEnvironment}
	}
	tr.TLSClientConfig = cfg
	return tr, nil
}

// CheckTLS checks c's tls_ca_file and tls_skip_verify as the IPP backend reads them: only for a
// printer reached over TLS, not both at once, and a file of PEM certificates. `config check`
// calls it, so the check and the gateway agree.
func CheckTLS(c Config) error {
	u, err := url.Parse(c.URI)
	if err != nil {
		return nil // the URI's own check says what is wrong with it
	}
	if err := checkTLSOptions(c, u.Scheme); err != nil {
		return err
	}
	if c.TLSCAFile != "" {
		_, err = tlstrust.ReadFile("tls_ca_file", c.TLSCAFile)
	}
	return err
}

// checkTLSOptions refuses TLS options for a printer not reached over TLS (scheme is the URI's),
// and both at once.
func checkTLSOptions(c Config, scheme string) error {
	if c.TLSCAFile == "" && !c.TLSSkipVerify {
		return nil
	}
	key := "tls_ca_file"
	if c.TLSSkipVerify {
		key = "tls_skip_verify"
	}
	if scheme = strings.ToLower(scheme); scheme != "ipps" && scheme != "https" {
		return fmt.Errorf("%s is only for printers reached over TLS (ipps:// or https://), not %s://: there is no certificate to check", key, scheme)
	}
	if c.TLSCAFile != "" && c.TLSSkipVerify {
		// Either would silently void the other: a certificate file that is not used, or a
		// printer that is not authenticated although a file says which certificate it has.
		return errors.New("tls_ca_file and tls_skip_verify together: keep tls_ca_file (the printer is authenticated) or tls_skip_verify (it is not)")
	}
	return nil
}

// tlsConfig is the TLS client configuration for the printer at u.
func tlsConfig(c Config, u *url.URL) (*tls.Config, error) {
	if err := checkTLSOptions(c, u.Scheme); err != nil {
		return nil, err
	}
	switch {
	case c.TLSSkipVerify:
		// What the operator asked for: encrypted, but anyone answering at the address is taken
		// for the printer.
		return &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}, nil
	case c.TLSCAFile != "":
		certs, err := tlstrust.ReadFile("tls_ca_file", c.TLSCAFile)
		if err != nil {
			return nil, err
		}
		return tlstrust.ClientConfig(certs, u.Hostname()), nil
	}
	// Neither: crypto/tls verifies against the system's certificate store.
	return &tls.Config{MinVersion: tls.VersionTLS12}, nil
}

// certError reports whether err is the printer's certificate failing verification: the
// connection was given up in the handshake, before any request was sent.
func certError(err error) bool {
	var cv *tls.CertificateVerificationError
	return errors.As(err, &cv)
}

// trustHint adds to a certificate error what the operator can do about it, naming the
// configuration keys; other errors are returned as they are.
func (p *IPP) trustHint(err error) error {
	if !certError(err) {
		return err
	}
	if p.caFile != "" {
		return fmt.Errorf("%w (the printer's certificate is neither the one in tls_ca_file %s nor issued by it for this address: "+
			"a reset or a firmware update may have given the printer a new one; check it at the printer before putting it in the file)", err, p.caFile)
	}
	return fmt.Errorf("%w (the printer's certificate is not trusted by this host: set tls_ca_file to the printer's "+
		"certificate or its CA, or tls_skip_verify for this printer; see docs/CONFIG.md)", err)
}
