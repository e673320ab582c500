package main

import (
	"slices"
	"testing"
)

func TestHoistGlobalFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr bool
	}{
		{"none", []string{"jobs", "list"}, []string{"jobs", "list"}, false},
		{"server before jobs list", []string{"--server", "http://h:1", "jobs", "list", "--limit", "3"},
			[]string{"jobs", "list", "--server", "http://h:1", "--limit", "3"}, false},
		{"equals form and json before printers drain", []string{"--server=http://h:1", "--json", "printers", "drain", "p1"},
			[]string{"printers", "drain", "--server=http://h:1", "--json", "p1"}, false},
		{"token before submit", []string{"-token", "T", "submit", "a.pdf"}, []string{"submit", "-token", "T", "a.pdf"}, false},
		{"bulk show", []string{"--json", "bulk", "show", "7"}, []string{"bulk", "show", "--json", "7"}, false},
		{"unknown flag", []string{"--printer", "x", "submit", "a.pdf"}, nil, true},
		{"missing value", []string{"--server"}, nil, true},
		{"help stays", []string{"--help"}, []string{"--help"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := hoistGlobalFlags(tc.args)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
