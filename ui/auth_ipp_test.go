package ui

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/printgate/printgate/ipp"
)

func TestCheckBasic(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var refused []Refused
	readHash, err := bcrypt.GenerateFromPassword([]byte("pw-of-clerk"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	a, clock := newTestAuth(t, AuthOptions{
		ReadTokens: map[string]string{"read-abcdefghijklmnop": "prometheus"},
		Refused: func(_ context.Context, r Refused) {
			mu.Lock()
			defer mu.Unlock()
			refused = append(refused, r)
		}})
	// newTestAuth sets alice; a read-scope user beside her.
	a.opts.Users["clerk"] = string(readHash)
	a.opts.ReadUsers = map[string]bool{"clerk": true}
	calls := 0
	a.compare = func(h, p []byte) error { calls++; return bcrypt.CompareHashAndPassword(h, p) }

	r := httptest.NewRequest("POST", "https://gw/ipp/print", nil)
	r.RemoteAddr = "192.0.2.7:4000"
	for _, tc := range []struct {
		user, pass string
		want       ipp.Principal
		ok         bool
	}{
		{"alice", "pw-of-alice", ipp.Principal{Name: "alice", Operator: true}, true},
		{"clerk", "pw-of-clerk", ipp.Principal{Name: "clerk"}, true},
		{"alice", "guess", ipp.Principal{}, false},
		{"nobody", "pw-of-alice", ipp.Principal{}, false},
		{"", "tok-abcdefghijklmnop", ipp.Principal{Name: "robot", Operator: true}, true},
		{"robot", "tok-abcdefghijklmnop", ipp.Principal{Name: "robot", Operator: true}, true},
		// A token under another's name is no sign-in as either.
		{"alice", "tok-abcdefghijklmnop", ipp.Principal{}, false},
		{"prometheus", "read-abcdefghijklmnop", ipp.Principal{Name: "prometheus"}, true},
		{"", "", ipp.Principal{}, false},
	} {
		got, ok := a.CheckBasic(r, tc.user, tc.pass)
		if ok != tc.ok || got != tc.want {
			t.Errorf("CheckBasic(%q, %q) = %+v %v, want %+v %v", tc.user, tc.pass, got, ok, tc.want, tc.ok)
		}
	}
	mu.Lock()
	if len(refused) != 4 || refused[0].Remote != "192.0.2.7" || refused[0].User != "alice" || refused[0].What != "IPP sign-in" {
		t.Errorf("refusals %+v, want the 4 wrong sign-ins with the address", refused)
	}
	mu.Unlock()

	// Credentials that passed are taken again without bcrypt for basicTTL, then checked again.
	before := calls
	if _, ok := a.CheckBasic(r, "alice", "pw-of-alice"); !ok || calls != before {
		t.Errorf("second sign-in: ok %v, bcrypt checks %d → %d, want none", ok, before, calls)
	}
	clock.Advance(basicTTL + time.Second)
	if _, ok := a.CheckBasic(r, "alice", "pw-of-alice"); !ok || calls != before+1 {
		t.Errorf("after basicTTL: ok %v, bcrypt checks %d → %d, want one", ok, before, calls)
	}

	// Wrong passwords count against the dashboard's throttle: the address is locked out.
	for range maxFailures {
		a.CheckBasic(r, "alice", "guess")
	}
	before = calls
	if _, ok := a.CheckBasic(r, "alice", "pw-of-alice-x"); ok || calls != before {
		t.Errorf("locked address: ok %v, bcrypt checks %d → %d, want none", ok, before, calls)
	}
}
