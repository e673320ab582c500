// The audit of refusals is bounded per client: a hostile client that sends refused requests in
// a loop (an unauthenticated scraper, a password guesser) must not fill the spool's disk with
// events and stop everyone else from printing. Each client host gets a burst of events a
// window; past it, its refusals are counted and written as one summary event when its window
// ends (or with its next refusal after that), so every refused attempt stays in the audit log,
// by number, with its address.
package queue

import (
	"net"
	"sync"
	"time"
)

const (
	// refusalBurst events per host and window are written one by one.
	refusalBurst = 20
	// refusalWindow is how long a host's count runs.
	refusalWindow = time.Minute
	// refusalHosts bounds the table: past it, new hosts share one row (a distributed flood is
	// still summarised, not remembered host by host without end).
	refusalHosts = 4096
	refusalOther = "(other hosts)"
)

type refusalCount struct {
	start      time.Time
	written    int
	suppressed int
	last       Refusal
}

// refusalLimiter decides which refusals are written as they come and which are summarised.
type refusalLimiter struct {
	mu    sync.Mutex
	hosts map[string]*refusalCount
}

// refusalSummary is the count of a host's refusals not written one by one in a window.
type refusalSummary struct {
	host  string
	count int
	since time.Time
	last  Refusal
}

// admit says whether r is written now, and returns the summaries of windows that have ended
// (r's host's, and at most a few others', so the table empties without a timer of its own).
func (l *refusalLimiter) admit(now time.Time, r Refusal) (write bool, done []refusalSummary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hosts == nil {
		l.hosts = map[string]*refusalCount{}
	}
	host := refusalHost(r.Remote)
	swept := 0
	for h, c := range l.hosts {
		if swept >= 8 {
			break
		}
		swept++
		if h != host && now.Sub(c.start) >= refusalWindow {
			if c.suppressed > 0 {
				done = append(done, refusalSummary{host: h, count: c.suppressed, since: c.start, last: c.last})
			}
			delete(l.hosts, h)
		}
	}
	c := l.hosts[host]
	if c == nil && len(l.hosts) >= refusalHosts {
		host = refusalOther
		c = l.hosts[host]
	}
	if c != nil && now.Sub(c.start) >= refusalWindow {
		if c.suppressed > 0 {
			done = append(done, refusalSummary{host: host, count: c.suppressed, since: c.start, last: c.last})
		}
		c = nil
	}
	if c == nil {
		c = &refusalCount{start: now}
		l.hosts[host] = c
	}
	if c.written < refusalBurst {
		c.written++
		return true, done
	}
	c.suppressed++
	c.last = r
	return false, done
}

// flush returns every pending summary (at shutdown), emptying the table.
func (l *refusalLimiter) flush() []refusalSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []refusalSummary
	for h, c := range l.hosts {
		if c.suppressed > 0 {
			out = append(out, refusalSummary{host: h, count: c.suppressed, since: c.start, last: c.last})
		}
	}
	l.hosts = nil
	return out
}

// refusalHost is the host part of a remote address ("127.0.0.1:5000", "[::1]:631", "::1").
func refusalHost(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}
