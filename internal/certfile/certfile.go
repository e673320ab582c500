// Package certfile serves a TLS listener's certificate from PEM files and picks up a renewed
// pair without a restart: the files are looked at again (size and modification time) at most
// every CheckEvery, at a handshake, and reloaded when they changed. A pair that no longer
// loads (say the certificate was replaced before its key) keeps the last good one in service.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CheckEvery is how often, at most, the files are looked at for a change.
const CheckEvery = 10 * time.Second

// DefaultWarnWithin is how close to its expiry a certificate in service is logged as a
// warning, at start and at each reload.
const DefaultWarnWithin = 30 * 24 * time.Hour

// Options configure a Source.
type Options struct {
	CertFile, KeyFile string
	// Logger gets a line for each reload (or a pair that did not load) and the expiry
	// warnings; slog.Default() when nil.
	Logger *slog.Logger
	// WarnWithin: a certificate expiring sooner than this is warned about; DefaultWarnWithin
	// when 0.
	WarnWithin time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Source holds the current pair. Its methods are safe for concurrent use.
type Source struct {
	opts Options

	mu      sync.Mutex
	pair    *tls.Certificate
	stamp   string
	checked time.Time
}

// Open loads the pair once, failing as the gateway must at start when it does not load.
func Open(opts Options) (*Source, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.WarnWithin == 0 {
		opts.WarnWithin = DefaultWarnWithin
	}
	s := &Source{opts: opts}
	stamp, err := s.stampNow()
	if err != nil {
		return nil, err
	}
	pair, err := load(opts.CertFile, opts.KeyFile)
	if err != nil {
		return nil, err
	}
	s.pair, s.stamp, s.checked = pair, stamp, opts.Now()
	s.warnExpiry(pair.Leaf)
	return s, nil
}

// warnExpiry logs a certificate in service that expires within WarnWithin (or has expired).
func (s *Source) warnExpiry(leaf *x509.Certificate) {
	if leaf.NotAfter.Sub(s.opts.Now()) < s.opts.WarnWithin {
		s.opts.Logger.Warn("the listener's TLS certificate expires soon (or has expired): replace tls_cert_file and tls_key_file",
			"file", s.opts.CertFile, "not_after", leaf.NotAfter.UTC().Format(time.RFC3339), "subject", leaf.Subject.String())
	}
}

// Config is a TLS 1.2+ server configuration serving the Source's current pair.
func (s *Source) Config() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: s.certificate}
}

func (s *Source) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	if now.Sub(s.checked) < CheckEvery {
		return s.pair, nil
	}
	s.checked = now
	stamp, err := s.stampNow()
	if err == nil && stamp == s.stamp {
		return s.pair, nil
	}
	var pair *tls.Certificate
	if err == nil {
		pair, err = load(s.opts.CertFile, s.opts.KeyFile)
	}
	if err != nil {
		// Report each bad state once, not at every handshake: remember it as seen.
		if stamp != "" {
			s.stamp = stamp
		}
		s.opts.Logger.Error("the listener's TLS certificate files changed but do not load; still serving the previous certificate", "err", err)
		return s.pair, nil
	}
	s.pair, s.stamp = pair, stamp
	s.opts.Logger.Info("the listener's TLS certificate was reloaded", "subject", pair.Leaf.Subject.String(),
		"not_after", pair.Leaf.NotAfter.UTC().Format(time.RFC3339))
	s.warnExpiry(pair.Leaf)
	return s.pair, nil
}

// stampNow is what says "the files changed": both files' sizes and modification times.
func (s *Source) stampNow() (string, error) {
	var stamp string
	for _, f := range []string{s.opts.CertFile, s.opts.KeyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("certfile: %w", err)
		}
		stamp += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return stamp, nil
}

func load(certFile, keyFile string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("certfile: load %s and %s: %w", certFile, keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("certfile: parse %s: %w", certFile, err)
		}
	}
	return &pair, nil
}
