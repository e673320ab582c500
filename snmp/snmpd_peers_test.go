//go:build peers

package snmp

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/printgate/printgate/e2e/peer"
)

func TestMain(m *testing.M) {
	peer.ServePassPersistIfAsked()
	os.Exit(m.Run())
}

// TestPollRealAgent reads a Printer-MIB served by Debian's snmpd over v1, v2c and v3 authPriv:
// the error bitmap in one and in two octets, the counter, supplies and new alert rows.
func TestPollRealAgent(t *testing.T) {
	a := peer.StartSNMPD(t, peer.PrinterMIB{Status: 3, Device: 2, ErrorState: []byte{0x44}, LifeCount: 1234,
		Supplies: []peer.MIBSupply{{Description: "Black Toner", MaxCapacity: 200, Level: 50}},
		Alerts:   []peer.MIBAlert{{Index: 7, Severity: 3, Group: 8, Code: 8, Description: "paper jam"}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range []Config{
		{Version: "1", Community: a.Community},
		{Version: "2c", Community: a.Community},
		{Version: "3", V3: V3{User: a.User, AuthProtocol: "SHA", AuthPassword: a.AuthPass, PrivProtocol: "AES", PrivPassword: a.PrivPass}},
	} {
		c.Host, c.Port, c.Timeout = "127.0.0.1", a.Port, time.Second
		cl, err := New(c)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cl.Poll(ctx)
		if err != nil {
			t.Fatalf("v%s: %v", c.Version, err)
		}
		if r.Status != StatusIdle || r.Device != DeviceRunning || r.Errors != NoPaper|Jammed || !r.HasLifeCount || r.LifeCount != 1234 {
			t.Errorf("v%s: reading %+v", c.Version, r)
		}
		if len(r.Supplies) != 1 || r.Supplies[0].Description != "Black Toner" || r.Supplies[0].Percent() != 25 {
			t.Errorf("v%s: supplies %+v", c.Version, r.Supplies)
		}
		if len(r.Alerts) != 1 || r.Alerts[0].Index != 7 || r.Alerts[0].Description != "paper jam" || len(r.NewAlerts) != 1 {
			t.Errorf("v%s: alerts %+v new %+v", c.Version, r.Alerts, r.NewAlerts)
		}
		// The same rows again are not new; a higher index is.
		if r, err = cl.Poll(ctx); err != nil || len(r.NewAlerts) != 0 {
			t.Errorf("v%s: second poll new alerts %+v, %v", c.Version, r.NewAlerts, err)
		}
	}
	a.Set(t, func(m *peer.PrinterMIB) {
		m.ErrorState = []byte{0x00, 0x04} // inputTrayEmpty, bit 13: only in the second octet
		m.LifeCount = 1240
		m.Alerts = append(m.Alerts, peer.MIBAlert{Index: 8, Severity: 4, Group: 8, Code: 808, Description: "tray 2 empty"})
	})
	cl, _ := New(Config{Host: "127.0.0.1", Port: a.Port, Version: "2c", Community: a.Community, Timeout: time.Second})
	cl.maxAlert = 7
	r, err := cl.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Errors != InputTrayEmpty || !r.Health().Stopped || r.LifeCount != 1240 {
		t.Errorf("two-octet reading %+v health %+v", r, r.Health())
	}
	if len(r.NewAlerts) != 1 || r.NewAlerts[0].Index != 8 {
		t.Errorf("new alerts %+v", r.NewAlerts)
	}
	// A wrong community gets no answer: an error, not a reading.
	bad, _ := New(Config{Host: "127.0.0.1", Port: a.Port, Version: "2c", Community: "wrong", Timeout: 300 * time.Millisecond, Retries: -1})
	if _, err := bad.Counter(ctx); err == nil {
		t.Error("wrong community: no error")
	}
}
