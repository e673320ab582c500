package job

import (
	"fmt"
	"time"
)

// Rule: a job sent to a printer whose page counter (prtMarkerLifeCount) the gateway reads is
// known to the page. Its pages are expected at counter values [Before, Before+Pages) — the
// printer prints what it received in order, so a job's first page follows the previous job's
// last. Once the counter has reached Before+Pages the job is on paper; while it is below
// Before, the jobs sent before it are not all counted, so the printer had not started it;
// from Before on, it is the job the printer was working on (its first sheet can be in the
// paper path, not yet counted). So when the printer dies or is taken away:
//   - counted whole: completed, never re-sent;
//   - partly counted, or the one in progress: the truly uncertain one, re-sent as a possible
//     duplicate for the mail room to check;
//   - not reached: re-sent, no flag, no attempt counted — nothing of it came out — when the
//     printer lost it (it died: unreachable); a printer that still holds its bytes (stopped by
//     a jam or an open door, or a job moved by an operator) may print it once cleared, since a
//     socket or LPD job cannot be canceled there, so it is a possible duplicate too.

// Evidence is what a printer's page counter says about one job sent to it.
type Evidence struct {
	Printer string `json:"printer"`
	// Before is the counter value at which the job's first page is expected (the counter read
	// before sending, or the previous job's end if that is later); Pages its impressions.
	Before int64 `json:"counter_before"`
	Pages  int   `json:"pages"`
	// After is the last counter value read, at AfterAt; SentAt is when the bytes were sent.
	After   int64     `json:"counter_after"`
	SentAt  time.Time `json:"sent_at,omitzero"`
	AfterAt time.Time `json:"counter_at,omitzero"`
}

// End is the counter value at which the job is wholly printed.
func (e Evidence) End() int64 { return e.Before + int64(max(e.Pages, 1)) }

// Counted is the counter's verdict on one job.
type Counted int

const (
	// CountedNone: none of its pages were counted and the printer had not started it.
	CountedNone Counted = iota
	// CountedUncertain: partly counted, or the job in progress (every job before it counted):
	// it may be (partly) on paper.
	CountedUncertain
	// CountedAll: every page counted.
	CountedAll
)

// Verdict applies the rule to e.
func (e Evidence) Verdict() Counted {
	switch {
	case e.After >= e.End():
		return CountedAll
	case e.After >= e.Before:
		return CountedUncertain
	}
	return CountedNone
}

// Confirmed reports whether a printer that is still working has finished the job: every page
// counted, and either the printer is idle (the last sheet left the paper path) or the counter
// has moved on into the next job's pages.
func (e Evidence) Confirmed(idle bool) bool {
	return e.After >= e.End() && (idle || e.After > e.End())
}

func (e Evidence) String() string {
	return fmt.Sprintf("%s page counter %d -> %d (pages %d-%d expected)", e.Printer, e.Before, e.After, e.Before+1, e.End())
}

// CountedTakenBack is the move for a printing job taken back from its printer (it died, its
// grace period ended, an operator moved it) when the printer's counter gives evidence e; cause
// says why, holdsBytes whether the printer may still have the job (it is not known dead), pin
// is the printer it goes to ("" = any member of the pool).
func CountedTakenBack(e Evidence, cause error, byOperator, holdsBytes bool, actor, pin string) Move {
	kind := EventFailover
	if byOperator {
		kind = EventOperator
	}
	ev := e
	c := Change{Kind: kind, Actor: actor, Evidence: &ev}
	verdict := e.Verdict()
	if verdict == CountedNone && holdsBytes {
		verdict = CountedUncertain
	}
	switch verdict {
	case CountedAll:
		c.Message = fmt.Sprintf("%s: %s, but every page was counted: %s", e.Printer, cause, e)
		return Move{To: StateCompleted, Change: c}
	case CountedUncertain:
		c.Printer = &pin
		c.PossibleDuplicate, c.Attempt, c.Reason = true, true, "possible-duplicate"
		c.Message = fmt.Sprintf("%s: %s while printing it: %s; requeued as a possible duplicate", e.Printer, cause, e)
		if e.Verdict() == CountedNone {
			c.Message = fmt.Sprintf("%s: %s before it printed any page of it, but the printer still holds it: %s; requeued as a possible duplicate",
				e.Printer, cause, e)
		}
	default:
		c.Printer = &pin
		c.Message = fmt.Sprintf("%s: %s before it printed any page of it: %s; requeued", e.Printer, cause, e)
	}
	if pin != "" {
		c.Message += " for " + pin
	}
	return Move{To: StatePending, Change: c}
}

// UnconfirmedTimeout is the move for a job whose pages the counter did not count within the
// bounded wait while the printer kept answering: the printer holds the bytes and may still
// print them, so a re-send may print twice, whatever the counter said so far.
func UnconfirmedTimeout(e Evidence, wait time.Duration, attempts, maxAttempts int) Move {
	ev := e
	c := Change{Kind: EventFailover, Evidence: &ev, Attempt: true, PossibleDuplicate: true, Reason: "possible-duplicate",
		Message: fmt.Sprintf("%s did not count all its pages within %v: %s; requeued as a possible duplicate", e.Printer, wait, e)}
	return RetryOrAbort(c, attempts, maxAttempts)
}
