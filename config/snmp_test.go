package config

import (
	"strings"
	"testing"
	"time"
)

// snmpConfig is good with printer ward-lpd's SNMP keys set to keys (indented as its fields).
func snmpConfig(keys string) string {
	return strings.Replace(good, "    uri: lpd://192.0.2.2/queue1\n", "    uri: lpd://192.0.2.2/queue1\n"+keys, 1)
}

func TestParseSNMP(t *testing.T) {
	t.Parallel()
	c, err := Parse("good.yaml", []byte(snmpConfig("    snmp_community: hospital-ro\n    snmp_port: 1161\n    snmp_poll_interval: 500ms\n    snmp_confirm_timeout: 2m\n")))
	if err != nil {
		t.Fatal(err)
	}
	p := c.Printers[1]
	b := p.SNMPBackend()
	if b == nil || b.Agent.Version != "2c" || b.Agent.Community != "hospital-ro" || b.Agent.Port != 1161 || !b.Confirm ||
		b.PollInterval != 500*time.Millisecond || b.ConfirmTimeout != 2*time.Minute || b.Agent.Host != "" {
		t.Errorf("backend SNMP %+v", b)
	}
	if c.Printers[0].SNMPBackend() != nil {
		t.Error("SNMP on for a printer without SNMP keys")
	}
	c, err = Parse("good.yaml", []byte(snmpConfig("    snmp_user: gw\n    snmp_auth_protocol: SHA\n    snmp_auth_password: auth-pass-1\n"+
		"    snmp_priv_protocol: AES\n    snmp_priv_password: priv-pass-1\n    snmp_confirm: false\n    snmp_host: printer-7.example\n")))
	if err != nil {
		t.Fatal(err)
	}
	b = c.Printers[1].SNMPBackend()
	if b.Agent.Version != "3" || b.Agent.V3.User != "gw" || b.Agent.V3.PrivProtocol != "AES" || b.Confirm ||
		b.PollInterval != DefaultSNMPPollInterval || b.ConfirmTimeout != DefaultSNMPConfirmTimeout || b.Agent.Host != "printer-7.example" {
		t.Errorf("v3 backend SNMP %+v", b)
	}
}

func TestParseSNMPErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, keys, want string
	}{
		{"keys without community or user", "    snmp_port: 161\n", `bad.yaml:9: printer "ward-lpd": snmp_* keys need snmp_community`},
		{"bad version", "    snmp_community: x\n    snmp_version: \"2\"\n", `snmp_version "2": use 1, 2c or 3`},
		{"v3 short password", "    snmp_user: u\n    snmp_auth_protocol: SHA\n    snmp_auth_password: short\n", "snmp_auth_password: at least 8 characters"},
		{"v3 priv without auth", "    snmp_user: u\n    snmp_priv_protocol: AES\n    snmp_priv_password: longenough\n", "snmp_priv_protocol needs snmp_auth_protocol"},
		{"unknown auth", "    snmp_user: u\n    snmp_auth_protocol: SHA3\n    snmp_auth_password: longenough\n", `snmp_auth_protocol "SHA3"`},
		{"community with v3", "    snmp_community: x\n    snmp_user: u\n", "snmp_community is for versions 1 and 2c"},
		{"bad port", "    snmp_community: x\n    snmp_port: 70000\n", "snmp_port 70000 out of range"},
		{"timeout below poll", "    snmp_community: x\n    snmp_poll_interval: 5s\n    snmp_confirm_timeout: 1s\n", "snmp_confirm_timeout 1s is shorter than snmp_poll_interval 5s"},
		{"bad host", "    snmp_community: x\n    snmp_host: \"not a host\"\n", `snmp_host "not a host"`},
		{"unknown snmp key", "    snmp_comunity: x\n", "field snmp_comunity not found"},
	} {
		_, err := Parse("bad.yaml", []byte(snmpConfig(tt.keys)))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		}
	}
	// SNMP on an IPP printer is refused: IPP reports its own status.
	ipp := strings.Replace(good, "    uri: ipp://192.0.2.1/ipp/print\n", "    uri: ipp://192.0.2.1/ipp/print\n    snmp_community: x\n", 1)
	if _, err := Parse("bad.yaml", []byte(ipp)); err == nil || !strings.Contains(err.Error(), "SNMP is for lpd:// and socket:// printers") {
		t.Errorf("SNMP on ipp://: %v", err)
	}
}
