// Tests of Get-Printer-Attributes: requested-attributes groups, values from the Service, and
// the IPP Everywhere details Windows and macOS depend on.
package ipp

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

func getPrinterAttrs(t *testing.T, s *Server, requested ...string) Attrs {
	t.Helper()
	m := newReq(goipp.OpGetPrinterAttributes, lettersURI)
	if len(requested) > 0 {
		addOp(m, "requested-attributes", goipp.TagKeyword, goipp.String(requested[0]), stringValues(requested[1:])...)
	}
	rsp := do(t, s, "/ipp/print/letters", m, nil)
	if status(rsp) != goipp.StatusOk {
		t.Fatalf("status %s", status(rsp))
	}
	return Attrs(rsp.Printer)
}

func names(a Attrs) []string {
	out := make([]string, len(a))
	for i, at := range a {
		out[i] = at.Name
	}
	return out
}

func TestGetPrinterAttributesGroups(t *testing.T) {
	t.Parallel()
	s, _ := newTestServer(t, newFakeService(), Options{})
	all := getPrinterAttrs(t, s)
	explicitAll := getPrinterAttrs(t, s, "all")
	if !slices.Equal(names(all), names(explicitAll)) {
		t.Error("no requested-attributes differs from 'all'")
	}
	if all.Has("media-col-database") {
		t.Error("'all' includes media-col-database")
	}
	withDB := getPrinterAttrs(t, s, "all", "media-col-database")
	if len(withDB) != len(all)+1 || withDB.Count("media-col-database") != 3 {
		t.Errorf("all + media-col-database: %d attributes (all has %d), %d database entries", len(withDB), len(all), withDB.Count("media-col-database"))
	}
	seen := map[string]bool{}
	for _, n := range names(all) {
		if seen[n] {
			t.Errorf("attribute %s twice", n)
		}
		seen[n] = true
	}
	tmpl := getPrinterAttrs(t, s, "job-template")
	desc := getPrinterAttrs(t, s, "printer-description")
	if len(tmpl)+len(desc) != len(all) {
		t.Errorf("job-template (%d) + printer-description (%d) != all (%d)", len(tmpl), len(desc), len(all))
	}
	for _, n := range names(tmpl) {
		if !strings.HasSuffix(n, "-default") && !strings.HasSuffix(n, "-supported") && !strings.HasSuffix(n, "-ready") {
			t.Errorf("job-template group has %s", n)
		}
	}
	if !desc.Has("printer-state") || desc.Has("copies-default") {
		t.Error("printer-description group wrong")
	}
	one := getPrinterAttrs(t, s, "printer-uri-supported")
	if len(one) != 1 || !one.Has("printer-uri-supported") {
		t.Errorf("requested printer-uri-supported, got %v", names(one))
	}
	if none := getPrinterAttrs(t, s, "no-such-attribute"); len(none) != 0 {
		t.Errorf("unknown requested attribute returned %v", names(none))
	}
}

func TestGetPrinterAttributesValues(t *testing.T) {
	t.Parallel()
	svc := newFakeService()
	p := svc.printers["letters"]
	p.State, p.Reasons, p.Message = PrinterStopped, []string{"paused", "media-empty-error"}, "pool empty"
	p.Caps.MediaSources = []string{"tray-1", "5", "auto"}
	svc.jobs[1] = &job.Job{ID: 1, VirtualPrinter: "letters", State: job.StatePending}
	svc.jobs[2] = &job.Job{ID: 2, VirtualPrinter: "letters", State: job.StatePrinting}
	svc.jobs[3] = &job.Job{ID: 3, VirtualPrinter: "letters", State: job.StateCompleted}
	p.Caps.Resolutions = []int{300, 600}
	now := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	s, _ := newTestServer(t, svc, Options{Now: func() time.Time { return now }, MultipleOperationTimeout: 90 * time.Second})
	a := getPrinterAttrs(t, s)

	intIs := func(name string, want int) {
		if v, ok := a.Int(name); !ok || v != want {
			t.Errorf("%s = %d (%v), want %d", name, v, ok, want)
		}
	}
	intIs("printer-state", int(PrinterStopped))
	intIs("queued-job-count", 2)
	intIs("multiple-operation-time-out", 90)
	intIs("printer-up-time", int(now.Unix()))
	if r := a.Strings("printer-state-reasons"); !slices.Equal(r, []string{"paused", "media-empty-error"}) {
		t.Errorf("reasons %v", r)
	}
	if src := a.Strings("media-source-supported"); !slices.Equal(src, []string{"tray-1", "auto"}) || a.Tag("media-source-supported") != goipp.TagKeyword {
		t.Errorf("media-source-supported %v (%s): numeric values must not reach Windows", src, a.Tag("media-source-supported"))
	}
	if u, _ := a.String("printer-uuid"); u != "urn:uuid:"+p.UUID {
		t.Errorf("printer-uuid %q", u)
	}
	devID, _ := a.String("printer-device-id")
	if !regexp.MustCompile(`^([-A-Za-z ]+:[^;]*;)+$`).MatchString(devID) || !strings.Contains(devID, "CMD:PDF,JPEG,PWGRaster,URF;") {
		t.Errorf("printer-device-id %q", devID)
	}
	if v, _ := a.String("mopria-certified"); v != "1.3" || a.Tag("mopria-certified") != goipp.TagText {
		t.Errorf("mopria-certified %q %s", v, a.Tag("mopria-certified"))
	}
	if f := a.Strings("document-format-supported"); f[0] != document.Octet || !slices.Contains(f, document.PWGRaster) {
		t.Errorf("document-format-supported %v", f)
	}
	if r := a.Count("pwg-raster-document-resolution-supported"); r != 2 {
		t.Errorf("pwg-raster resolutions %d, want 2", r)
	}
	if urf := a.Strings("urf-supported"); !slices.Contains(urf, "RS300-600") || !slices.Contains(urf, "SRGB24") || !slices.Contains(urf, "DM1") {
		t.Errorf("urf-supported %v", urf)
	}
	if cm := a.Strings("print-color-mode-supported"); !slices.Equal(cm, []string{"auto", "monochrome", "color"}) {
		t.Errorf("print-color-mode-supported %v", cm)
	}
	for _, name := range []string{"ipp-features-supported", "identify-actions-supported", "job-creation-attributes-supported",
		"printer-icons", "media-col-ready", "media-size-supported", "printer-supply", "which-jobs-supported",
		"printer-config-change-date-time", "printer-state-change-time", "overrides-supported"} {
		if !a.Has(name) {
			t.Errorf("missing %s", name)
		}
	}
	if v := a.Strings("overrides-supported"); !slices.Contains(v, "document-number") {
		t.Errorf("overrides-supported %v", v)
	}

	mono := newFakeService()
	s2, _ := newTestServer(t, mono, Options{})
	m := newReq(goipp.OpGetPrinterAttributes, "ipp://x/ipp/print/mono")
	b := Attrs(do(t, s2, "/ipp/print/mono", m, nil).Printer)
	if c, _ := b.Bool("color-supported"); c {
		t.Error("mono pool claims colour")
	}
	if b.Has("pages-per-minute-color") || b.Has("pwg-raster-document-type-supported") || b.Has("urf-supported") {
		t.Error("mono PDF-only pool advertises colour speed or raster")
	}
	if d, _ := b.String("print-color-mode-default"); d != "monochrome" {
		t.Errorf("print-color-mode-default %q", d)
	}
	if ppm, _ := b.Int("pages-per-minute"); ppm < 1 {
		t.Errorf("pages-per-minute %d", ppm)
	}
	if up, _ := b.Int("printer-up-time"); up <= 0 {
		t.Errorf("printer-up-time %d", up)
	}
}

func TestNormalizeCaps(t *testing.T) {
	t.Parallel()
	c := normalizeCaps(Capabilities{
		Formats:      []string{"application/PDF", document.Octet, "", document.PDF},
		Media:        []string{"a4", "iso_a4_210x297mm", "letter", "weird-name"},
		MediaDefault: "na-letter",
		MediaReady:   []string{"iso_a3_297x420mm", "na_letter_8.5x11in"},
		Sides:        []string{"two-sided-long-edge", "bogus"},
		ColorModes:   []string{"color", "colour"},
		MediaTypes:   []string{"Stationery", "stationery"},
	})
	checks := []struct {
		name      string
		got, want []string
	}{
		{"formats", c.Formats, []string{document.PDF}},
		{"media", c.Media, []string{"iso_a4_210x297mm", "na_letter_8.5x11in"}},
		{"media-ready", c.MediaReady, []string{"na_letter_8.5x11in"}},
		{"sides", c.Sides, []string{"one-sided", "two-sided-long-edge"}},
		{"color modes", c.ColorModes, []string{"auto", "monochrome", "color"}},
		{"media types", c.MediaTypes, []string{"stationery"}},
		{"media sources", c.MediaSources, []string{"auto"}},
		{"raster types", c.RasterTypes, []string{"sgray_8", "srgb_8"}},
	}
	for _, ch := range checks {
		if !slices.Equal(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.MediaDefault != "na_letter_8.5x11in" || c.MaxCopies != 999 || c.PPM != 1 || c.PPMColor != 1 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestPrinterUUID(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := printerUUID(&PrinterInfo{Name: "letters"}), printerUUID(&PrinterInfo{Name: "letters"})
	if a != b || !re.MatchString(a) {
		t.Errorf("derived UUIDs %q %q", a, b)
	}
	if c := printerUUID(&PrinterInfo{Name: "labels"}); c == a {
		t.Error("two printers share a derived UUID")
	}
	if u := printerUUID(&PrinterInfo{Name: "x", UUID: "urn:uuid:3f0c6a4e-8a7b-4c1d-9e2f-0123456789ab"}); u != "3f0c6a4e-8a7b-4c1d-9e2f-0123456789ab" {
		t.Errorf("given UUID %q", u)
	}
}
