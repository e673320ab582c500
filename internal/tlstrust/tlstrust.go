// Package tlstrust trusts a TLS server by a file of certificates instead of the system's
// store: the server's own certificate, pinned (whatever names and dates it carries: printers
// and small gateways make self-signed ones naming themselves, not the address they are reached
// at), or a CA that issued the server's certificate for the host. The gateway uses it for a
// printer's tls_ca_file, the CLI for its --ca-file.
package tlstrust

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// ReadFile reads the PEM certificates in path (blocks of any other type are skipped); a file
// without one is an error. label names the setting in errors ("tls_ca_file", "--ca-file").
func ReadFile(label, path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", label, err)
	}
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s %s: certificate %d: %w", label, path, len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s %s: no PEM certificate (-----BEGIN CERTIFICATE-----) in it", label, path)
	}
	return certs, nil
}

// ClientConfig is a TLS 1.2+ client configuration trusting certs for host, and nothing else.
func ClientConfig(certs []*x509.Certificate, host string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		// crypto/tls's own verification is off only so that VerifyConnection does it, against
		// certs: it accepts a pinned certificate itself before any name check, which crypto/tls's
		// verification (RootCAs) has no way to express.
		InsecureSkipVerify: true,
		VerifyConnection:   verifyWith(certs, host),
	}
}

// verifyWith accepts the server's certificate when it is one of certs itself; or else when one
// of certs issued it for host and it is valid now, as for any web site. It runs on every
// connection, resumed ones too.
func verifyWith(certs []*x509.Certificate, host string) func(tls.ConnectionState) error {
	roots := x509.NewCertPool()
	for _, c := range certs {
		roots.AddCert(c)
	}
	return func(cs tls.ConnectionState) error {
		peer := cs.PeerCertificates
		if len(peer) == 0 {
			return errors.New("tls: the server sent no certificate")
		}
		for _, c := range certs {
			if c.Equal(peer[0]) {
				return nil
			}
		}
		opts := x509.VerifyOptions{Roots: roots, DNSName: host, Intermediates: x509.NewCertPool()}
		for _, c := range peer[1:] {
			opts.Intermediates.AddCert(c)
		}
		if _, err := peer[0].Verify(opts); err != nil {
			return &tls.CertificateVerificationError{UnverifiedCertificates: peer, Err: err}
		}
		return nil
	}
}
