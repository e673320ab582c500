//go:build peers

// The advertiser against a stand-in for avahi-daemon: a private D-Bus daemon where the test
// owns org.freedesktop.Avahi and records the calls, checking the D-Bus method names and
// argument types match what avahi-daemon expects.
package ipp

import (
	"slices"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakeAvahi implements the parts of org.freedesktop.Avahi.Server and .EntryGroup we use.
type fakeAvahi struct {
	mu sync.Mutex
	// taken are instance names another host already has (AddService answers CollisionError).
	taken    map[string]bool
	services map[string][]string // instance name → TXT strings
	subtypes []string
	ports    []uint16
	commits  int
	resets   int
	types    []string
}

type fakeAvahiServer struct{ f *fakeAvahi }

func (s fakeAvahiServer) GetAPIVersion() (int32, *dbus.Error) { return 515, nil }
func (s fakeAvahiServer) GetHostNameFqdn() (string, *dbus.Error) {
	return "gateway.local", nil
}
func (s fakeAvahiServer) EntryGroupNew() (dbus.ObjectPath, *dbus.Error) {
	return "/Client1/EntryGroup1", nil
}
func (s fakeAvahiServer) GetAlternativeServiceName(name string) (string, *dbus.Error) {
	return name + " #2", nil
}

type fakeAvahiGroup struct{ f *fakeAvahi }

func (g fakeAvahiGroup) AddService(iface, proto int32, flags uint32, name, stype, domain, host string, port uint16, txt [][]byte) *dbus.Error {
	g.f.mu.Lock()
	defer g.f.mu.Unlock()
	if g.f.taken[name] {
		return &dbus.Error{Name: "org.freedesktop.Avahi.CollisionError", Body: []any{"Local name collision"}}
	}
	var strs []string
	for _, t := range txt {
		strs = append(strs, string(t))
	}
	g.f.services[name] = strs
	g.f.ports = append(g.f.ports, port)
	g.f.types = append(g.f.types, stype)
	return nil
}

func (g fakeAvahiGroup) AddServiceSubtype(iface, proto int32, flags uint32, name, stype, domain, subtype string) *dbus.Error {
	g.f.mu.Lock()
	defer g.f.mu.Unlock()
	g.f.subtypes = append(g.f.subtypes, name+"|"+subtype)
	return nil
}

func (g fakeAvahiGroup) Commit() *dbus.Error {
	g.f.mu.Lock()
	defer g.f.mu.Unlock()
	g.f.commits++
	return nil
}

func (g fakeAvahiGroup) Reset() *dbus.Error {
	g.f.mu.Lock()
	defer g.f.mu.Unlock()
	g.f.resets++
	g.f.services = map[string][]string{}
	g.f.subtypes = nil
	return nil
}

func (g fakeAvahiGroup) Free() *dbus.Error { return nil }

func TestAdvertiserOverDBus(t *testing.T) {
	addr := privateBus(t)
	owner, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Close() })
	f := &fakeAvahi{taken: map[string]bool{"Letters": true}, services: map[string][]string{}}
	if err := owner.Export(fakeAvahiServer{f}, "/", "org.freedesktop.Avahi.Server"); err != nil {
		t.Fatal(err)
	}
	if err := owner.Export(fakeAvahiGroup{f}, "/Client1/EntryGroup1", "org.freedesktop.Avahi.EntryGroup"); err != nil {
		t.Fatal(err)
	}
	if reply, err := owner.RequestName("org.freedesktop.Avahi", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.Avahi: %v %v", reply, err)
	}

	a, err := NewAdvertiser(AdvertiserOptions{Port: 8631, Bus: func() (*dbus.Conn, error) { return dbus.Connect(addr) }})
	if err != nil {
		t.Fatal(err)
	}
	svc := newFakeService()
	if err := a.Publish([]*PrinterInfo{svc.printers["letters"], svc.printers["mono"]}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if f.commits != 1 || len(f.services) != 2 {
		t.Errorf("commits %d, services %v", f.commits, f.services)
	}
	txt, ok := f.services["Letters #2"]
	if !ok {
		t.Errorf("collision not resolved with the alternative name: %v", f.services)
	}
	if !slices.Contains(txt, "rp=ipp/print/letters") || !slices.Contains(txt, "adminurl=http://gateway.local:8631/ui/printers/letters") {
		t.Errorf("TXT %v", txt)
	}
	wantSubs := []string{"Letters #2|_print._sub._ipp._tcp", "Letters #2|_universal._sub._ipp._tcp",
		"mono|_print._sub._ipp._tcp", "mono|_universal._sub._ipp._tcp"}
	if !slices.Equal(f.subtypes, wantSubs) {
		t.Errorf("subtypes %v, want %v", f.subtypes, wantSubs)
	}
	if !slices.Equal(f.ports, []uint16{8631, 8631}) || !slices.Equal(f.types, []string{"_ipp._tcp", "_ipp._tcp"}) {
		t.Errorf("ports %v types %v", f.ports, f.types)
	}
	f.mu.Unlock()
	if got := a.Published(); got["letters"] != "Letters #2" || got["mono"] != "mono" {
		t.Errorf("Published %v", got)
	}

	// Publishing again replaces, not adds.
	if err := a.Publish([]*PrinterInfo{svc.printers["mono"]}); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	if len(f.services) != 1 || f.resets != 2 || f.commits != 2 {
		t.Errorf("after republish: services %v resets %d commits %d", f.services, f.resets, f.commits)
	}
	f.mu.Unlock()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.services) != 0 || len(f.subtypes) != 0 {
		t.Errorf("Close left services %v", f.services)
	}
}
