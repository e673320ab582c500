// The cluster's own tables in the shared PostgreSQL database, and their migration: run by every
// gateway at start, once per version under an advisory lock, safe while other gateways run.
package cluster

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
)

// migrationLock is the pg_advisory_lock key the cluster's migration runs under ("pgcl" in
// ASCII): apart from the spool driver's, so the two never wait for each other.
const migrationLock = 0x7067636c

// migrations are the schema versions in order; a gateway applies those past the recorded
// version. A rolling upgrade adds a version that old gateways can run beside (new tables or
// columns with defaults, never a rename or a drop until no old gateway is left).
var migrations = []string{
	// 1: gateways, printer leases, the leader lease, claimed schedule firings, the fence.
	`
CREATE TABLE cluster_gateways (
	id        text PRIMARY KEY,
	host      text NOT NULL,
	pid       integer NOT NULL,
	address   text NOT NULL DEFAULT '',
	started   timestamptz NOT NULL DEFAULT now(),
	last_seen timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE cluster_printer_leases (
	printer    text PRIMARY KEY,
	holder     text NOT NULL,
	epoch      bigint NOT NULL,
	acquired   timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE TABLE cluster_leader (
	id         integer PRIMARY KEY CHECK (id = 1),
	holder     text NOT NULL,
	epoch      bigint NOT NULL,
	acquired   timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE TABLE cluster_schedule_fires (
	schedule_id bigint NOT NULL,
	due         timestamptz NOT NULL,
	gateway     text NOT NULL,
	claimed_at  timestamptz NOT NULL DEFAULT now(),
	takeovers   integer NOT NULL DEFAULT 0,
	PRIMARY KEY (schedule_id, due)
);
CREATE FUNCTION cluster_lease_valid(p_printer text, p_gateway text, p_epoch bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	-- FOR SHARE: a lease being taken over at this instant is waited for and read as committed,
	-- and a takeover waits for the write that checked the lease to commit. clock_timestamp, not
	-- now(): a lease that lapsed during a long transaction no longer covers its writes.
	PERFORM 1 FROM cluster_printer_leases
		WHERE printer = p_printer AND holder = p_gateway AND epoch = p_epoch
		  AND expires_at > clock_timestamp()
		FOR SHARE;
	RETURN FOUND;
END $$;
`,
}

// migrate brings the cluster's tables to the newest version.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("cluster: migrate: connect: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)); err != nil {
		return fmt.Errorf("cluster: migrate: advisory lock: %w", err)
	}
	// Unlocked with a context of its own: a canceled start must not leave the lock held by a
	// connection that goes back to the pool.
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock))
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS cluster_schema (version integer NOT NULL)`); err != nil {
		return fmt.Errorf("cluster: migrate: %w", err)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM cluster_schema`).Scan(&version); err != nil {
		return fmt.Errorf("cluster: migrate: read version: %w", err)
	}
	if version > len(migrations) {
		// A newer gateway migrated: this one runs beside it on the versions it knows.
		return nil
	}
	for v := version + 1; v <= len(migrations); v++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("cluster: migrate to %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("cluster: migrate to %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cluster_schema; INSERT INTO cluster_schema (version) VALUES (`+fmt.Sprint(v)+`)`); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("cluster: migrate to %d: %w", v, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("cluster: migrate to %d: %w", v, err)
		}
	}
	return nil
}
