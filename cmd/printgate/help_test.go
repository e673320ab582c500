package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
)

// printgate --help and printgate submit --help name every flag submit takes.
func TestSubmitHelpNamesEveryFlag(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"submit", "--help"}, &stdout, &stderr); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("submit --help: %v", err)
	}
	help := stderr.String()
	_, top, _ := strings.Cut(usage, "printgate submit ")
	top, _, _ = strings.Cut(top, "print files")
	for _, f := range []string{"--printer", "--name", "--owner", "--copies", "--sides", "--media"} {
		if !strings.Contains(top, f) {
			t.Errorf("printgate --help: the submit line lacks %s", f)
		}
		if !strings.Contains(help, "-"+strings.TrimLeft(f, "-")) {
			t.Errorf("printgate submit --help lacks %s:\n%s", f, help)
		}
	}
	// It opens with the command's usage line, not flag's generic "Usage of submit:".
	if line, _, _ := strings.Cut(help, "\n"); !strings.HasPrefix(line, "usage: printgate submit [") || !strings.Contains(help, "[--owner WHO]") {
		t.Errorf("printgate submit --help starts %q", line)
	}
}

// README.md's list of commands names every command printgate --help does.
func TestREADMEListsEveryCommand(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, readme, ok := strings.Cut(string(b), "## Commands")
	if !ok {
		t.Fatal("README.md has no Commands section")
	}
	readme, _, _ = strings.Cut(readme, "\n## ")
	tests := []struct{ command, inUsage, inREADME string }{
		{"serve", "printgate serve", "`serve`"},
		{"config check", "printgate config check FILE", "`config check FILE`"},
		{"submit", "printgate submit", "`submit`"},
		{"jobs", "printgate jobs list", "`jobs list|show|cancel|hold|release|retry|move|purge`"},
		{"jobs purge", "printgate jobs purge", "|purge`"},
		{"jobs retry", "cancel|hold|release|retry", "|retry|"},
		{"jobs move", "printgate jobs move", "|move|"},
		{"jobs duplicates", "printgate jobs duplicates [--run ID]", "`jobs duplicates|duplicate`"},
		{"jobs duplicate", "printgate jobs duplicate ID printed-once|printed-twice", "|duplicate`"},
		{"printers", "printgate printers drain|resume", "`printers list|drain|resume`"},
		{"bulk", "printgate bulk submit", "`bulk submit|list|show|pause|resume|cancel|reprint|manifest|unschedule`"},
		{"hash-password", "printgate hash-password", "`hash-password`"},
		{"version", "printgate version", "`version`"},
	}
	for _, tt := range tests {
		if !strings.Contains(usage, tt.inUsage) {
			t.Errorf("printgate --help does not list %s (%q)", tt.command, tt.inUsage)
		}
		if !strings.Contains(readme, tt.inREADME) {
			t.Errorf("README.md's Commands section does not list %s (%q)", tt.command, tt.inREADME)
		}
	}
}
