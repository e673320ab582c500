package queue

import (
	"regexp"
	"testing"
)

func TestVirtualUUID(t *testing.T) {
	t.Parallel()
	form := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a := VirtualUUID("gw1", "/var/lib/printgate", "letters")
	if !form.MatchString(a) {
		t.Fatalf("VirtualUUID = %q, not a version-5 urn:uuid", a)
	}
	if again := VirtualUUID("gw1", "/var/lib/printgate", "letters"); again != a {
		t.Errorf("not stable: %s then %s", a, again)
	}
	for _, other := range []string{
		VirtualUUID("gw2", "/var/lib/printgate", "letters"),
		VirtualUUID("gw1", "/srv/spool", "letters"),
		VirtualUUID("gw1", "/var/lib/printgate", "forms"),
	} {
		if other == a {
			t.Errorf("another host, spool or name gave the same uuid %s", a)
		}
	}
}
