// The SNMP client: one connection per poll, reading everything a probe needs in a few requests.
package snmp

import (
	"context"
	"errors"
	"fmt"

	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Config says how to reach a printer's agent.
type Config struct {
	// Host is the printer's address; Port the agent's UDP port (161 when 0).
	Host string
	Port int
	// Version is "1", "2c" or "3".
	Version string
	// Community authenticates v1 and v2c.
	Community string
	// V3 authenticates v3 (user-based security model).
	V3 V3
	// Timeout bounds each request (2s when 0); Retries re-sends a lost request (1 when 0,
	// -1 for none).
	Timeout time.Duration
	Retries int
}

// V3 is an SNMPv3 user. With AuthProtocol and PrivProtocol set the messages are
// authenticated and encrypted (authPriv); with AuthProtocol only, authenticated (authNoPriv).
type V3 struct {
	User         string
	AuthProtocol string // MD5, SHA, SHA224, SHA256, SHA384, SHA512
	AuthPassword string
	PrivProtocol string // DES, AES, AES192, AES256, AES192C, AES256C
	PrivPassword string
}

var authProtocols = map[string]gosnmp.SnmpV3AuthProtocol{"MD5": gosnmp.MD5, "SHA": gosnmp.SHA,
	"SHA224": gosnmp.SHA224, "SHA256": gosnmp.SHA256, "SHA384": gosnmp.SHA384, "SHA512": gosnmp.SHA512}

var privProtocols = map[string]gosnmp.SnmpV3PrivProtocol{"DES": gosnmp.DES, "AES": gosnmp.AES,
	"AES192": gosnmp.AES192, "AES256": gosnmp.AES256, "AES192C": gosnmp.AES192C, "AES256C": gosnmp.AES256C}

// Check reports what is wrong with c, nil when a client can be made from it (config check
// calls it).
func (c Config) Check() error {
	switch c.Version {
	case "1", "2c":
		if c.Community == "" {
			return fmt.Errorf("snmp version %s needs snmp_community", c.Version)
		}
	case "3":
		if c.V3.User == "" {
			return errors.New("snmp version 3 needs snmp_user")
		}
		if c.V3.AuthProtocol == "" && c.V3.PrivProtocol != "" {
			return errors.New("snmp_priv_protocol needs snmp_auth_protocol (SNMPv3 has no privacy without authentication)")
		}
		if _, ok := authProtocols[strings.ToUpper(c.V3.AuthProtocol)]; c.V3.AuthProtocol != "" && !ok {
			return fmt.Errorf("snmp_auth_protocol %q: use MD5, SHA, SHA224, SHA256, SHA384 or SHA512", c.V3.AuthProtocol)
		}
		if _, ok := privProtocols[strings.ToUpper(c.V3.PrivProtocol)]; c.V3.PrivProtocol != "" && !ok {
			return fmt.Errorf("snmp_priv_protocol %q: use DES, AES, AES192, AES256, AES192C or AES256C", c.V3.PrivProtocol)
		}
		// RFC 3414: a password shorter than 8 characters is refused by agents (net-snmp too).
		if c.V3.AuthProtocol != "" && len(c.V3.AuthPassword) < 8 {
			return errors.New("snmp_auth_password: at least 8 characters")
		}
		if c.V3.PrivProtocol != "" && len(c.V3.PrivPassword) < 8 {
			return errors.New("snmp_priv_password: at least 8 characters")
		}
	default:
		return fmt.Errorf("snmp_version %q: use 1, 2c or 3", c.Version)
	}
	if c.Port < 0 || c.Port > 65535 {
		return fmt.Errorf("snmp_port %d out of range", c.Port)
	}
	return nil
}

// Reading is one poll's answer.
type Reading struct {
	At     time.Time     `json:"at"`
	Status PrinterStatus `json:"status"`
	Device DeviceStatus  `json:"device_status"`
	Errors ErrorState    `json:"error_state"`
	// LifeCount is prtMarkerLifeCount (impressions over the printer's life); HasLifeCount is
	// false when the printer does not keep one (then no completion can be confirmed).
	LifeCount    int64    `json:"life_count"`
	HasLifeCount bool     `json:"has_life_count"`
	Supplies     []Supply `json:"supplies,omitempty"`
	// Alerts are the rows of prtAlertTable now; NewAlerts those whose index is above every
	// index the previous poll saw (the table's index only grows, RFC 3805 §2.2.13).
	Alerts    []Alert `json:"alerts,omitempty"`
	NewAlerts []Alert `json:"new_alerts,omitempty"`
}

// Client polls one agent. Safe for concurrent use.
type Client struct {
	cfg Config
	mu  sync.Mutex
	// maxAlert is the highest prtAlertIndex seen so far (-1 before the first poll).
	maxAlert int
	now      func() time.Time
}

// New returns a client for c.
func New(c Config) (*Client, error) {
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("snmp: %s: %w", c.Host, err)
	}
	if c.Port == 0 {
		c.Port = 161
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Retries == 0 {
		c.Retries = 1
	} else if c.Retries < 0 {
		c.Retries = 0
	}
	return &Client{cfg: c, maxAlert: -1, now: time.Now}, nil
}

// Addr is the agent's address, for messages.
func (c *Client) Addr() string { return net.JoinHostPort(c.cfg.Host, strconv.Itoa(c.cfg.Port)) }

func (c *Client) session(ctx context.Context) (*gosnmp.GoSNMP, error) {
	g := &gosnmp.GoSNMP{Target: c.cfg.Host, Port: uint16(c.cfg.Port), Transport: "udp", Context: ctx,
		Timeout: c.cfg.Timeout, Retries: c.cfg.Retries, MaxOids: gosnmp.MaxOids, MaxRepetitions: 20,
		Community: c.cfg.Community}
	switch c.cfg.Version {
	case "1":
		g.Version = gosnmp.Version1
	case "2c":
		g.Version = gosnmp.Version2c
	case "3":
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		usm := &gosnmp.UsmSecurityParameters{UserName: c.cfg.V3.User}
		g.MsgFlags = gosnmp.NoAuthNoPriv
		if a := c.cfg.V3.AuthProtocol; a != "" {
			g.MsgFlags = gosnmp.AuthNoPriv
			usm.AuthenticationProtocol = authProtocols[strings.ToUpper(a)]
			usm.AuthenticationPassphrase = c.cfg.V3.AuthPassword
		}
		if p := c.cfg.V3.PrivProtocol; p != "" {
			g.MsgFlags = gosnmp.AuthPriv
			usm.PrivacyProtocol = privProtocols[strings.ToUpper(p)]
			usm.PrivacyPassphrase = c.cfg.V3.PrivPassword
		}
		g.SecurityParameters = usm
	}
	if err := g.Connect(); err != nil {
		return nil, fmt.Errorf("snmp: %s: %w", c.Addr(), err)
	}
	return g, nil
}

// Counter reads prtMarkerLifeCount and hrPrinterStatus only: what completion needs, cheaply.
func (c *Client) Counter(ctx context.Context) (Reading, error) {
	g, err := c.session(ctx)
	if err != nil {
		return Reading{}, err
	}
	defer g.Conn.Close()
	r := Reading{At: c.now()}
	if err := c.getScalars(g, &r, oidHrPrinterStatus, oidPrtMarkerLifeCount); err != nil {
		return Reading{}, err
	}
	return r, nil
}

// Poll reads the printer's status, error bits, page counter, supplies and alerts.
func (c *Client) Poll(ctx context.Context) (Reading, error) {
	g, err := c.session(ctx)
	if err != nil {
		return Reading{}, err
	}
	defer g.Conn.Close()
	r := Reading{At: c.now()}
	if err := c.getScalars(g, &r, oidHrPrinterStatus, oidHrPrinterDetectedErrorState, oidHrDeviceStatus,
		oidPrtMarkerLifeCount); err != nil {
		return Reading{}, err
	}
	// The tables are optional: a printer without them still has a status.
	supplies := map[int]*Supply{}
	supply := func(i int) *Supply {
		if supplies[i] == nil {
			supplies[i] = &Supply{Index: i, Level: -2, MaxCapacity: -2}
		}
		return supplies[i]
	}
	if err := c.walk(g, oidPrtMarkerSuppliesDescription, func(i int, v gosnmp.SnmpPDU) {
		supply(i).Description = text(v)
	}); err != nil {
		return Reading{}, err
	}
	if err := c.walk(g, oidPrtMarkerSuppliesMaxCapacity, func(i int, v gosnmp.SnmpPDU) { supply(i).MaxCapacity = integer(v) }); err != nil {
		return Reading{}, err
	}
	if err := c.walk(g, oidPrtMarkerSuppliesLevel, func(i int, v gosnmp.SnmpPDU) { supply(i).Level = integer(v) }); err != nil {
		return Reading{}, err
	}
	for _, i := range sortedKeys(supplies) {
		r.Supplies = append(r.Supplies, *supplies[i])
	}
	alerts := map[int]*Alert{}
	alert := func(i int) *Alert {
		if alerts[i] == nil {
			alerts[i] = &Alert{Index: i}
		}
		return alerts[i]
	}
	for _, col := range []struct {
		oid string
		set func(*Alert, gosnmp.SnmpPDU)
	}{
		{oidPrtAlertSeverityLevel, func(a *Alert, v gosnmp.SnmpPDU) { a.Severity = integer(v) }},
		{oidPrtAlertGroup, func(a *Alert, v gosnmp.SnmpPDU) { a.Group = integer(v) }},
		{oidPrtAlertCode, func(a *Alert, v gosnmp.SnmpPDU) { a.Code = integer(v) }},
		{oidPrtAlertDescription, func(a *Alert, v gosnmp.SnmpPDU) { a.Description = text(v) }},
	} {
		if err := c.walk(g, col.oid, func(i int, v gosnmp.SnmpPDU) { col.set(alert(i), v) }); err != nil {
			return Reading{}, err
		}
	}
	c.mu.Lock()
	prev := c.maxAlert
	for _, i := range sortedKeys(alerts) {
		a := *alerts[i]
		r.Alerts = append(r.Alerts, a)
		if i > prev && prev >= 0 {
			r.NewAlerts = append(r.NewAlerts, a)
		}
		c.maxAlert = max(c.maxAlert, i)
	}
	if prev < 0 {
		// The first poll: every row is new to this gateway.
		r.NewAlerts = r.Alerts
		c.maxAlert = max(c.maxAlert, 0)
	}
	c.mu.Unlock()
	return r, nil
}

// ErrNoPrinter means the agent answered but has no printer table: not a printer, or not
// printer number 1.
var ErrNoPrinter = errors.New("snmp: agent has no hrPrinterStatus.1")

func (c *Client) getScalars(g *gosnmp.GoSNMP, r *Reading, oids ...string) error {
	p, err := g.Get(oids)
	if err != nil {
		return fmt.Errorf("snmp: %s: get: %w", c.Addr(), err)
	}
	if p.Error != gosnmp.NoError {
		return fmt.Errorf("snmp: %s: get: agent error %s", c.Addr(), p.Error)
	}
	for _, v := range p.Variables {
		if v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.Null {
			if v.Name == oidHrPrinterStatus {
				return fmt.Errorf("%w (%s)", ErrNoPrinter, c.Addr())
			}
			continue
		}
		switch v.Name {
		case oidHrPrinterStatus:
			r.Status = PrinterStatus(integer(v))
		case oidHrDeviceStatus:
			r.Device = DeviceStatus(integer(v))
		case oidHrPrinterDetectedErrorState:
			b, _ := v.Value.([]byte)
			r.Errors = ParseErrorState(b)
		case oidPrtMarkerLifeCount:
			r.LifeCount = gosnmp.ToBigInt(v.Value).Int64()
			r.HasLifeCount = true
		}
	}
	return nil
}

// walk calls fn with the last sub-identifier (the row) of every object under root.
func (c *Client) walk(g *gosnmp.GoSNMP, root string, fn func(int, gosnmp.SnmpPDU)) error {
	var pdus []gosnmp.SnmpPDU
	var err error
	if g.Version == gosnmp.Version1 {
		pdus, err = g.WalkAll(root)
	} else {
		pdus, err = g.BulkWalkAll(root)
	}
	if err != nil {
		return fmt.Errorf("snmp: %s: walk %s: %w", c.Addr(), root, err)
	}
	for _, v := range pdus {
		rest, ok := strings.CutPrefix(v.Name, root+".")
		if !ok || strings.Contains(rest, ".") {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance || v.Type == gosnmp.EndOfMibView {
			continue
		}
		fn(i, v)
	}
	return nil
}

func integer(v gosnmp.SnmpPDU) int {
	b := gosnmp.ToBigInt(v.Value)
	if b == nil || !b.IsInt64() {
		return 0
	}
	return int(b.Int64())
}

func text(v gosnmp.SnmpPDU) string {
	switch x := v.Value.(type) {
	case []byte:
		return strings.TrimRight(string(x), "\x00")
	case string:
		return x
	}
	return ""
}

func sortedKeys[V any](m map[int]V) []int {
	keys := make([]int, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
