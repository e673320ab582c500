// Package spool keeps every accepted print job durably: SQLite metadata (WAL, synchronous=FULL)
// and fsynced document files, the job state machine, crash recovery and retention.
package spool

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3" // the SQLite driver; only this package (and its test helper spooltest) imports it
	"github.com/printgate/printgate/job"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configure a Store. Dir is required; the rest have defaults.
type Options struct {
	// Dir holds spool.db, docs/ and tmp/.
	Dir string
	// MinFreeBytes: below this much free space on Dir new documents are refused with ErrDiskFull.
	MinFreeBytes uint64
	// MaxDocumentBytes limits one document; 0 means no limit.
	MaxDocumentBytes int64
	// Retention is how long documents of finished jobs are kept (metadata and hash stay).
	Retention time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// FreeSpace reports free bytes on the file system of dir; statfs when nil (tests inject).
	FreeSpace func(dir string) (uint64, error)
	// PageCounter counts pages of a staged document of size bytes read from rs; estimated is
	// true when it guessed. When nil, every document counts as one estimated page.
	PageCounter func(rs io.ReadSeeker, size int64, format string) (pages int, estimated bool)
	// InlineMaxBytes: documents up to this size are kept inside the database, written and
	// made durable with their job's row, instead of in a file of their own under docs/.
	// 0 means DefaultInlineMaxBytes; negative keeps every document in a file.
	InlineMaxBytes int64
	// InlineBudgetBytes bounds the bytes of inline documents held in memory between Stage
	// and their commit (a bulk batch stages up to a thousand letters before committing them);
	// past it, documents go to files. 0 means DefaultInlineBudgetBytes.
	InlineBudgetBytes int64
	// ReserveBytes is the size of the reserve file that a restart on a full disk gives up to
	// run its migrations and recovery (reserve.go); 0 keeps none (the gateway keeps
	// DefaultReserveBytes).
	ReserveBytes int64
	// MaxBatch caps how many writes share one commit (group commit); default 256.
	MaxBatch int
	Logger   *slog.Logger
}

// Defaults for Options.
const (
	// DefaultInlineMaxBytes covers a typical text letter of a few pages. SQLite reads and
	// writes blobs of this size faster than separate files (sqlite.org/intern-v-extern-blob.html),
	// and the database file does not have to grow much for them: retention frees their pages
	// for reuse.
	DefaultInlineMaxBytes = 64 << 10
	// DefaultInlineBudgetBytes bounds memory held by staged inline documents.
	DefaultInlineBudgetBytes = 64 << 20
)

// Store is the durable spool. Its methods are safe for concurrent use.
type Store struct {
	opts    Options
	log     *slog.Logger
	now     func() time.Time
	docsDir string
	tmpDir  string

	wdb *sql.DB // the single writer connection, owned by the committer goroutine
	rdb *sql.DB // readers (WAL lets them run beside the writer)

	// budgetMu guards promised: bytes granted to writes in progress and not yet written
	// (budget.go).
	budgetMu sync.Mutex
	promised int64

	// inlineHeld is how many bytes of inline documents are staged and not yet committed
	// (InlineBudgetBytes).
	inlineHeld atomic.Int64

	writes chan *writeReq
	// syncs feed the syncer: writes that attach documents, whose files it fsyncs before
	// passing them on to the committer.
	syncs      chan *writeReq
	syncerDone chan struct{}
	closing    chan struct{}
	done       chan struct{}
	closeMu    sync.Once
	closeErr   error

	// lock is this Store's hold on the spool directory (lock.go), from Open to Close.
	lock *spoolLock
}

// Open opens or creates the spool in opts.Dir, applies migrations and runs crash recovery.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("spool: open: no directory given")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = freeSpace
	}
	if opts.PageCounter == nil {
		opts.PageCounter = func(io.ReadSeeker, int64, string) (int, bool) { return 1, true }
	}
	if opts.InlineMaxBytes == 0 {
		opts.InlineMaxBytes = DefaultInlineMaxBytes
	}
	if opts.InlineBudgetBytes <= 0 {
		opts.InlineBudgetBytes = DefaultInlineBudgetBytes
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	s := &Store{
		opts:       opts,
		log:        opts.Logger,
		now:        opts.Now,
		docsDir:    filepath.Join(opts.Dir, "docs"),
		tmpDir:     filepath.Join(opts.Dir, "tmp"),
		writes:     make(chan *writeReq, 1024),
		syncs:      make(chan *writeReq, 1024),
		syncerDone: make(chan struct{}),
		closing:    make(chan struct{}),
		done:       make(chan struct{}),
	}
	for _, d := range []string{opts.Dir, s.docsDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("spool: open: create %s: %w", d, err)
		}
	}
	// The lock comes before anything that writes: a second gateway must not release the
	// reserve, migrate or recover a spool the first one is using.
	lock, err := lockSpool(opts.Dir)
	if err != nil {
		return nil, err
	}
	s.lock = lock
	opened := false
	defer func() {
		if !opened {
			lock.release()
		}
	}()
	// Opening the database, migrating and recovering all write: on a disk something else
	// filled, the reserve makes room for them (reserve.go); keepReserve below writes it again.
	s.releaseReserve()
	if err := lock.writeHolder(thisHolder(opts.Now())); err != nil {
		s.log.Warn("spool: locked, but could not record this gateway as the holder; a second gateway's refusal will not name it", "err", err)
	}
	dbPath := filepath.Join(opts.Dir, "spool.db")
	// _txlock=immediate: a write transaction takes the lock at BEGIN, so it never fails half-way
	// with SQLITE_BUSY on upgrade.
	wdsn := "file:" + dbPath + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=on&_txlock=immediate"
	wdb := sql.OpenDB(writerConnector{dsn: wdsn})
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("spool: open %s: %w", dbPath, err)
	}
	s.wdb = wdb
	if err := s.migrate(ctx); err != nil {
		wdb.Close()
		return nil, err
	}
	rdsn := "file:" + dbPath + "?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on&_query_only=1"
	rdb, err := sql.Open("sqlite3", rdsn)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("spool: open readers %s: %w", dbPath, err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(8)
	s.rdb = rdb
	if err := s.recover(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	s.keepReserve()
	go s.syncer()
	go s.committer()
	opened = true
	return s, nil
}

// writerConnector opens the writer connection with the settings its DSN cannot carry.
//
// temp_store=MEMORY keeps SQLite's statement journal in memory. Every write of a group commit
// runs inside its own SAVEPOINT, and with the default the statement journal spills to a
// temporary file: each page a job insert touches (the row and a dozen indexes) was first
// copied there with a pwrite, which made the insert the most expensive step of a submission
// (about 200 us of CPU per job on the development VM, BenchmarkSubmit).
type writerConnector struct{ dsn string }

func (c writerConnector) Connect(context.Context) (driver.Conn, error) {
	drv := c.Driver().(*sqlite3.SQLiteDriver)
	return drv.Open(c.dsn)
}

func (c writerConnector) Driver() driver.Driver {
	return &sqlite3.SQLiteDriver{ConnectHook: func(conn *sqlite3.SQLiteConn) error {
		_, err := conn.Exec("PRAGMA temp_store = MEMORY", nil)
		return err
	}}
}

// Close stops the committer after the writes already queued and closes the database.
func (s *Store) Close() error {
	s.closeMu.Do(func() {
		close(s.closing)
		<-s.done
		// The lock goes last: the next holder must find the database closed.
		s.closeErr = errors.Join(s.wdb.Close(), s.rdb.Close(), s.lock.release())
	})
	return s.closeErr
}

// Dir is the spool directory.
func (s *Store) Dir() string { return s.opts.Dir }

// migrate applies the embedded migrations not yet recorded, each in its own transaction.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.wdb.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("spool: migrate: %w", err)
	}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("spool: migrate: read embedded migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil {
			return fmt.Errorf("spool: migrate: %s: name must start with a version number", name)
		}
		var n int
		if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
			return fmt.Errorf("spool: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return fmt.Errorf("spool: migrate: %s: %w", name, err)
		}
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("spool: migrate: %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("spool: migrate: apply %s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)`,
			version, name, s.now().UnixNano()); err != nil {
			tx.Rollback()
			return fmt.Errorf("spool: migrate: record %s: %w", name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("spool: migrate: commit %s: %w", name, err)
		}
		s.log.Info("spool migration applied", "migration", name)
	}
	return nil
}

// SchemaVersion is the newest applied migration.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("spool: schema version: %w", err)
	}
	return v, nil
}

// writeReq is one unit of work for the committer.
type writeReq struct {
	fn func(tx *sql.Tx) error
	// files are staged documents the syncer makes durable, with the documents directory that
	// names them, before the committer runs fn.
	files []string
	done  chan error
}

// write runs fn inside a transaction shared with other concurrent writers (group commit) and
// returns once that transaction committed or fn failed. A failing fn is rolled back to its own
// savepoint and does not harm the others in the batch. fn must only touch the database.
func (s *Store) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.writeReq(ctx, &writeReq{fn: fn, done: make(chan error, 1)})
}

// writeDocs is write for a transaction that attaches staged documents: their files and the
// documents directory are fsynced before the commit.
func (s *Store) writeDocs(ctx context.Context, docs []*job.Staged, fn func(tx *sql.Tx) error) error {
	return s.writeReq(ctx, &writeReq{fn: fn, files: stagedPaths(docs...), done: make(chan error, 1)})
}

func (s *Store) writeReq(ctx context.Context, req *writeReq) error {
	select {
	case <-s.closing:
		return job.ErrClosed
	default:
	}
	queue := s.writes
	if len(req.files) > 0 {
		queue = s.syncs
	}
	select {
	case queue <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closing:
		return job.ErrClosed
	}
	// Once queued the write may commit whatever ctx says, so wait for the truth. A write that
	// slipped into the queue after the committer's last drain at Close is never run: when the
	// committer is gone without answering, it did not happen.
	select {
	case err := <-req.done:
		return err
	case <-s.done:
		select {
		case err := <-req.done:
			return err
		default:
			return job.ErrClosed
		}
	}
}

// committer owns the writer connection: it gathers queued writes into one transaction and
// commits them together, so N concurrent clients pay for one WAL fsync instead of N.
func (s *Store) committer() {
	defer close(s.done)
	for {
		var first *writeReq
		select {
		case first = <-s.writes:
		case <-s.closing:
			s.commitAtClose()
			return
		}
		s.commitBatch(s.gather(s.writes, first))
	}
}

// commitAtClose commits what was queued before Close, including what the syncer still passes
// on while it drains its own queue. Only the committer receives on s.writes, so once the syncer
// is done, what the queue holds is the last of it.
func (s *Store) commitAtClose() {
	for {
		select {
		case r := <-s.writes:
			s.commitBatch(s.gather(s.writes, r))
		case <-s.syncerDone:
			for len(s.writes) > 0 {
				r := <-s.writes
				s.commitBatch(s.gather(s.writes, r))
			}
			return
		}
	}
}

// syncer makes the documents of queued writes durable, a batch at a time, and hands the writes
// on to the committer. It runs beside the committer so that one batch's document fsyncs
// overlap the previous batch's commit.
func (s *Store) syncer() {
	defer close(s.syncerDone)
	for {
		var first *writeReq
		select {
		case first = <-s.syncs:
		case <-s.closing:
			// Writes queued before Close still run; only the syncer receives on s.syncs.
			for len(s.syncs) > 0 {
				r := <-s.syncs
				s.syncAndPass(s.gather(s.syncs, r))
			}
			return
		}
		s.syncAndPass(s.gather(s.syncs, first))
	}
}

// gather returns first and whatever else is queued on ch already, up to MaxBatch.
func (s *Store) gather(ch <-chan *writeReq, first *writeReq) []*writeReq {
	batch := []*writeReq{first}
	for len(batch) < s.opts.MaxBatch {
		select {
		case r := <-ch:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (s *Store) syncAndPass(batch []*writeReq) {
	kept := s.syncFiles(batch)
	for _, r := range kept {
		r.files = nil // durable now, with their directory
		s.writes <- r
	}
}

func (s *Store) commitBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	fail := func(err error) {
		for _, r := range batch {
			r.done <- err
		}
	}
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		fail(fmt.Errorf("spool: begin: %w", err))
		return
	}
	for i, r := range batch {
		if len(batch) == 1 {
			errs[i] = diskFull(r.fn(tx))
			break
		}
		if _, err := tx.Exec(`SAVEPOINT w`); err != nil {
			errs[i] = fmt.Errorf("spool: savepoint: %w", err)
			continue
		}
		if err := r.fn(tx); err != nil {
			errs[i] = diskFull(err)
			if _, rerr := tx.Exec(`ROLLBACK TO w`); rerr != nil {
				tx.Rollback()
				fail(fmt.Errorf("spool: rollback to savepoint: %w (after %v)", rerr, err))
				return
			}
		}
		if _, err := tx.Exec(`RELEASE w`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("spool: release savepoint: %w", err))
			return
		}
	}
	if len(batch) == 1 && errs[0] != nil {
		tx.Rollback()
		batch[0].done <- errs[0]
		return
	}
	if err := tx.Commit(); err != nil {
		fail(fmt.Errorf("spool: commit: %w", diskFull(err)))
		return
	}
	for i, r := range batch {
		r.done <- errs[i]
	}
}

// diskFull marks SQLite's "database or disk is full" as ErrDiskFull: with small documents
// inside the database, a full disk shows there first, and the front-ends answer it as they
// answer a document that did not fit (API 507, IPP server-error-...).
func diskFull(err error) error {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return fmt.Errorf("%w: %v", job.ErrDiskFull, err)
	}
	return err
}

// syncFiles fsyncs the staged documents of a batch and the documents directory all at once, so
// the file system can write them together, and answers (and drops) the requests whose
// documents could not be made durable: they must not commit.
func (s *Store) syncFiles(batch []*writeReq) []*writeReq {
	errs := make([]error, len(batch))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	// The documents were renamed into docs/ before this point, so the directory can be synced
	// at the same time as the files.
	var dirErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		dirErr = syncPath(s.docsDir)
	}()
	for i, r := range batch {
		for _, path := range r.files {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if err := syncPath(path); err != nil {
					if errors.Is(err, syscall.ENOSPC) {
						err = fmt.Errorf("%w: %v", job.ErrDiskFull, err)
					}
					mu.Lock()
					if errs[i] == nil {
						errs[i] = fmt.Errorf("spool: fsync document %s: %w", filepath.Base(path), err)
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	kept := batch[:0:0]
	for i, r := range batch {
		if errs[i] == nil && dirErr != nil {
			errs[i] = fmt.Errorf("spool: sync documents directory: %w", dirErr)
		}
		if errs[i] != nil {
			r.done <- errs[i]
			continue
		}
		kept = append(kept, r)
	}
	return kept
}
