package spool

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondOpenRefused: a second Store on a spool in use is refused with an error naming the
// holder (pid, host), even in the same process (flock is per open file description), and the
// first one keeps working; once the first is closed the spool opens again.
func TestSecondOpenRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	first := openStore(t, Options{Dir: dir})

	_, err := Open(ctx, Options{Dir: dir, Logger: quietLogger()})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want a *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.Unknown || le.Holder.PID != os.Getpid() || le.Holder.Host != host {
		t.Fatalf("holder %+v (unknown=%v), want pid %d host %s", le.Holder, le.Unknown, os.Getpid(), host)
	}
	for _, want := range []string{"pid ", host} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	// The refused Open touched nothing the first one uses.
	j := submit(t, first, []byte("%PDF-1.4 still working"))
	if _, err := first.Job(ctx, j.ID); err != nil {
		t.Fatalf("first store after the refusal: %v", err)
	}

	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second := openStore(t, Options{Dir: dir})
	if _, err := second.Job(ctx, j.ID); err != nil {
		t.Fatalf("after the first closed, the spool opens again: %v", err)
	}
}

// TestLockHolderFile: the lock file says who holds it, and an empty one (the holder could not
// write it) still refuses, saying the holder is unknown.
func TestLockHolderFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	l, err := lockSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer l.release()
	_, err = lockSpool(dir)
	var le *LockedError
	if !errors.As(err, &le) || !le.Unknown {
		t.Fatalf("lock without a holder record: %v, want an unknown holder", err)
	}
	if err := l.writeHolder(Holder{PID: 4242, Host: "gw-b", Started: now}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, LockFile))
	if h, ok := parseHolder(string(data)); !ok || h.PID != 4242 || h.Host != "gw-b" || !h.Started.Equal(now) {
		t.Fatalf("holder record %q parsed as %+v %v", data, h, ok)
	}
	_, err = lockSpool(dir)
	if !errors.As(err, &le) || le.Unknown || le.Holder.PID != 4242 || !strings.Contains(err.Error(), "pid 4242 on host gw-b") {
		t.Fatalf("second lock: %v", err)
	}
}
