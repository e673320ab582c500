package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/printgate/printgate/config"
	"github.com/printgate/printgate/document/convert"
	"github.com/printgate/printgate/queue"
)

// newConverter builds the format bridge from the configuration, or returns nil when it is off.
// Its files live under SPOOL/convert, emptied at start: what a previous run left there (it
// stopped between a conversion and the send) is never sent again, the job is converted anew.
func newConverter(cfg *config.Config, log *slog.Logger) (queue.Converter, error) {
	if !cfg.Conversion.On() {
		log.Info("format bridge off (conversion.enabled: false): jobs go only to printers taking their format")
		return nil, nil
	}
	dir := filepath.Join(cfg.Spool, "convert")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("conversion: clear %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("conversion: %w", err)
	}
	c := convert.New(convert.Options{Ghostscript: cfg.Conversion.Ghostscript, RasterToPDF: cfg.Conversion.RasterToPDF,
		Timeout: cfg.Conversion.Timeout.D(), MemoryLimit: int64(cfg.Conversion.MemoryLimit),
		MaxOutput: int64(cfg.Conversion.MaxOutputSize), TempDir: dir, Logger: log.With("component", "convert")})
	gs, r2p := c.Tools()
	if gs == "" {
		log.Warn("format bridge without Ghostscript (install ghostscript): only JPEG and PNG are converted")
	}
	log.Info("format bridge on", "ghostscript", gs, "rastertopdf", r2p)
	return c, nil
}
