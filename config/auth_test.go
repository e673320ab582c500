package config

import (
	"strings"
	"testing"
)

func TestAccessKeys(t *testing.T) {
	t.Parallel()
	const tok = "0123456789abcdef0123"
	tests := []struct {
		name string
		auth string
		want string // substring of the error; "" for none
	}{
		{"defaults", "", ""},
		{"read token", "  tokens:\n    - name: prom\n      token: " + tok + "\n      scope: read\n", ""},
		{"bad token scope", "  tokens:\n    - name: prom\n      token: " + tok + "\n      scope: admin\n", `auth token "prom": scope "admin": use read or operator`},
		{"bad ipp_authentication", "  ipp_authentication: always\n", `auth.ipp_authentication "always": use optional or required`},
		{"required without anyone to sign in as", "  ipp_authentication: required\n  ipp_plain_passwords: true\n", "no auth.users or auth.tokens"},
		{"required without TLS", "  ipp_authentication: required\n  tokens:\n    - name: a\n      token: " + tok + "\n", "there is no tls_cert_file"},
		{"required in the clear, allowed", "  ipp_authentication: required\n  ipp_plain_passwords: true\n  tokens:\n    - name: a\n      token: " + tok + "\n", ""},
		{"admin host by name", "  lpd_admin_hosts: [admin.example]\n", `"admin.example" is not an IP address`},
		{"admin host", "  lpd_admin_hosts: [10.0.0.5, \"::1\"]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			y := good
			if tt.auth != "" {
				y += "auth:\n" + tt.auth
			}
			c, err := Parse("a.yaml", []byte(y))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Parse: %v, want an error with %q", err, tt.want)
			case tt.want == "" && tt.name == "defaults" && (c.Auth.IPPAuthRequired() || c.Auth.IPPAuthentication != IPPAuthOptional):
				t.Errorf("default ipp_authentication %q", c.Auth.IPPAuthentication)
			case tt.name == "admin host" && len(c.Auth.LPDAdminIPs()) != 2:
				t.Errorf("admin IPs %v", c.Auth.LPDAdminIPs())
			}
		})
	}
}
