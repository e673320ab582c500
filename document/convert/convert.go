// Package convert is the format bridge: it turns a document into one a printer takes. Images
// become PDF in Go (pdfcpu); PWG raster and URF become PDF with cups-filters' rastertopdf; PDF
// and PostScript become PDF, PostScript, PCL XL, PCL, PWG raster or URF with Ghostscript. Both
// tools run as separate processes (Ghostscript is AGPL), sandboxed: see run.go.
//
// A conversion writes a file and returns it whole; nothing streams to a printer while the
// converter still runs. A raw or LPD printer prints every byte it gets, so half a PCL XL stream
// would print as half a job (or garbage) with no way to take it back; converting first means a
// failed conversion has sent nothing, the job can go to another printer without the
// possible-duplicate flag, and the page count of what is sent is known before it is sent. The
// cost is the conversion's latency before the first byte (for a letter, milliseconds: see
// docs/BENCHMARKS.md) and its size on disk, which MaxOutput bounds.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/printgate/printgate/document"
)

// Targets are the formats the bridge writes, in the order it prefers them for a printer that
// takes several: what is smallest on the wire and cheapest to make first. PDF is passed on
// as it is wherever it is taken; PCL XL is a few KB a page and the fastest to render; PostScript
// embeds its fonts (bigger for a short letter, smaller for a long one); PCL 5 is a halftoned
// bitmap; PWG raster and URF are bitmaps, tens of KB a page even compressed, and only for
// printers that take nothing else.
var Targets = []string{document.PDF, document.PCLXL, document.PostScript, document.PCL, document.PWGRaster, document.URF}

// Options configure a Converter. Zero values take the defaults in New.
type Options struct {
	// Ghostscript is the gs binary (default: gs on PATH). Empty after New when none is
	// found: then only JPEG/PNG → PDF is offered.
	Ghostscript string
	// RasterToPDF is cups-filters' rastertopdf (default /usr/lib/cups/filter/rastertopdf);
	// without it PWG raster and URF are not converted.
	RasterToPDF string
	// Prlimit is util-linux's prlimit, which sets the memory limit of the tool it starts
	// (default: prlimit on PATH; without it, sh's ulimit -v does).
	Prlimit string
	// Timeout bounds one conversion, all its steps (default 2 minutes).
	Timeout time.Duration
	// MemoryLimit is the address space each tool process may use (default 1 GiB).
	MemoryLimit int64
	// MaxOutput bounds the bytes one step may write (default 2 GiB).
	MaxOutput int64
	// TempDir holds the converted files until they are sent (default os.TempDir()).
	TempDir string
	// MaxParallel bounds the conversions running at once (default: the number of CPUs): each
	// flight converts its own job, and a pool of ten printers holding two jobs each would
	// otherwise start twenty Ghostscripts of up to MemoryLimit each. A conversion waits for
	// a turn within its Timeout.
	MaxParallel int
	Logger      *slog.Logger
}

// Converter converts documents. It is safe for concurrent use.
type Converter struct {
	o       Options
	counter *document.Counter
	log     *slog.Logger
	turns   chan struct{} // MaxParallel tokens

	mu sync.Mutex
	// perPage is the measured time per page of each step (keyed by step) beyond the tool's
	// start, an exponentially weighted mean over the conversions made, starting from
	// defaultPerPage.
	perPage map[string]time.Duration
}

// defaultPerPage are the time per A4 letter page of each step, measured with Ghostscript 10.0
// on the development machine (docs/BENCHMARKS.md, a 100-page document), the cost model's guess
// until this host has measured its own.
var defaultPerPage = map[string]time.Duration{
	stepKey(document.PDF, document.PCLXL):      1400 * time.Microsecond,
	stepKey(document.PDF, document.PostScript): 2300 * time.Microsecond,
	stepKey(document.PDF, document.PCL):        2100 * time.Microsecond,
	stepKey(document.PDF, document.PWGRaster):  4800 * time.Microsecond,
	stepKey(document.PDF, document.URF):        5000 * time.Microsecond,
	stepKey(document.PostScript, document.PDF): 3 * time.Millisecond,
	stepKey(document.JPEG, document.PDF):       5 * time.Millisecond,
	stepKey(document.PNG, document.PDF):        10 * time.Millisecond,
	stepKey(document.PWGRaster, document.PDF):  30 * time.Millisecond,
	stepKey(document.URF, document.PDF):        30 * time.Millisecond,
}

// toolStart is what starting a tool process costs whatever the document (Ghostscript loads
// its fonts and initialisation files): most of a short letter's conversion, measured on the
// development machine (docs/BENCHMARKS.md: a one-page letter to PCL XL takes ~70 ms, a
// hundred pages ~140 ms). The in-process image import has none.
const toolStart = 70 * time.Millisecond

func stepKey(from, to string) string { return from + ">" + to }

// New returns a converter; it finds the tools it is not given.
func New(o Options) *Converter {
	if o.Ghostscript == "" {
		o.Ghostscript, _ = exec.LookPath("gs")
	}
	if o.RasterToPDF == "" {
		if _, err := os.Stat("/usr/lib/cups/filter/rastertopdf"); err == nil {
			o.RasterToPDF = "/usr/lib/cups/filter/rastertopdf"
		}
	}
	if o.Prlimit == "" {
		o.Prlimit, _ = exec.LookPath("prlimit")
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.MemoryLimit <= 0 {
		o.MemoryLimit = 1 << 30
	}
	if o.MaxOutput <= 0 {
		o.MaxOutput = 2 << 30
	}
	if o.TempDir == "" {
		o.TempDir = os.TempDir()
	}
	if o.MaxParallel <= 0 {
		o.MaxParallel = runtime.NumCPU()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Converter{o: o, counter: document.NewCounter(), log: log, perPage: map[string]time.Duration{},
		turns: make(chan struct{}, o.MaxParallel)}
}

// Tools says which tools the converter found, for the log at start.
func (c *Converter) Tools() (gs, rastertopdf string) { return c.o.Ghostscript, c.o.RasterToPDF }

// steps is the chain of one-step conversions from from to to, nil when there is none. Every
// chain goes through PDF (or PostScript, which Ghostscript reads as well).
func (c *Converter) steps(from, to string) [][2]string {
	if from == to {
		return nil
	}
	var first [][2]string
	switch from {
	case document.PDF, document.PostScript:
	case document.JPEG, document.PNG:
		first = [][2]string{{from, document.PDF}}
	case document.PWGRaster, document.URF:
		if c.o.RasterToPDF == "" {
			return nil
		}
		first = [][2]string{{from, document.PDF}}
	default:
		return nil
	}
	src := from
	if first != nil {
		src = document.PDF
	}
	if src == to {
		return first
	}
	if c.o.Ghostscript == "" || !slices.Contains(Targets, to) {
		return nil
	}
	return append(first, [2]string{src, to})
}

// Route returns the format to send a document of format from to a printer that takes
// accepts: from itself when it is taken, else the first of Targets that is taken and that
// from converts to. ok is false when the printer can be given nothing.
func (c *Converter) Route(from string, accepts []string) (to string, ok bool) {
	if slices.Contains(accepts, from) {
		return from, true
	}
	for _, t := range Targets {
		if slices.Contains(accepts, t) && c.steps(from, t) != nil {
			return t, true
		}
	}
	return "", false
}

// Sources lists the formats a printer that takes accepts can be given, its own included.
func (c *Converter) Sources(accepts []string) []string {
	out := slices.Clone(accepts)
	for _, f := range []string{document.PDF, document.PostScript, document.JPEG, document.PNG, document.PWGRaster, document.URF} {
		if _, ok := c.Route(f, accepts); ok && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// Cost is the expected time to convert a document of pages pages from from to to: each step's
// tool start plus its time per page, measured on this host once it has converted, else the
// development machine's figure.
func (c *Converter) Cost(from, to string, pages int) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var d time.Duration
	for _, s := range c.steps(from, to) {
		k := stepKey(s[0], s[1])
		per, ok := c.perPage[k]
		if !ok {
			per = defaultPerPage[k]
		}
		d += startOf(s) + per*time.Duration(max(pages, 1))
	}
	return d
}

// startOf is step s's process start (none for the in-process image import).
func startOf(s [2]string) time.Duration {
	if s[0] == document.JPEG || s[0] == document.PNG {
		return 0
	}
	return toolStart
}

// learn folds one step's measured time per page, beyond the tool's start, into the mean
// (weight 1/5: a few conversions move it, one slow one does not).
func (c *Converter) learn(from, to string, took time.Duration, pages int) {
	per := max(took-startOf([2]string{from, to}), 0) / time.Duration(max(pages, 1))
	k := stepKey(from, to)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.perPage[k]; ok {
		c.perPage[k] = (4*old + per) / 5
	} else {
		c.perPage[k] = per
	}
}

// Input is the document to convert: a file, or the bytes of a small one the spool keeps in its
// database.
type Input struct {
	Path   string
	Data   []byte
	Format string
}

// Params are what the printer and the job ask of the output.
type Params struct {
	// DPI is the raster resolution (pwg-raster-document-resolution-supported, urf-supported
	// RS, printer-resolution-supported): 300 when 0.
	DPI int
	// Color renders sRGB (PWG raster srgb_8, URF SRGB24, pxlcolor) instead of sGray.
	Color bool
	// Sides is the job's sides keyword: two-sided-* sets duplex (and short-edge tumble) in
	// the raster page headers and the PCL XL stream.
	Sides string
	// Pages is the input's page count: the time-per-page measure, and the output's count when
	// it cannot be counted (PostScript).
	Pages int
}

// Output is a converted document.
type Output struct {
	Path   string
	Format string
	Size   int64
	// Pages is counted in the output (PDF, PWG raster, URF, PCL XL), else Params.Pages.
	Pages int
	Took  time.Duration
}

// Remove deletes the converted file.
func (o *Output) Remove() error {
	if err := os.Remove(o.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("convert: remove %s: %w", o.Path, err)
	}
	return nil
}

// ErrNoRoute: the converter cannot make to from from (or lacks the tool).
var ErrNoRoute = errors.New("convert: no conversion")

// ErrTimeLimit is wrapped by an Error whose conversion ran past Options.Timeout.
var ErrTimeLimit = errors.New("conversion ran past its time limit")

// Error is a failed conversion: a document the tool could not read, a time or size limit.
// Reason is for people (a job-state-message): what the tool said on stderr, or which limit.
type Error struct {
	From, To string
	Tool     string
	Reason   string
	Err      error
}

func (e *Error) Error() string {
	return fmt.Sprintf("convert: %s to %s with %s failed: %s", e.From, e.To, e.Tool, e.Reason)
}
func (e *Error) Unwrap() error { return e.Err }

// Convert converts in to format to, within Options.Timeout. The caller removes the Output.
func (c *Converter) Convert(ctx context.Context, in Input, to string, p Params) (*Output, error) {
	steps := c.steps(in.Format, to)
	if steps == nil {
		return nil, fmt.Errorf("%w from %s to %s", ErrNoRoute, in.Format, to)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, c.o.Timeout, ErrTimeLimit)
	defer cancel()
	select {
	case c.turns <- struct{}{}:
		defer func() { <-c.turns }()
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), ErrTimeLimit) {
			return nil, &Error{From: in.Format, To: to, Tool: toolName(steps[0]), Err: ErrTimeLimit,
				Reason: fmt.Sprintf("waited past its time limit of %s for a turn (%d conversions at once)", c.o.Timeout, c.o.MaxParallel)}
		}
		return nil, context.Cause(ctx)
	}
	start := time.Now()
	cur := in
	var tmp []string // intermediate files, removed at the end
	defer func() {
		for _, t := range tmp {
			os.Remove(t)
		}
	}()
	if cur.Data != nil {
		// Ghostscript reads PDF by seeking; an inline document becomes a file first.
		path, err := c.tempFile(bytes.NewReader(cur.Data), "in-*")
		if err != nil {
			return nil, err
		}
		tmp = append(tmp, path)
		cur = Input{Path: path, Format: cur.Format}
	}
	var out, warnings string
	for i, s := range steps {
		t0 := time.Now()
		path, w, err := c.step(ctx, cur.Path, s[0], s[1], p)
		if err != nil {
			return nil, err
		}
		c.learn(s[0], s[1], time.Since(t0), p.Pages)
		if i < len(steps)-1 {
			tmp = append(tmp, path)
		}
		cur, out, warnings = Input{Path: path, Format: s[1]}, path, w
	}
	o := &Output{Path: out, Format: to, Pages: p.Pages, Took: time.Since(start)}
	if err := c.check(o); err != nil {
		o.Remove()
		why := err.Error()
		if warnings != "" {
			why += "; the tool said: " + warnings
		}
		return nil, &Error{From: in.Format, To: to, Tool: toolName(steps[len(steps)-1]), Reason: why, Err: err}
	}
	return o, nil
}

// check sizes and counts the output: an empty one, or one without pages, is a failure (a
// tool that "repaired" an unreadable document into nothing must not print a blank job).
func (c *Converter) check(o *Output) error {
	st, err := os.Stat(o.Path)
	if err != nil {
		return err
	}
	o.Size = st.Size()
	if o.Size == 0 {
		return errors.New("the output is empty")
	}
	switch o.Format {
	case document.PDF, document.PWGRaster, document.URF, document.PCLXL:
		f, err := os.Open(o.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		n, estimated := c.counter.CountReader(f, o.Size, o.Format)
		if estimated {
			return fmt.Errorf("the output (%d bytes of %s) could not be read back", o.Size, o.Format)
		}
		if n == 0 {
			return errors.New("the output has no pages")
		}
		o.Pages = n
	}
	return nil
}

// step runs one conversion into a new temporary file and returns its path.
func (c *Converter) step(ctx context.Context, path, from, to string, p Params) (out, warnings string, err error) {
	switch {
	case from == document.JPEG || from == document.PNG:
		out, err = c.image(path, from)
		return out, "", err
	case from == document.PWGRaster || from == document.URF:
		return c.run(ctx, from, to, "rastertopdf", c.o.RasterToPDF,
			// CUPS filter arguments: job-id user title copies options file.
			[]string{"1", "printgate", "document", "1", "", path})
	}
	return c.run(ctx, from, to, "ghostscript", c.o.Ghostscript, gsArgs(path, to, p))
}

func toolName(s [2]string) string {
	switch s[0] {
	case document.JPEG, document.PNG:
		return "pdfcpu"
	case document.PWGRaster, document.URF:
		return "rastertopdf"
	}
	return "ghostscript"
}

// tempFile copies r into a new file of TempDir.
func (c *Converter) tempFile(r io.Reader, pattern string) (string, error) {
	f, err := os.CreateTemp(c.o.TempDir, pattern)
	if err != nil {
		return "", fmt.Errorf("convert: %w", err)
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("convert: write %s: %w", filepath.Base(f.Name()), err)
	}
	return f.Name(), nil
}
