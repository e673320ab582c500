// docs/CONFIG.md stays true to the Config struct: every YAML key, found by walking the types,
// is named there, and every key its tables list exists.
package config

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const configDoc = "../docs/CONFIG.md"

// keyPaths lists the YAML key paths under t, written as the doc writes them: nested mappings
// joined by ".", list items as "[]" (auth.users[].password_hash).
func keyPaths(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			out = append(out, keyPaths(f.Type, prefix)...)
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name) // yaml.v3's rule for an untagged field
		}
		path := prefix + name
		out = append(out, path)
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch ft.Kind() {
		case reflect.Struct:
			out = append(out, keyPaths(ft, path+".")...)
		case reflect.Slice, reflect.Array:
			out = append(out, keyPaths(ft.Elem(), path+"[].")...)
		case reflect.Map:
			out = append(out, keyPaths(ft.Elem(), path+".*.")...)
		}
	}
	return out
}

func readConfigDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(configDoc)
	if err != nil {
		t.Fatalf("the configuration reference is missing: %v", err)
	}
	return string(b)
}

// TestKeyPathsWalksNesting guards the walker itself: a walker that found nothing would let
// any doc pass.
func TestKeyPathsWalksNesting(t *testing.T) {
	t.Parallel()
	keys := keyPaths(reflect.TypeOf(Config{}), "")
	for _, want := range []string{"listen", "auth.users[].password_hash", "auth.trust_loopback",
		"printers[].color", "virtual_printers[].raw_port"} {
		if !slices.Contains(keys, want) {
			t.Errorf("keyPaths misses %q; found %v", want, keys)
		}
	}
	if slices.Contains(keys, "path") {
		t.Error(`keyPaths lists Config.Path, tagged yaml:"-"`)
	}
}

// TestConfigDocNamesEveryKey fails naming each key of the Config struct that has no row of
// its own in a key table of docs/CONFIG.md (its full path, e.g. `printers[].ppm`).
func TestConfigDocNamesEveryKey(t *testing.T) {
	t.Parallel()
	documented := map[string]bool{}
	for _, r := range keyTableRows(readConfigDoc(t)) {
		documented[r.key] = true
	}
	for _, k := range keyPaths(reflect.TypeOf(Config{}), "") {
		if !documented[k] {
			t.Errorf("docs/CONFIG.md does not document the key `%s` (no row | `%s` | ... | in a key table)", k, k)
		}
	}
}

// keyRow is a row of a key table in the doc: "| `printers[].ppm` | ...".
var keyRow = regexp.MustCompile("^\\|\\s*`([^`]+)`")

// keyTableRow is one row of a key table: the key and the row's cells.
type keyTableRow struct {
	key   string
	cells []string
}

// keyTableRows returns the rows of the doc's key tables, the tables whose header starts with
// "| Key" (other tables, such as the URI schemes, are prose).
func keyTableRows(doc string) []keyTableRow {
	var out []keyTableRow
	inTable := false
	for line := range strings.SplitSeq(doc, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "| Key"):
			inTable = true
		case !strings.HasPrefix(line, "|"):
			inTable = false
		case inTable:
			if m := keyRow.FindStringSubmatch(line); m != nil {
				out = append(out, keyTableRow{key: m[1], cells: strings.Split(strings.Trim(line, "|"), "|")})
			}
		}
	}
	return out
}

// TestConfigDocKeysExist fails naming each key listed in a key table of docs/CONFIG.md that
// the Config struct does not have: a key renamed or removed in the code must leave the doc too.
func TestConfigDocKeysExist(t *testing.T) {
	t.Parallel()
	keys := keyPaths(reflect.TypeOf(Config{}), "")
	seen := map[string]bool{}
	for _, r := range keyTableRows(readConfigDoc(t)) {
		if !slices.Contains(keys, r.key) {
			t.Errorf("docs/CONFIG.md documents `%s`, which is not a configuration key", r.key)
		}
		if seen[r.key] {
			t.Errorf("docs/CONFIG.md documents `%s` twice", r.key)
		}
		seen[r.key] = true
	}
}

// defaults renders the value of every scalar key outside lists as the doc writes it
// (24h, 256MiB, ":8631"), keyed by path.
func defaults(v reflect.Value, prefix string, out map[string]string) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		fv := v.Field(i)
		switch x := fv.Interface().(type) {
		case Duration:
			s := x.D().String()
			if strings.ContainsAny(s, "hm") {
				s = strings.TrimSuffix(s, "0s")
			}
			if strings.Contains(s, "h") {
				s = strings.TrimSuffix(s, "0m")
			}
			out[prefix+name] = s
		case ByteSize:
			switch {
			case x != 0 && x%(1<<30) == 0:
				out[prefix+name] = fmt.Sprintf("%dGiB", x>>30)
			case x != 0 && x%(1<<20) == 0:
				out[prefix+name] = fmt.Sprintf("%dMiB", x>>20)
			case x != 0 && x%(1<<10) == 0:
				out[prefix+name] = fmt.Sprintf("%dKiB", x>>10)
			default:
				out[prefix+name] = fmt.Sprint(int64(x))
			}
		case string:
			if x == "" {
				x = `""`
			}
			out[prefix+name] = x
		case int, bool:
			out[prefix+name] = fmt.Sprint(x)
		default:
			if fv.Kind() == reflect.Struct {
				defaults(fv, prefix+name+".", out)
			}
		}
	}
}

// TestConfigDocDefaults checks the Default column of the key tables against Defaults() for
// every key outside the printer lists.
func TestConfigDocDefaults(t *testing.T) {
	t.Parallel()
	doc := readConfigDoc(t)
	var c Config
	c.Defaults()
	want := map[string]string{}
	defaults(reflect.ValueOf(c), "", want)
	if want["retention"] != "24h" || want["min_free_disk"] != "256MiB" {
		t.Fatalf("defaults rendered as %v", want)
	}
	found := map[string]bool{}
	for _, r := range keyTableRows(doc) {
		w, ok := want[r.key]
		if !ok {
			continue
		}
		found[r.key] = true
		if len(r.cells) != 4 {
			t.Errorf("docs/CONFIG.md: row of `%s` should read | Key | Type | Default | What it does |", r.key)
			continue
		}
		if !strings.Contains(r.cells[2], "`"+w+"`") {
			t.Errorf("docs/CONFIG.md gives `%s` the default %q; the code's default is `%s`", r.key, strings.TrimSpace(r.cells[2]), w)
		}
	}
	for k := range want {
		if !found[k] {
			t.Errorf("docs/CONFIG.md has no table row for `%s`", k)
		}
	}
}

// yamlBlock returns the first ```yaml block after heading in the doc.
func yamlBlock(t *testing.T, doc, heading string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/CONFIG.md has no %q section", heading)
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatalf("docs/CONFIG.md: %q has no ```yaml block", heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("docs/CONFIG.md: the yaml block of %q is not closed", heading)
	}
	return block
}

// TestConfigDocDemo checks the demo written out in docs/CONFIG.md against config.Demo.
func TestConfigDocDemo(t *testing.T) {
	t.Parallel()
	block := yamlBlock(t, readConfigDoc(t), "## The built-in demo")
	abs, err := filepath.Abs("./data")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("demo", []byte(strings.ReplaceAll(block, "/ABSOLUTE/PATH/TO/SPOOL", abs)))
	if err != nil {
		t.Fatalf("the demo in docs/CONFIG.md does not parse:\n%v", err)
	}
	got.Path = ""
	got.listenLine, got.lpdListenLine = 0, 0
	for i := range got.Printers {
		got.Printers[i].line = 0
	}
	for i := range got.VirtualPrinters {
		got.VirtualPrinters[i].line = 0
	}
	if want := Demo("./data"); !reflect.DeepEqual(got, want) {
		t.Errorf("docs/CONFIG.md shows the demo as\n%+v\nconfig.Demo is\n%+v", got, want)
	}
}

// TestConfigDocExampleParses checks the annotated example in docs/CONFIG.md (the first yaml
// block after the heading "## Complete example") against the parser.
func TestConfigDocExampleParses(t *testing.T) {
	t.Parallel()
	example := yamlBlock(t, readConfigDoc(t), "## Complete example")
	c, err := Parse("CONFIG.md example", []byte(example))
	if err != nil {
		t.Fatalf("the complete example does not parse:\n%v", err)
	}
	// The example should show every key: one not set there is one an operator cannot copy.
	set := map[string]bool{}
	for line := range strings.SplitSeq(example, "\n") {
		line = strings.TrimLeft(strings.TrimSpace(line), "- ")
		if k, _, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(k, "#") {
			set[k] = true
		}
	}
	for _, k := range keyPaths(reflect.TypeOf(Config{}), "") {
		leaf := k[strings.LastIndexAny(k, ".")+1:]
		if !set[leaf] {
			t.Errorf("the complete example does not set `%s`", k)
		}
	}
	if c.Path == "" || len(c.Printers) == 0 {
		t.Errorf("example decoded to %+v", c)
	}
}
