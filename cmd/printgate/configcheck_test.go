package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckSpoolURL: `config check` takes a postgres:// spool (it used to pass any string
// as a directory name, this one included) and refuses one without a database name, without
// showing the password.
func TestConfigCheckSpoolURL(t *testing.T) {
	t.Parallel()
	body := `printers:
  - name: a
    uri: file:///tmp/printgate-check-a
virtual_printers:
  - name: letters
    pool: [a]
`
	for _, tt := range []struct {
		spool, want string
	}{
		{"postgres://printgate:secret@db.example:5432/printgate", "ok"},
		{"postgres://printgate:secret@db.example:5432/", "no database name"},
	} {
		path := filepath.Join(t.TempDir(), "printgate.yaml")
		if err := os.WriteFile(path, []byte("spool: "+tt.spool+"\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"config", "check", path}, &out, &errOut)
		got := out.String()
		if err != nil {
			got += err.Error()
		}
		if !strings.Contains(got, tt.want) || strings.Contains(got, "secret") {
			t.Errorf("config check with spool %s: %q (%v), want %q and no password", tt.spool, got, err, tt.want)
		}
	}
}
