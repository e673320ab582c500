// Package certfile serves a TLS listener's certificate from PEM files and picks up a renewed
// pair without a restart: the files are looked at again (size and modification time) at most
// every CheckEvery, at a handshake, and reloaded when they changed. A pair that no longer
// loads (say the certificate was replaced before its key) keeps the last good one in service.
package certfile

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
	"time"
)

// CheckEvery is how often, at most, the files are looked at for a change.
const CheckEvery = 10 * time.Second

// Options configure a Source.
type Options struct {
	CertFile, KeyFile string
	// Reloaded is told about every change seen after the first load: the new leaf, or why
	// the files did not load (the previous pair stays in service). It may be nil.
	Reloaded func(leaf *x509.Certificate, err error)
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
	return s, nil
}

// Leaf is the certificate in service, for its dates and names.
func (s *Source) Leaf() *x509.Certificate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pair.Leaf
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
		if s.opts.Reloaded != nil {
			s.opts.Reloaded(nil, err)
		}
		return s.pair, nil
	}
	s.pair, s.stamp = pair, stamp
	if s.opts.Reloaded != nil {
		s.opts.Reloaded(pair.Leaf, nil)
	}
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
