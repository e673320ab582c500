package pgspool

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/printgate/printgate/job"
)

// TestDBErrorDiskFull: the server's "disk full" (SQLSTATE 53100) is job.ErrDiskFull, which the front-ends answer as a full spool; other errors stay as they are.
func TestDBErrorDiskFull(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		code string
		full bool
	}{{"53100", true}, {"53400", false}, {"23505", false}, {"40P01", false}} {
		err := dbError(fmt.Errorf("commit: %w", &pgconn.PgError{Code: tt.code, Message: "x"}))
		if got := errors.Is(err, job.ErrDiskFull); got != tt.full {
			t.Errorf("SQLSTATE %s: ErrDiskFull %v, want %v (%v)", tt.code, got, tt.full, err)
		}
	}
}

// TestRebind: `?` placeholders become $1, $2, … in order.
func TestRebind(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`SELECT 1`: `SELECT 1`,
		`UPDATE jobs SET a = ?, b = ? WHERE id = ?`: `UPDATE jobs SET a = $1, b = $2 WHERE id = $3`,
		`x IN (?,?,?,?,?,?,?,?,?,?)`:                `x IN ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`,
	} {
		if got := rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
	}
}
