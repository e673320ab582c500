// Sign-in from outside the dashboard (HTTP Basic over IPP, checked against the same users and
// tokens) and the audit of refused attempts.
package ui

import (
	"crypto/sha256"
	"net/http"
	"time"

	"github.com/printgate/printgate/ipp"
)

// Refused is one refused attempt, for the audit log.
type Refused struct {
	// What was tried ("POST /api/v1/jobs/4/cancel", "dashboard sign-in", "IPP Hold-Job").
	What string
	// User is who the caller is or claimed to be ("" for nobody).
	User string
	// Remote is the client's address; filled in by Auth when empty.
	Remote string
	// Why the attempt was refused.
	Why string
}

// refused hands a refused attempt from r to the Refused option.
func (a *Auth) refused(r *http.Request, ref Refused) {
	if a.opts.Refused == nil {
		return
	}
	if ref.Remote == "" {
		ref.Remote = remoteHost(r)
	}
	a.opts.Refused(r.Context(), ref)
}

// basicTTL is how long credentials that passed are taken again without bcrypt: an IPP client
// sends them with every request of a job (CUPS polls Get-Job-Attributes every few seconds),
// and a bcrypt check of cost 12 costs a quarter of a second of CPU each time.
const basicTTL = 5 * time.Minute

// maxBasicCached bounds the remembered credentials.
const maxBasicCached = 1000

type basicEntry struct {
	p       ipp.Principal
	expires time.Time
}

// CheckBasic implements ipp.Authenticator: a user of auth.users with its password, or a token
// as the password (with its name, or no name, as the user). Failures count against the same
// sign-in throttle as the dashboard's, and are audited.
func (a *Auth) CheckBasic(r *http.Request, user, password string) (ipp.Principal, bool) {
	key := sha256.Sum256([]byte(user + "\x00" + password))
	now := a.opts.Now()
	a.mu.Lock()
	e, ok := a.basicOK[key]
	a.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.p, true
	}
	if t, isToken := a.tokens[sha256.Sum256([]byte(password))]; isToken && password != "" && (user == "" || user == t.name) {
		// A token is a long random secret, compared by hash: nothing to slow down.
		return a.rememberBasic(key, ipp.Principal{Name: t.name, Operator: !t.read}, now), true
	}
	host := remoteHost(r)
	res, ok := a.reserve(host, user)
	if !ok {
		a.refused(r, Refused{What: "IPP sign-in", User: user, Why: "too many failed sign-ins"})
		return ipp.Principal{}, false
	}
	name, read, ok := a.verify(user, password)
	if !ok || user == "" {
		a.settle(res, false)
		a.log.Warn("IPP sign-in refused", "user", user, "remote", host)
		a.refused(r, Refused{What: "IPP sign-in", User: user, Why: "wrong user name or password"})
		return ipp.Principal{}, false
	}
	a.settle(res, true)
	return a.rememberBasic(key, ipp.Principal{Name: name, Operator: !read}, now), true
}

func (a *Auth) rememberBasic(key [32]byte, p ipp.Principal, now time.Time) ipp.Principal {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.basicOK) >= maxBasicCached {
		for k, e := range a.basicOK {
			if !now.Before(e.expires) {
				delete(a.basicOK, k)
			}
		}
		if len(a.basicOK) >= maxBasicCached {
			clear(a.basicOK)
		}
	}
	a.basicOK[key] = basicEntry{p: p, expires: now.Add(basicTTL)}
	return p
}

// Refuse records r, refused for why, in the audit log: the method and path, who the caller is
// (a token's or user's name, "" for nobody) and the client's address.
func (a *Auth) Refuse(r *http.Request, why string) {
	a.refused(r, Refused{What: r.Method + " " + r.URL.Path, User: a.Identify(r).Name, Why: why})
}

var _ ipp.Authenticator = (*Auth)(nil)
