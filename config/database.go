// Which spool driver the configuration selects: a directory for the embedded SQLite spool of one
// gateway, or a postgres:// URL for the PostgreSQL spool that several gateways share.
package config

import (
	"fmt"
	"net/url"
	"strings"
)

// Spool drivers, as SpoolDriver names them.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

// SpoolDriver says which driver spool selects: DriverPostgres for a postgres:// or
// postgresql:// URL, DriverSQLite for anything else (a directory).
func (c *Config) SpoolDriver() string {
	if isPostgresURL(c.Spool) {
		return DriverPostgres
	}
	return DriverSQLite
}

func isPostgresURL(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "postgres://") || strings.HasPrefix(l, "postgresql://")
}

// checkSpool validates a PostgreSQL spool URL as far as it can without connecting: serve
// connects, config check does not (a configuration is checked on a machine that may not reach
// the database). A directory is not checked here: Open creates it.
func (c *Config) checkSpool() error {
	if !isPostgresURL(c.Spool) {
		if strings.Contains(c.Spool, "://") {
			return fmt.Errorf("spool %q: a URL, but not postgres:// or postgresql:// (the only database spool); a directory needs no scheme", redactURL(c.Spool))
		}
		return nil
	}
	u, err := url.Parse(c.Spool)
	if err != nil {
		return fmt.Errorf("spool: not a valid PostgreSQL URL: %v", redactErr(err, c.Spool))
	}
	if u.Host == "" && u.Query().Get("host") == "" {
		return fmt.Errorf("spool %s: no host (postgres://user@host:5432/database)", redactURL(c.Spool))
	}
	if strings.Trim(u.Path, "/") == "" {
		return fmt.Errorf("spool %s: no database name (postgres://user@host:5432/database)", redactURL(c.Spool))
	}
	if u.Port() != "" {
		var p int
		if _, err := fmt.Sscanf(u.Port(), "%d", &p); err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("spool %s: port %q is not a TCP port", redactURL(c.Spool), u.Port())
		}
	}
	return nil
}

// CheckSpool validates a spool setting given outside the file (serve --spool).
func CheckSpool(spool string) error { return (&Config{Spool: spool}).checkSpool() }

// RedactSpool is the spool setting without a password, fit for logs and messages.
func (c *Config) RedactSpool() string { return redactURL(c.Spool) }

// redactURL hides a password in a URL (user:password@ or ?password=).
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return s
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// redactErr is err's message with the raw spool URL (which url.Parse quotes) taken out.
func redactErr(err error, raw string) string {
	return strings.ReplaceAll(err.Error(), raw, redactURL(raw))
}
