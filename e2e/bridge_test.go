//go:build e2e

// Issue 20, the format bridge, end to end with real peers: ippeveprinters that take only PDF,
// only PWG raster or only URF, and a raw 9100 sink declared PCL XL, behind one virtual printer.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/e2e/peer"
	"github.com/printgate/printgate/ipp"
	"github.com/printgate/printgate/job"
)

// bridgePeer is one pool member of a bridge test: an ippeveprinter of one format, or the raw sink.
type bridgePeer struct {
	name, uri, format string
	ppm               int
	eve               *peer.IPPEve
}

// bridgeConfig renders a gateway over members, all in virtual printer "letters"; extra is
// appended at the top level (conversion keys).
func bridgeConfig(members []bridgePeer, extra string) func(listen, spool string) string {
	return func(listen, spoolDir string) string {
		var b strings.Builder
		fmt.Fprintf(&b, "listen: %q\nspool: %q\nprobe_interval: 1s\nmax_attempts: 3\nauth:\n  trust_loopback: true\n%sprinters:\n", listen, spoolDir, extra)
		var names []string
		for _, m := range members {
			fmt.Fprintf(&b, "  - name: %s\n    uri: %q\n    ppm: %d\n", m.name, m.uri, m.ppm)
			if m.eve == nil {
				fmt.Fprintf(&b, "    formats: [%s]\n", m.format)
			}
			names = append(names, m.name)
		}
		fmt.Fprintf(&b, "virtual_printers:\n  - name: letters\n    pool: [%s]\n", strings.Join(names, ", "))
		return b.String()
	}
}

// startEve starts an ippeveprinter taking only format, keeping the documents it prints.
func startEve(t *testing.T, name, format string, ppm int) bridgePeer {
	t.Helper()
	e := peer.StartIPPEvePrinter(t, peer.IPPEveOptions{Name: name, PPM: ppm, Formats: []string{format}, KeepDocuments: true})
	return bridgePeer{name: name, uri: e.URI(), format: format, ppm: ppm, eve: e}
}

// letters are the repository's sample letters (testdata/letter-Np.pdf: A4 letters of one to
// four pages with a letterhead, address block, body text in embedded fonts and a signature
// line, as the trusts' letter systems write them).
func bridgeLetters(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for n := 1; n <= 4; n++ {
		b, err := os.ReadFile(repoFile(t, fmt.Sprintf("testdata/letter-%dp.pdf", n)))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// countPages counts a document's pages with the gateway's own counters, failing on an estimate.
func countPages(t *testing.T, data []byte, format string) int {
	t.Helper()
	n, est := document.NewCounter().CountReader(bytes.NewReader(data), int64(len(data)), format)
	if est {
		t.Errorf("%d bytes of %s could not be counted", len(data), format)
	}
	return n
}

// TestBridgeMixedPoolSpreadsLettersByFormat is acceptance 1: PDF letters over a pool where one
// printer takes PDF, one PWG raster, one URF and a raw sink PCL XL are spread over all four,
// each printer receives only its format, with the letter's page count.
func TestBridgeMixedPoolSpreadsLettersByFormat(t *testing.T) {
	t.Parallel()
	n := 40
	if os.Getenv("PRINTGATE_BRIDGE_LETTERS") != "" {
		fmt.Sscan(os.Getenv("PRINTGATE_BRIDGE_LETTERS"), &n)
	}
	sink := peer.RawListener(t)
	members := []bridgePeer{
		startEve(t, "pdf-only", document.PDF, 600),
		startEve(t, "pwg-only", document.PWGRaster, 480),
		startEve(t, "urf-only", document.URF, 360),
		{name: "pclxl-sink", uri: sink.URI(), format: document.PCLXL, ppm: 600},
	}
	g := startGateway(t, gatewayOptions{Config: bridgeConfig(members, "")})
	letters := bridgeLetters(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var ids []int64
	pagesOf := map[int64]int{}
	for i := range n {
		doc := letters[i%len(letters)]
		id, err := peer.PrintJob(ctx, ippURI(g, "letters"), fmt.Sprintf("letter-%03d", i), document.PDF, doc)
		if err != nil {
			t.Fatalf("letter %d: %v", i, err)
		}
		ids = append(ids, int64(id))
		pagesOf[int64(id)] = i%len(letters) + 1
	}
	done := g.waitJobs(ids, 3*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })

	perPrinter := map[string]int{}
	for id, j := range done {
		perPrinter[j.Printer]++
		if j.Pages != pagesOf[id] {
			t.Errorf("job %d: %d pages in the gateway, the letter has %d", id, j.Pages, pagesOf[id])
		}
		if j.Printer != "pclxl-sink" && j.ImpressionsDone != pagesOf[id] {
			t.Errorf("job %d at %s: job-impressions-completed %d, want %d", id, j.Printer, j.ImpressionsDone, pagesOf[id])
		}
	}
	t.Logf("letters per printer: %v", perPrinter)
	for _, m := range members {
		if perPrinter[m.name] == 0 {
			t.Errorf("%s got no letter: the bridge did not spread the work over every member (%v)", m.name, perPrinter)
		}
		if m.eve == nil {
			continue
		}
		printed := m.eve.Printed()
		if len(printed) != perPrinter[m.name] {
			t.Errorf("%s printed %d jobs, the gateway sent it %d", m.name, len(printed), perPrinter[m.name])
		}
		for _, p := range printed {
			data, err := os.ReadFile(p.DocPath)
			if err != nil {
				t.Fatal(err)
			}
			if got := document.Sniff(data); got != m.format || p.Format != m.format {
				t.Errorf("%s received %s (sniffed %s), takes only %s", m.name, p.Format, got, m.format)
			}
			if want := pagesByName(t, done, p.JobName); countPages(t, data, m.format) != want {
				t.Errorf("%s: %s arrived with %d pages, the letter has %d", m.name, p.JobName, countPages(t, data, m.format), want)
			}
		}
	}
	// The sink: each connection one PCL XL stream (Sniff calls PJL-wrapped PCL XL "PCL"), its
	// pages counted from the stream's BeginPage/EndPage operators (no PCL XL interpreter,
	// gpcl6, is packaged here to render it back).
	var got [][]byte
	for _, data := range sink.Jobs() {
		if len(data) > 0 { // the socket backend's probes connect and send nothing
			got = append(got, data)
		}
	}
	if len(got) != perPrinter["pclxl-sink"] {
		t.Errorf("the sink received %d jobs, the gateway sent it %d", len(got), perPrinter["pclxl-sink"])
	}
	sinkPages, wantPages := 0, 0
	for _, data := range got {
		if !bytes.Contains(data[:min(len(data), 512)], []byte("ENTER LANGUAGE = PCLXL")) ||
			!bytes.Contains(data[:min(len(data), 512)], []byte(") HP-PCL XL")) {
			t.Errorf("the sink received %q…, not a PCL XL stream", data[:min(len(data), 40)])
		}
		n, err := document.CountPCLXL(bytes.NewReader(data))
		if err != nil {
			t.Errorf("sink job: %v", err)
		}
		sinkPages += n
	}
	for _, j := range done {
		if j.Printer == "pclxl-sink" {
			wantPages += j.Pages
		}
	}
	if sinkPages != wantPages {
		t.Errorf("the sink's PCL XL streams hold %d pages, its letters %d", sinkPages, wantPages)
	}
}

// pagesByName is the page count of the letter a job of that name was.
func pagesByName(t *testing.T, jobs map[int64]*job.Job, name string) int {
	t.Helper()
	for _, j := range jobs {
		if j.Name == name {
			return j.Pages
		}
	}
	t.Fatalf("no job named %q", name)
	return 0
}

// ghostscript converts the letter at path with the given device arguments.
func ghostscript(t *testing.T, path string, args ...string) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command("gs", append(append([]string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE"}, args...), "-sOutputFile="+out, path)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gs %v: %v\n%s", args, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBridgeFrontDoorTakesImagesAndRasterForPDFPrinter is acceptance 2: a JPEG, a PWG raster
// and a URF job through the IPP front door print on a pool whose only printer takes PDF; each
// arrives as PDF with its pages.
func TestBridgeFrontDoorTakesImagesAndRasterForPDFPrinter(t *testing.T) {
	t.Parallel()
	pdf := startEve(t, "pdf-only", document.PDF, 600)
	g := startGateway(t, gatewayOptions{Config: bridgeConfig([]bridgePeer{pdf}, "")})
	img := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for x := range 400 {
		for y := range 300 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, img, nil); err != nil {
		t.Fatal(err)
	}
	letter := repoFile(t, "testdata/letter-2p.pdf")
	docs := []struct {
		format string
		data   []byte
		pages  int
	}{
		{document.JPEG, jpg.Bytes(), 1},
		{document.PWGRaster, ghostscript(t, letter, "-sDEVICE=pwgraster", "-r300", "-dcupsColorSpace=18", "-dcupsBitsPerColor=8"), 2},
		{document.URF, ghostscript(t, letter, "-sDEVICE=appleraster", "-r300", "-dcupsColorSpace=19", "-dcupsBitsPerColor=8"), 2},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ids []int64
	for _, d := range docs {
		id, err := peer.PrintJob(ctx, ippURI(g, "letters"), d.format, d.format, d.data)
		if err != nil {
			t.Fatalf("the front door refused %s: %v", d.format, err)
		}
		ids = append(ids, int64(id))
	}
	done := g.waitJobs(ids, 2*time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	printed := pdf.eve.WaitPrinted(t, len(docs), 30*time.Second)
	for i, d := range docs {
		j := done[ids[i]]
		if j.Pages != d.pages || j.ImpressionsDone != d.pages {
			t.Errorf("%s: %d pages, %d impressions completed in the gateway; want %d", d.format, j.Pages, j.ImpressionsDone, d.pages)
		}
		var p *peer.PrintedJob
		for k := range printed {
			if printed[k].JobName == d.format {
				p = &printed[k]
			}
		}
		if p == nil {
			t.Errorf("%s never printed at the PDF printer", d.format)
			continue
		}
		if p.Format != document.PDF || p.Pages != d.pages || p.PagesEstimated {
			t.Errorf("%s arrived as %s with %d pages (estimated %v), want PDF with %d", d.format, p.Format, p.Pages, p.PagesEstimated, d.pages)
		}
	}
}

// slowPDF is a valid one-page PDF that takes Ghostscript minutes to render to raster: the
// largest page PDF allows (200 × 200 inches) filled with a colour gradient.
func slowPDF() []byte {
	content := "q /Sh0 sh Q\n"
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] /Resources << /Shading << /Sh0 5 0 R >> >> /Contents 4 0 R >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", len(content), content),
		"<< /ShadingType 2 /ColorSpace /DeviceRGB /Coords [0 0 14400 14400] /Function << /FunctionType 2 /Domain [0 1] /C0 [1 0 0] /C1 [0 0 1] /N 1 >> >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	var offs []int
	for i, o := range objs {
		offs = append(offs, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	x := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, x)
	return b.Bytes()
}

// TestBridgeBadDocumentsAbortWithReason is acceptance 4: on a pool whose only printer takes PWG
// raster, a malformed PDF and one that runs past the conversion time limit are aborted with the
// converter's reason, nothing reaches the printer for them, and the gateway goes on printing.
func TestBridgeBadDocumentsAbortWithReason(t *testing.T) {
	t.Parallel()
	pwg := startEve(t, "pwg-only", document.PWGRaster, 600)
	g := startGateway(t, gatewayOptions{Config: bridgeConfig([]bridgePeer{pwg}, "conversion:\n  timeout: 2s\n")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	malformed := []byte("%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ngarbage\n%%EOF\n")
	for _, tc := range []struct {
		name string
		doc  []byte
		why  string
	}{
		{"malformed", malformed, "ghostscript failed"},
		{"too-slow", slowPDF(), "time limit of 2s"},
	} {
		id, err := peer.PrintJob(ctx, ippURI(g, "letters"), tc.name, document.PDF, tc.doc)
		if err != nil {
			// The door cannot tell (it counts pages, it does not render): it must accept.
			t.Fatalf("%s: refused at the door: %v", tc.name, err)
		}
		done := g.waitJobs([]int64{int64(id)}, time.Minute, "aborted", func(j *job.Job) bool { return j.State.Final() })
		j := done[int64(id)]
		evs, err := g.API.Events(ctx, url.Values{"job": {fmt.Sprint(id)}})
		if err != nil {
			t.Fatal(err)
		}
		msg := ""
		for _, e := range evs {
			if e.To == string(job.StateAborted) {
				msg = e.Message
			}
		}
		if j.State != job.StateAborted || j.StateReason != "document-format-error" || !strings.Contains(msg, tc.why) {
			t.Errorf("%s: %s (%s) %q, want aborted, document-format-error, a message with %q", tc.name, j.State, j.StateReason, msg, tc.why)
		}
		st, err := peer.QueryJob(ctx, ippURI(g, "letters"), id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: event %q; IPP job-state-reasons %v", tc.name, msg, st.Reasons)
	}
	// Still serving: a good letter prints.
	id, err := peer.PrintJob(ctx, ippURI(g, "letters"), "good", document.PDF, bridgeLetters(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	g.waitJobs([]int64{int64(id)}, time.Minute, "completed", func(j *job.Job) bool { return j.State == job.StateCompleted })
	if got := pwg.eve.Printed(); len(got) != 1 || got[0].JobName != "good" {
		t.Errorf("the printer printed %d jobs, want only the good letter: %+v", len(got), got)
	}
}

// TestBridgeIPPEverywhereOnPDFOnlyPool is acceptance 3: ipptool's ipp-everywhere.test passes
// against a virtual printer whose only printer takes PDF alone, none JPEG or PWG raster:
// the bridge makes the virtual printer offer them (with the pwg-raster-document-* and
// urf-supported values) and print them.
func TestBridgeIPPEverywhereOnPDFOnlyPool(t *testing.T) {
	t.Parallel()
	pdf := startEve(t, "pdf-only", document.PDF, 600)
	g := startGateway(t, gatewayOptions{Config: bridgeConfig([]bridgePeer{pdf}, "")})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	formats := func(uri string) []string {
		c, err := ipp.NewClient(uri, ipp.ClientOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st, err := c.GetPrinterAttributes(ctx, "document-format-supported")
		if err != nil {
			t.Fatal(err)
		}
		return st.Formats
	}
	member, virtual := formats(pdf.uri), formats(ippURI(g, "letters"))
	for _, f := range []string{document.JPEG, document.PWGRaster, document.URF} {
		if slices.Contains(member, f) {
			t.Fatalf("the member takes %s itself (%v): the test would prove nothing", f, member)
		}
		if !slices.Contains(virtual, f) {
			t.Errorf("the virtual printer does not offer %s (%v)", f, virtual)
		}
	}
	t.Logf("member formats %v; virtual printer offers %v", member, virtual)
	fixtures := t.TempDir()
	// The virtual printer offers PWG raster at the member's resolutions (ippeveprinter: 300
	// and 600 dpi): ipptool prints a raster per resolution and type offered.
	peer.IPPToolFixtures(t, fixtures, peer.PWGRasterSupport{Resolutions: []int{300, 600}, Types: []string{"sgray_8", "srgb_8"}})
	out, runErr := peer.RunIPPTool(t, fixtures, ippURI(g, "letters"), "ipp-everywhere.test", "-f", repoFile(t, "testdata/letter-2p.pdf"))
	fails := peer.IPPToolFailures(out)
	passed := resultLine("PASS").FindAllStringSubmatch(out, -1)
	if len(fails) > 0 || runErr != nil || len(passed) == 0 || !strings.Contains(out, ipptoolLastTest["ipp-everywhere.test"]+" ") {
		t.Fatalf("ipptool ipp-everywhere.test: %d FAIL %q, %d PASS, exit %v\n%s", len(fails), fails, len(passed), runErr, out)
	}
	// Every job ipptool printed completes (its last tests do not wait), and reached the PDF
	// printer as PDF.
	jobs, err := g.allJobs()
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	done := g.waitJobs(ids, 3*time.Minute, "finished", func(j *job.Job) bool { return j.State.Final() })
	completed := 0
	for _, j := range done {
		switch j.State {
		case job.StateCompleted:
			completed++
		case job.StateCanceled: // ipptool's Cancel-Job tests
		default:
			t.Errorf("job %d (%s, %s): %s %s", j.ID, j.Name, j.Attributes.DocumentFormat, j.State, j.StateReason)
		}
	}
	pdf.eve.WaitPrinted(t, completed, time.Minute)
	var wrong []string
	for _, p := range pdf.eve.Printed() {
		if p.Format != document.PDF {
			wrong = append(wrong, p.JobName+": "+p.Format)
		}
	}
	if len(pdf.eve.Printed()) != completed || len(wrong) > 0 {
		t.Errorf("the PDF printer printed %d jobs, these not as PDF: %v", len(pdf.eve.Printed()), wrong)
	}
	t.Logf("%d passed; the PDF printer printed %d jobs", len(passed), len(pdf.eve.Printed()))
}
