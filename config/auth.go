// Who may do what beyond the dashboard: token scopes, sign-in over IPP, LPD admin hosts.
package config

import (
	"net"
)

// Token scopes.
const (
	// ScopeOperator: every action (the default, as tokens were before scopes).
	ScopeOperator = "operator"
	// ScopeRead: the dashboard, the read API and /metrics; every action refused.
	ScopeRead = "read"
)

// IPP authentication modes (auth.ipp_authentication).
const (
	// IPPAuthOptional: credentials are taken when sent and asked for by operator operations;
	// jobs may be printed without, owned by the claimed name at the client's host.
	IPPAuthOptional = "optional"
	// IPPAuthRequired: every operation but Get-Printer-Attributes needs a signed-in user.
	IPPAuthRequired = "required"
)

// TokenScope is t's scope, ScopeOperator when not given.
func (t Token) TokenScope() string {
	if t.Scope == "" {
		return ScopeOperator
	}
	return t.Scope
}

// UserScope is u's scope, ScopeOperator when not given.
func (u User) UserScope() string {
	if u.Scope == "" {
		return ScopeOperator
	}
	return u.Scope
}

// IPPAuthRequired reports whether auth.ipp_authentication is required.
func (a Auth) IPPAuthRequired() bool { return a.IPPAuthentication == IPPAuthRequired }

// LPDAdminIPs are auth.lpd_admin_hosts as IP addresses (Validate has checked them).
func (a Auth) LPDAdminIPs() []net.IP {
	var out []net.IP
	for _, h := range a.LPDAdminHosts {
		if ip := net.ParseIP(h); ip != nil {
			out = append(out, ip)
		}
	}
	return out
}

// accessDefaults fills in this file's defaults (Defaults calls it).
func (c *Config) accessDefaults() {
	if c.Auth.IPPAuthentication == "" {
		c.Auth.IPPAuthentication = IPPAuthOptional
	}
}

// checkAccess checks the keys of this file.
func (c *Config) checkAccess(bad func(line int, format string, args ...any)) {
	for _, u := range c.Auth.Users {
		switch u.Scope {
		case "", ScopeOperator, ScopeRead:
		default:
			bad(u.line, "auth user %q: scope %q: use %s or %s", u.Name, u.Scope, ScopeRead, ScopeOperator)
		}
	}
	for _, t := range c.Auth.Tokens {
		switch t.Scope {
		case "", ScopeOperator, ScopeRead:
		default:
			bad(t.line, "auth token %q: scope %q: use %s or %s", t.Name, t.Scope, ScopeRead, ScopeOperator)
		}
	}
	switch c.Auth.IPPAuthentication {
	case "", IPPAuthOptional, IPPAuthRequired:
	default:
		bad(0, "auth.ipp_authentication %q: use %s or %s", c.Auth.IPPAuthentication, IPPAuthOptional, IPPAuthRequired)
	}
	if c.Auth.IPPAuthRequired() && len(c.Auth.Users) == 0 && len(c.Auth.Tokens) == 0 {
		bad(0, "auth.ipp_authentication is required but there are no auth.users or auth.tokens to sign in as: nobody could print over IPP")
	}
	if c.Auth.IPPAuthRequired() && c.TLSCertFile == "" && !c.Auth.IPPPlainPasswords {
		bad(0, "auth.ipp_authentication is required but there is no tls_cert_file, and passwords are taken only over TLS: set tls_cert_file, or ipp_plain_passwords: true on a trusted network")
	}
	for _, h := range c.Auth.LPDAdminHosts {
		// Addresses only: a name would be resolved, and DNS is no authority on who may cancel.
		if net.ParseIP(h) == nil {
			bad(0, "auth.lpd_admin_hosts: %q is not an IP address (names are not taken: write the host's address)", h)
		}
	}
}
