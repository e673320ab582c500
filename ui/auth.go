// Who is calling: operator logins (bcrypt, in-memory sessions), API tokens, loopback trust,
// CSRF tokens for cookie sessions and the guard that refuses forged state changes.
package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Cookie and field names shared by the guard, the login page and the dashboard's script.
const (
	SessionCookie = "printgate_session"
	loginCookie   = "printgate_login"
	// CSRFHeader carries the session's CSRF token on script requests.
	CSRFHeader = "X-CSRF-Token"
	// CSRFField carries it in dashboard forms.
	CSRFField = "csrf_token"
)

// How a caller was identified.
const (
	ViaToken    = "token"
	ViaSession  = "session"
	ViaLoopback = "loopback"
)

// Errors of Login.
var (
	ErrBadLogin        = errors.New("auth: wrong user name or password")
	ErrTooManyAttempts = errors.New("auth: too many failed sign-ins from this address or for this user name; wait a few minutes")
)

// Identity is who a request comes from. The zero value is an anonymous caller.
type Identity struct {
	// Name is the operator (user, token name, or "local" for loopback trust).
	Name string
	// Via is ViaToken, ViaSession, ViaLoopback, or "" for anonymous.
	Via string
	// CSRF is the session's token for forms and script requests (sessions only).
	CSRF string
	// ReadOnly: a read-scope token (or a session signed in with one): a viewer, never an
	// operator.
	ReadOnly bool
	// csrfOK: for a cookie session, the request carried the session's CSRF token.
	csrfOK bool
}

// Operator reports whether the caller is a signed-in operator (token, session or loopback).
func (id Identity) Operator() bool { return id.Via != "" && !id.ReadOnly }

// Viewer reports whether the caller signed in at all (an operator, or a read token), and so may
// view without anonymous_read.
func (id Identity) Viewer() bool { return id.Via != "" }

// mayChange reports whether the caller may make a state-changing request: an operator and, for
// a cookie session, with the CSRF token (a cookie is sent by the browser on forged requests too;
// the token is not).
func (id Identity) mayChange() bool {
	return id.Operator() && (id.Via != ViaSession || id.csrfOK)
}

// AuthOptions configure an Auth.
type AuthOptions struct {
	// Users maps operator names to bcrypt password hashes.
	Users map[string]string
	// ReadUsers are the users of Users with scope read: they view, and over IPP they own their
	// jobs, but they are not operators.
	ReadUsers map[string]bool
	// Tokens maps API tokens to operator names.
	Tokens map[string]string
	// ReadTokens maps read-scope tokens to their names: the dashboard, the read API and
	// /metrics (Prometheus), and nothing else.
	ReadTokens map[string]string
	// Refused, when set, records a refused attempt (a sign-in, an action without the rights
	// for it) in the audit log, with the client's address.
	Refused func(ctx context.Context, r Refused)
	// AnonymousRead lets anyone view the dashboard and read the API (names and owners hidden).
	AnonymousRead bool
	// TrustLoopback treats callers on 127.0.0.1/::1 as the operator "local" (the demo).
	TrustLoopback bool
	// SessionIdle ends a session unused this long (default 8 h); SessionMax ends any session
	// this long after sign-in (default 24 h).
	SessionIdle, SessionMax time.Duration
	// MaxSessions bounds memory; the oldest session goes first (default 10,000).
	MaxSessions int
	// Now is the clock (time.Now when nil).
	Now    func() time.Time
	Logger *slog.Logger
}

// Auth identifies callers and keeps the operator sessions. Sessions live in memory: a restart
// signs everyone out, which is acceptable for a mail-room screen and keeps secrets off disk.
type Auth struct {
	opts   AuthOptions
	log    *slog.Logger
	cross  *http.CrossOriginProtection
	tokens map[[32]byte]tokenEntry // sha256 of each token → whose, compared by hash

	dummyOnce sync.Once
	dummy     []byte // a hash of the users' cost, compared for unknown names to even out timing
	// compare checks a password against a bcrypt hash (bcrypt.CompareHashAndPassword; the
	// package's tests wrap it to count the checks that get through the throttle).
	compare func(hash, password []byte) error

	mu       sync.Mutex
	sessions map[string]*session // keyed by hex sha256 of the session id
	// Sign-in throttling (see reserve): attempts per address and per user name, at most
	// maxTracked of them, swept of expired ones when sweepAt has passed.
	throttle   map[throttleKey]*attempts
	maxTracked int
	sweepAt    time.Time
	fullLogged time.Time
	// basicOK remembers credentials that passed over IPP for basicTTL (see CheckBasic).
	basicOK map[[32]byte]basicEntry
}

// tokenEntry is whose a token is and whether it only reads.
type tokenEntry struct {
	name string
	read bool
}

type session struct {
	user    string
	read    bool
	csrf    string
	created time.Time
	used    time.Time
}

// NewAuth validates the options.
func NewAuth(o AuthOptions) (*Auth, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.SessionIdle <= 0 {
		o.SessionIdle = 8 * time.Hour
	}
	if o.SessionMax <= 0 {
		o.SessionMax = 24 * time.Hour
	}
	if o.MaxSessions <= 0 {
		o.MaxSessions = 10000
	}
	for name, h := range o.Users {
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("auth: user %q: password hash is not bcrypt: %w", name, err)
		}
	}
	a := &Auth{opts: o, log: o.Logger, cross: http.NewCrossOriginProtection(), tokens: map[[32]byte]tokenEntry{},
		compare: bcrypt.CompareHashAndPassword, sessions: map[string]*session{},
		throttle: map[throttleKey]*attempts{}, maxTracked: maxTrackedKeys, basicOK: map[[32]byte]basicEntry{}}
	for _, set := range []struct {
		m    map[string]string
		read bool
	}{{o.Tokens, false}, {o.ReadTokens, true}} {
		for tok, name := range set.m {
			if len(tok) < 16 {
				return nil, fmt.Errorf("auth: token of %q shorter than 16 characters", name)
			}
			key := sha256.Sum256([]byte(tok))
			if _, dup := a.tokens[key]; dup {
				return nil, fmt.Errorf("auth: token of %q given twice", name)
			}
			a.tokens[key] = tokenEntry{name: name, read: set.read}
		}
	}
	return a, nil
}

// AnonymousRead reports whether anonymous callers may view.
func (a *Auth) AnonymousRead() bool { return a.opts.AnonymousRead }

type identityKey struct{}

// Identify returns who made r: the identity the guard stored, or a fresh one.
func (a *Auth) Identify(r *http.Request) Identity {
	if id, ok := r.Context().Value(identityKey{}).(Identity); ok {
		return id
	}
	return a.identify(r)
}

// Operator implements Authenticator: the operator's name when the caller may act. A cookie
// session without the CSRF token is not an operator for a state-changing request.
func (a *Auth) Operator(r *http.Request) (string, bool) {
	id := a.Identify(r)
	if !id.Operator() || (!safeMethod(r.Method) && !id.mayChange()) {
		return "", false
	}
	return id.Name, true
}

// CanRead reports whether the caller may view the dashboard and read the API.
func (a *Auth) CanRead(r *http.Request) bool {
	return a.opts.AnonymousRead || a.Identify(r).Viewer()
}

func (a *Auth) identify(r *http.Request) Identity {
	if h := r.Header.Get("Authorization"); h != "" {
		// A bad token is anonymous, never a fall-back to the cookie or loopback trust: a script
		// with a stale token must see 401, not act under someone else's name.
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return Identity{}
		}
		if t, ok := a.tokens[sha256.Sum256([]byte(strings.TrimSpace(tok)))]; ok {
			return Identity{Name: t.name, Via: ViaToken, ReadOnly: t.read}
		}
		return Identity{}
	}
	if c, err := r.Cookie(SessionCookie); err == nil {
		if s, ok := a.lookup(c.Value); ok {
			id := Identity{Name: s.user, Via: ViaSession, CSRF: s.csrf, ReadOnly: s.read}
			if !safeMethod(r.Method) {
				id.csrfOK = tokenEqual(requestCSRF(r), s.csrf)
			}
			return id
		}
	}
	if a.opts.TrustLoopback {
		if ip := net.ParseIP(remoteHost(r)); ip != nil && ip.IsLoopback() {
			return Identity{Name: "local", Via: ViaLoopback}
		}
	}
	return Identity{}
}

// requestCSRF finds the token in the header, or in a URL-encoded form body (the dashboard's
// forms without script). Other bodies are never parsed here: they may be documents.
func requestCSRF(r *http.Request) string {
	if t := r.Header.Get(CSRFHeader); t != "" {
		return t
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return ""
	}
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return ""
	}
	return r.PostForm.Get(CSRFField)
}

func tokenEqual(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// Refusal is why the guard turned a request away.
type Refusal struct {
	Status int
	Code   string
	Msg    string
}

// check identifies r and decides whether it must be refused before any handler runs: a
// cross-origin browser request that changes state, or a cookie session changing state without
// its CSRF token. Anonymous state changes pass: the handler decides (printing is open;
// operator actions answer 401).
func (a *Auth) check(r *http.Request) (Identity, *Refusal) {
	id := a.identify(r)
	if safeMethod(r.Method) {
		return id, nil
	}
	if err := a.cross.Check(r); err != nil {
		return id, &Refusal{http.StatusForbidden, "cross-origin", "cross-origin request refused"}
	}
	if id.Via == ViaSession && !id.csrfOK {
		return id, &Refusal{http.StatusForbidden, "csrf", "missing or wrong CSRF token"}
	}
	return id, nil
}

// GuardAPI wraps the JSON API: forged state changes get 403, anonymous reads get 401 unless
// anonymous viewing is on. The identity is stored for the handlers.
func (a *Auth) GuardAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ref := a.check(r)
		if ref != nil {
			a.Refuse(r, ref.Msg)
			writeJSON(w, ref.Status, apiError{Error: ref.Msg, Code: ref.Code})
			return
		}
		if safeMethod(r.Method) && !id.Viewer() && !a.opts.AnonymousRead {
			a.Refuse(r, "viewing needs a sign-in or a token (anonymous_read is off)")
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "operator login or API token required", Code: "unauthorized"})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, id)))
	})
}

// withIdentity runs the guard's checks and stores the identity; the refusal is returned for
// the caller to render (the dashboard answers in HTML).
func (a *Auth) withIdentity(r *http.Request) (*http.Request, Identity, *Refusal) {
	id, ref := a.check(r)
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id)), id, ref
}

// Login checks a user's password (or, with an empty user name, an API token) and starts a
// session, setting its cookie on w.
func (a *Auth) Login(w http.ResponseWriter, r *http.Request, user, password string) (Identity, error) {
	host := remoteHost(r)
	res, ok := a.reserve(host, user)
	if !ok {
		return Identity{}, ErrTooManyAttempts
	}
	name, read, ok := a.verify(user, password)
	if !ok {
		locked := a.settle(res, false)
		a.log.Warn("operator sign-in refused", "user", user, "remote", host)
		a.refused(r, Refused{What: "dashboard sign-in", User: user, Why: "wrong user name or password"})
		if locked {
			a.log.Warn("sign-in locked for the rest of the window: too many failures from this address or for this user name",
				"user", user, "remote", host, "window", failureWindow)
		}
		return Identity{}, ErrBadLogin
	}
	a.settle(res, true)
	id, s := randomToken(), &session{user: name, read: read, csrf: randomToken()}
	now := a.opts.Now()
	s.created, s.used = now, now
	a.mu.Lock()
	a.purgeLocked(now)
	for len(a.sessions) >= a.opts.MaxSessions {
		a.dropOldestLocked()
	}
	a.sessions[sessionKey(id)] = s
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(a.opts.SessionMax / time.Second)})
	a.log.Info("operator signed in", "user", name, "remote", host)
	return Identity{Name: name, Via: ViaSession, CSRF: s.csrf, ReadOnly: read, csrfOK: true}, nil
}

// Logout ends r's session (if any) and clears the cookie.
func (a *Auth) Logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, sessionKey(c.Value))
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

// verify returns the operator's name for good credentials, and whether they only read (a
// read-scope token).
func (a *Auth) verify(user, password string) (string, bool, bool) {
	if user == "" {
		t, ok := a.tokens[sha256.Sum256([]byte(password))]
		return t.name, t.read, ok && password != ""
	}
	hash, ok := a.opts.Users[user]
	if !ok {
		// Spend the same time as for a real user so that timing does not tell names apart.
		_ = a.compare(a.dummyHash(), []byte(password))
		return "", false, false
	}
	if a.compare([]byte(hash), []byte(password)) != nil {
		return "", false, false
	}
	return user, a.opts.ReadUsers[user], true
}

func (a *Auth) dummyHash() []byte {
	a.dummyOnce.Do(func() {
		cost := bcrypt.DefaultCost
		for _, h := range a.opts.Users {
			if c, err := bcrypt.Cost([]byte(h)); err == nil {
				cost = c
				break
			}
		}
		a.dummy, _ = bcrypt.GenerateFromPassword([]byte(randomToken()), cost)
	})
	return a.dummy
}

// Sign-in throttling. maxFailures failures from one address, or maxUserFailures for one user
// name from all addresses together, within the window lock that address or name out for the
// rest of the window; bcrypt already makes each guess slow, this bounds a patient guesser. The
// name's limit is the higher one so that a guesser at one address cannot lock its user out, and
// a guesser at many addresses gets no more tries at one password than maxUserFailures.
//
// Every attempt reserves a slot of its address and its name (none for a token, which has no
// name) before the password check, and the slots in flight count against the limits: parallel
// attempts cannot all pass a check made before any of them has failed. A failure keeps its
// slots for the window; a success gives them back and clears its address's failures (a
// mistyped password), not the name's (others may be guessing it).
const (
	maxFailures     = 10
	maxUserFailures = 2 * maxFailures
	failureWindow   = 10 * time.Minute
	// maxTrackedKeys bounds the addresses and names remembered; names and addresses are kept as
	// hashes, so each costs the same whatever was typed.
	maxTrackedKeys = 10000
)

type throttleKey struct {
	user bool
	hash [32]byte // sha256 of the address or the user name
}

func (k throttleKey) limit() int {
	if k.user {
		return maxUserFailures
	}
	return maxFailures
}

// attempts are one address's or name's failures within the window and attempts in flight.
type attempts struct {
	failures []time.Time
	inflight int
	last     time.Time // of the latest attempt, for choosing which to forget
}

func (e *attempts) prune(now time.Time) {
	recent := e.failures[:0]
	for _, t := range e.failures {
		if now.Sub(t) < failureWindow {
			recent = append(recent, t)
		}
	}
	clear(e.failures[len(recent):])
	e.failures = recent
}

func (e *attempts) idle() bool { return e.inflight == 0 && len(e.failures) == 0 }

// reservation holds the slots of one attempt until settle.
type reservation struct {
	keys []throttleKey
}

// reserve takes a slot of host and, with a user name, of user, or none when either is at its
// limit (failures in the window plus attempts in flight) or the table of keys is full of locked
// and busy ones.
func (a *Auth) reserve(host, user string) (reservation, bool) {
	res := reservation{keys: []throttleKey{{hash: sha256.Sum256([]byte(host))}}}
	if user != "" {
		res.keys = append(res.keys, throttleKey{user: true, hash: sha256.Sum256([]byte(user))})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.opts.Now()
	if !now.Before(a.sweepAt) {
		a.sweepLocked(now)
		a.sweepAt = now.Add(failureWindow)
	}
	missing := 0
	for _, k := range res.keys {
		e, ok := a.throttle[k]
		if !ok {
			missing++
			continue
		}
		e.prune(now)
		if len(e.failures)+e.inflight >= k.limit() {
			return reservation{}, false
		}
	}
	if len(a.throttle)+missing > a.maxTracked {
		a.sweepLocked(now)
		for len(a.throttle)+missing > a.maxTracked {
			if !a.forgetOneLocked(res.keys) {
				// Every key is locked or busy: refuse rather than forget a lock.
				if now.Sub(a.fullLogged) >= failureWindow {
					a.fullLogged = now
					a.log.Warn("sign-in throttle full: new addresses and names are refused until entries expire", "keys", len(a.throttle))
				}
				return reservation{}, false
			}
		}
	}
	for _, k := range res.keys {
		e, ok := a.throttle[k]
		if !ok {
			e = &attempts{}
			a.throttle[k] = e
		}
		e.inflight++
		e.last = now
	}
	return res, true
}

// settle ends the attempt res: a failure keeps its slots for the window. It reports whether the
// failure locked its address or name.
func (a *Auth) settle(res reservation, ok bool) (locked bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.opts.Now()
	for _, k := range res.keys {
		e := a.throttle[k] // in flight: never swept nor forgotten
		if e == nil {
			continue
		}
		e.inflight--
		e.prune(now)
		switch {
		case !ok:
			e.failures = append(e.failures, now)
			locked = locked || len(e.failures) >= k.limit()
		case !k.user:
			e.failures = nil
		}
		if e.idle() {
			delete(a.throttle, k)
		}
	}
	return locked
}

// sweepLocked drops the keys with no failure in the window and nothing in flight.
func (a *Auth) sweepLocked(now time.Time) {
	for k, e := range a.throttle {
		e.prune(now)
		if e.idle() {
			delete(a.throttle, k)
		}
	}
}

// forgetOneLocked drops the least recently tried key that is neither locked nor in flight nor
// one of keep, and reports whether there was one.
func (a *Auth) forgetOneLocked(keep []throttleKey) bool {
	var oldest throttleKey
	var at time.Time
	found := false
	for k, e := range a.throttle {
		if e.inflight > 0 || len(e.failures) >= k.limit() || (found && !e.last.Before(at)) {
			continue
		}
		kept := false
		for _, kk := range keep {
			kept = kept || kk == k
		}
		if !kept {
			oldest, at, found = k, e.last, true
		}
	}
	if found {
		delete(a.throttle, oldest)
	}
	return found
}

// trackedKeys counts the addresses and names the throttle remembers (for tests).
func (a *Auth) trackedKeys() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.throttle)
}

func (a *Auth) lookup(id string) (*session, bool) {
	if id == "" {
		return nil, false
	}
	key := sessionKey(id)
	now := a.opts.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s, ok := a.sessions[key]
	if !ok {
		return nil, false
	}
	if a.expired(s, now) {
		delete(a.sessions, key)
		return nil, false
	}
	s.used = now
	c := *s
	return &c, true
}

func (a *Auth) expired(s *session, now time.Time) bool {
	return now.Sub(s.used) > a.opts.SessionIdle || now.Sub(s.created) > a.opts.SessionMax
}

func (a *Auth) purgeLocked(now time.Time) {
	for k, s := range a.sessions {
		if a.expired(s, now) {
			delete(a.sessions, k)
		}
	}
}

func (a *Auth) dropOldestLocked() {
	var oldest string
	var at time.Time
	for k, s := range a.sessions {
		if oldest == "" || s.created.Before(at) {
			oldest, at = k, s.created
		}
	}
	delete(a.sessions, oldest)
}

// Sessions counts live sessions (for tests and metrics).
func (a *Auth) Sessions() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.sessions)
}

// Sessions are looked up by a hash of their id, so the map's own timing says nothing about ids.
func sessionKey(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24 panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loginToken returns the token that ties the sign-in form to its browser (double-submit
// cookie): a forged sign-in from another site cannot read the cookie to copy it into the form.
func loginToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(loginCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	t := randomToken()
	http.SetCookie(w, &http.Cookie{Name: loginCookie, Value: t, Path: "/ui/login", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600})
	return t
}

// loginTokenOK checks the sign-in form's token against its cookie.
func loginTokenOK(r *http.Request) bool {
	c, err := r.Cookie(loginCookie)
	return err == nil && tokenEqual(r.PostFormValue(CSRFField), c.Value)
}

// localPath keeps the redirect after sign-in (next=) and after an action (back=) on this site:
// a path from the root, or the overview. Refused: anything with a scheme or host; "//" and "/\"
// (browsers read "\" as "/", so "/\host" is "//host"); control characters and white space
// anywhere, since browsers drop tabs and line breaks from a URL ("/\t/host" becomes "//host");
// backslashes anywhere; text that is not UTF-8; and a path that decodes to one of these.
func localPath(p string) string {
	const fallback = "/ui/"
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || !utf8.ValidString(p) || !plainURLText(p) {
		return fallback
	}
	u, err := url.Parse(p)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") ||
		!utf8.ValidString(u.Path) || !plainURLText(u.Path) {
		return fallback
	}
	return p
}

// plainURLText reports whether s has no control character, white space or backslash.
func plainURLText(s string) bool {
	for _, r := range s {
		if r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}
