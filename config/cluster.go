// The cluster block: how this gateway takes part when several share one PostgreSQL spool.
package config

import (
	"net"
	"net/url"
	"os"
	"regexp"
	"time"
)

// gatewayRE is what a gateway id may be: host:port fits.
var gatewayRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)

// Cluster configures this gateway among several on one PostgreSQL spool. It needs a
// postgres:// spool: with the SQLite spool a gateway is alone, and a value other than the
// defaults is an error rather than a setting silently ignored.
type Cluster struct {
	// Gateway is this gateway's id in the cluster, unique and stable across restarts; empty
	// takes host:port (the host name and the port of listen).
	Gateway string `yaml:"gateway"`
	// LeasePeriod is how long a printer's lease (and the leadership) lasts without renewal:
	// a dead gateway's printers move within about one and a third of it. Empty: 15s.
	LeasePeriod Duration `yaml:"lease_period"`
	// Advertise is where an operator reaches this gateway's own dashboard and API
	// (http://host:port), shown beside it in the cluster's list of gateways.
	Advertise string `yaml:"advertise"`
}

// DefaultLeasePeriod is cluster.lease_period when unset.
const DefaultLeasePeriod = 15 * time.Second

// GatewayID is cluster.gateway, or host:port from the host name and listen.
func (c *Config) GatewayID() string {
	if c.Cluster.Gateway != "" {
		return c.Cluster.Gateway
	}
	host, _ := os.Hostname()
	_, port, err := net.SplitHostPort(c.Listen)
	if err != nil {
		port = c.Listen
	}
	return host + ":" + port
}

// ClusterLeasePeriod is cluster.lease_period (Defaults sets DefaultLeasePeriod).
func (c *Config) ClusterLeasePeriod() time.Duration {
	return c.Cluster.LeasePeriod.D()
}

// checkCluster validates the cluster block.
func (c *Config) checkCluster(bad func(line int, format string, args ...any)) {
	k := c.Cluster
	if (k.Gateway != "" || k.Advertise != "" || k.LeasePeriod.D() != DefaultLeasePeriod) && c.SpoolDriver() != DriverPostgres {
		bad(0, "cluster: set, but the spool is a directory (SQLite, one gateway alone): several gateways share a postgres:// spool")
	}
	if k.Gateway != "" && !gatewayRE.MatchString(k.Gateway) {
		bad(0, "cluster: gateway %q: use letters, digits, '.', '_', ':' or '-' (at most 100)", k.Gateway)
	}
	if d := k.LeasePeriod.D(); d != 0 && (d < time.Second || d > 10*time.Minute) {
		bad(0, "cluster: lease_period %v: between 1s and 10m (a dead gateway's printers wait about that long to move)", d)
	}
	if k.Advertise != "" {
		u, err := url.Parse(k.Advertise)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad(0, "cluster: advertise %q: want the gateway's own address, e.g. http://10.0.0.5:8631", k.Advertise)
		}
	}
}

func (k *Cluster) defaults() {
	if k.LeasePeriod == 0 {
		k.LeasePeriod = Duration(DefaultLeasePeriod)
	}
}
