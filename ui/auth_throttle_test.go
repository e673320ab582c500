// Sign-in throttling under parallel attempts: per address, per user name, expiry by the clock,
// and the bound on what it remembers.
package ui

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// loginFrom signs in as user from the address addr.
func loginFrom(a *Auth, addr, user, password string) error {
	r := httptest.NewRequest(http.MethodPost, "/ui/login", nil)
	r.RemoteAddr = addr + ":5000"
	_, err := a.Login(httptest.NewRecorder(), r, user, password)
	return err
}

// burst starts n sign-ins with wrong passwords at once, the i-th from addr(i) as user(i). Each
// one that reaches the password check is held there until every one of the n has either reached
// it or been turned away, so all n are in flight together (no sleeps). It returns how many
// reached the check and how many were refused as throttled; any other outcome fails the test.
func burst(t *testing.T, a *Auth, n int, addr, user func(int) string) (checked, throttled int) {
	t.Helper()
	arrived := make(chan struct{}, n)
	release := make(chan struct{})
	compare := a.compare
	a.compare = func(hash, password []byte) error {
		arrived <- struct{}{}
		<-release
		return compare(hash, password)
	}
	defer func() { a.compare = compare }()

	done := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { done <- loginFrom(a, addr(i), user(i), "wrong") })
	}
	var errs []error
	deadline := time.After(timeout)
	for events := 0; events < n; events++ {
		select {
		case <-arrived:
			checked++
		case err := <-done:
			errs = append(errs, err)
		case <-deadline:
			close(release)
			t.Fatalf("after %d of %d sign-ins reached the check or returned, the others hang", events, n)
		}
	}
	close(release) // the held ones finish now
	wg.Wait()
	close(done)
	for err := range done {
		errs = append(errs, err)
	}
	for _, err := range errs {
		switch {
		case errors.Is(err, ErrTooManyAttempts):
			throttled++
		case !errors.Is(err, ErrBadLogin):
			t.Errorf("a wrong password gave %v", err)
		}
	}
	return checked, throttled
}

func TestSignInThrottleParallelOneAddress(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{})
	const n = 40
	checked, throttled := burst(t, a, n, func(int) string { return "192.0.2.7" }, func(int) string { return "alice" })
	t.Logf("%d parallel wrong passwords from one address: %d checked, %d throttled", n, checked, throttled)
	if checked > maxFailures || throttled != n-checked {
		t.Errorf("%d parallel wrong passwords from one address: %d reached the password check, %d were throttled; want at most %d checked and the rest throttled",
			n, checked, throttled, maxFailures)
	}
	if err := loginFrom(a, "192.0.2.7", "alice", "pw-of-alice"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("the throttled address with the right password: %v, want ErrTooManyAttempts", err)
	}
	// The user herself, from her own computer, is not locked out by the guesser's address.
	if err := loginFrom(a, "192.0.2.8", "alice", "pw-of-alice"); err != nil {
		t.Errorf("the right password from another address: %v", err)
	}
	c.Advance(failureWindow + time.Second)
	if err := loginFrom(a, "192.0.2.7", "alice", "pw-of-alice"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestSignInThrottleParallelManyUsersOneAddress(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{})
	const n = 40
	checked, throttled := burst(t, a, n, func(int) string { return "192.0.2.7" }, func(i int) string { return fmt.Sprintf("user%d", i) })
	t.Logf("%d parallel sign-ins as %d users from one address: %d checked, %d throttled", n, n, checked, throttled)
	if checked > maxFailures || throttled != n-checked {
		t.Errorf("%d users sprayed from one address: %d reached the password check, %d were throttled; want at most %d checked and the rest throttled",
			n, checked, throttled, maxFailures)
	}
	c.Advance(failureWindow + time.Second)
	if err := loginFrom(a, "192.0.2.7", "alice", "pw-of-alice"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestSignInThrottleParallelOneUser(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{})
	const n = 40
	checked, throttled := burst(t, a, n, func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }, func(int) string { return "alice" })
	t.Logf("alice's password from %d addresses at once: %d checked, %d throttled", n, checked, throttled)
	if checked > maxUserFailures || throttled != n-checked {
		t.Errorf("alice's password sprayed from %d addresses: %d reached the password check, %d were throttled; want at most %d checked and the rest throttled",
			n, checked, throttled, maxUserFailures)
	}
	if err := loginFrom(a, "203.0.113.1", "alice", "pw-of-alice"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("alice from a fresh address while her name is locked: %v, want ErrTooManyAttempts", err)
	}
	// Tokens (empty user name) are not behind alice's lock.
	if err := loginFrom(a, "203.0.113.1", "", "tok-abcdefghijklmnop"); err != nil {
		t.Errorf("token sign-in while alice is locked: %v", err)
	}
	c.Advance(failureWindow + time.Second)
	if err := loginFrom(a, "203.0.113.1", "alice", "pw-of-alice"); err != nil {
		t.Errorf("after the window: %v", err)
	}
	// After the window the burst's addresses may try again, one wrong password each.
	checked, throttled = burst(t, a, 5, func(i int) string { return fmt.Sprintf("198.51.100.%d", i+1) }, func(int) string { return "alice" })
	if checked != 5 || throttled != 0 {
		t.Errorf("after the window: %d of 5 checked, %d throttled; want all checked", checked, throttled)
	}
}

// An address signing in successfully must not reopen a user name that others locked, and the
// slot a successful attempt held is given back.
func TestSignInThrottleSuccessKeepsUserLock(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuth(t, AuthOptions{})
	for i := range maxUserFailures - 1 {
		if err := loginFrom(a, fmt.Sprintf("198.51.100.%d", i+1), "alice", "wrong"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v, want ErrBadLogin", i, err)
		}
	}
	// One slot left for alice: her own sign-in takes it and gives it back.
	for range 3 {
		if err := loginFrom(a, "192.0.2.8", "alice", "pw-of-alice"); err != nil {
			t.Fatalf("alice with one slot left: %v", err)
		}
	}
	if err := loginFrom(a, "203.0.113.1", "alice", "wrong"); !errors.Is(err, ErrBadLogin) {
		t.Fatalf("the last slot: %v, want ErrBadLogin", err)
	}
	if err := loginFrom(a, "192.0.2.8", "alice", "pw-of-alice"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("after %d failures for alice: %v, want ErrTooManyAttempts", maxUserFailures, err)
	}
}

// A flood of distinct names from distinct addresses stays within the cap on remembered keys and
// does not make the gateway forget an address it has locked.
func TestSignInThrottleBoundedMemory(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{})
	a.maxTracked = 16
	for i := range maxFailures {
		if err := loginFrom(a, "192.0.2.7", fmt.Sprintf("guess%d", i), "wrong"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v, want ErrBadLogin", i, err)
		}
		c.Advance(time.Second)
	}
	for i := range 200 {
		err := loginFrom(a, fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), fmt.Sprintf("flood%d", i), "wrong")
		if !errors.Is(err, ErrBadLogin) && !errors.Is(err, ErrTooManyAttempts) {
			t.Fatalf("flood %d: %v", i, err)
		}
		if n := a.trackedKeys(); n > a.maxTracked {
			t.Fatalf("after %d flood attempts %d keys are tracked, over the cap %d", i+1, n, a.maxTracked)
		}
	}
	if err := loginFrom(a, "192.0.2.7", "alice", "pw-of-alice"); !errors.Is(err, ErrTooManyAttempts) {
		t.Errorf("the locked address after a flood of new names: %v, want ErrTooManyAttempts", err)
	}
	// Old entries expire: after the window the table empties as it is used.
	c.Advance(failureWindow + time.Second)
	if err := loginFrom(a, "192.0.2.7", "alice", "pw-of-alice"); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if n := a.trackedKeys(); n > 2 {
		t.Errorf("%d keys tracked after the window and one sign-in, want the expired ones gone", n)
	}
}
