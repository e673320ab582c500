//go:build e2e

// Attribute fidelity: each job-template attribute a client sends through the gateway arrives at
// the printer as sent. Run: go test -tags e2e -run Fidelity -count=1 -v ./e2e/
package e2e

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/queue"
)

// TestAttributeFidelityToIPPEvePrinter submits one job per row through the gateway's IPP front
// door to a pool of one ippeveprinter, then reads that job's attributes at the ippeveprinter
// (Get-Job-Attributes on its own job): each value arrived as it was sent. A new attribute is one
// row. (Before the typed template went from the front door to the backend, only sides, media,
// copies and a few keywords survived the scheduler's string map: page-ranges and job-priority
// were stored and never sent; and the virtual printer offered only the "auto" tray, so a
// media-col's media-source was dropped at the front door.)
func TestAttributeFidelityToIPPEvePrinter(t *testing.T) {
	t.Parallel()
	// Staples, punches and 2-up are not in ippeveprinter's plain attributes: it is told to
	// offer them (it takes and stores any job attribute; the gateway sends only what a printer
	// offers). It offers overrides of pages, media and orientation of its own.
	e := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "fidelity", PPM: 600, ColorPPM: 600, Duplex: true,
		Attributes: []string{
			"ATTR enum finishings-supported 3,4,20,91",
			"ATTR enum finishings-ready 3,4,20,91",
			"ATTR keyword finishing-template-supported none,staple,staple-top-left,punch-dual-left",
			"ATTR integer number-up-supported 1,2,4",
		}})
	g := startGateway(t, gatewayOptions{Config: foConfig([]foPrinter{{name: "fidelity", uri: e.URI()}},
		[][2]string{{"letters", "fidelity"}})})
	foWaitPrinter(t, g, "fidelity", 10*time.Second, "probed", func(p queue.PrinterInfo) bool { return p.State.Usable() })

	mediaCol := goipp.Collection{
		goipp.MakeAttribute("media-size", goipp.TagBeginCollection, goipp.Collection{
			goipp.MakeAttribute("x-dimension", goipp.TagInteger, goipp.Integer(21000)),
			goipp.MakeAttribute("y-dimension", goipp.TagInteger, goipp.Integer(29700))}),
		goipp.MakeAttribute("media-source", goipp.TagKeyword, goipp.String("main")),
		goipp.MakeAttribute("media-type", goipp.TagKeyword, goipp.String("stationery")),
	}
	rows := []struct {
		name string
		attr goipp.Attribute
		// member, for a collection: the member whose value must arrive (the printer may add
		// others, such as media-size-name).
		members []string
	}{
		{"copies", goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(2)), nil},
		{"sides", goipp.MakeAttribute("sides", goipp.TagKeyword, goipp.String("two-sided-long-edge")), nil},
		{"media", goipp.MakeAttribute("media", goipp.TagKeyword, goipp.String("iso_a4_210x297mm")), nil},
		{"media-col", goipp.MakeAttribute("media-col", goipp.TagBeginCollection, mediaCol), []string{"media-source", "media-type"}},
		{"print-color-mode", goipp.MakeAttribute("print-color-mode", goipp.TagKeyword, goipp.String("monochrome")), nil},
		{"print-quality", goipp.MakeAttribute("print-quality", goipp.TagEnum, goipp.Integer(5)), nil},
		{"orientation-requested", goipp.MakeAttribute("orientation-requested", goipp.TagEnum, goipp.Integer(4)), nil},
		{"page-ranges", goipp.MakeAttribute("page-ranges", goipp.TagRange, goipp.Range{Lower: 1, Upper: 1}), nil},
		{"job-priority", goipp.MakeAttribute("job-priority", goipp.TagInteger, goipp.Integer(80)), nil},
		{"finishings", goipp.MakeAttr("finishings", goipp.TagEnum, goipp.Integer(20), goipp.Integer(91)), nil},
		{"finishings-col", goipp.MakeAttribute("finishings-col", goipp.TagBeginCollection, goipp.Collection{
			goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String("staple-top-left"))}), nil},
		{"number-up", goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(2)), nil},
		{"overrides", goipp.MakeAttribute("overrides", goipp.TagBeginCollection, goipp.Collection{
			goipp.MakeAttribute("pages", goipp.TagRange, goipp.Range{Lower: 1, Upper: 1}),
			goipp.MakeAttribute("orientation-requested", goipp.TagEnum, goipp.Integer(4))}), nil},
		// ippeveprinter offers 600 dpi and the face-up bin only: the virtual printer offers what
		// its members do.
		{"printer-resolution", goipp.MakeAttribute("printer-resolution", goipp.TagResolution,
			goipp.Resolution{Xres: 600, Yres: 600, Units: goipp.UnitsDpi}), nil},
		{"output-bin", goipp.MakeAttribute("output-bin", goipp.TagKeyword, goipp.String("face-up")), nil},
	}
	gw, err := ipp.NewClient(ippURI(g, "letters"), ipp.ClientOptions{UserName: "fidelity"})
	if err != nil {
		t.Fatal(err)
	}
	printer, err := ipp.NewClient(e.URI(), ipp.ClientOptions{UserName: "fidelity"})
	if err != nil {
		t.Fatal(err)
	}
	// The virtual printer offers what its member does (and none, 1-up, and the overrides
	// ipp-everywhere.test asks for).
	{
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		ps, err := gw.GetPrinterAttributes(ctx, "finishings-supported", "finishing-template-supported",
			"number-up-supported", "overrides-supported")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			name string
			want string
		}{{"finishings-supported", "[3,4,20,91]"}, {"finishing-template-supported", "[none,staple,staple-top-left,punch-dual-left]"},
			{"number-up-supported", "[1,2,4]"}, {"overrides-supported", "[document-number,document-numbers,pages,media,media-col,orientation-requested]"}} {
			at, _ := ps.Attrs.Get(w.name)
			if got := at.Values.String(); got != w.want {
				t.Errorf("the gateway offers %s %s, want %s", w.name, got, w.want)
			}
		}
	}
	doc, err := os.ReadFile(repoFile(t, "testdata/letter-2p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			js, err := gw.PrintJob(ctx, ipp.JobRequest{Name: "fidelity " + row.name, Template: goipp.Attributes{row.attr}},
				ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf"})
			if err != nil {
				t.Fatalf("Print-Job with %s through the gateway: %v", row.name, err)
			}
			var j *job.Job
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if j, err = g.API.Job(ctx, int64(js.ID)); err != nil {
					t.Fatal(err)
				}
				if j.UpstreamID != "" && j.State == job.StateCompleted || time.Now().After(deadline) {
					break
				}
			}
			if j.State != job.StateCompleted || j.UpstreamID == "" {
				t.Fatalf("job %d is %s (%s), upstream %q", j.ID, j.State, j.StateReason, j.UpstreamID)
			}
			upstream, _ := strconv.Atoi(j.UpstreamID)
			st, err := printer.GetJobAttributes(ctx, upstream, "all")
			if err != nil {
				t.Fatalf("Get-Job-Attributes %d at the ippeveprinter: %v", upstream, err)
			}
			// job-name, an operation attribute, on every row.
			if name, _ := st.Attrs.String("job-name"); name != "fidelity "+row.name {
				t.Errorf("job-name arrived as %q, sent %q", name, "fidelity "+row.name)
			}
			var got goipp.Attribute
			for _, a := range st.Attrs {
				if a.Name == row.attr.Name {
					got = a
				}
			}
			if got.Name == "" {
				t.Fatalf("%s did not arrive at the printer (its job has %d attributes; the gateway stored %+v)", row.name, len(st.Attrs), j.Attributes)
			}
			if row.members == nil {
				if got.Values.String() != row.attr.Values.String() {
					t.Errorf("%s arrived as %s, sent %s", row.name, got.Values, row.attr.Values)
				}
				return
			}
			sent, _ := ipp.Attrs{row.attr}.Collection(row.name)
			arrived, _ := ipp.Attrs{got}.Collection(row.name)
			for _, m := range row.members {
				want, _ := sent.String(m)
				have, _ := arrived.String(m)
				if have != want {
					t.Errorf("%s member %s arrived as %q, sent %q (the gateway stored %+v)", row.name, m, have, want, j.Attributes)
				}
			}
		})
	}
}

// TestFinishingsAndOverridesRouteToTheMembersThatDoThem: a stapled, a punched-and-stapled
// (finishings-col) and a 2-up job go to the one member that offers them although a faster idle
// member is in the pool, and a job with overrides goes to the member that says it does overrides,
// never to a file printer that cannot say (it would print every page alike), however fast; a
// plain job still takes the fast member. (Before, finishings beyond none, number-up and
// overrides were ignored at the front door and the jobs went to the fast member.)
func TestFinishingsAndOverridesRouteToTheMembersThatDoThem(t *testing.T) {
	t.Parallel()
	finisher := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "finisher", PPM: 60, TimeScale: 0.05,
		Attributes: []string{
			"ATTR enum finishings-supported 3,4,20",
			"ATTR keyword finishing-template-supported none,staple",
			"ATTR integer number-up-supported 1,2",
		}})
	plain := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: "plain", PPM: 600, TimeScale: 0.05})
	out := t.TempDir()
	g := startGateway(t, gatewayOptions{Config: foConfig([]foPrinter{
		{name: "finisher", uri: finisher.URI(), ppm: 6},
		{name: "plain", uri: plain.URI(), ppm: 600},
		{name: "fast-file", uri: "file://" + out, ppm: 6000},
	}, [][2]string{{"staples", "finisher, plain"}, {"pages", "finisher, fast-file"}})})
	for _, name := range []string{"finisher", "plain", "fast-file"} {
		foWaitPrinter(t, g, name, 10*time.Second, "probed", func(p queue.PrinterInfo) bool { return p.State.Usable() })
	}
	doc, err := os.ReadFile(repoFile(t, "testdata/letter-2p.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	landscapeFirst := goipp.MakeAttribute("overrides", goipp.TagBeginCollection, goipp.Collection{
		goipp.MakeAttribute("pages", goipp.TagRange, goipp.Range{Lower: 1, Upper: 1}),
		goipp.MakeAttribute("orientation-requested", goipp.TagEnum, goipp.Integer(4))})
	for _, tc := range []struct {
		name, virtual, want string
		attr                goipp.Attribute
	}{
		{"staple", "staples", "finisher", goipp.MakeAttribute("finishings", goipp.TagEnum, goipp.Integer(20))},
		{"finishing-template", "staples", "finisher", goipp.MakeAttribute("finishings-col", goipp.TagBeginCollection,
			goipp.Collection{goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String("staple"))})},
		{"2-up", "staples", "finisher", goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(2))},
		{"plain", "staples", "plain", goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(1))},
		{"overrides", "pages", "finisher", landscapeFirst},
		{"plain pages", "pages", "fast-file", goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(1))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			gw, err := ipp.NewClient(ippURI(g, tc.virtual), ipp.ClientOptions{UserName: "routing"})
			if err != nil {
				t.Fatal(err)
			}
			js, err := gw.PrintJob(ctx, ipp.JobRequest{Name: "routing " + tc.name, Template: goipp.Attributes{tc.attr}},
				ipp.Document{Reader: bytes.NewReader(doc), Size: int64(len(doc)), Format: "application/pdf"})
			if err != nil {
				t.Fatalf("Print-Job: %v", err)
			}
			var j *job.Job
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if j, err = g.API.Job(ctx, int64(js.ID)); err != nil {
					t.Fatal(err)
				}
				if j.State == job.StateCompleted || time.Now().After(deadline) {
					break
				}
			}
			if j.State != job.StateCompleted || j.Printer != tc.want {
				t.Errorf("job %d is %s on %q, want completed on %q (stored %+v)", j.ID, j.State, j.Printer, tc.want, j.Attributes)
			}
		})
	}
}
