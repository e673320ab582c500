// Unit tests of the harness's parsers and small helpers; no peer programs needed.
package peer

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseJobRecord(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		"printer": "p1", "job_id": "7", "job_name": "Letter 1", "user": "alice", "format": "application/pdf",
		"size": "1234", "sha256": "ab", "pages": "3", "pages_estimated": "0", "copies": "2",
		"impressions": "6", "impressions_done": "6", "seconds_per_page": "0.500",
		"start_ns": "1000000000", "end_ns": "4500000000", "stopped_ns": "250000000", "completed": "1", "doc": "",
	}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range full {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		kv      map[string]string
		wantErr bool
		check   func(t *testing.T, j PrintedJob)
	}{
		{name: "completed", kv: full, check: func(t *testing.T, j PrintedJob) {
			if j.JobID != 7 || j.Impressions != 6 || j.SecondsPerPage != 0.5 || !j.Completed || j.User != "alice" {
				t.Errorf("got %+v", j)
			}
			if j.Duration() != 3500*time.Millisecond || j.Stopped != 250*time.Millisecond {
				t.Errorf("duration %v stopped %v", j.Duration(), j.Stopped)
			}
		}},
		{name: "unfinished has no end", kv: with("end_ns", "0"), check: func(t *testing.T, j PrintedJob) {
			if !j.End.IsZero() {
				t.Errorf("End = %v, want zero", j.End)
			}
		}},
		{name: "not completed has zero duration", kv: with("completed", "0"), check: func(t *testing.T, j PrintedJob) {
			if j.Duration() != 0 {
				t.Errorf("Duration = %v", j.Duration())
			}
		}},
		{name: "bad number", kv: with("pages", "x"), wantErr: true},
		{name: "missing field", kv: with("size", ""), wantErr: true},
		{name: "bad seconds", kv: with("seconds_per_page", "fast"), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j, err := parseJobRecord(tc.kv)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, j)
			}
		})
	}
}

func TestShellQuoteSurvivesTheShell(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "with space", "it's", `a"b`, "$HOME", "back\\slash", "new\nline", ""} {
		out, err := exec.Command("/bin/sh", "-c", "printf '%s' "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) came back as %q", s, out)
		}
	}
}

func TestIPPToolFilesFollowsIncludes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("top.test", "INCLUDE \"mid.test\"\n{\n\tFILE a.pdf\n\tFILE $filename\n}\n{\n\tFILE pwg-raster-samples-300dpi/sgray-8/x-sgray-8-300dpi.pwg\n}\n")
	write("mid.test", "INCLUDE <leaf.test>\n{\n  FILE \"b.jpg\"\n  FILE a.pdf\n}\n")
	write("leaf.test", "# FILE commented.pdf is a comment line: its first field is #\n{\n\tFILE c.ps\n}\nINCLUDE \"top.test\"\n")
	got, err := IPPToolFiles(filepath.Join(dir, "top.test"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c.ps", "b.jpg", "a.pdf", "pwg-raster-samples-300dpi/sgray-8/x-sgray-8-300dpi.pwg"}
	if !slices.Equal(got, want) {
		t.Errorf("IPPToolFiles = %q, want %q", got, want)
	}
	if _, err := IPPToolFiles(filepath.Join(dir, "missing.test")); err == nil {
		t.Errorf("missing test file: no error")
	}
}

func TestPWGSampleNames(t *testing.T) {
	t.Parallel()
	support := PWGRasterSupport{Resolutions: []int{300, 600}, Types: []string{"sgray_8", "srgb-8"}}
	tests := []struct {
		name  string
		match bool
		cover bool
	}{
		{"pwg-raster-samples-300dpi/sgray-8/document-a4-sgray-8-300dpi.pwg", true, true},
		{"pwg-raster-samples-600dpi/srgb-8/color.jpg-4x6-srgb-8-600dpi.pwg", true, true},
		{"pwg-raster-samples-600dpi/srgb-16/color.jpg-4x6-srgb-16-600dpi.pwg", true, false},
		{"pwg-raster-samples-150dpi/sgray-8/onepage-letter-sgray-8-150dpi.pwg", true, false},
		{"document-a4.pdf", false, false},
	}
	for _, tc := range tests {
		m := pwgSampleRE.FindStringSubmatch(tc.name)
		if (m != nil) != tc.match {
			t.Errorf("%s: match %v, want %v", tc.name, m != nil, tc.match)
			continue
		}
		if m == nil {
			continue
		}
		res := map[string]int{"150": 150, "300": 300, "600": 600}[m[1]]
		if got := support.covers(res, m[2]); got != tc.cover {
			t.Errorf("%s: covered %v, want %v", tc.name, got, tc.cover)
		}
		if _, ok := pwgTypes[m[2]]; !ok {
			t.Errorf("%s: type %s unknown to Ghostscript table", tc.name, m[2])
		}
	}
}

func TestIPPToolOutputParsing(t *testing.T) {
	t.Parallel()
	out := strings.Join([]string{
		`"/usr/share/cups/ipptool/ipp-1.1.test":`,
		`    Get-Printer-Attributes                                               [PASS]`,
		`    Print-Job with copies                                                [FAIL]`,
		`        EXPECTED: job-state-reasons`,
		`    Validate-Job                                                         [SKIP]`,
		``,
		`Summary: 37 tests, 25 passed, 3 failed, 9 skipped`,
		`Score: 91%`,
	}, "\n")
	s, ok := ParseIPPToolSummary(out)
	if !ok || s != (IPPToolSummary{Tests: 37, Passed: 25, Failed: 3, Skipped: 9}) {
		t.Errorf("summary %+v ok %v", s, ok)
	}
	if f := IPPToolFailures(out); !slices.Equal(f, []string{"Print-Job with copies"}) {
		t.Errorf("failures %q", f)
	}
	if _, ok := ParseIPPToolSummary("no summary here"); ok {
		t.Errorf("summary found in text without one")
	}
}

func TestPrinterStatusHasReason(t *testing.T) {
	t.Parallel()
	st := PrinterStatus{Reasons: []string{"media-empty-error", "toner-low-warning", "paused"}}
	for reason, want := range map[string]bool{"media-empty": true, "toner-low": true, "paused": true, "media-jam": false, "media": false} {
		if got := st.HasReason(reason); got != want {
			t.Errorf("HasReason(%q) = %v, want %v", reason, got, want)
		}
	}
}

func TestEnvWithReplaces(t *testing.T) {
	t.Setenv("PEER_TEST_VAR", "old")
	env := envWith("PEER_TEST_VAR=new", "PEER_OTHER=x")
	var seen []string
	for _, kv := range env {
		if strings.HasPrefix(kv, "PEER_TEST_VAR=") || strings.HasPrefix(kv, "PEER_OTHER=") {
			seen = append(seen, kv)
		}
	}
	if !slices.Equal(seen, []string{"PEER_TEST_VAR=new", "PEER_OTHER=x"}) {
		t.Errorf("env has %q", seen)
	}
}
