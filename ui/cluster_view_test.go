package ui

import (
	"net/http"
	"strings"
	"testing"

	"github.com/printgate/printgate/queue"
)

// drivers is a Coordinator of a cluster in which another gateway drives demo-a.
type drivers struct{ queue.Single }

func (drivers) Gateway() string { return "gw-a" }

func (drivers) Lease(p string) queue.Lease {
	if p == "demo-a" {
		return queue.Lease{Gateway: "gw-b"}
	}
	return queue.Lease{Held: true, Epoch: 3, Gateway: "gw-a"}
}

// TestPrintersShowTheGatewayThatDrivesThem: with several gateways on one spool, the overview,
// the printer page and the printers API say which gateway drives each printer; a gateway alone
// says nothing of the kind.
func TestPrintersShowTheGatewayThatDrivesThem(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{pause: true, coordinator: drivers{}})
	c := g.client()
	g.login(c)
	page := g.get(c, "/ui/", http.StatusOK)
	for _, want := range []string{`data-gateway="gw-b"`, `data-gateway="gw-a"`, "gateway gw-b"} {
		if !strings.Contains(page, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if page := g.get(c, "/ui/printers/demo-a", http.StatusOK); !strings.Contains(page, `data-gateway="gw-b"`) {
		t.Error("printer page does not say gw-b drives demo-a")
	}
	if api := g.get(c, "/api/v1/printers", http.StatusOK); !strings.Contains(api, `"gateway": "gw-b"`) || !strings.Contains(api, `"gateway": "gw-a"`) {
		t.Errorf("printers API lacks the driving gateways: %s", api)
	}
	alone := newTestGateway(t, gwOptions{pause: true})
	ac := alone.client()
	alone.login(ac)
	if page := alone.get(ac, "/ui/", http.StatusOK); strings.Contains(page, "data-gateway") {
		t.Error("a gateway alone shows a driving gateway")
	}
	if api := alone.get(ac, "/api/v1/printers", http.StatusOK); strings.Contains(api, `"gateway"`) {
		t.Errorf("a gateway alone's printers API names a gateway: %s", api)
	}
}
