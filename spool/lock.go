// The spool lock: a SQLite spool belongs to one gateway. Two gateways on one spool directory
// would share one database file and drive the same printers with nobody owning the jobs the
// other one had in flight; several gateways share work only through the PostgreSQL driver.
//
// The lock is flock(2) on a file in the spool directory, held for the life of the Store. flock
// belongs to the open file description, so a second Open in the same process (its own open(2))
// is refused as a second process is, and the kernel drops it when the holder dies however it
// dies: a SIGKILLed gateway leaves no stale lock behind. The file says who holds it, so that the
// refusal can name the holder.
package spool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockFile is the name of the lock file inside the spool directory.
const LockFile = "spool.lock"

// ErrLocked is what Open returns (inside a *LockedError) when another Store holds the spool.
var ErrLocked = errors.New("spool: in use by another gateway")

// Holder is who holds a spool's lock, as its lock file says.
type Holder struct {
	PID     int
	Host    string
	Started time.Time
}

// LockedError names the holder of a spool that Open could not lock.
type LockedError struct {
	Dir    string
	Holder Holder
	// Unknown is set when the lock file did not say who holds it (the holder could not write
	// it, on a full disk).
	Unknown bool
}

func (e *LockedError) Error() string {
	if e.Unknown {
		return fmt.Sprintf("spool %s is in use by another gateway (holder unknown); each SQLite spool belongs to one gateway: give this one its own spool or use PostgreSQL", e.Dir)
	}
	return fmt.Sprintf("spool %s is in use by another gateway: pid %d on host %s, started %s; each SQLite spool belongs to one gateway: give this one its own spool or use PostgreSQL",
		e.Dir, e.Holder.PID, e.Holder.Host, e.Holder.Started.UTC().Format(time.RFC3339))
}

func (e *LockedError) Unwrap() error { return ErrLocked }

// spoolLock is a held lock; release drops it.
type spoolLock struct{ f *os.File }

// lockSpool takes the lock on dir without waiting, or says who holds it.
func lockSpool(dir string) (*spoolLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool: open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			// The holder writes its name right after it takes the lock; a reader that comes
			// in between sees an empty file and says so.
			data, _ := os.ReadFile(path)
			h, ok := parseHolder(string(data))
			return nil, &LockedError{Dir: dir, Holder: h, Unknown: !ok}
		}
		return nil, fmt.Errorf("spool: lock %s: %w", path, err)
	}
	return &spoolLock{f: f}, nil
}

// writeHolder records this process as the holder. The lock is what keeps the spool; the
// record only names it, so a failure (a full disk) is the caller's to log, not to stop on.
func (l *spoolLock) writeHolder(h Holder) error {
	if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("spool: write lock holder: %w", err)
	}
	if _, err := l.f.WriteAt([]byte(formatHolder(h)), 0); err != nil {
		return fmt.Errorf("spool: write lock holder: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("spool: write lock holder: %w", err)
	}
	return nil
}

// release drops the lock. The file stays: removing it would let a third Open lock a new file
// of the same name while a second still waits on the old one.
func (l *spoolLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor drops the flock
	l.f = nil
	return err
}

// thisHolder describes the running process.
func thisHolder(now time.Time) Holder {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	return Holder{PID: os.Getpid(), Host: host, Started: now}
}

func formatHolder(h Holder) string {
	return fmt.Sprintf("pid=%d\nhost=%s\nstarted=%s\n", h.PID, h.Host, h.Started.UTC().Format(time.RFC3339Nano))
}

func parseHolder(s string) (Holder, bool) {
	var h Holder
	var havePID, haveHost bool
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "pid":
			n, err := strconv.Atoi(v)
			h.PID, havePID = n, err == nil
		case "host":
			h.Host, haveHost = v, v != ""
		case "started":
			h.Started, _ = time.Parse(time.RFC3339Nano, v)
		}
	}
	return h, havePID && haveHost
}
