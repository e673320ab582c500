// The file backend: writes each document into a directory, optionally at a simulated speed, so
// the demo and the tests have printers that need no hardware.
package printers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/printgate/printgate/document"
)

// File is a printer that writes jobs to a directory as job-<id>-<doc>.<ext> (a repeated delivery
// of the same job as job-<id>-<doc>.<n>.<ext>, see copyFile). With a ppm it
// behaves like one engine printing pages/ppm minutes per job, one job after another: Send
// returns at once (the printer took the job) and Watch returns when the simulated engine is done.
type File struct {
	name string
	dir  string
	ppm  int
	now  func() time.Time

	mu        sync.Mutex
	busyUntil time.Time // when the simulated engine finishes its queue
	queued    int
}

// NewFile returns a file printer writing into dir (created if missing).
func NewFile(name, dir string, ppm int, now func() time.Time) (*File, error) {
	if now == nil {
		now = time.Now
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("printers: file printer %s: %w", name, err)
	}
	return &File{name: name, dir: dir, ppm: ppm, now: now}, nil
}

// Name implements Printer.
func (f *File) Name() string { return f.name }

// Dir is the output directory.
func (f *File) Dir() string { return f.dir }

var extensions = map[string]string{
	document.PDF: ".pdf", document.PostScript: ".ps", document.PWGRaster: ".pwg", document.URF: ".urf",
	document.JPEG: ".jpg", document.PNG: ".png", document.Text: ".txt", document.PCL: ".pcl",
}

// Send implements Printer: each document is copied to a temporary name, fsynced and renamed, so
// a file under its final name is always whole.
func (f *File) Send(ctx context.Context, j *Job) (Receipt, error) {
	for i, d := range j.Documents {
		ext := extensions[d.Format]
		if ext == "" {
			ext = ".bin"
		}
		base := fmt.Sprintf("job-%06d-%d", j.ID, i+1)
		if err := copyFile(ctx, d, f.dir, base, ext); err != nil {
			return Receipt{}, fmt.Errorf("printers: %s: write %s%s: %w", f.name, base, ext, err)
		}
	}
	r := Receipt{UpstreamID: "file-" + strconv.FormatInt(j.ID, 10), Done: f.ppm <= 0}
	if r.Done {
		// No simulated engine: the job is out the moment its file is written.
		r.FinishAt = f.now()
	}
	if f.ppm > 0 {
		pages := max(j.Pages, 1)
		d := time.Duration(float64(pages) / float64(f.ppm) * float64(time.Minute))
		f.mu.Lock()
		start := f.now()
		if f.busyUntil.After(start) {
			start = f.busyUntil
		}
		f.busyUntil = start.Add(d)
		f.queued++
		r.FinishAt = f.busyUntil
		f.mu.Unlock()
	}
	return r, nil
}

// Watch implements Printer: waits for the simulated engine.
func (f *File) Watch(ctx context.Context, r Receipt, progress func(int)) (Outcome, error) {
	if r.Done || r.FinishAt.IsZero() {
		return OutcomeCompleted, nil
	}
	defer func() {
		f.mu.Lock()
		f.queued--
		f.mu.Unlock()
	}()
	wait := r.FinishAt.Sub(f.now())
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-t.C:
		}
	}
	return OutcomeCompleted, nil
}

// Cancel implements Printer; a file printer cannot take back a written file.
func (f *File) Cancel(context.Context, Receipt) error { return nil }

// Probe implements Printer: the directory must be writable.
func (f *File) Probe(ctx context.Context) (Status, error) {
	probe := filepath.Join(f.dir, ".probe")
	if err := os.WriteFile(probe, nil, 0o640); err != nil {
		return Status{State: StateStopped, Reasons: []string{"other-error"}, Message: err.Error(), QueuedJobs: -1},
			fmt.Errorf("printers: %s: %w", f.name, err)
	}
	os.Remove(probe)
	f.mu.Lock()
	queued := f.queued
	f.mu.Unlock()
	st := Status{State: StateReady, Accepting: true, QueuedJobs: queued, PPM: f.ppm,
		Capabilities: &Capabilities{
			Formats:    []string{document.PDF, document.PostScript, document.PWGRaster, document.URF, document.JPEG, document.PNG, document.Text, document.Octet},
			Media:      []string{"iso_a4_210x297mm", "na_letter_8.5x11in", "iso_a3_297x420mm", "iso_a5_148x210mm", "na_legal_8.5x14in", "iso_dl_110x220mm"},
			Sides:      []string{"one-sided", "two-sided-long-edge", "two-sided-short-edge"},
			ColorModes: []string{"monochrome", "color", "auto"},
			MakeModel:  "printgate file printer",
		}}
	if queued > 0 {
		st.State = StateBusy
	}
	return st, nil
}

// Close implements Printer.
func (f *File) Close() error { return nil }

// copyFile writes src into dir as base+ext, fsynced, appearing under its final name only when
// whole. A name already taken means the job was delivered before (a re-send after an uncertain
// outcome): the new copy goes beside it as base.2+ext, base.3+ext, ..., never over it, so a
// duplicate shows as a second file exactly as a real printer would print a second copy.
func copyFile(ctx context.Context, src Document, dir, base, ext string) error {
	in, err := src.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := filepath.Join(dir, base+ext+".part")
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	_, err = io.Copy(out, &ctxReader{ctx: ctx, r: in})
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	for n := 1; n <= 1000; n++ {
		name := base + ext
		if n > 1 {
			name = fmt.Sprintf("%s.%d%s", base, n, ext)
		}
		// A hard link, unlike rename, refuses to replace an existing delivery.
		err := os.Link(tmp, filepath.Join(dir, name))
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrExist) {
			return err
		}
	}
	return fmt.Errorf("more than 1000 deliveries of %s%s", base, ext)
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// errUnsupportedScheme is returned by Open for URIs no backend handles.
var errUnsupportedScheme = errors.New("printers: no backend for this URI scheme")
