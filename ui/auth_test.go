// Unit tests of Auth: identification order, sessions and their expiry, throttling, and where
// the sign-in page sends the browser afterwards.
package ui

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/printgate/printgate/internal/fakeclock"
)

func newTestAuth(t *testing.T, o AuthOptions) (*Auth, *fakeclock.Clock) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("pw-of-alice"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	c := fakeclock.New(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))
	o.Users = map[string]string{"alice": string(h)}
	o.Tokens = map[string]string{"tok-abcdefghijklmnop": "robot"}
	o.Now, o.Logger = c.Now, quietLog
	a, err := NewAuth(o)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

// signIn returns the session cookie for alice.
func signIn(t *testing.T, a *Auth) (*http.Cookie, Identity) {
	t.Helper()
	w := httptest.NewRecorder()
	id, err := a.Login(w, httptest.NewRequest(http.MethodPost, "/ui/login", nil), "alice", "pw-of-alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == SessionCookie {
			return c, id
		}
	}
	t.Fatal("no session cookie")
	return nil, id
}

func TestIdentify(t *testing.T) {
	t.Parallel()
	a, _ := newTestAuth(t, AuthOptions{TrustLoopback: true})
	cookie, sess := signIn(t, a)
	req := func(method, remote string, hdr map[string]string, withCookie bool) *http.Request {
		r := httptest.NewRequest(method, "/api/v1/printers/x/drain", nil)
		r.RemoteAddr = remote
		for k, v := range hdr {
			r.Header.Set(k, v)
		}
		if withCookie {
			r.AddCookie(cookie)
		}
		return r
	}
	for _, tc := range []struct {
		name       string
		r          *http.Request
		via, who   string
		mayOperate bool
	}{
		{"token", req("POST", "192.0.2.1:5", map[string]string{"Authorization": "Bearer tok-abcdefghijklmnop"}, false), ViaToken, "robot", true},
		{"bad token on loopback is anonymous", req("POST", "127.0.0.1:5", map[string]string{"Authorization": "Bearer wrong"}, false), "", "", false},
		{"basic auth is not a token", req("POST", "127.0.0.1:5", map[string]string{"Authorization": "Basic YTpi"}, false), "", "", false},
		{"loopback v4", req("POST", "127.0.0.1:5", nil, false), ViaLoopback, "local", true},
		{"loopback v6", req("POST", "[::1]:5", nil, false), ViaLoopback, "local", true},
		{"remote anonymous", req("POST", "192.0.2.1:5", nil, false), "", "", false},
		{"session read", req("GET", "192.0.2.1:5", nil, true), ViaSession, "alice", true},
		{"session write without token", req("POST", "192.0.2.1:5", nil, true), ViaSession, "alice", false},
		{"session write with token", req("POST", "192.0.2.1:5", map[string]string{CSRFHeader: sess.CSRF}, true), ViaSession, "alice", true},
	} {
		id := a.Identify(tc.r)
		if id.Via != tc.via || id.Name != tc.who {
			t.Errorf("%s: identity %+v, want via %q name %q", tc.name, id, tc.via, tc.who)
		}
		if _, ok := a.Operator(tc.r); ok != tc.mayOperate {
			t.Errorf("%s: Operator ok = %v, want %v", tc.name, ok, tc.mayOperate)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{SessionIdle: time.Hour, SessionMax: 3 * time.Hour})
	cookie, _ := signIn(t, a)
	get := func() Identity {
		r := httptest.NewRequest(http.MethodGet, "/ui/", nil)
		r.RemoteAddr = "192.0.2.1:5"
		r.AddCookie(cookie)
		return a.Identify(r)
	}
	// Used every 50 minutes it stays, until the absolute limit.
	for i := 0; i < 3; i++ {
		c.Advance(50 * time.Minute)
		if !get().Operator() {
			t.Fatalf("session ended after %d uses within the idle limit", i+1)
		}
	}
	c.Advance(40 * time.Minute) // 3 h 10 min after sign-in
	if get().Operator() {
		t.Error("session outlived SessionMax")
	}
	cookie, _ = signIn(t, a)
	c.Advance(61 * time.Minute)
	if get().Operator() {
		t.Error("session outlived SessionIdle")
	}
	if a.Sessions() != 0 {
		t.Errorf("%d sessions kept after expiry", a.Sessions())
	}
}

func TestSignInThrottle(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{})
	r := httptest.NewRequest(http.MethodPost, "/ui/login", nil)
	r.RemoteAddr = "192.0.2.7:5"
	for i := 0; i < maxFailures; i++ {
		if _, err := a.Login(httptest.NewRecorder(), r, "alice", "wrong"); err != ErrBadLogin {
			t.Fatalf("attempt %d: %v, want ErrBadLogin", i, err)
		}
	}
	if _, err := a.Login(httptest.NewRecorder(), r, "alice", "pw-of-alice"); err != ErrTooManyAttempts {
		t.Fatalf("after %d failures the right password gave %v, want ErrTooManyAttempts", maxFailures, err)
	}
	// Another address is not affected.
	other := httptest.NewRequest(http.MethodPost, "/ui/login", nil)
	other.RemoteAddr = "192.0.2.8:5"
	if _, err := a.Login(httptest.NewRecorder(), other, "alice", "pw-of-alice"); err != nil {
		t.Errorf("other address: %v", err)
	}
	c.Advance(failureWindow + time.Second)
	if _, err := a.Login(httptest.NewRecorder(), r, "alice", "pw-of-alice"); err != nil {
		t.Errorf("after the window: %v", err)
	}
	if _, err := a.Login(httptest.NewRecorder(), r, "mallory", "x"); err != ErrBadLogin {
		t.Errorf("unknown user: %v", err)
	}
}

func TestSessionLimit(t *testing.T) {
	t.Parallel()
	a, c := newTestAuth(t, AuthOptions{MaxSessions: 3})
	first, _ := signIn(t, a)
	for i := 0; i < 3; i++ {
		c.Advance(time.Second)
		signIn(t, a)
	}
	if n := a.Sessions(); n != 3 {
		t.Errorf("%d sessions, want the limit 3", n)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.AddCookie(first)
	if a.Identify(r).Operator() {
		t.Error("the oldest session should have been dropped")
	}
}

func TestNewAuthRefusesBadConfig(t *testing.T) {
	t.Parallel()
	if _, err := NewAuth(AuthOptions{Users: map[string]string{"a": "plaintext"}}); err == nil {
		t.Error("a non-bcrypt password hash was accepted")
	}
	if _, err := NewAuth(AuthOptions{Tokens: map[string]string{"short": "a"}}); err == nil {
		t.Error("a short token was accepted")
	}
}

// nextCases are next= values as they stand in the sign-in page's query string, and where the
// browser must go after signing in.
var nextCases = []struct{ raw, want string }{
	{"/ui/jobs?state=held", "/ui/jobs?state=held"},
	{"/ui/printers/demo-a", "/ui/printers/demo-a"},
	{"", "/ui/"},
	{"/%09/evil.example", "/ui/"}, // browsers drop the tab: //evil.example
	{"/%0d%0a//evil", "/ui/"},
	{"/%0a/evil.example", "/ui/"},
	{"/%20/evil.example", "/ui/"},
	{"/%E3%80%80/evil.example", "/ui/"}, // U+3000, a space
	{"/%7F/evil.example", "/ui/"},
	{"//evil.example", "/ui/"},
	{"%2F%2Fevil.example", "/ui/"},
	{`/\evil.example`, "/ui/"},
	{"/%5Cevil.example", "/ui/"},
	{"/ui/%5C%5Cevil.example", "/ui/"},
	{"/%252F/evil.example", "/ui/"}, // "/%2F/evil.example": a path of "//evil.example" once decoded
	{"https://evil.example", "/ui/"},
	{"https:/evil.example", "/ui/"},
	{"javascript:alert(1)", "/ui/"},
	{"evil.example", "/ui/"},
	{"/%FF", "/ui/"}, // not UTF-8
}

func TestLoginNextIsLocal(t *testing.T) {
	t.Parallel()
	for _, tc := range nextCases {
		q, err := url.ParseQuery("next=" + tc.raw)
		if err != nil {
			t.Fatalf("%q: %v", tc.raw, err)
		}
		if got := localPath(q.Get("next")); got != tc.want {
			t.Errorf("next=%s (%q): localPath gives %q, want %q", tc.raw, q.Get("next"), got, tc.want)
		}
	}
}

// TestLoginNextStaysOnSite signs in through the real handlers with each next= value and follows
// the Location header as a browser would (dropping tabs and line breaks, reading \ as /).
func TestLoginNextStaysOnSite(t *testing.T) {
	t.Parallel()
	g := newTestGateway(t, gwOptions{})
	base, err := url.Parse(g.srv.URL + "/ui/login")
	if err != nil {
		t.Fatal(err)
	}
	browser := strings.NewReplacer("\t", "", "\r", "", "\n", "", `\`, "/")
	for _, tc := range nextCases {
		c := g.client()
		body := g.get(c, "/ui/login?next="+tc.raw, http.StatusOK)
		if next := html.UnescapeString(regexpFind(t, body, `name="next" value="([^"]*)"`)); next != tc.want {
			t.Errorf("GET /ui/login?next=%s: the form carries next %q, want %q", tc.raw, next, tc.want)
		}
		q, _ := url.ParseQuery("next=" + tc.raw)
		tok := regexpFind(t, body, `name="csrf_token" value="([^"]*)"`)
		form := url.Values{"csrf_token": {tok}, "user": {testUser}, "password": {testPassword}, "next": {q.Get("next")}}
		req, err := http.NewRequest(http.MethodPost, g.srv.URL+"/ui/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, ck := range c.Jar.Cookies(base) {
			req.AddCookie(ck)
		}
		// The transport, not the client: the client refuses to parse some of these Locations.
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Errorf("sign-in with next=%s: %v", tc.raw, err)
			continue
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || loc != tc.want {
			t.Errorf("sign-in with next=%s: %d to %q, want 303 to %q", tc.raw, resp.StatusCode, loc, tc.want)
		}
		if u, err := url.Parse(browser.Replace(loc)); err != nil || base.ResolveReference(u).Host != base.Host {
			t.Errorf("sign-in with next=%s: the browser leaves for %q", tc.raw, loc)
		}
	}
}
