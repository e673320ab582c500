// Which spool driver serve opens: the SQLite spool in a directory (one gateway), or the
// PostgreSQL spool at a postgres:// URL that several gateways share.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/printgate/printgate/config"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/pgspool"
	"github.com/printgate/printgate/queue"
	"github.com/printgate/printgate/spool"
)

// gatewayStore is what serve needs of a driver beyond queue.Store.
type gatewayStore interface {
	queue.Store
	FreeBytes() (uint64, error)
	Close() error
}

// openedStore is the open spool and the seed of the virtual printers' printer-uuid: the same on
// every start of this spool, and on every gateway of a shared one.
type openedStore struct {
	store gatewayStore
	uuid  func(virtual string) string
}

func openStore(ctx context.Context, cfg *config.Config, counter *document.Counter, log *slog.Logger) (*openedStore, error) {
	host, _ := os.Hostname()
	if cfg.SpoolDriver() == config.DriverPostgres {
		if err := config.CheckSpool(cfg.Spool); err != nil {
			return nil, err
		}
		s, err := pgspool.Open(ctx, pgspool.Options{
			URL: cfg.Spool, Gateway: cfg.GatewayID(), MaxDocumentBytes: int64(cfg.MaxDocumentSize),
			Retention: cfg.Retention.D(), PageCounter: counter.CountReader, Logger: log,
		})
		if err != nil {
			return nil, fmt.Errorf("open spool %s: %w", cfg.RedactSpool(), err)
		}
		id := s.ClusterID()
		return &openedStore{store: s, uuid: func(v string) string { return queue.VirtualUUID("cluster", id, v) }}, nil
	}
	s, err := spool.Open(ctx, spool.Options{
		Dir: cfg.Spool, MinFreeBytes: uint64(cfg.MinFreeDisk), MaxDocumentBytes: int64(cfg.MaxDocumentSize),
		InlineMaxBytes: int64(cfg.InlineDocumentMax), ReserveBytes: spool.DefaultReserveBytes,
		Retention: cfg.Retention.D(), PageCounter: counter.CountReader, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(cfg.Spool)
	return &openedStore{store: s, uuid: func(v string) string { return queue.VirtualUUID(host, abs, v) }}, nil
}
