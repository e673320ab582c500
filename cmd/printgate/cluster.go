// Which Coordinator serve gives the scheduler: a gateway alone on its SQLite spool is
// queue.Single; on a postgres:// spool it joins the cluster (package cluster) on the same
// database, with the cluster keys of the configuration.
package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/printgate/printgate/cluster"
	"github.com/printgate/printgate/config"
	"github.com/printgate/printgate/queue"
)

// startCoordinator returns the gateway's Coordinator and the function that stops it; stop it
// after the scheduler, so that its leases go only once its flights are over.
func startCoordinator(ctx context.Context, cfg *config.Config, log *slog.Logger) (queue.Coordinator, func(), error) {
	if cfg.SpoolDriver() != config.DriverPostgres {
		return queue.Single{}, func() {}, nil
	}
	pool, err := pgxpool.New(ctx, cfg.Spool)
	if err != nil {
		return nil, nil, fmt.Errorf("cluster: connect to %s: %w", cfg.RedactSpool(), err)
	}
	var names []string
	for _, p := range cfg.Printers {
		names = append(names, p.Name)
	}
	c, err := cluster.Start(ctx, cluster.Options{Pool: pool, Gateway: cfg.GatewayID(), Address: cfg.Cluster.Advertise,
		Printers: names, LeasePeriod: cfg.ClusterLeasePeriod(), Logger: log.With("component", "cluster")})
	if err != nil {
		pool.Close()
		return nil, nil, fmt.Errorf("join the cluster on %s: %w", cfg.RedactSpool(), err)
	}
	log.Info("joined the cluster", "gateway", c.Gateway(), "lease_period", cfg.ClusterLeasePeriod())
	return c, func() {
		if err := c.Close(); err != nil {
			log.Warn("leaving the cluster", "err", err)
		}
		pool.Close()
	}, nil
}
