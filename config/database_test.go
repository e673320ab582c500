package config

import (
	"strings"
	"testing"
)

// TestSpoolDriver: a postgres:// URL selects the PostgreSQL driver (it used to be taken as the
// name of a directory), a path the SQLite one, and a bad URL is an error that config check
// reports without the password.
func TestSpoolDriver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spool   string
		driver  string
		wantErr string // substring; "" means valid
	}{
		{"/var/lib/printgate", DriverSQLite, ""},
		{"./data", DriverSQLite, ""},
		{"postgres://printgate@db.example:5432/printgate", DriverPostgres, ""},
		{"postgresql://printgate:secret@db.example/printgate?sslmode=verify-full", DriverPostgres, ""},
		{"POSTGRES://db.example/printgate", DriverPostgres, ""},
		{"postgres:///printgate?host=/run/postgresql", DriverPostgres, ""},
		{"postgres://printgate:secret@db.example:5432/", DriverPostgres, "no database name"},
		{"postgres:///printgate", DriverPostgres, "no host"},
		{"postgres://db.example:0/printgate", DriverPostgres, "not a TCP port"},
		{"mysql://db.example/printgate", DriverSQLite, "not postgres://"},
	}
	for _, tt := range tests {
		t.Run(tt.spool, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("spool.yaml", []byte("spool: "+tt.spool+"\n"+strings.Replace(good, "spool: /tmp/pg\n", "", 1)))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Parse: %v, want an error with %q", err, tt.wantErr)
			case err != nil && strings.Contains(err.Error(), "secret"):
				t.Fatalf("the error shows the password: %v", err)
			}
			c := &Config{Spool: tt.spool}
			if got := c.SpoolDriver(); got != tt.driver {
				t.Errorf("SpoolDriver() = %q, want %q", got, tt.driver)
			}
		})
	}
	if got := (&Config{Spool: "postgres://u:secret@h/db"}).RedactSpool(); strings.Contains(got, "secret") {
		t.Errorf("RedactSpool() = %q shows the password", got)
	}
}
