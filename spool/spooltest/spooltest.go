// Package spooltest lets tests look into a spool directory as an operator could, beside a
// running gateway: what documents it holds, wherever the spool keeps them.
package spooltest

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the driver spool.db is read with
)

// Documents counts the documents the spool directory dir holds: the files under docs/ and tmp/
// (attached, staged or half-written) and the small documents kept inside spool.db. A test that
// checks a refused job left nothing behind compares it before and after.
func Documents(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	for _, sub := range []string{"docs", "tmp"} {
		es, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Type().IsRegular() {
				n++
			}
		}
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(dir, "spool.db")+"?_query_only=1&_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var inline int
	if err := db.QueryRow(`SELECT count(*) FROM document_bytes`).Scan(&inline); err != nil {
		t.Fatalf("spooltest: count the documents inside %s/spool.db: %v", dir, err)
	}
	return n + inline
}
