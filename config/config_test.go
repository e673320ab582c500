package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/printgate/printgate/internal/testcert"
)

const good = `listen: ":9631"
spool: /tmp/pg
min_free_disk: 1GiB
retention: 48h
printers:
  - name: mailroom-1
    uri: ipp://192.0.2.1/ipp/print
    ppm: 60
  - name: ward-lpd
    uri: lpd://192.0.2.2/queue1
virtual_printers:
  - name: letters
    pool: [mailroom-1, ward-lpd]
    info: Patient letters
    raw_port: 9100
`

func TestParseGood(t *testing.T) {
	t.Parallel()
	c, err := Parse("good.yaml", []byte(good))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Listen != ":9631" || c.MinFreeDisk != 1<<30 || c.Retention.D().Hours() != 48 {
		t.Errorf("decoded %+v", c)
	}
	if c.MaxInflight != 2 || c.ProbeInterval.D().Seconds() != 5 {
		t.Errorf("defaults not applied: max_inflight %d probe %v", c.MaxInflight, c.ProbeInterval.D())
	}
	if !c.VirtualPrinters[0].Default {
		t.Errorf("the only virtual printer should be the default")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want string // substring, including file:line
	}{
		{"unknown top-level key", "listen: x\nspoool: y\n", "bad.yaml:2: field spoool not found"},
		{"unknown printer key", "printers:\n  - name: a\n    uri: file:///tmp/a\n    speed: 3\n", "bad.yaml:4: field speed not found"},
		{"duplicate printer name", strings.Replace(good, "name: ward-lpd", "name: mailroom-1", 1), "bad.yaml:9: duplicate printer name \"mailroom-1\" (first at line 6)"},
		{"pool names unknown printer", strings.Replace(good, "pool: [mailroom-1, ward-lpd]", "pool: [mailroom-1, nope]", 1), "bad.yaml:12: virtual printer \"letters\": pool names unknown printer \"nope\""},
		{"bad uri scheme", strings.Replace(good, "ipp://192.0.2.1/ipp/print", "smb://x/y", 1), "bad.yaml:6: printer \"mailroom-1\": bad uri \"smb://x/y\": scheme must be"},
		{"lpd uri without queue", strings.Replace(good, "lpd://192.0.2.2/queue1", "lpd://192.0.2.2", 1), "bad.yaml:9: printer \"ward-lpd\": bad uri"},
		{"bad port", strings.Replace(good, "ipp://192.0.2.1/", "ipp://192.0.2.1:99999/", 1), "port out of range"},
		{"bad size", strings.Replace(good, "1GiB", "lots", 1), "bad.yaml:3: bad size \"lots\""},
		{"bad duration", strings.Replace(good, "48h", "two days", 1), "bad.yaml:4: bad duration"},
		{"wrong type", strings.Replace(good, "ppm: 60", "ppm: fast", 1), "bad.yaml:8: cannot unmarshal"},
		{"no printers", "listen: x\n", "no printers configured"},
		{"inline document limit too large", "inline_document_max: 32MiB\n" + good, "inline_document_max 33554432 bytes is over the largest allowed, 16MiB"},
		{"raw port reused", good + "  - name: second\n    pool: [ward-lpd]\n    raw_port: 9100\n", "bad.yaml:16: virtual printer \"second\": raw_port 9100 already used"},
		{"not yaml", "printers: [\n", "bad.yaml"},
		{"per-host limit over the total", "limits:\n  max_connections: 10\n  max_connections_per_host: 20\n" + good, "limits: max_connections (10) and max_connections_per_host (20)"},
		{"negative connection limit", "limits:\n  max_connections: -1\n" + good, "limits: max_connections (-1)"},
		{"idle timeout too short", "limits:\n  idle_timeout: 100ms\n" + good, "limits: idle_timeout 100ms: at least 1s"},
		{"compression ratio of 1", "limits:\n  max_compression_ratio: 1\n" + good, "limits: max_compression_ratio 1: at least 2"},
		{"unknown limits key", "limits:\n  max_conns: 3\n" + good, "bad.yaml:2: field max_conns not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatalf("Parse accepted:\n%s", tt.yaml)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not contain %q", err, tt.want)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error is %T, want config.Errors", err)
			}
		})
	}
}

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]ByteSize{"1024": 1024, "1KB": 1000, "1KiB": 1024, "512MB": 512e6, "2GiB": 2 << 30, "10B": 10} {
		got, err := ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseByteSize("-1MB"); err == nil {
		t.Error("negative size accepted")
	}
}

func TestDemoIsValid(t *testing.T) {
	t.Parallel()
	c := Demo(t.TempDir())
	if err := c.Validate(); err != nil {
		t.Fatalf("demo config invalid: %v", err)
	}
	if len(c.Printers) != 2 || c.Printers[0].PPM != 30 || c.Printers[1].PPM != 60 {
		t.Fatalf("demo printers %+v", c.Printers)
	}
}

// config check prints to terminals and serve to logs: a bad URI is quoted with its password
// masked.
func TestCheckPrinterURIHidesPassword(t *testing.T) {
	t.Parallel()
	tests := []struct{ uri, want string }{
		{"smb://alice:s3cret@x/y", `bad uri "smb://alice:xxxxx@x/y": scheme must be`},
		{"lpd://alice:s3cret@h", `bad uri "lpd://alice:xxxxx@h": want lpd://`},
		{"ipp://alice:s3cret@h:99999/x", `bad uri "ipp://alice:xxxxx@h:99999/x": port out of range`},
		{"ipp://alice:s3cret@/x", `bad uri "ipp://alice:xxxxx@/x": no host`},
		{"ipp://alice:s3cret@h:http/x", `bad uri: invalid port ":http" after host`},
	}
	for _, tt := range tests {
		err := CheckPrinterURI(tt.uri)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("CheckPrinterURI(%q) = %v, want %q", tt.uri, err, tt.want)
		}
	}
}

// What config check accepts, the backends open: a URI refused when serve starts must be refused
// by the check, with the backend's reason.
func TestCheckPrinterURI(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uri  string
		want string // "" for accepted, else a substring of the error
	}{
		{"ipp://10.1.7.20/ipp/print", ""},
		{"ipps://printer.example:631/ipp/print", ""},
		{"http://10.1.7.20:631/ipp/print", ""},
		{"https://printer.example/ipp/print", ""},
		{"ipp:///ipp/print", "no host"},
		{"ipp://:631/ipp/print", "no host"},
		{"lpd://10.20.0.13/PASSTHRU", ""},
		{"lpd://10.20.0.13:5515/letters/", "want lpd://host[:port]/queue"},
		{"lpd://10.20.0.13/a/b", "want lpd://host[:port]/queue"},
		{"lpd://10.20.0.13/my%20queue", "want lpd://host[:port]/queue"},
		{"lpd://10.20.0.13", "want lpd://host[:port]/queue"},
		{"lpd://:515/q", "want lpd://host[:port]/queue"},
		{"socket://10.30.7.20", ""},
		{"socket://10.30.7.20:9100", ""},
		{"socket://10.30.7.20:9100/", ""},
		{"socket://10.30.7.20:9100/?waiteof=false", ""},
		{"socket://10.30.7.20:9100/path", `bad uri "socket://10.30.7.20:9100/path": unexpected path`},
		{"socket://:9100", "want socket://host[:port]"},
		{"socket://h:0", "port out of range"},
		{"file:///srv/out", ""},
		{"smb://h/q", "scheme must be"},
		{"", "no uri"},
	}
	for _, tt := range tests {
		err := CheckPrinterURI(tt.uri)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("CheckPrinterURI(%q) = %v, want ok", tt.uri, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("CheckPrinterURI(%q) = %v, want %q", tt.uri, err, tt.want)
		}
	}
}

// A password_hash the gateway would refuse when it starts is refused by config check, at the
// user's line.
func TestParseChecksPasswordHashes(t *testing.T) {
	t.Parallel()
	const whole = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	tests := []struct {
		name, hash string
		want       string // "" for accepted
	}{
		{"whole hash", whole, ""},
		{"2b", "$2b$12$" + whole[7:], ""},
		{"cut short", whole[:40], `bad.yaml:5: auth user "alice": password_hash is not a whole bcrypt hash (hashedSecret too short`},
		{"cost out of range", "$2a$99$" + whole[7:], `bad.yaml:5: auth user "alice": password_hash is not a whole bcrypt hash (cost 99 is outside`},
		{"cost not a number", "$2a$1x$" + whole[7:], `bad.yaml:5: auth user "alice": password_hash is not a whole bcrypt hash`},
		{"not bcrypt", "hunter2", `bad.yaml:5: auth user "alice": password_hash must be a bcrypt hash`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// alice starts at line 5.
			yaml := "auth:\n  users:\n    - name: bob\n      password_hash: \"" + whole + "\"\n" +
				"    - name: alice\n      password_hash: \"" + tt.hash + "\"\n"
			_, err := Parse("bad.yaml", []byte(yaml+good[strings.Index(good, "printers:"):]))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// Users are kept by name and tokens by value: a second entry is an error at its line, not a
// silent winner. A token is never quoted.
func TestParseRefusesDuplicateUsersAndTokens(t *testing.T) {
	t.Parallel()
	const hash = "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"
	user := func(name string) string { return "    - name: " + name + "\n      password_hash: \"" + hash + "\"\n" }
	token := func(name, tok string) string { return "    - name: " + name + "\n      token: " + tok + "\n" }
	tests := []struct {
		name string
		auth string
		want []string // substrings of the error, in order; none: accepted
	}{
		{"distinct", "  users:\n" + user("alice") + user("bob") + "  tokens:\n" +
			token("backup", "0123456789abcdef-1") + token("prometheus", "0123456789abcdef-2"), nil},
		{"same user twice", "  users:\n" + user("alice") + user("bob") + user("alice") + user("alice"),
			[]string{`bad.yaml:7: duplicate auth user "alice" (first at line 3)`, `bad.yaml:9: duplicate auth user "alice" (first at line 3)`}},
		{"same token twice", "  tokens:\n" + token("backup", "0123456789abcdef-1") + token("prometheus", "0123456789abcdef-1"),
			[]string{`bad.yaml:5: auth token "prometheus": the same token as "backup" (line 3)`}},
		{"same name, other tokens", "  tokens:\n" + token("backup", "0123456789abcdef-1") + token("backup", "0123456789abcdef-2"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml := "auth:\n" + tt.auth + good[strings.Index(good, "printers:"):]
			_, err := Parse("bad.yaml", []byte(yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", yaml)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", err, w)
				}
				msg = msg[i+len(w):]
			}
			if strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

// An lpd_queue is only served with lpd_listen set: one without is refused at its virtual
// printer's line rather than silently not served.
func TestParseLPDQueueNeedsLPDListen(t *testing.T) {
	t.Parallel()
	const printers = "printers:\n  - name: p\n    uri: file:///tmp/p\n"
	tests := []struct {
		name, yaml, want string // want "" for accepted
	}{
		{"queue and listener", "lpd_listen: \":515\"\n" + printers + "virtual_printers:\n  - name: letters\n    pool: [p]\n    lpd_queue: letters\n", ""},
		{"listener, no queue", "lpd_listen: \":515\"\n" + printers + "virtual_printers:\n  - name: letters\n    pool: [p]\n", ""},
		{"neither", printers + "virtual_printers:\n  - name: letters\n    pool: [p]\n", ""},
		{"queue, no listener", printers + "virtual_printers:\n  - name: plain\n    pool: [p]\n  - name: letters\n    pool: [p]\n    lpd_queue: letters\n",
			`bad.yaml:7: virtual printer "letters": lpd_queue "letters" needs lpd_listen`},
		{"queue, empty listener", "lpd_listen: \"\"\n" + printers + "virtual_printers:\n  - name: letters\n    pool: [p]\n    lpd_queue: letters\n",
			`bad.yaml:6: virtual printer "letters": lpd_queue "letters" needs lpd_listen`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// writeCert writes a self-signed certificate, as a printer makes itself, to path as PEM.
func writeCert(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, testcert.Self(t, "NPI1A2B3C.local").CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
}

// tls_ca_file and tls_skip_verify are refused where the IPP backend would refuse them (or
// silently ignore them), at the printer's line; a relative tls_ca_file is the config file's
// neighbour, wherever config check or serve runs.
func TestParsePrinterTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "printgate.yaml")
	writeCert(t, filepath.Join(dir, "mailroom-2.pem"))
	for name, content := range map[string]string{
		"key.pem": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
		"bad.pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, uri, keys string
		want            string // after "FILE:2: printer \"p\": "; "" for accepted
		wantCAFile      string // the tls_ca_file Parse leaves, when accepted
	}{
		{"ipps, relative file", "ipps://10.20.0.12/ipp/print", "tls_ca_file: mailroom-2.pem", "", filepath.Join(dir, "mailroom-2.pem")},
		{"https, absolute file", "https://10.20.0.12:631/ipp/print", "tls_ca_file: " + filepath.Join(dir, "mailroom-2.pem"), "",
			filepath.Join(dir, "mailroom-2.pem")},
		{"ipps, skip", "ipps://10.20.0.12/ipp/print", "tls_skip_verify: true", "", ""},
		{"ipp, defaults written out", "ipp://10.20.0.12/ipp/print", "tls_ca_file: \"\"\n    tls_skip_verify: false", "", ""},
		{"ipp, skip", "ipp://10.20.0.12/ipp/print", "tls_skip_verify: true",
			"tls_skip_verify is only for printers reached over TLS (ipps:// or https://), not ipp://", ""},
		{"http, file", "http://10.20.0.12:631/ipp/print", "tls_ca_file: mailroom-2.pem",
			"tls_ca_file is only for printers reached over TLS (ipps:// or https://), not http://", ""},
		{"lpd, file", "lpd://10.20.0.13/PASSTHRU", "tls_ca_file: mailroom-2.pem", "tls_ca_file is only for printers reached over TLS", ""},
		{"socket, skip", "socket://10.30.7.20:9100", "tls_skip_verify: true", "tls_skip_verify is only for printers reached over TLS", ""},
		{"both", "ipps://10.20.0.12/ipp/print", "tls_ca_file: mailroom-2.pem\n    tls_skip_verify: true", "tls_ca_file and tls_skip_verify together", ""},
		{"missing file", "ipps://10.20.0.12/ipp/print", "tls_ca_file: nope.pem",
			"tls_ca_file: open " + filepath.Join(dir, "nope.pem") + ": no such file or directory", ""},
		{"no certificate", "ipps://10.20.0.12/ipp/print", "tls_ca_file: key.pem",
			"tls_ca_file " + filepath.Join(dir, "key.pem") + ": no PEM certificate", ""},
		{"broken certificate", "ipps://10.20.0.12/ipp/print", "tls_ca_file: bad.pem",
			"tls_ca_file " + filepath.Join(dir, "bad.pem") + ": certificate 1: ", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			yaml := "printers:\n  - name: p\n    uri: " + tt.uri + "\n    " + tt.keys + "\nvirtual_printers:\n  - name: v\n    pool: [p]\n"
			c, err := Parse(file, []byte(yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused:\n%s\n%v", yaml, err)
				}
				if got := c.Printers[0].TLSCAFile; got != tt.wantCAFile {
					t.Errorf("tls_ca_file = %q, want %q", got, tt.wantCAFile)
				}
				return
			}
			if want := file + `:2: printer "p": ` + tt.want; err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v, want %q", err, want)
			}
		})
	}
}

// The demo trusts the local host and lets anyone who reaches it view the queue: without a
// configuration file every front-end it starts binds the loopback interface only.
func TestDemoListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	c := Demo(t.TempDir())
	tests := []struct{ key, addr, want string }{
		{"listen", c.Listen, "127.0.0.1:8631"},
		{"lpd_listen", c.LPDListen, "127.0.0.1:8515"},
		{`virtual printer "letters": raw_port`, c.RawListen(c.VirtualPrinters[0].RawPort), "127.0.0.1:9100"},
	}
	// What serve binds is what these say: the raw port on the host of listen.
	if got, want := c.RawListen(9100), net.JoinHostPort("127.0.0.1", "9100"); got != want {
		t.Errorf("RawListen(9100) = %q, want %q", got, want)
	}
	if got := (&Config{Listen: ":8631"}).RawListen(9100); got != ":9100" {
		t.Errorf("RawListen(9100) with listen \":8631\" = %q, want \":9100\"", got)
	}
	for _, tt := range tests {
		h, _, err := net.SplitHostPort(tt.addr)
		if ip := net.ParseIP(h); err != nil || ip == nil || !ip.IsLoopback() {
			t.Errorf("demo %s binds %q: not a loopback address", tt.key, tt.addr)
		}
		if tt.addr != tt.want {
			t.Errorf("demo %s = %q, want %q", tt.key, tt.addr, tt.want)
		}
	}
}

// A token is compared with what a client sends, which HTTP trims: a blank or padded one is a
// mistake (or, whitespace only, a password anyone can guess). Refused at the token's line,
// naming the token's name, never the token.
func TestParseRefusesBlankOrPaddedTokens(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, token string // token as written after "token: "
		want        []string
	}{
		{"16 characters", `"0123456789abcdef"`, nil},
		{"space inside", `"0123456789 abcdef"`, nil},
		{"empty", `""`, []string{`bad.yaml:5: auth token "prometheus": blank`}},
		{"no token key", "", []string{`bad.yaml:5: auth token "prometheus": blank`}},
		{"16 spaces", `"                "`, []string{`bad.yaml:5: auth token "prometheus": blank`}},
		{"tabs and newlines", `"\t\t\t\t\t\t\t\t\n\n\n\n\n\n\n\n"`, []string{`bad.yaml:5: auth token "prometheus": blank`}},
		{"leading space", `" 0123456789abcdef"`, []string{`bad.yaml:5: auth token "prometheus": leading or trailing whitespace`}},
		{"trailing tab", `"0123456789abcdef\t"`, []string{`bad.yaml:5: auth token "prometheus": leading or trailing whitespace`}},
		{"block scalar keeps its newline", "|\n        0123456789abcdef0123", []string{`bad.yaml:5: auth token "prometheus": leading or trailing whitespace`}},
		{"15 characters padded to 21", `"   0123456789abcde   "`, []string{
			`bad.yaml:5: auth token "prometheus": leading or trailing whitespace`,
			`bad.yaml:5: auth token "prometheus": at least 16 characters`}},
		{"15 characters", `"0123456789abcde"`, []string{`bad.yaml:5: auth token "prometheus": at least 16 characters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			second := "    - name: prometheus\n"
			if tt.token != "" {
				second += "      token: " + tt.token + "\n"
			}
			yaml := "auth:\n  tokens:\n    - name: backup\n      token: fedcba9876543210-backup\n" + second +
				good[strings.Index(good, "printers:"):]
			_, err := Parse("bad.yaml", []byte(yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("refused:\n%s\n%v", yaml, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted:\n%s", yaml)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error %q does not contain %q", err, w)
				}
				msg = msg[i+len(w):]
			}
			if strings.Contains(err.Error(), "0123456789abcde") {
				t.Errorf("error quotes the token: %v", err)
			}
		})
	}
}

// Two front-ends on one port would meet only when serve starts, as "address already in use"
// (or, on two distinct loopback addresses, not at all): config check refuses any two that
// would bind the same port on overlapping addresses, naming both keys and their lines.
func TestParseRefusesFrontendsOnOnePort(t *testing.T) {
	t.Parallel()
	// Line 1 is listen (or a filler), line 2 lpd_listen (or a filler), virtual printer i starts
	// at line 7+4i.
	conf := func(listen, lpd string, raw ...int) string {
		s := "spool: /tmp/pg\n"
		if listen != "" {
			s = "listen: " + listen + "\n"
		}
		if lpd != "" {
			s += "lpd_listen: " + lpd + "\n"
		} else {
			s += "log_level: info\n"
		}
		s += "printers:\n  - name: p\n    uri: file:///tmp/p\nvirtual_printers:\n"
		for i, r := range raw {
			queue := "    location: here\n"
			if lpd != "" {
				queue = fmt.Sprintf("    lpd_queue: q%d\n", i+1)
			}
			s += fmt.Sprintf("  - name: v%d\n    pool: [p]\n%s    raw_port: %d\n", i+1, queue, r)
		}
		return s
	}
	tests := []struct {
		name, yaml string
		want       string // "" for accepted
	}{
		{"all distinct", conf(`":8631"`, `":515"`, 9100, 9101), ""},
		{"no raw port", conf(`":8631"`, `":515"`, 0), ""},
		{"same port, two loopback addresses", conf(`"127.0.0.1:9631"`, `"127.0.0.2:9631"`, 9100), ""},
		{"same port, IPv4 and IPv6 loopback", conf(`"127.0.0.1:9631"`, `"[::1]:9631"`, 9100), ""},
		{"lpd_listen without a queue starts nothing", "listen: \":9631\"\nlpd_listen: \":9631\"\n" + good[strings.Index(good, "printers:"):], ""},
		{"raw port on listen's port", conf(`":9100"`, "", 9100),
			`bad.yaml:7: virtual printer "v1": raw_port 9100 (":9100") binds the same port as listen ":9100" (line 1)`},
		{"raw port on the default listen", conf("", "", 8631),
			`bad.yaml:7: virtual printer "v1": raw_port 8631 (":8631") binds the same port as listen ":8631" (the default)`},
		{"lpd on loopback, listen everywhere", conf(`":9631"`, `"127.0.0.1:9631"`, 9100),
			`bad.yaml:2: lpd_listen "127.0.0.1:9631" binds the same port as listen ":9631" (line 1)`},
		{"lpd everywhere, listen on loopback", conf(`"127.0.0.1:9631"`, `":9631"`, 9100),
			`bad.yaml:2: lpd_listen ":9631" binds the same port as listen "127.0.0.1:9631" (line 1)`},
		{"lpd on 0.0.0.0", conf(`"127.0.0.1:9631"`, `"0.0.0.0:9631"`, 9100),
			`bad.yaml:2: lpd_listen "0.0.0.0:9631" binds the same port as listen "127.0.0.1:9631" (line 1)`},
		{"lpd on [::]", conf(`"127.0.0.1:9631"`, `"[::]:9631"`, 9100),
			`bad.yaml:2: lpd_listen "[::]:9631" binds the same port as listen "127.0.0.1:9631" (line 1)`},
		{"localhost is 127.0.0.1", conf(`"127.0.0.1:9631"`, `"localhost:9631"`, 9100),
			`bad.yaml:2: lpd_listen "localhost:9631" binds the same port as listen "127.0.0.1:9631" (line 1)`},
		{"raw port on lpd's port", conf(`"127.0.0.1:8631"`, `":9100"`, 9100),
			`bad.yaml:7: virtual printer "v1": raw_port 9100 ("127.0.0.1:9100") binds the same port as lpd_listen ":9100" (line 2)`},
		{"listen, lpd and raw on one port", conf(`":9100"`, `":9100"`, 9100),
			`bad.yaml:2: lpd_listen ":9100" binds the same port as listen ":9100" (line 1)`},
		{"two raw ports alike", conf(`":8631"`, "", 9100, 9101, 9100),
			`bad.yaml:15: virtual printer "v3": raw_port 9100 already used by virtual printer "v1" (line 7)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("bad.yaml", []byte(tt.yaml))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused:\n%s\n%v", tt.yaml, err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("config:\n%s\nerror %v, want %q", tt.yaml, err, tt.want)
			}
		})
	}
}
