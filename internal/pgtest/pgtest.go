// Package pgtest runs a private PostgreSQL server for tests: a cluster made with initdb in a temp
// dir, listening on a free loopback port and a unix socket inside that dir, stopped and removed
// when the test binary is done. The PostgreSQL driver's unit tests (tag peers) start one per
// test binary in TestMain and give each store a schema of its own; the end-to-end tests give each
// gateway cluster a database of its own.
//
// initdb and postgres refuse to run as root: as root the cluster dir is given to the postgres
// user and both run as it (initdb through runuser, the server with its credentials set, so that
// the test holds the server's own pid to signal).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options say how to run the server.
type Options struct {
	// Durable keeps fsync on, as production runs: benchmarks of durable ingest need it. Tests
	// leave it off (a test's cluster does not survive a power cut anyway, and fsync on a
	// shared 2-core machine makes the suite slow), which changes nothing a test checks:
	// commits are still commits.
	Durable bool
	// Logf receives progress lines (the server version); nil drops them.
	Logf func(format string, args ...any)
}

// Cluster is a running test server.
type Cluster struct {
	// Version is what `postgres --version` says.
	Version string
	// Port is the loopback TCP port; SocketDir the directory of its unix socket.
	Port      int
	SocketDir string

	dir    string
	logf   *os.File
	cmd    *exec.Cmd
	done   chan struct{}
	dbSeq  atomic.Int64
	logOut string
}

// BinDir finds the newest /usr/lib/postgresql/*/bin holding initdb, postgres and pg_ctl.
func BinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		ok := true
		for _, b := range []string{"initdb", "postgres", "pg_ctl"} {
			if _, err := os.Stat(filepath.Join(d, b)); err != nil {
				ok = false
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("pgtest: no PostgreSQL server binaries (initdb, postgres, pg_ctl) under /usr/lib/postgresql/*/bin: install them with `bash scripts/install-peers.sh` (Debian package postgresql)")
}

func version(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start makes and starts a cluster. The caller stops it (Stop).
func Start(ctx context.Context, o Options) (*Cluster, error) {
	logf := o.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "printgate-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: temp dir: %w", err)
	}
	c := &Cluster{dir: dir, SocketDir: filepath.Join(dir, "sock"), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	if err := os.Mkdir(c.SocketDir, 0o700); err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	var cred *syscall.Credential
	asPostgres := func(name string, args ...string) *exec.Cmd { return exec.CommandContext(ctx, name, args...) }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user (Debian package postgresql): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		for _, p := range []string{dir, c.SocketDir} {
			if err := os.Chown(p, uid, gid); err != nil {
				return nil, fmt.Errorf("pgtest: give %s to postgres: %w", p, err)
			}
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		asPostgres = func(name string, args ...string) *exec.Cmd {
			return exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
		}
	}
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "postgres"), "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pgtest: postgres --version: %w: %s", err, out)
	}
	c.Version = strings.TrimSpace(string(out))
	data := filepath.Join(dir, "data")
	initdb := asPostgres(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--locale=C", "--no-sync")
	initdb.Dir = dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	c.logOut = filepath.Join(dir, "postgres.log")
	for attempt := 0; ; attempt++ {
		err := c.startServer(ctx, bin, data, cred, o.Durable)
		if err == nil {
			break
		}
		// A port taken between choosing it and binding it: try another, a few times.
		if attempt >= 3 || !strings.Contains(err.Error(), "could not bind") {
			return nil, err
		}
	}
	logf("pgtest: %s on 127.0.0.1:%d (cluster %s)", c.Version, c.Port, dir)
	ok = true
	return c, nil
}

func (c *Cluster) startServer(ctx context.Context, bin, data string, cred *syscall.Credential, durable bool) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.Port = port
	logf, err := os.OpenFile(c.logOut, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	args := []string{"-D", data, "-p", strconv.Itoa(port), "-k", c.SocketDir,
		"-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300", "-c", "shared_buffers=64MB",
		"-c", "log_min_messages=warning"}
	if !durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	// Not CommandContext: the server outlives Start's context, and Stop ends it.
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group, and killed should the test binary die without its cleanups.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	done := make(chan struct{})
	go func() {
		cmd.Wait()
		logf.Close()
		close(done)
	}()
	c.cmd, c.done = cmd, done
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("pgtest: postgres exited at start: %s", c.LogTail(2000))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("pgtest: postgres not accepting connections within 30s: %s", c.LogTail(2000))
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// URL is the address of database db over loopback TCP, as the postgres superuser.
func (c *Cluster) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, url.PathEscape(db))
}

// Exec runs one statement in database db.
func (c *Cluster) Exec(ctx context.Context, db, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL(db))
	if err != nil {
		return fmt.Errorf("pgtest: connect %s: %w", db, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("pgtest: %s: %w", sql, err)
	}
	return nil
}

// CreateDatabase makes a new, empty database and returns its name.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", c.dbSeq.Add(1))
	if err := c.Exec(ctx, "postgres", "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		return "", err
	}
	return name, nil
}

// NewDatabase is CreateDatabase for a test: it fails the test on error and returns the URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// LogTail is the last n bytes of the server's log.
func (c *Cluster) LogTail(n int) string {
	b, _ := os.ReadFile(c.logOut)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Stop shuts the server down (fast shutdown: SIGINT, then SIGKILL after 10 s) and removes the
// cluster. It is safe to call more than once.
func (c *Cluster) Stop() error {
	var err error
	if c.cmd != nil && c.cmd.Process != nil {
		select {
		case <-c.done:
		default:
			_ = c.cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-c.done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
				select {
				case <-c.done:
				case <-time.After(5 * time.Second):
					err = fmt.Errorf("pgtest: postgres pid %d still running after SIGKILL", c.cmd.Process.Pid)
				}
			}
		}
	}
	if c.dir != "" {
		if rerr := os.RemoveAll(c.dir); rerr != nil && err == nil {
			err = fmt.Errorf("pgtest: remove %s: %w", c.dir, rerr)
		}
		c.dir = ""
	}
	return err
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it; the cluster stays for
// a Restart.
func (c *Cluster) Kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
	<-c.done
}

// Activity describes the server's sessions now (pg_stat_activity: state, what each waits on
// and for whom, its transaction's age and query), for a test that found the spool stuck.
func (c *Cluster) Activity(ctx context.Context) string {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Sprintf("pgtest: activity: %v", err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT pid, datname, coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''),
		pg_blocking_pids(pid)::text, coalesce(extract(epoch FROM now() - xact_start)::text, ''), left(query, 300)
		FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ORDER BY pid`)
	if err != nil {
		return fmt.Sprintf("pgtest: activity: %v", err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var pid int
		var db, state, wtype, wevent, blockers, age, query string
		if err := rows.Scan(&pid, &db, &state, &wtype, &wevent, &blockers, &age, &query); err != nil {
			return fmt.Sprintf("pgtest: activity: %v", err)
		}
		fmt.Fprintf(&b, "pid %d db %s %s wait %s/%s blocked by %s xact %ss: %s\n", pid, db, state, wtype, wevent, blockers, age, query)
	}
	return b.String()
}
