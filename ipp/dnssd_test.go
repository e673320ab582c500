// Tests of DNS-SD TXT records and of the advertiser without avahi-daemon.
package ipp

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/godbus/dbus/v5"

	"github.com/printgate/printgate/document"
)

func txtMap(t *testing.T, txt []string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, e := range txt {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			t.Fatalf("TXT entry without '=': %q", e)
		}
		if _, dup := m[k]; dup {
			t.Fatalf("TXT key %s twice", k)
		}
		if len(e) > 255 {
			t.Errorf("TXT entry %s is %d bytes", k, len(e))
		}
		m[k] = v
	}
	return m
}

func TestTXTRecord(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	p := svc.printers["letters"]
	txt, err := TXTRecord(p, "gateway.local:8631", false)
	if err != nil {
		t.Fatal(err)
	}
	m := txtMap(t, txt)
	want := map[string]string{
		"txtvers":          "1",
		"qtotal":           "1",
		"rp":               "ipp/print/letters",
		"ty":               "printgate Virtual Printer",
		"product":          "(printgate Virtual Printer)",
		"pdl":              "application/pdf,image/urf,image/pwg-raster,image/jpeg,application/octet-stream",
		"UUID":             p.UUID,
		"Color":            "T",
		"Duplex":           "T",
		"kind":             "document",
		"PaperMax":         "legal-A4",
		"adminurl":         "http://gateway.local:8631/ui/printers/letters",
		"note":             "Mail room",
		"mopria-certified": "1.3",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s=%q, want %q", k, m[k], v)
		}
	}
	if _, ok := m["TLS"]; ok {
		t.Error("TLS key without TLS")
	}
	if !strings.HasPrefix(m["URF"], "V1.4,") || !strings.Contains(m["URF"], "SRGB24") {
		t.Errorf("URF=%q", m["URF"])
	}

	// adminurl is printer-more-info and UUID is printer-uuid without its prefix, as a client
	// reaching the gateway by the advertised host sees them.
	s, _ := newTestServer(t, svc, Options{})
	m2 := newReq(goipp.OpGetPrinterAttributes, lettersURI)
	hr := serveHost(t, s, "gateway.local:8631", m2)
	if more, _ := hr.String("printer-more-info"); more != m["adminurl"] {
		t.Errorf("adminurl %q != printer-more-info %q", m["adminurl"], more)
	}
	if u, _ := hr.String("printer-uuid"); strings.TrimPrefix(u, "urn:uuid:") != m["UUID"] {
		t.Errorf("UUID %q != printer-uuid %q", m["UUID"], u)
	}

	mono, err := TXTRecord(svc.printers["mono"], "gw:631", true)
	if err != nil {
		t.Fatal(err)
	}
	mm := txtMap(t, mono)
	if mm["URF"] != "none" || mm["Color"] != "F" || mm["Duplex"] != "F" || mm["TLS"] != "1.2" ||
		mm["adminurl"] != "https://gw:631/ui/printers/mono" || mm["PaperMax"] != "legal-A4" {
		t.Errorf("mono TXT %v", mm)
	}
}

func TestTXTRecordLimits(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Ä", 200) // 400 bytes
	var formats []string
	for i := range 30 {
		formats = append(formats, "application/x-vendor-format-"+strings.Repeat("x", i))
	}
	formats = append(formats, document.PDF)
	p := &PrinterInfo{Name: "big", UUID: "urn:uuid:11111111-2222-4333-8444-555555555555", MakeModel: long, Location: long,
		Caps: Capabilities{Formats: formats, Media: []string{"iso_a3_297x420mm"}}}
	txt, err := TXTRecord(p, "gw:631", false)
	if err != nil {
		t.Fatal(err)
	}
	m := txtMap(t, txt)
	if !strings.HasPrefix(m["pdl"], document.PDF+",") {
		t.Errorf("pdl does not lead with PDF: %q", m["pdl"])
	}
	if !strings.HasSuffix(m["product"], ")") || !strings.HasPrefix(m["product"], "(") {
		t.Errorf("product %q", m["product"])
	}
	if m["UUID"] != "11111111-2222-4333-8444-555555555555" || m["PaperMax"] != "tabloid-A3" {
		t.Errorf("UUID %q PaperMax %q", m["UUID"], m["PaperMax"])
	}
	for _, k := range []string{"ty", "note", "product"} {
		if !strings.HasPrefix(long, strings.Trim(m[k], "()")) {
			t.Errorf("%s cut inside a character: %q", k, m[k])
		}
	}
}

func TestAdvertiserWithoutAvahi(t *testing.T) {
	t.Parallel()
	if _, err := NewAdvertiser(AdvertiserOptions{Port: 0}); err == nil {
		t.Error("port 0 accepted")
	}
	rec := &logRecorder{}
	calls := 0
	a, err := NewAdvertiser(AdvertiserOptions{Port: 8631, Logger: slog.New(rec), Bus: func() (*dbus.Conn, error) {
		calls++
		return nil, errors.New("no system bus")
	}})
	if err != nil {
		t.Fatal(err)
	}
	svc := newFakeService()
	for range 3 {
		if err := a.Publish([]*PrinterInfo{svc.printers["letters"]}); err != nil {
			t.Fatalf("Publish without avahi: %v", err)
		}
	}
	n, log := rec.errorCount()
	infos := 0
	for _, l := range log {
		if strings.Contains(l, "avahi-daemon not reachable") {
			infos++
		}
	}
	if n != 0 || infos != 1 || calls != 3 {
		t.Errorf("errors %d, 'not reachable' logged %d times, %d connection attempts: %v", n, infos, calls, log)
	}
	if len(a.Published()) != 0 {
		t.Error("published without avahi")
	}
	if err := a.Close(); err != nil {
		t.Error(err)
	}
}

// serveHost runs a request as a client that reached the server as host and returns the
// printer group.
func serveHost(t *testing.T, s *Server, host string, m *goipp.Message) Attrs {
	t.Helper()
	hr := newHTTPRequest(t)
	hr.Host = host
	hr.Body = nopBody(encode(t, m))
	hr.Header.Set("Content-Type", goipp.ContentType)
	w := newRecorder()
	s.ServeHTTP(w, hr)
	var rsp goipp.Message
	if err := rsp.DecodeBytes(w.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	if goipp.Status(rsp.Code) != goipp.StatusOk {
		t.Fatalf("status %s", goipp.Status(rsp.Code))
	}
	return Attrs(rsp.Printer)
}
