package config

import (
	"strings"
	"testing"
	"time"
)

// TestClusterBlock: the cluster keys are checked, need a postgres:// spool, and default to
// host:port and a 15 s lease; an unknown key in the block is an error like anywhere else.
func TestClusterBlock(t *testing.T) {
	t.Parallel()
	pg := "spool: postgres://printgate@db.example/printgate\n"
	rest := strings.Replace(good, "spool: /tmp/pg\n", "", 1)
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"full", pg + "cluster:\n  gateway: gw-a.example:8631\n  lease_period: 20s\n  advertise: http://10.0.0.5:8631\n", ""},
		{"empty block", pg + "cluster: {}\n", ""},
		{"defaults with sqlite", "spool: /var/lib/printgate\ncluster:\n  gateway: \"\"\n  lease_period: 15s\n", ""},
		{"none", pg, ""},
		{"sqlite", "spool: /var/lib/printgate\ncluster:\n  gateway: a\n", "spool is a directory"},
		{"bad id", pg + "cluster:\n  gateway: 'a b'\n", "gateway \"a b\""},
		{"short lease", pg + "cluster:\n  lease_period: 500ms\n", "between 1s and 10m"},
		{"long lease", pg + "cluster:\n  lease_period: 1h\n", "between 1s and 10m"},
		{"bad advertise", pg + "cluster:\n  advertise: 10.0.0.5:8631\n", "advertise"},
		{"unknown key", pg + "cluster:\n  leader: true\n", "leader"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Parse("cluster.yaml", []byte(tt.yaml+rest))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Parse: %v, want an error with %q", err, tt.wantErr)
			}
			if tt.name == "full" {
				if c.GatewayID() != "gw-a.example:8631" || c.ClusterLeasePeriod() != 20*time.Second {
					t.Errorf("gateway %q, lease %v", c.GatewayID(), c.ClusterLeasePeriod())
				}
			}
			if tt.name == "none" {
				if id := c.GatewayID(); !strings.HasSuffix(id, ":9631") {
					t.Errorf("default gateway id %q, want host:9631", id)
				}
				if c.ClusterLeasePeriod() != DefaultLeasePeriod {
					t.Errorf("default lease %v", c.ClusterLeasePeriod())
				}
			}
		})
	}
}
