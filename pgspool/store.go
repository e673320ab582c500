// Package pgspool is the PostgreSQL spool driver: it implements queue.Store on a database that
// several gateways share, rows and document bytes alike, so that any gateway can answer and
// send any job and no shared file system is needed. It passes the same behavioural suite as the
// SQLite driver (queue/storetest).
//
// Every write is one transaction that has committed (synchronous_commit as the server has it:
// on, the default, means flushed to the server's WAL) before the method returns. Moves of one
// job lock its row (SELECT … FOR UPDATE) and check the expected state in the same transaction;
// claiming a pending job skips a row another gateway is claiming (FOR UPDATE SKIP LOCKED), so
// two schedulers never wait on each other for the same job and only one of them gets it.
//
// What this driver does not decide: which gateway drives which printer (package cluster does,
// in tables of its own in the same database). Recovery at open moves only the jobs this gateway
// (Options.Gateway) moved last. A write under an active job.Fence checks the printer's lease in
// its UPDATE with the cluster's cluster_lease_valid (jobs.go fenceWhere, cluster/fence.go), as
// Options.Gateway, which must be the gateway's cluster id.
package pgspool

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/printgate/printgate/job"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configure a Store. URL and Gateway are required.
type Options struct {
	// URL is the database, postgres://user:password@host:port/database?sslmode=...
	URL string
	// Schema, when set, keeps the spool's tables in that schema (created when missing), so
	// that one database can hold several spools (the tests give each store its own).
	Schema string
	// Gateway names this gateway among those sharing the database, the same across its
	// restarts: recovery at open moves the jobs and uploads this name moved last, and no other
	// gateway's.
	Gateway string
	// MaxDocumentBytes limits one document; 0 means no limit.
	MaxDocumentBytes int64
	// Retention is how long documents of finished jobs are kept (metadata and hash stay).
	Retention time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PageCounter counts pages of a staged document; one estimated page each when nil.
	PageCounter func(rs io.ReadSeeker, size int64, format string) (pages int, estimated bool)
	// MemoryMaxBytes: a staged document up to this size waits for its commit in memory, a
	// larger one in an unlinked temporary file under TempDir (so a crash leaves nothing
	// behind). 0 means DefaultMemoryMaxBytes.
	MemoryMaxBytes int64
	// MemoryBudgetBytes bounds the staged bytes held in memory; past it documents wait in
	// files. 0 means DefaultMemoryBudgetBytes.
	MemoryBudgetBytes int64
	// TempDir is where larger staged documents wait; os.TempDir() when empty.
	TempDir string
	// MaxConns is the pool size; 0 means 16.
	MaxConns int32
	Logger   *slog.Logger
}

// Defaults for Options.
const (
	DefaultMemoryMaxBytes    = 256 << 10
	DefaultMemoryBudgetBytes = 64 << 20
	// chunkSize is the largest piece of a document one row of document_chunks holds: large
	// enough that a letter is one row, small enough that reading and writing hold little.
	chunkSize = 256 << 10
)

// Store is the PostgreSQL spool. Its methods are safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	pool    *pgxpool.Pool
	cluster string

	// memHeld is how many staged bytes wait in memory (MemoryBudgetBytes).
	memHeld atomic.Int64
	// stagedFiles counts the staged documents waiting in temporary files, and staged holds
	// them, so that Close releases them.
	stagedMu sync.Mutex
	staged   map[*held]struct{}

	// closeMu guards closed and writes: Close waits for the writes that began before it.
	closeMu sync.Mutex
	closed  bool
	writes  sync.WaitGroup
	once    sync.Once
}

// Open connects, applies the migrations not yet applied (once, under an advisory lock, while
// other gateways may be running) and runs this gateway's recovery.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.URL == "" {
		return nil, errors.New("pgspool: open: no database URL")
	}
	if opts.Gateway == "" {
		return nil, errors.New("pgspool: open: no gateway name (Options.Gateway)")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageCounter == nil {
		opts.PageCounter = func(io.ReadSeeker, int64, string) (int, bool) { return 1, true }
	}
	if opts.MemoryMaxBytes <= 0 {
		opts.MemoryMaxBytes = DefaultMemoryMaxBytes
	}
	if opts.MemoryBudgetBytes <= 0 {
		opts.MemoryBudgetBytes = DefaultMemoryBudgetBytes
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 16
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	cfg, err := pgxpool.ParseConfig(opts.URL)
	if err != nil {
		// The URL may carry a password: say what is wrong without it.
		return nil, fmt.Errorf("pgspool: open: bad database URL: %w", errors.Unwrap(err))
	}
	cfg.MaxConns = opts.MaxConns
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "printgate " + opts.Gateway
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgspool: open: %w", err)
	}
	s := &Store{opts: opts, log: opts.Logger, now: opts.Now, pool: pool, staged: map[*held]struct{}{}}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.pool.QueryRow(ctx, `SELECT cluster_id::text FROM spool_cluster`).Scan(&s.cluster); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgspool: open: read cluster id: %w", err)
	}
	if err := s.recover(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Close waits for the writes in progress, releases the staged documents no job took, and
// closes the pool. Closing twice is harmless.
func (s *Store) Close() error {
	s.once.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		s.writes.Wait()
		s.stagedMu.Lock()
		staged := make([]*held, 0, len(s.staged))
		for h := range s.staged {
			staged = append(staged, h)
		}
		s.stagedMu.Unlock()
		for _, h := range staged {
			h.release() // takes stagedMu itself
		}
		s.pool.Close()
	})
	return nil
}

// ClusterID is the spool's own id, the same on every gateway that shares it: the seed of the
// virtual printers' printer-uuid, so that a client sees one printer whichever gateway answers.
func (s *Store) ClusterID() string { return s.cluster }

// Gateway is this gateway's name (Options.Gateway).
func (s *Store) Gateway() string { return s.opts.Gateway }

// Ping checks that the database answers: /healthz says not ready while it does not.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgspool: database unreachable: %w", err)
	}
	return nil
}

// FreeBytes reports the free space where staged documents wait (TempDir). The database's own
// disk is the database server's to watch: it refuses writes when full (ErrDiskFull here).
func (s *Store) FreeBytes() (uint64, error) { return freeSpace(s.opts.TempDir) }

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	body    string
	// compatibleFrom is the oldest gateway schema version that still works once this
	// migration is applied ("-- compatible_from: N" in the file; its own version when absent
	// would forbid any rolling upgrade, so the default is 1: migrations add, never break).
	compatibleFrom int
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		prefix, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return nil, fmt.Errorf("%s: name must start with a version number", e.Name())
		}
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		m := migration{version: v, name: e.Name(), body: string(body), compatibleFrom: 1}
		for _, line := range strings.Split(m.body, "\n") {
			if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "-- compatible_from:"); ok {
				if m.compatibleFrom, err = strconv.Atoi(strings.TrimSpace(rest)); err != nil {
					return nil, fmt.Errorf("%s: bad compatible_from: %w", e.Name(), err)
				}
			}
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the newest migration this code knows.
func SchemaVersion() int {
	ms, _ := migrations()
	if len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// ErrSchemaTooNew: the database was migrated by a newer gateway in a way this one cannot work
// with (docs/OPERATIONS.md, rolling upgrades).
var ErrSchemaTooNew = errors.New("pgspool: the database schema is newer than this gateway can use")

// migrate applies the embedded migrations not yet recorded in schema_version, each in its own
// transaction, holding a session advisory lock so that gateways starting together apply each
// once; the others wait, then find them applied. Migrations only add (tables, columns with
// defaults, indexes), so gateways already running keep working while one migrates.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	defer conn.Release()
	lockKey := "printgate spool " + s.opts.Schema
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtext($1))`, lockKey); err != nil {
		return fmt.Errorf("pgspool: migrate: advisory lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtext($1))`, lockKey)
	if s.opts.Schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.opts.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("pgspool: migrate: create schema: %w", err)
		}
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL, gateway TEXT NOT NULL,
		compatible_from INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	applied := map[int]bool{}
	rows, err := conn.Query(ctx, `SELECT version FROM schema_version`)
	if err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return fmt.Errorf("pgspool: migrate: %w", err)
		}
		applied[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.body); err != nil {
				return fmt.Errorf("apply %s: %w", m.name, err)
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_version (version, name, applied, gateway, compatible_from)
				VALUES ($1, $2, $3, $4, $5)`, m.version, m.name, s.now().UnixNano(), s.opts.Gateway, m.compatibleFrom)
			return err
		})
		if err != nil {
			return fmt.Errorf("pgspool: migrate: %w", err)
		}
		s.log.Info("spool migration applied", "migration", m.name)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO spool_cluster (created) VALUES ($1) ON CONFLICT DO NOTHING`, s.now().UnixNano()); err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	var newest, needs int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0), coalesce(max(compatible_from), 0) FROM schema_version`).Scan(&newest, &needs); err != nil {
		return fmt.Errorf("pgspool: migrate: %w", err)
	}
	mine := SchemaVersion()
	if needs > mine {
		return fmt.Errorf("%w: schema version %d needs a gateway of schema version %d or newer; this one is %d", ErrSchemaTooNew, newest, needs, mine)
	}
	if newest > mine {
		s.log.Warn("pgspool: the database schema is newer than this gateway's and compatible with it; upgrade this gateway",
			"schema_version", newest, "gateway_schema_version", mine)
	}
	return nil
}

// DatabaseSchemaVersion is the newest migration applied to the database.
func (s *Store) DatabaseSchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("pgspool: schema version: %w", err)
	}
	return v, nil
}

// write runs fn in one transaction and returns once it committed or failed. A transaction the
// server broke off to resolve a deadlock or a serialization conflict is run again (fn must
// only touch the database and variables it sets afresh). Once begun, the transaction runs to
// its end whatever ctx says afterwards, as the SQLite driver's queued writes do: a caller that
// gave up must not leave half its intent undone by chance.
func (s *Store) write(ctx context.Context, fn func(tx *dbtx) error) error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return job.ErrClosed
	}
	s.writes.Add(1)
	s.closeMu.Unlock()
	defer s.writes.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(wctx, s.pool, func(tx pgx.Tx) error { return fn(&dbtx{ctx: wctx, tx: tx}) })
		if err == nil {
			return nil
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001" ||
			(pe.Code == "23505" && strings.HasSuffix(pe.ConstraintName, "_by_idempotency_key"))) && attempt < 8 {
			continue
		}
		return dbError(err)
	}
}

// dbError marks the server's "disk full" as job.ErrDiskFull, which the front-ends answer as
// they answer a document that did not fit.
func dbError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "53100" {
		return fmt.Errorf("%w: %v", job.ErrDiskFull, err)
	}
	return err
}

// dbtx is a transaction with the placeholders the SQL of this package is written in: `?`,
// numbered for PostgreSQL on the way. The SQLite driver's statements read the same.
type dbtx struct {
	ctx context.Context
	tx  pgx.Tx
}

type result struct{ tag pgconn.CommandTag }

func (r result) RowsAffected() (int64, error) { return r.tag.RowsAffected(), nil }

func (t *dbtx) Exec(q string, args ...any) (result, error) {
	tag, err := t.tx.Exec(t.ctx, rebind(q), args...)
	return result{tag}, err
}

func (t *dbtx) QueryRow(q string, args ...any) pgx.Row {
	return t.tx.QueryRow(t.ctx, rebind(q), args...)
}

func (t *dbtx) Query(q string, args ...any) (*rows, error) {
	r, err := t.tx.Query(t.ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return &rows{r}, nil
}

// rows is pgx.Rows with database/sql's Close signature.
type rows struct{ pgx.Rows }

func (r *rows) Close() error {
	r.Rows.Close()
	return r.Rows.Err()
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) pgx.Row {
	return s.pool.QueryRow(ctx, rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*rows, error) {
	r, err := s.pool.Query(ctx, rebind(q), args...)
	if err != nil {
		return nil, err
	}
	return &rows{r}, nil
}

// rebind numbers the `?` placeholders of q: $1, $2, ... None of this package's statements
// has a question mark anywhere else.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

var errNoRows = pgx.ErrNoRows
