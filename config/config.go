// Package config reads the gateway's one YAML file strictly: an unknown key, a duplicate name,
// a pool naming an unknown printer or a bad URI is an error naming the file and the line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/printgate/printgate/internal/certfile"
	backends "github.com/printgate/printgate/printers"
)

// Config is the whole gateway configuration. docs/CONFIG.md documents every key.
type Config struct {
	// Listen is the one HTTP listener: IPP, dashboard, API and metrics.
	Listen string `yaml:"listen"`
	// TLSCertFile and TLSKeyFile (PEM) make the listener speak TLS too: ipps:// and https://
	// on the same port as ipp:// and http://, as CUPS does (Parse makes relative paths
	// relative to the file's directory).
	TLSCertFile string `yaml:"tls_cert_file"`
	TLSKeyFile  string `yaml:"tls_key_file"`
	// TLSRequired serves TLS only: a plain HTTP or IPP request is refused.
	TLSRequired bool `yaml:"tls_required"`
	// Spool is the directory for the SQLite database and documents, or a postgres:// URL for
	// the PostgreSQL spool several gateways share (database.go).
	Spool string `yaml:"spool"`
	// LPDListen is the LPD front-end address; empty turns LPD off.
	LPDListen string `yaml:"lpd_listen"`
	// MinFreeDisk: below this free space new jobs are refused.
	MinFreeDisk ByteSize `yaml:"min_free_disk"`
	// MaxDocumentSize limits one document.
	MaxDocumentSize ByteSize `yaml:"max_document_size"`
	// InlineDocumentMax: documents up to this size are kept inside the spool database.
	InlineDocumentMax ByteSize `yaml:"inline_document_max"`
	// Retention keeps documents of finished jobs this long.
	Retention Duration `yaml:"retention"`
	// MaxInflight is the default per-printer limit of jobs handed to the printer at once.
	MaxInflight int `yaml:"max_inflight"`
	// ProbeInterval is how often printers are probed.
	ProbeInterval Duration `yaml:"probe_interval"`
	// FailAfter probes failed in a row make a printer unreachable; RecoverAfter successes bring it back.
	FailAfter    int `yaml:"fail_after"`
	RecoverAfter int `yaml:"recover_after"`
	// GracePeriod is how long printing jobs on a dead printer wait before being re-sent elsewhere.
	GracePeriod Duration `yaml:"grace_period"`
	// MaxAttempts aborts a job after this many failed sends.
	MaxAttempts int `yaml:"max_attempts"`
	// LogLevel: debug, info, warn, error.
	LogLevel string `yaml:"log_level"`
	// DNSSD advertises the virtual printers with Bonjour through Avahi.
	DNSSD bool `yaml:"dnssd"`
	// Auth controls who may act as an operator.
	Auth Auth `yaml:"auth"`
	// Limits bound what clients can hold open and send (docs/OPERATIONS.md, "Limits and abuse").
	Limits Limits `yaml:"limits"`
	// Conversion configures the format bridge (convert.go).
	Conversion Conversion `yaml:"conversion"`
	// Cluster: this gateway among several on one PostgreSQL spool (cluster.go).
	Cluster Cluster `yaml:"cluster"`

	Printers        []Printer        `yaml:"printers"`
	VirtualPrinters []VirtualPrinter `yaml:"virtual_printers"`

	// Path is the file the config came from ("" for the built-in demo).
	Path string `yaml:"-"`

	// listenLine and lpdListenLine are where listen and lpd_listen are written (0: not written).
	listenLine, lpdListenLine int
}

// Limits bound every front-end listener: the HTTP port (plain and TLS), LPD and each raw port.
type Limits struct {
	// MaxConnections caps the connections one front-end holds open at once.
	MaxConnections int `yaml:"max_connections"`
	// MaxConnectionsPerHost caps those of one client address (raise it behind a proxy, which
	// brings every client from its own address).
	MaxConnectionsPerHost int `yaml:"max_connections_per_host"`
	// IdleTimeout cuts a connection whose client sent nothing for this long, however long its
	// upload: a slow link that keeps sending is not cut.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxCompressionRatio caps how many times a compressed IPP document may expand.
	MaxCompressionRatio int `yaml:"max_compression_ratio"`
}

// Auth configures operator logins and API tokens.
type Auth struct {
	// Users sign in to the dashboard; passwords are bcrypt hashes.
	Users []User `yaml:"users"`
	// Tokens are bearer tokens for the CLI and scripts (operator rights).
	Tokens []Token `yaml:"tokens"`
	// AnonymousRead lets anyone view the dashboard read-only (job names and owners hidden).
	AnonymousRead bool `yaml:"anonymous_read"`
	// TrustLoopback treats requests from 127.0.0.1/::1 as an operator (the demo's default).
	TrustLoopback bool `yaml:"trust_loopback"`
	// IPP, LPD: who signs in over IPP and who may remove others' jobs over LPD (config/auth.go).
	IPPAuthentication string   `yaml:"ipp_authentication"`
	IPPPlainPasswords bool     `yaml:"ipp_plain_passwords"`
	LPDAdminHosts     []string `yaml:"lpd_admin_hosts"`
}

// User is one operator login.
type User struct {
	Name         string `yaml:"name"`
	PasswordHash string `yaml:"password_hash"`
	// Scope is ScopeOperator (default) or ScopeRead (config/auth.go).
	Scope string `yaml:"scope"`

	line int
}

// Token is one API token.
type Token struct {
	Name  string `yaml:"name"`
	Token string `yaml:"token"`
	// Scope is ScopeOperator (default) or ScopeRead (config/auth.go).
	Scope string `yaml:"scope"`

	line int
}

// Printer is one physical printer.
type Printer struct {
	Name string `yaml:"name"`
	// URI selects the backend: ipp://, ipps:// (or http://, https://), lpd://, socket://, file://.
	URI string `yaml:"uri"`
	// PPM is pages per minute; 0 takes the printer's own pages-per-minute attribute.
	PPM int `yaml:"ppm"`
	// MaxInflight overrides the global limit for this printer.
	MaxInflight int    `yaml:"max_inflight"`
	Location    string `yaml:"location"`
	Info        string `yaml:"info"`
	// Formats, Media, Sides and Color declare capabilities for backends that cannot report them
	// (LPD, socket, file). IPP printers report their own.
	Formats []string `yaml:"formats"`
	Media   []string `yaml:"media"`
	Sides   []string `yaml:"sides"`
	Color   *bool    `yaml:"color"`
	// Convert: false keeps the format bridge from converting for this printer (convert.go).
	Convert *bool `yaml:"convert"`
	// FormatPPM is the printer's speed for one format where it differs from ppm (convert.go).
	FormatPPM map[string]int `yaml:"format_ppm"`
	// SNMPCommunity reads an LPD or socket printer's Printer-MIB status and page counter over
	// SNMP v1/v2c (SNMP holds the other SNMP keys, config/snmp.go); empty, with no snmp_user,
	// turns SNMP off.
	SNMPCommunity string `yaml:"snmp_community"`
	SNMP          SNMP   `yaml:",inline"`
	// TLSCAFile is a PEM file of the certificates an ipps:// or https:// printer's certificate
	// is checked against, instead of the system's store (Parse makes a relative path relative to
	// the file's directory).
	TLSCAFile string `yaml:"tls_ca_file"`
	// TLSSkipVerify takes any certificate from an ipps:// or https:// printer: encrypted, not
	// authenticated.
	TLSSkipVerify bool `yaml:"tls_skip_verify"`

	line int
}

// VirtualPrinter is what clients print to.
type VirtualPrinter struct {
	Name string `yaml:"name"`
	// Pool names the physical printers that may print this printer's jobs.
	Pool []string `yaml:"pool"`
	// LPDQueue is the RFC 1179 queue name; empty means not served over LPD.
	LPDQueue string `yaml:"lpd_queue"`
	// RawPort is a TCP port for raw/AppSocket jobs on the host of Listen (Config.RawListen);
	// 0 means none.
	RawPort int `yaml:"raw_port"`
	// Default makes this the printer at /ipp/print.
	Default  bool   `yaml:"default"`
	Location string `yaml:"location"`
	Info     string `yaml:"info"`

	line int
}

// Defaults fills in every unset key.
func (c *Config) Defaults() {
	c.accessDefaults()
	if c.Listen == "" {
		c.Listen = ":8631"
	}
	c.conversionDefaults()
	c.Cluster.defaults()
	if c.Spool == "" {
		c.Spool = "./data"
	}
	if c.MinFreeDisk == 0 {
		c.MinFreeDisk = 256 << 20
	}
	if c.MaxDocumentSize == 0 {
		c.MaxDocumentSize = 512 << 20
	}
	if c.InlineDocumentMax == 0 {
		c.InlineDocumentMax = 64 << 10
	}
	if c.Retention == 0 {
		c.Retention = Duration(24 * time.Hour)
	}
	if c.MaxInflight == 0 {
		c.MaxInflight = 2
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = Duration(5 * time.Second)
	}
	if c.FailAfter == 0 {
		c.FailAfter = 2
	}
	if c.RecoverAfter == 0 {
		c.RecoverAfter = 2
	}
	if c.GracePeriod == 0 {
		c.GracePeriod = Duration(30 * time.Second)
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 5
	}
	if c.Limits.MaxConnections == 0 {
		c.Limits.MaxConnections = 1024
	}
	if c.Limits.MaxConnectionsPerHost == 0 {
		c.Limits.MaxConnectionsPerHost = 64
	}
	if c.Limits.IdleTimeout == 0 {
		c.Limits.IdleTimeout = Duration(60 * time.Second)
	}
	if c.Limits.MaxCompressionRatio == 0 {
		c.Limits.MaxCompressionRatio = 100
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if len(c.VirtualPrinters) > 0 {
		hasDefault := false
		for _, v := range c.VirtualPrinters {
			hasDefault = hasDefault || v.Default
		}
		if !hasDefault {
			c.VirtualPrinters[0].Default = true
		}
	}
}

// DemoListen and DemoLPDListen are the built-in demo's addresses: loopback only, because the
// demo trusts the local host and shows the queue without sign-in. Its raw port 9100 binds the
// host of its listen (RawListen), so it is loopback too.
const (
	DemoListen    = "127.0.0.1:8631"
	DemoLPDListen = "127.0.0.1:8515"
)

// Demo is the built-in configuration `printgate serve` runs without a file: a virtual printer
// "letters" feeding two simulated file printers of different speeds under spool/out, reachable
// from this machine only.
func Demo(spool string) *Config {
	if spool == "" {
		spool = "./data"
	}
	abs, err := filepath.Abs(spool)
	if err != nil {
		abs = spool
	}
	c := &Config{
		Listen:    DemoListen,
		Spool:     spool,
		LPDListen: DemoLPDListen,
		Auth:      Auth{TrustLoopback: true, AnonymousRead: true},
		Printers: []Printer{
			{Name: "demo-a", URI: "file://" + filepath.Join(abs, "out", "demo-a"), PPM: 30, Info: "Demo file printer, 30 ppm"},
			{Name: "demo-b", URI: "file://" + filepath.Join(abs, "out", "demo-b"), PPM: 60, Info: "Demo file printer, 60 ppm"},
		},
		VirtualPrinters: []VirtualPrinter{{Name: "letters", Pool: []string{"demo-a", "demo-b"}, LPDQueue: "letters",
			RawPort: 9100, Default: true, Info: "Demo virtual printer"}},
	}
	c.Defaults()
	return c
}

// RawListen is the address a virtual printer's raw_port binds: the host part of listen with
// that port (":9100" when listen is ":8631", "127.0.0.1:9100" when it is "127.0.0.1:8631").
func (c *Config) RawListen(port int) string {
	host, _, _ := net.SplitHostPort(c.Listen)
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Load reads and validates the file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Error is a configuration problem at a place in the file.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found, in file order.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// Parse decodes data (named file in errors) strictly and validates it. A relative tls_ca_file,
// tls_cert_file or tls_key_file is taken relative to file's directory, so that it names the
// same file whatever directory config check and serve are started in.
func Parse(file string, data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var es Errors
			for _, m := range te.Errors {
				es = append(es, yamlError(file, m))
			}
			return nil, es
		}
		return nil, Errors{yamlError(file, err.Error())}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err == nil {
		attachLines(&root, &c)
	}
	c.Path = file
	besideFile := func(path *string) {
		if *path != "" && !filepath.IsAbs(*path) {
			*path = filepath.Join(filepath.Dir(file), *path)
		}
	}
	besideFile(&c.TLSCertFile)
	besideFile(&c.TLSKeyFile)
	for i := range c.Printers {
		besideFile(&c.Printers[i].TLSCAFile)
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func yamlError(file, msg string) *Error {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: n, Msg: m[2]}
	}
	return &Error{File: file, Msg: msg}
}

// attachLines records where each printer, virtual printer, user and token starts, and where
// listen and lpd_listen are written, for validation messages.
func attachLines(root *yaml.Node, c *Config) {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return
	}
	m := root.Content[0]
	if m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, val := m.Content[i].Value, m.Content[i+1]
		switch key {
		case "listen":
			c.listenLine = m.Content[i].Line
		case "lpd_listen":
			c.lpdListenLine = m.Content[i].Line
		}
		if key == "auth" && val.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(val.Content); k += 2 {
				for j, item := range seqItems(val.Content[k+1]) {
					switch {
					case val.Content[k].Value == "users" && j < len(c.Auth.Users):
						c.Auth.Users[j].line = item.Line
					case val.Content[k].Value == "tokens" && j < len(c.Auth.Tokens):
						c.Auth.Tokens[j].line = item.Line
					}
				}
			}
		}
		for j, item := range seqItems(val) {
			switch {
			case key == "printers" && j < len(c.Printers):
				c.Printers[j].line = item.Line
			case key == "virtual_printers" && j < len(c.VirtualPrinters):
				c.VirtualPrinters[j].line = item.Line
			}
		}
	}
}

// seqItems is the items of a sequence node, none for any other node.
func seqItems(n *yaml.Node) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// MaxInlineDocument bounds inline_document_max: an inline document is held in memory whole
// between its upload and its commit.
const MaxInlineDocument = 16 << 20

// checkTLS loads the listener's certificate and key, as serve will: a pair that does not load
// is found by config check, not at the first ipps:// client.
func (c *Config) checkTLS() error {
	switch {
	case c.TLSCertFile == "" && c.TLSKeyFile == "":
		if c.TLSRequired {
			return errors.New("tls_required needs tls_cert_file and tls_key_file")
		}
		return nil
	case c.TLSCertFile == "" || c.TLSKeyFile == "":
		return errors.New("tls_cert_file and tls_key_file go together: set both, or neither")
	}
	// Quietly: serve opens it again and logs then (an expiry warning, say), once.
	quiet := slog.New(slog.DiscardHandler)
	if _, err := certfile.Open(certfile.Options{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, Logger: quiet}); err != nil {
		return fmt.Errorf("tls_cert_file %s with tls_key_file %s: %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return nil
}

// Validate checks everything Parse cannot: names, URIs, pools, ports and the listener's TLS pair.
func (c *Config) Validate() error {
	file := c.Path
	if file == "" {
		file = "(built-in)"
	}
	var es Errors
	bad := func(line int, format string, args ...any) {
		es = append(es, &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	if len(c.Printers) == 0 {
		bad(0, "no printers configured")
	}
	if len(c.VirtualPrinters) == 0 {
		bad(0, "no virtual_printers configured")
	}
	if c.MaxInflight < 1 {
		bad(0, "max_inflight must be at least 1")
	}
	if l := c.Limits; l.MaxConnections < 1 || l.MaxConnectionsPerHost < 1 || l.MaxConnectionsPerHost > l.MaxConnections {
		bad(0, "limits: max_connections (%d) and max_connections_per_host (%d) must be at least 1, per host at most the total",
			l.MaxConnections, l.MaxConnectionsPerHost)
	}
	if c.Limits.IdleTimeout.D() < time.Second {
		bad(0, "limits: idle_timeout %v: at least 1s (a shorter one cuts slow clients that are still sending)", c.Limits.IdleTimeout.D())
	}
	if c.Limits.MaxCompressionRatio < 2 {
		bad(0, "limits: max_compression_ratio %d: at least 2", c.Limits.MaxCompressionRatio)
	}
	if err := c.checkTLS(); err != nil {
		bad(0, "%v", err)
	}
	if err := c.checkSpool(); err != nil {
		bad(0, "%v", err)
	}
	c.checkConversion(bad)
	c.checkCluster(bad)
	if c.InlineDocumentMax > MaxInlineDocument {
		bad(0, "inline_document_max %d bytes is over the largest allowed, 16MiB: larger documents belong in files", c.InlineDocumentMax)
	}
	printers := map[string]int{}
	for _, p := range c.Printers {
		if !nameRE.MatchString(p.Name) {
			bad(p.line, "printer name %q: use letters, digits, '.', '_' or '-' (at most 63)", p.Name)
		} else if first, dup := printers[p.Name]; dup {
			bad(p.line, "duplicate printer name %q (first at line %d)", p.Name, first)
		} else {
			printers[p.Name] = p.line
		}
		if err := CheckPrinterURI(p.URI); err != nil {
			bad(p.line, "printer %q: %v", p.Name, err)
		}
		if p.PPM < 0 || p.PPM > 10000 {
			bad(p.line, "printer %q: ppm %d out of range 0-10000", p.Name, p.PPM)
		}
		if p.MaxInflight < 0 {
			bad(p.line, "printer %q: max_inflight must not be negative", p.Name)
		}
		if err := backends.CheckTLS(backends.Config{URI: p.URI, TLSCAFile: p.TLSCAFile, TLSSkipVerify: p.TLSSkipVerify}); err != nil {
			bad(p.line, "printer %q: %v", p.Name, err)
		}
		p.checkSNMP(bad)
	}
	vnames := map[string]int{}
	lpdQueues := map[string]string{}
	defaults := 0
	for _, v := range c.VirtualPrinters {
		if !nameRE.MatchString(v.Name) {
			bad(v.line, "virtual printer name %q: use letters, digits, '.', '_' or '-' (at most 63)", v.Name)
		} else if first, dup := vnames[v.Name]; dup {
			bad(v.line, "duplicate virtual printer name %q (first at line %d)", v.Name, first)
		} else {
			vnames[v.Name] = v.line
		}
		if len(v.Pool) == 0 {
			bad(v.line, "virtual printer %q: empty pool", v.Name)
		}
		seen := map[string]bool{}
		for _, m := range v.Pool {
			if _, ok := printers[m]; !ok {
				bad(v.line, "virtual printer %q: pool names unknown printer %q", v.Name, m)
			}
			if seen[m] {
				bad(v.line, "virtual printer %q: printer %q twice in pool", v.Name, m)
			}
			seen[m] = true
		}
		if v.LPDQueue != "" {
			if c.LPDListen == "" {
				// Nothing would serve it: LPD has no default address (the demo sets one).
				bad(v.line, "virtual printer %q: lpd_queue %q needs lpd_listen, the LPD address (e.g. \":515\")", v.Name, v.LPDQueue)
			}
			if other, dup := lpdQueues[v.LPDQueue]; dup {
				bad(v.line, "virtual printer %q: lpd_queue %q already used by %q", v.Name, v.LPDQueue, other)
			}
			lpdQueues[v.LPDQueue] = v.Name
		}
		if v.RawPort != 0 && (v.RawPort < 1 || v.RawPort > 65535) {
			bad(v.line, "virtual printer %q: raw_port %d out of range", v.Name, v.RawPort)
		}
		if v.Default {
			defaults++
		}
	}
	if defaults > 1 {
		bad(0, "more than one virtual printer is marked default")
	}
	c.checkFrontends(bad)
	c.checkAccess(bad)
	// The gateway keeps users by name and tokens by value: a second entry would silently win.
	users := map[string]int{}
	for _, u := range c.Auth.Users {
		if first, dup := users[u.Name]; dup && u.Name != "" {
			bad(u.line, "duplicate auth user %q (first at line %d)", u.Name, first)
		} else if !dup {
			users[u.Name] = u.line
		}
		switch {
		case u.Name == "" || !strings.HasPrefix(u.PasswordHash, "$2"):
			bad(u.line, "auth user %q: password_hash must be a bcrypt hash (printgate hash-password)", u.Name)
		default:
			// What the gateway checks when it starts: a hash cut short or mistyped is refused here.
			if _, err := bcrypt.Cost([]byte(u.PasswordHash)); err != nil {
				bad(u.line, "auth user %q: password_hash is not a whole bcrypt hash (%v): paste the whole line printgate hash-password prints, in quotes",
					u.Name, strings.TrimPrefix(err.Error(), "crypto/bcrypt: "))
			}
		}
	}
	tokens := map[string]Token{}
	for _, t := range c.Auth.Tokens {
		// A client's token arrives trimmed (HTTP trims header values): one written with
		// whitespace around it would never match, and one of whitespace only is no secret.
		trimmed := strings.TrimSpace(t.Token)
		switch {
		case trimmed == "":
			bad(t.line, "auth token %q: blank: the token must be a secret of at least 16 characters (e.g. from openssl rand -hex 32)", t.Name)
			continue
		case trimmed != t.Token:
			bad(t.line, "auth token %q: leading or trailing whitespace (a space, tab or line break; a block scalar | keeps its line break): remove it, or write the token in quotes", t.Name)
		}
		if len(trimmed) < 16 {
			bad(t.line, "auth token %q: at least 16 characters", t.Name)
		}
		if first, dup := tokens[t.Token]; dup {
			// Never the token itself in a message: it goes to terminals and logs.
			bad(t.line, "auth token %q: the same token as %q (line %d); give each its own", t.Name, first.Name, first.line)
			continue
		}
		tokens[t.Token] = t
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(0, "log_level %q: use debug, info, warn or error", c.LogLevel)
	}
	if len(es) > 0 {
		return es
	}
	return nil
}

// binding is an address a front-end of the gateway binds, for checkFrontends.
type binding struct {
	// key names it in messages: `listen ":8631"`, `virtual printer "letters": raw_port 9100`.
	key  string
	addr string
	line int
	// virtual is the virtual printer of a raw port, "" for listen and lpd_listen.
	virtual string
	port    int
}

// where is the place of b's key in the file, for a message about another key.
func (b binding) where() string {
	switch {
	case b.line > 0:
		return fmt.Sprintf(" (line %d)", b.line)
	case b.key == "listen":
		return " (the default)"
	}
	return ""
}

// bindings lists the addresses serve binds, as it binds them: listen, lpd_listen when LPD
// starts (some virtual printer has an lpd_queue), and each raw_port on the host of listen.
func (c *Config) bindings() []binding {
	out := []binding{{key: "listen", addr: c.Listen, line: c.listenLine}}
	lpd := false
	for _, v := range c.VirtualPrinters {
		lpd = lpd || v.LPDQueue != ""
	}
	if c.LPDListen != "" && lpd {
		out = append(out, binding{key: "lpd_listen", addr: c.LPDListen, line: c.lpdListenLine})
	}
	for _, v := range c.VirtualPrinters {
		if v.RawPort >= 1 && v.RawPort <= 65535 {
			out = append(out, binding{key: fmt.Sprintf("virtual printer %q: raw_port", v.Name), addr: c.RawListen(v.RawPort),
				line: v.line, virtual: v.Name, port: v.RawPort})
		}
	}
	return out
}

// checkFrontends refuses two front-ends that would bind the same port on overlapping
// addresses (":9100" and "127.0.0.1:9100"; not "127.0.0.1:9100" and "127.0.0.2:9100"): serve
// would fail to start with "address already in use". Each clash is reported once, at the
// later front-end's line, naming the earlier one.
func (c *Config) checkFrontends(bad func(line int, format string, args ...any)) {
	bs := c.bindings()
	for j, b := range bs {
		for _, a := range bs[:j] {
			if !sameBind(a.addr, b.addr) {
				continue
			}
			switch {
			case a.virtual != "" && b.virtual != "":
				bad(b.line, "%s %d already used by virtual printer %q%s", b.key, b.port, a.virtual, a.where())
			case b.virtual != "":
				bad(b.line, "%s %d (%q) binds the same port as %s %q%s", b.key, b.port, b.addr, a.key, a.addr, a.where())
			default:
				bad(b.line, "%s %q binds the same port as %s %q%s", b.key, b.addr, a.key, a.addr, a.where())
			}
			break
		}
	}
}

// sameBind reports whether binding both TCP addresses would clash: the same port (not 0, which
// picks a free one) on hosts that overlap. An address that does not parse clashes with
// nothing here; serve reports it when it binds.
func sameBind(a, b string) bool {
	ha, pa, okA := splitBind(a)
	hb, pb, okB := splitBind(b)
	if !okA || !okB || pa != pb || pa == 0 {
		return false
	}
	if ha == nil || hb == nil {
		return true // every interface
	}
	for _, x := range ha {
		for _, y := range hb {
			if x == y {
				return true
			}
		}
	}
	return false
}

// splitBind returns the hosts addr binds (nil: every interface; "localhost" counts as both
// loopback addresses, since either may be the one it resolves to) and its port.
func splitBind(addr string) (hosts []string, port int, ok bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, false
	}
	if port, err = net.LookupPort("tcp", p); err != nil {
		return nil, 0, false
	}
	if i := strings.IndexByte(host, '%'); i >= 0 {
		host = host[:i] // an IPv6 zone
	}
	switch ip := net.ParseIP(host); {
	case host == "":
		return nil, port, true
	case ip != nil && ip.IsUnspecified():
		return nil, port, true
	case ip != nil:
		return []string{ip.String()}, port, true
	case strings.EqualFold(host, "localhost"):
		return []string{"127.0.0.1", "::1"}, port, true
	}
	return []string{strings.ToLower(host)}, port, true
}

// CheckPrinterURI reports whether uri names a backend the gateway has, with what it needs. Its
// errors show the URI with any password masked: they go to terminals and logs.
func CheckPrinterURI(uri string) error {
	if uri == "" {
		return errors.New("no uri")
	}
	u, err := url.Parse(uri)
	if err != nil {
		// The *url.Error repeats the URI as written, password and all.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("bad uri: %v", err)
	}
	shown := u.Redacted()
	switch u.Scheme {
	case "ipp", "ipps", "http", "https":
		if u.Hostname() == "" {
			return fmt.Errorf("bad uri %q: no host", shown)
		}
	case "lpd":
		// As the LPD backend reads it (lpd.ParseURI): one path element, a queue name without
		// spaces or control characters.
		queue := strings.TrimPrefix(u.Path, "/")
		if u.Hostname() == "" || queue == "" || strings.Contains(queue, "/") ||
			strings.ContainsFunc(queue, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return fmt.Errorf("bad uri %q: want lpd://host[:port]/queue", shown)
		}
	case "socket":
		if u.Hostname() == "" {
			return fmt.Errorf("bad uri %q: want socket://host[:port]", shown)
		}
		// As the socket backend reads it (raw.ParseURI): nothing after the port but a "/".
		if u.Path != "" && u.Path != "/" {
			return fmt.Errorf("bad uri %q: unexpected path; want socket://host[:port]", shown)
		}
	case "file":
		if u.Path == "" {
			return fmt.Errorf("bad uri %q: want file:///directory", shown)
		}
	default:
		return fmt.Errorf("bad uri %q: scheme must be ipp, ipps, http, https, lpd, socket or file", shown)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("bad uri %q: port out of range", shown)
		}
	}
	return nil
}

// Printer returns the named printer's config.
func (c *Config) Printer(name string) (Printer, bool) {
	for _, p := range c.Printers {
		if p.Name == name {
			return p, true
		}
	}
	return Printer{}, false
}

// ByteSize is a size written as 512MB, 2GiB, 1048576.
type ByteSize int64

// UnmarshalYAML accepts a number of bytes or a number with a unit (KB, MB, GB, KiB, MiB, GiB).
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*b = v
	return nil
}

// ParseByteSize parses "512MB" style sizes.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"TB", 1000 * 1000 * 1000 * 1000}, {"B", 1}}
	mult := int64(1)
	num := s
	for _, u := range units {
		// Longer suffixes come first, so "MiB" is never read as "B".
		if strings.HasSuffix(strings.ToUpper(s), strings.ToUpper(u.suffix)) {
			mult = u.mult
			num = strings.TrimSpace(s[:len(s)-len(u.suffix)])
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q: want e.g. 512MB, 2GiB or a number of bytes", s)
	}
	return ByteSize(f * float64(mult)), nil
}

// Duration is a time.Duration written as 5s, 24h, 90m.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: bad duration %q: want e.g. 5s, 30m, 24h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
