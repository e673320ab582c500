package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/document/convert"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
	"github.com/printgate/printgate/spool"
)

// fakeConverter converts PDF to PWG raster by writing a marker file, or fails when told to; it
// records what it was asked. The real converter is tested in document/convert and end to end.
type fakeConverter struct {
	dir     string
	perPage time.Duration
	fail    error

	mu    sync.Mutex
	calls []string
	outs  []string
}

func (c *fakeConverter) Route(from string, accepts []string) (string, bool) {
	if slices.Contains(accepts, from) {
		return from, true
	}
	if from == document.PDF && slices.Contains(accepts, document.PWGRaster) {
		return document.PWGRaster, true
	}
	return "", false
}

func (c *fakeConverter) Sources(accepts []string) []string {
	out := slices.Clone(accepts)
	if slices.Contains(accepts, document.PWGRaster) && !slices.Contains(out, document.PDF) {
		out = append(out, document.PDF)
	}
	return out
}

func (c *fakeConverter) Cost(_, _ string, pages int) time.Duration {
	return c.perPage * time.Duration(pages)
}

func (c *fakeConverter) Convert(_ context.Context, in convert.Input, to string, p convert.Params) (*convert.Output, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, in.Format+">"+to)
	if c.fail != nil {
		return nil, c.fail
	}
	path := filepath.Join(c.dir, fmt.Sprintf("out-%d", len(c.calls)))
	if err := os.WriteFile(path, []byte("converted to "+to), 0o644); err != nil {
		return nil, err
	}
	c.outs = append(c.outs, path)
	return &convert.Output{Path: path, Format: to, Size: 16, Pages: p.Pages}, nil
}

// formatPrinter is a holdPrinter that reports document formats and records the format and the
// first bytes of each document it is sent.
type formatPrinter struct {
	*holdPrinter
	formats []string

	mu  sync.Mutex
	got []string // format: first bytes
}

func newFormatPrinter(name string, ppm int, formats ...string) *formatPrinter {
	return &formatPrinter{holdPrinter: newHoldPrinter(name, ppm), formats: formats}
}

func (p *formatPrinter) Send(ctx context.Context, j *printers.Job) (printers.Receipt, error) {
	for _, d := range j.Documents {
		rc, err := d.Open()
		if err != nil {
			return printers.Receipt{}, err
		}
		head := make([]byte, 16)
		n, _ := io.ReadFull(rc, head)
		rc.Close()
		p.mu.Lock()
		p.got = append(p.got, d.Format+": "+string(head[:n]))
		p.mu.Unlock()
	}
	return p.holdPrinter.Send(ctx, j)
}

func (p *formatPrinter) Probe(ctx context.Context) (printers.Status, error) {
	st, err := p.holdPrinter.Probe(ctx)
	st.Capabilities = &printers.Capabilities{Formats: p.formats}
	return st, err
}

func (p *formatPrinter) received() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// newBridgeRig is newSchedRig with a converter (nil: no bridge).
func newBridgeRig(t *testing.T, conv Converter, specs ...PrinterSpec) *schedRig {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := spool.Open(context.Background(), spool.Options{Dir: t.TempDir(), PageCounter: markedPages, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var pool []string
	for _, s := range specs {
		pool = append(pool, s.Name)
	}
	opts := Options{Store: store, Printers: specs, MaxInflight: 2, Logger: log, ProbeInterval: time.Hour, MaxAttempts: 3,
		Virtual: []VirtualSpec{{Name: "letters", Pool: pool, Default: true}}}
	if conv != nil {
		opts.Converter = conv
	}
	sched, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("scheduler did not stop within 10s")
		}
		store.Close()
	})
	<-sched.Running()
	return &schedRig{store: store, sched: sched}
}

// submitPDF stages a PDF of pages pages; err is the service's answer.
func (r *schedRig) submitPDF(t *testing.T, pages int) (*job.Job, error) {
	t.Helper()
	r.seq++
	ctx := context.Background()
	st, err := r.sched.Stage(ctx, bytes.NewReader(fmt.Appendf(nil, "%%PDF-1.4 letter %d pages=%d", r.seq, pages)), "letter", document.PDF)
	if err != nil {
		t.Fatal(err)
	}
	return r.sched.Submit(ctx, job.NewJob{Name: fmt.Sprintf("letter %d", r.seq), Origin: "test"}, []*job.Staged{st})
}

// A PDF job goes to a printer that takes only PWG raster, converted, when the bridge is on and
// the printer may be converted for; without the bridge, or with convert: false, no member can
// print it and it is refused at submission. A formats override counts instead of what the
// printer reports. (Before the bridge, a PWG-only pool refused every PDF.)
func TestBridgeRoutesByConvertibleFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		reported  []string
		override  []string
		noConvert bool
		bridge    bool
		want      string // "" refused, else the format the printer receives
	}{
		{"bridge converts", []string{document.PWGRaster}, nil, false, true, document.PWGRaster},
		{"no bridge", []string{document.PWGRaster}, nil, false, false, ""},
		{"convert false", []string{document.PWGRaster}, nil, true, true, ""},
		{"override beats reported", []string{document.PDF}, []string{document.PWGRaster}, false, true, document.PWGRaster},
		{"taken as is", []string{document.PDF, document.PWGRaster}, nil, false, true, document.PDF},
		{"octet-stream is no conversion", []string{document.Octet, document.PWGRaster}, nil, false, true, document.PWGRaster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := newFormatPrinter("raster", 60, tc.reported...)
			conv := &fakeConverter{dir: t.TempDir()}
			var c Converter
			if tc.bridge {
				c = conv
			}
			r := newBridgeRig(t, c, PrinterSpec{Name: "raster", Printer: p, Formats: tc.override, NoConvert: tc.noConvert})
			j, err := r.submitPDF(t, 2)
			if tc.want == "" {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("submit: %v, want ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p.waitSend(t)
			got := p.received()
			wantHead := "%PDF-1.4 letter "
			if tc.want != document.PDF {
				wantHead = "converted to " + tc.want[:3]
			}
			if len(got) != 1 || got[0] != tc.want+": "+wantHead {
				t.Fatalf("printer received %q, want one %s document starting %q", got, tc.want, wantHead)
			}
			p.release(j.ID)
			r.waitFor(t, "completion", func() bool { return r.job(t, j.ID).State == job.StateCompleted })
			for _, o := range conv.outs {
				if _, err := os.Stat(o); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("converted file %s left behind after the send", o)
				}
			}
		})
	}
}

// A conversion that fails sends the job to a member that takes the document as it is, even a
// slower one; with no such member the job is aborted with document-format-error and the
// converter's reason, and nothing reaches the printer.
func TestBridgeFailedConversion(t *testing.T) {
	t.Parallel()
	why := &convert.Error{From: document.PDF, To: document.PWGRaster, Tool: "ghostscript", Reason: "ran past its time limit of 2m0s"}
	t.Run("another member takes it as is", func(t *testing.T) {
		t.Parallel()
		raster, pdf := newFormatPrinter("raster", 600, document.PWGRaster), newFormatPrinter("pdf", 5, document.PDF)
		r := newBridgeRig(t, &fakeConverter{dir: t.TempDir(), fail: why},
			PrinterSpec{Name: "raster", Printer: raster}, PrinterSpec{Name: "pdf", Printer: pdf})
		// 20 pages: 2 s at the raster printer, 4 min at the PDF one, so the raster one is tried first.
		j, err := r.submitPDF(t, 20)
		if err != nil {
			t.Fatal(err)
		}
		pdf.waitSend(t)
		if got := raster.received(); len(got) != 0 {
			t.Errorf("the raster printer received %q", got)
		}
		pdf.release(j.ID)
		r.waitFor(t, "completion", func() bool { return r.job(t, j.ID).State == job.StateCompleted })
		if got := r.job(t, j.ID).Printer; got != "pdf" {
			t.Errorf("printed on %s", got)
		}
	})
	t.Run("no member takes it as is", func(t *testing.T) {
		t.Parallel()
		raster := newFormatPrinter("raster", 600, document.PWGRaster)
		r := newBridgeRig(t, &fakeConverter{dir: t.TempDir(), fail: why}, PrinterSpec{Name: "raster", Printer: raster})
		j, err := r.submitPDF(t, 2)
		if err != nil {
			t.Fatal(err)
		}
		r.waitFor(t, "abort", func() bool { return r.job(t, j.ID).State == job.StateAborted })
		got := r.job(t, j.ID)
		evs, err := r.store.Events(context.Background(), job.EventFilter{JobID: j.ID})
		if err != nil {
			t.Fatal(err)
		}
		msg := ""
		for _, e := range evs {
			if e.To == string(job.StateAborted) {
				msg = e.Message
			}
		}
		if got.StateReason != "document-format-error" || !bytes.Contains([]byte(msg), []byte("ran past its time limit")) {
			t.Errorf("aborted with %q, %q; want document-format-error and the converter's reason", got.StateReason, msg)
		}
		if got := raster.received(); len(got) != 0 {
			t.Errorf("the printer received %q", got)
		}
	})
}

// The cost model counts the conversion: a fast raster printer wins a PDF job while its
// conversion is quick, a slower PDF printer wins once converting takes longer than printing
// there.
func TestBridgeCostCountsConversion(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		perPage time.Duration
		want    string
	}{
		// 10 pages. pdf: 10/20 = 0.5 min. raster: 10/60 min + conversion.
		{100 * time.Millisecond, "raster"}, // 1 s + 10 s
		{5 * time.Second, "pdf"},           // 50 s + 10 s
	} {
		t.Run(tc.perPage.String(), func(t *testing.T) {
			t.Parallel()
			raster, pdf := newFormatPrinter("raster", 60, document.PWGRaster), newFormatPrinter("pdf", 20, document.PDF)
			r := newBridgeRig(t, &fakeConverter{dir: t.TempDir(), perPage: tc.perPage},
				PrinterSpec{Name: "raster", Printer: raster, PPM: 60}, PrinterSpec{Name: "pdf", Printer: pdf, PPM: 20})
			j, err := r.submitPDF(t, 10)
			if err != nil {
				t.Fatal(err)
			}
			r.waitFor(t, "printing", func() bool { return r.job(t, j.ID).State == job.StatePrinting })
			if got := r.job(t, j.ID).Printer; got != tc.want {
				t.Errorf("conversion %v/page: went to %s, want %s", tc.perPage, got, tc.want)
			}
		})
	}
}

// The virtual printer offers what the bridge can deliver to its members: PDF for a pool whose
// only printer takes PWG raster, and not without the bridge or with convert: false.
func TestBridgeVirtualPrinterOffersConvertibleFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		bridge    bool
		noConvert bool
		want      bool
	}{{"bridge", true, false, true}, {"no bridge", false, false, false}, {"convert false", true, true, false}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c Converter
			if tc.bridge {
				c = &fakeConverter{dir: t.TempDir()}
			}
			r := newBridgeRig(t, c, PrinterSpec{Name: "raster", Printer: newFormatPrinter("raster", 60, document.PWGRaster), NoConvert: tc.noConvert})
			vi, err := r.sched.VirtualState("letters")
			if err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(vi.Caps.Formats, document.PDF); got != tc.want || !slices.Contains(vi.Caps.Formats, document.PWGRaster) {
				t.Errorf("offers %v; PDF offered %v, want %v", vi.Caps.Formats, got, tc.want)
			}
		})
	}
}

// Raster is made at the resolution the printer takes that raster at, 300 dpi when it can;
// colour only for a colour job or an auto one on a colour printer.
func TestBridgeConvertParams(t *testing.T) {
	t.Parallel()
	caps := &printers.Capabilities{Resolutions: []int{600, 1200}, PWGResolutions: []int{150, 600}, URFResolutions: []int{300, 600},
		ColorModes: []string{"monochrome", "color"}}
	for _, tc := range []struct {
		caps      *printers.Capabilities
		to, color string
		dpi       int
		colour    bool
	}{
		{caps, document.PWGRaster, "", 150, true},
		{caps, document.URF, "monochrome", 300, false},
		{caps, document.PCLXL, "color", 600, true},
		{&printers.Capabilities{ColorModes: []string{"monochrome"}}, document.PWGRaster, "auto", 300, false},
		{nil, document.URF, "color", 300, false},
	} {
		m := &member{status: printers.Status{Capabilities: tc.caps}}
		p := convertParams(m, &job.Job{Attributes: job.Attributes{ColorMode: tc.color, Sides: "two-sided-long-edge"}}, tc.to)
		if p.DPI != tc.dpi || p.Color != tc.colour || p.Sides != "two-sided-long-edge" {
			t.Errorf("%s %q: %+v, want %d dpi colour %v", tc.to, tc.color, p, tc.dpi, tc.colour)
		}
	}
}

// The cost model counts the printer's speed for the format it would be sent: a printer rated
// 60 ppm that prints PWG raster at 5 loses a PDF job to a 20 ppm PDF printer; without
// format_ppm (its rating for every format) it wins it. Before format_ppm the rating was all
// the model knew.
func TestBridgeCostCountsSpeedForFormat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		formatPPM map[string]int
		want      string
	}{
		{"rated speed", nil, "raster"},
		{"raster at 5 ppm", map[string]int{document.PWGRaster: 5}, "pdf"},
		{"speed of another format", map[string]int{document.PostScript: 5}, "raster"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			raster, pdf := newFormatPrinter("raster", 60, document.PWGRaster), newFormatPrinter("pdf", 20, document.PDF)
			r := newBridgeRig(t, &fakeConverter{dir: t.TempDir(), perPage: time.Millisecond},
				PrinterSpec{Name: "raster", Printer: raster, PPM: 60, FormatPPM: tc.formatPPM},
				PrinterSpec{Name: "pdf", Printer: pdf, PPM: 20})
			j, err := r.submitPDF(t, 10)
			if err != nil {
				t.Fatal(err)
			}
			r.waitFor(t, "printing", func() bool { return r.job(t, j.ID).State == job.StatePrinting })
			if got := r.job(t, j.ID).Printer; got != tc.want {
				t.Errorf("went to %s, want %s", got, tc.want)
			}
		})
	}
}
