package policy

import (
	"os"
	"strings"
	"testing"
)

// TestConfigDocShowsTheTable: docs/CONFIG.md carries the table as Markdown renders it, so the
// documented policy is the enforced one.
func TestConfigDocShowsTheTable(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../docs/CONFIG.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	const begin, end = "<!-- policy table begin -->\n", "<!-- policy table end -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("docs/CONFIG.md has no policy table between %q and %q", begin, end)
	}
	if got, want := doc[i+len(begin):j], Markdown(); got != want {
		t.Errorf("docs/CONFIG.md's policy table differs from policy.Markdown(); paste this:\n%s", want)
	}
}

func TestEveryRuleNamed(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range Rules() {
		key := r.Protocol + " " + r.Operation
		if seen[key] {
			t.Errorf("%s twice in the table", key)
		}
		seen[key] = true
		if strings.HasPrefix(r.Need.String(), "Need(") {
			t.Errorf("%s: unknown need %d", key, r.Need)
		}
	}
	for _, c := range []string{LPDPrint, LPDReceive, LPDQueueShort, LPDQueueLong, LPDRemoveJobs, LPDAdminRemove} {
		if _, ok := LPD(c); !ok {
			t.Errorf("LPD command %q has no row", c)
		}
	}
}
