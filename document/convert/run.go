// Running the conversion tools as sandboxed child processes, and the one conversion done in Go.
package convert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"

	"github.com/printgate/printgate/document"
)

// gsArgs are Ghostscript's arguments to convert path to format to. -dSAFER keeps the
// interpreter from opening any file but its input and output and from running commands;
// -dBATCH/-dNOPAUSE/-dNOINTERACTION stop it from ever waiting for a key; -sstdout=%stderr
// keeps what a PostScript program prints out of the output on stdout. Ghostscript has no
// network access of its own (no URL or socket file devices in the Debian build), and SAFER
// leaves a document no way to start a program that has.
func gsArgs(path, to string, p Params) []string {
	dpi := p.DPI
	if dpi <= 0 {
		dpi = 300
	}
	args := []string{"-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-dNOINTERACTION", "-sstdout=%stderr"}
	gray, rgb := "-dcupsColorSpace=18", "-dcupsColorSpace=19" // sGray, sRGB (PWG 5102.4)
	space := gray
	if p.Color {
		space = rgb
	}
	switch to {
	case document.PDF:
		args = append(args, "-sDEVICE=pdfwrite")
	case document.PostScript:
		args = append(args, "-sDEVICE=ps2write")
	case document.PCLXL:
		dev := "pxlmono"
		if p.Color {
			dev = "pxlcolor"
		}
		args = append(args, "-sDEVICE="+dev, "-r"+strconv.Itoa(min(dpi, 600)))
	case document.PCL:
		// ljet4 is PCL 5e, which every PCL printer reads; it is monochrome and 300 or 600 dpi.
		args = append(args, "-sDEVICE=ljet4", "-r"+strconv.Itoa(map[bool]int{true: 600, false: 300}[dpi >= 600]))
	case document.PWGRaster:
		args = append(args, "-sDEVICE=pwgraster", "-r"+strconv.Itoa(dpi), space, "-dcupsBitsPerColor=8")
	case document.URF:
		// Debian's Ghostscript has no urfgray/urfrgb; appleraster writes the same format.
		args = append(args, "-sDEVICE=appleraster", "-r"+strconv.Itoa(dpi), space, "-dcupsBitsPerColor=8")
	}
	if strings.HasPrefix(p.Sides, "two-sided") {
		args = append(args, "-dDuplex=true")
		if p.Sides == "two-sided-short-edge" {
			args = append(args, "-dTumble=true")
		}
	}
	// The input last; a spool or temporary path is absolute, never taken for an option.
	return append(args, "-sOutputFile=-", path)
}

// run starts tool under the sandbox, copies its stdout (at most MaxOutput bytes) into a new
// temporary file and returns that file's path. The sandbox:
//   - memory: Go's os/exec cannot set a child's rlimits, so the child is started through
//     util-linux prlimit (--as, the address space), which sets them on itself and then execs the
//     tool; without prlimit, through sh's ulimit -v, which does the same;
//   - time: the context (Options.Timeout) kills the tool's whole process group (Setpgid), so a
//     helper the tool forked dies with it; prlimit's --cpu is a second bound should the gateway
//     itself be stopped hard;
//   - environment: PATH and TMPDIR only (TMPDIR is the converter's TempDir);
//   - stderr kept (its last 4 KiB) as the reason of a failure.
func (c *Converter) run(ctx context.Context, from, to, tool, bin string, args []string) (path, warnings string, err error) {
	fail := func(reason string, err error) (string, string, error) {
		return "", "", &Error{From: from, To: to, Tool: tool, Reason: reason, Err: err}
	}
	if bin == "" {
		return fail("the tool is not installed", ErrNoRoute)
	}
	name, argv := c.sandboxed(bin, args)
	cmd := exec.CommandContext(ctx, name, argv...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "TMPDIR=" + c.o.TempDir, "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	stderr := &tailBuffer{max: 4 << 10}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", "", fmt.Errorf("convert: %s: %w", tool, err)
	}
	f, err := os.CreateTemp(c.o.TempDir, "out-*")
	if err != nil {
		return "", "", fmt.Errorf("convert: %w", err)
	}
	keep := false
	defer func() {
		f.Close()
		if !keep {
			os.Remove(f.Name())
		}
	}()
	if err := cmd.Start(); err != nil {
		return fail("could not start: "+err.Error(), err)
	}
	n, cerr := io.Copy(f, io.LimitReader(stdout, c.o.MaxOutput+1))
	tooBig := n > c.o.MaxOutput
	if tooBig || cerr != nil {
		cmd.Cancel()
	}
	werr := cmd.Wait()
	switch {
	case errors.Is(context.Cause(ctx), ErrTimeLimit):
		return fail(fmt.Sprintf("ran past its time limit of %s and was stopped", c.o.Timeout), ErrTimeLimit)
	case ctx.Err() != nil:
		return "", "", context.Cause(ctx)
	case tooBig:
		return fail(fmt.Sprintf("wrote more than the %d bytes allowed and was stopped", c.o.MaxOutput), nil)
	case cerr != nil:
		return fail("writing the output: "+cerr.Error(), cerr)
	case werr != nil:
		return fail(reason(werr, stderr.String()), werr)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("convert: %w", err)
	}
	keep = true
	return f.Name(), reason(nil, stderr.String()), nil
}

// sandboxed wraps bin args in the memory and CPU limits.
func (c *Converter) sandboxed(bin string, args []string) (string, []string) {
	cpu := strconv.Itoa(int(c.o.Timeout.Seconds()) + 5)
	if c.o.Prlimit != "" {
		return c.o.Prlimit, append([]string{"--as=" + strconv.FormatInt(c.o.MemoryLimit, 10), "--cpu=" + cpu, "--", bin}, args...)
	}
	kb := strconv.FormatInt(c.o.MemoryLimit>>10, 10)
	return "/bin/sh", append([]string{"-c", `ulimit -v ` + kb + ` && ulimit -t ` + cpu + ` && exec "$0" "$@"`, bin}, args...)
}

// reason is a failed tool's own account: the last lines it wrote on stderr that say
// something, else how it exited.
func reason(err error, stderr string) string {
	var lines []string
	for _, l := range strings.Split(stderr, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "DEBUG:") || strings.HasPrefix(l, "INFO:") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	msg := strings.Join(lines, "; ")
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	var ee *exec.ExitError
	if err != nil && errors.As(err, &ee) && ee.ProcessState != nil {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			msg = strings.TrimPrefix(msg+"; killed by "+ws.Signal().String()+" (memory or CPU limit)", "; ")
		}
	}
	if msg == "" && err != nil {
		msg = err.Error()
	}
	return msg
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// image imports a JPEG or PNG into a one-page A4 PDF, the image centred and scaled to the page
// with its aspect kept (pdfcpu; no process needed). pdfcpu panics on some malformed input,
// which must fail the conversion, not the gateway.
func (c *Converter) image(path, from string) (out string, err error) {
	fail := func(e error) error {
		return &Error{From: from, To: document.PDF, Tool: "pdfcpu", Reason: e.Error(), Err: e}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fail(fmt.Errorf("malformed image: %v", r))
		}
	}()
	img, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("convert: %w", err)
	}
	imp := pdfcpu.DefaultImportConfig()
	imp.Pos, imp.Scale = types.Center, 1
	var pdf bytes.Buffer
	if err := api.ImportImages(nil, &pdf, []io.Reader{bytes.NewReader(img)}, imp, document.PDFConfig()); err != nil {
		return "", fail(err)
	}
	return c.tempFile(&pdf, "img-*.pdf")
}
