// SNMP for LPD and socket printers: the Printer MIB status and page counter (docs/CONFIG.md,
// "SNMP status and page-counter confirmation").
package config

import (
	"net"
	"net/url"
	"regexp"
	"time"

	backends "github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/snmp"
)

// SNMP is a printer's SNMP keys beside snmp_community (inline in Printer). SNMP is on when
// snmp_community (v1, v2c) or snmp_user (v3) is set.
type SNMP struct {
	// Version is "1", "2c" or "3"; empty: "3" with snmp_user, else "2c".
	Version string `yaml:"snmp_version"`
	// Host is the agent's address when it is not the printer's (an LPD print server in front).
	Host string `yaml:"snmp_host"`
	// Port is the agent's UDP port; 0 is 161.
	Port int `yaml:"snmp_port"`
	// User and the rest are the SNMPv3 user (USM); auth and priv together are authPriv.
	User         string `yaml:"snmp_user"`
	AuthProtocol string `yaml:"snmp_auth_protocol"`
	AuthPassword string `yaml:"snmp_auth_password"`
	PrivProtocol string `yaml:"snmp_priv_protocol"`
	PrivPassword string `yaml:"snmp_priv_password"`
	// Confirm completes a job only when the page counter counted its pages (default true).
	Confirm *bool `yaml:"snmp_confirm"`
	// PollInterval is how often a job waiting for its pages reads the counter; 0 is 2s.
	PollInterval Duration `yaml:"snmp_poll_interval"`
	// ConfirmTimeout bounds the wait for the counter to move; 0 is 10m.
	ConfirmTimeout Duration `yaml:"snmp_confirm_timeout"`
}

// Default SNMP timings.
const (
	DefaultSNMPPollInterval   = 2 * time.Second
	DefaultSNMPConfirmTimeout = 10 * time.Minute
)

// SNMPEnabled reports whether the printer is read over SNMP.
func (p Printer) SNMPEnabled() bool { return p.SNMPCommunity != "" || p.SNMP.User != "" }

// SNMPBackend is the printer's SNMP setting for its backend; nil when SNMP is off.
func (p Printer) SNMPBackend() *backends.SNMPConfig {
	if !p.SNMPEnabled() {
		return nil
	}
	s := p.SNMP
	version := s.Version
	if version == "" {
		version = "2c"
		if s.User != "" {
			version = "3"
		}
	}
	poll, wait := s.PollInterval.D(), s.ConfirmTimeout.D()
	if poll <= 0 {
		poll = DefaultSNMPPollInterval
	}
	if wait <= 0 {
		wait = DefaultSNMPConfirmTimeout
	}
	return &backends.SNMPConfig{
		Agent: snmp.Config{Host: s.Host, Port: s.Port, Version: version, Community: p.SNMPCommunity,
			V3: snmp.V3{User: s.User, AuthProtocol: s.AuthProtocol, AuthPassword: s.AuthPassword,
				PrivProtocol: s.PrivProtocol, PrivPassword: s.PrivPassword}},
		Confirm:      s.Confirm == nil || *s.Confirm,
		PollInterval: poll, ConfirmTimeout: wait,
	}
}

// checkSNMP reports what is wrong with printer p's SNMP keys (config check).
func (p Printer) checkSNMP(bad func(line int, format string, args ...any)) {
	s := p.SNMP
	set := s.Version != "" || s.Host != "" || s.Port != 0 || s.AuthProtocol != "" || s.AuthPassword != "" ||
		s.PrivProtocol != "" || s.PrivPassword != "" || s.Confirm != nil || s.PollInterval != 0 || s.ConfirmTimeout != 0
	if !p.SNMPEnabled() {
		if set {
			bad(p.line, "printer %q: snmp_* keys need snmp_community (v1, v2c) or snmp_user (v3)", p.Name)
		}
		return
	}
	if u, err := url.Parse(p.URI); err == nil && u.Scheme != "lpd" && u.Scheme != "socket" {
		bad(p.line, "printer %q: SNMP is for lpd:// and socket:// printers; a %s:// printer reports its own status", p.Name, u.Scheme)
		return
	}
	b := p.SNMPBackend()
	if s.Host != "" && net.ParseIP(s.Host) == nil && !hostRE.MatchString(s.Host) {
		bad(p.line, "printer %q: snmp_host %q is not a host name or address", p.Name, s.Host)
	}
	if p.SNMPCommunity != "" && b.Agent.Version == "3" {
		bad(p.line, "printer %q: snmp_community is for versions 1 and 2c; version 3 authenticates with snmp_user", p.Name)
	}
	if err := b.Agent.Check(); err != nil {
		bad(p.line, "printer %q: %v", p.Name, err)
	}
	if s.PollInterval < 0 || s.ConfirmTimeout < 0 {
		bad(p.line, "printer %q: snmp_poll_interval and snmp_confirm_timeout must not be negative", p.Name)
	}
	if b.ConfirmTimeout < b.PollInterval {
		bad(p.line, "printer %q: snmp_confirm_timeout %v is shorter than snmp_poll_interval %v", p.Name, b.ConfirmTimeout, b.PollInterval)
	}
}

// hostRE is a DNS host name.
var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$`)
