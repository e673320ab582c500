// A real SNMP agent for tests: Debian's net-snmp snmpd on a loopback UDP port, run as the test
// user with its own configuration, serving a Printer-MIB and Host Resources printer table
// through pass_persist. The pass_persist program is the test binary itself (ServePassPersist,
// called from TestMain), answering from a JSON file the test writes (PrinterMIB): so a test
// sets media-empty or advances the page counter by writing the file, and snmpd, a real agent,
// encodes and answers every SNMP request.
package peer

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// passPersistEnv names the state file when the test binary runs as snmpd's pass_persist program.
const passPersistEnv = "PRINTGATE_PASS_PERSIST_STATE"

// PrinterMIB is the state the agent serves.
type PrinterMIB struct {
	// Status is hrPrinterStatus (3 idle, 4 printing); Device hrDeviceStatus (2 running, 5 down).
	Status int `json:"status"`
	Device int `json:"device"`
	// ErrorState is hrPrinterDetectedErrorState's octets as sent (1 or 2 of them).
	ErrorState []byte `json:"error_state"`
	// LifeCount is prtMarkerLifeCount.1.1.
	LifeCount int64       `json:"life_count"`
	Supplies  []MIBSupply `json:"supplies"`
	Alerts    []MIBAlert  `json:"alerts"`
}

// MIBSupply is one prtMarkerSuppliesTable row.
type MIBSupply struct {
	Description string `json:"description"`
	MaxCapacity int    `json:"max_capacity"`
	Level       int    `json:"level"`
}

// MIBAlert is one prtAlertTable row.
type MIBAlert struct {
	Index       int    `json:"index"`
	Severity    int    `json:"severity"`
	Group       int    `json:"group"`
	Code        int    `json:"code"`
	Description string `json:"description"`
}

// SNMPD is a running snmpd.
type SNMPD struct {
	Port      int
	Community string
	// V3 user (authPriv, SHA and AES).
	User, AuthPass, PrivPass string

	dir   string
	state string
	mu    sync.Mutex
	mib   PrinterMIB
	p     *proc
}

// SNMPDVersion is `snmpd -v`'s version line, for the test log.
func SNMPDVersion() string {
	out, err := exec.Command("/usr/sbin/snmpd", "-v").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("snmpd -v: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "version") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(string(out))
}

// StartSNMPD starts snmpd serving mib; it is stopped in t.Cleanup. The calling test binary's
// TestMain must call ServePassPersistIfAsked first.
func StartSNMPD(t testing.TB, mib PrinterMIB) *SNMPD {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/snmpd"); err != nil {
		t.Skip("snmpd not installed (scripts/install-peers.sh)")
	}
	t.Logf("snmpd: %s", SNMPDVersion())
	dir := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s := &SNMPD{Community: "printgate-ro", User: "pgv3", AuthPass: "auth-secret-1", PrivPass: "priv-secret-1",
		dir: dir, state: filepath.Join(dir, "printer-mib.json"), mib: mib}
	s.Set(t, func(m *PrinterMIB) {})
	script := filepath.Join(dir, "printer-mib.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\n%s=%s exec %s\n", passPersistEnv,
		shellQuote(s.state), shellQuote(self))), 0o755); err != nil {
		t.Fatal(err)
	}
	s.Port = freeUDPPort(t)
	conf := fmt.Sprintf(`agentaddress udp:127.0.0.1:%d
dontLogTCPWrappersConnects yes
rocommunity %s 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
pass_persist .1.3.6.1.2.1.43 %s
pass_persist .1.3.6.1.2.1.25.3 %s
`, s.Port, s.Community, s.User, s.AuthPass, s.PrivPass, s.User, script, script)
	confPath := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// -C: no system configuration; -I: without the built-in Host Resources device tables,
	// which would answer hrDeviceTable and hrPrinterTable for this machine instead of the test's
	// printer; SNMP_PERSISTENT_DIR keeps the v3 engine boots and users in the temp dir.
	cmd := exec.Command("/usr/sbin/snmpd", "-f", "-C", "-c", confPath, "-Lf", filepath.Join(dir, "snmpd.log"),
		"-I", "-hr_device,hr_print,hr_disk,hr_partition,hr_network,hr_proc,hr_other,smux",
		"-p", filepath.Join(dir, "snmpd.pid"))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "persist"), "MIBS=", "MIBDIRS="+dir)
	p, err := startProc("snmpd", cmd, filepath.Join(dir, "snmpd.out"))
	if err != nil {
		t.Fatal(err)
	}
	s.p = p
	stopInCleanup(t, p)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "snmpd.log"))
			t.Logf("--- snmpd.log:\n%s", tail(string(b), logTail))
		}
	})
	s.waitReady(t)
	return s
}

// waitReady waits until snmpd answers a get of hrPrinterStatus.1 (snmpget, bounded).
func (s *SNMPD) waitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		out, err := exec.Command("snmpget", "-v2c", "-c", s.Community, "-t", "0.5", "-r", "0", "-On",
			fmt.Sprintf("127.0.0.1:%d", s.Port), ".1.3.6.1.2.1.25.3.5.1.1.1").CombinedOutput()
		if err == nil && strings.Contains(string(out), "INTEGER") {
			return
		}
		if s.p.exited() || time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(s.dir, "snmpd.log"))
			t.Fatalf("snmpd not answering on udp 127.0.0.1:%d: %v %s\n%s\n%s", s.Port, err, out, s.p.logText(), b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills snmpd now, as a printer that lost power stops answering (the cleanup then has
// nothing left to do).
func (s *SNMPD) Stop(t testing.TB) {
	if err := s.p.kill(); err != nil {
		t.Error(err)
	}
}

// Set changes the served state: edit is applied to the current state and the file replaced
// atomically, so the agent never reads half of it.
func (s *SNMPD) Set(t testing.TB, edit func(*PrinterMIB)) {
	t.Helper()
	if err := s.Update(edit); err != nil {
		t.Fatal(err)
	}
}

// Update is Set for goroutines that are not the test's (a sink printing).
func (s *SNMPD) Update(edit func(*PrinterMIB)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	edit(&s.mib)
	b, err := json.Marshal(s.mib)
	if err != nil {
		return err
	}
	tmp := s.state + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, s.state)
}

// MIB is the state served now.
func (s *SNMPD) MIB() PrinterMIB {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mib
}

// ServePassPersistIfAsked runs the pass_persist protocol on stdin and stdout and exits when the
// test binary was started as snmpd's pass_persist program; otherwise it returns at once. Call
// it first in TestMain.
func ServePassPersistIfAsked() {
	state := os.Getenv(passPersistEnv)
	if state == "" {
		return
	}
	_ = ServePassPersist(os.Stdin, os.Stdout, state)
	os.Exit(0)
}

// ServePassPersist answers snmpd's pass_persist requests (PING, get, getnext, set) from the
// PrinterMIB in the file state, read afresh for every request.
func ServePassPersist(in io.Reader, out io.Writer, state string) error {
	r := bufio.NewScanner(in)
	w := bufio.NewWriter(out)
	line := func() (string, bool) {
		if !r.Scan() {
			return "", false
		}
		return strings.TrimSpace(r.Text()), true
	}
	for {
		cmd, ok := line()
		if !ok {
			return r.Err()
		}
		switch cmd {
		case "PING":
			fmt.Fprintln(w, "PONG")
		case "get", "getnext":
			oid, ok := line()
			if !ok {
				return r.Err()
			}
			objs := mibObjects(state)
			var found *mibObject
			for i := range objs {
				c := compareOID(objs[i].oid, parseOID(oid))
				if (cmd == "get" && c == 0) || (cmd == "getnext" && c > 0) {
					found = &objs[i]
					break
				}
			}
			if found == nil {
				fmt.Fprintln(w, "NONE")
			} else {
				fmt.Fprintf(w, "%s\n%s\n%s\n", formatOID(found.oid), found.typ, found.val)
			}
		case "set":
			line()
			line()
			fmt.Fprintln(w, "not-writable")
		case "":
			continue
		default:
			fmt.Fprintln(w, "NONE")
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

type mibObject struct {
	oid      []int
	typ, val string
}

// mibObjects is the state as sorted objects (an unreadable file serves nothing).
func mibObjects(state string) []mibObject {
	var m PrinterMIB
	b, err := os.ReadFile(state)
	if err != nil || json.Unmarshal(b, &m) != nil {
		return nil
	}
	var objs []mibObject
	add := func(oid, typ, val string) { objs = append(objs, mibObject{parseOID(oid), typ, val}) }
	integer := func(n int) string { return strconv.Itoa(n) }
	add(".1.3.6.1.2.1.25.3.2.1.1.1", "integer", "1")                       // hrDeviceIndex
	add(".1.3.6.1.2.1.25.3.2.1.3.1", "string", "printgate test printer")   // hrDeviceDescr
	add(".1.3.6.1.2.1.25.3.2.1.5.1", "integer", integer(max(m.Device, 1))) // hrDeviceStatus
	add(".1.3.6.1.2.1.25.3.5.1.1.1", "integer", integer(max(m.Status, 1))) // hrPrinterStatus
	errState := m.ErrorState
	if len(errState) == 0 {
		errState = []byte{0}
	}
	// pass_persist's octet type is hex, one pair per octet separated by spaces ("00 04": a run
	// of digits reads as one number).
	octets := make([]string, len(errState))
	for i, b := range errState {
		octets[i] = strings.ToUpper(hex.EncodeToString([]byte{b}))
	}
	add(".1.3.6.1.2.1.25.3.5.1.2.1", "octet", strings.Join(octets, " "))
	add(".1.3.6.1.2.1.43.10.2.1.4.1.1", "counter", strconv.FormatInt(m.LifeCount, 10))
	for i, s := range m.Supplies {
		n := strconv.Itoa(i + 1)
		add(".1.3.6.1.2.1.43.11.1.1.6.1."+n, "string", s.Description)
		add(".1.3.6.1.2.1.43.11.1.1.8.1."+n, "integer", integer(s.MaxCapacity))
		add(".1.3.6.1.2.1.43.11.1.1.9.1."+n, "integer", integer(s.Level))
	}
	for _, a := range m.Alerts {
		n := strconv.Itoa(a.Index)
		add(".1.3.6.1.2.1.43.18.1.1.2.1."+n, "integer", integer(a.Severity))
		add(".1.3.6.1.2.1.43.18.1.1.4.1."+n, "integer", integer(a.Group))
		add(".1.3.6.1.2.1.43.18.1.1.7.1."+n, "integer", integer(a.Code))
		add(".1.3.6.1.2.1.43.18.1.1.8.1."+n, "string", a.Description)
	}
	slices.SortFunc(objs, func(a, b mibObject) int { return compareOID(a.oid, b.oid) })
	return objs
}

func parseOID(s string) []int {
	var out []int
	for _, p := range strings.Split(strings.Trim(s, "."), ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			return out
		}
		out = append(out, n)
	}
	return out
}

func formatOID(o []int) string {
	var b strings.Builder
	for _, n := range o {
		b.WriteString("." + strconv.Itoa(n))
	}
	return b.String()
}

func compareOID(a, b []int) int { return slices.Compare(a, b) }

// freeUDPPort is a loopback UDP port free a moment ago.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
