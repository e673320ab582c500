package job

import "fmt"

// Rule: a job taken back from its printer (the printer failed, its grace period ended, or an
// operator moved the job or drained the printer) goes back to pending. Whether it may print
// twice depends on how far it got: an assigned job never reached the printer, and a send the
// backend reports as certainly undelivered left nothing there; anything else may already be on
// paper, so the job is flagged possible-duplicate and the attempt counts. The new printer is
// pin ("" = any member of the pool).

// TakenBack is the move for a job taken back from printer while in state at.
//   - certain: the backend knows nothing reached the printer.
//   - byOperator: an operator's move or drain (an operator event), not a failover.
//   - cause: what happened, for the event's message; actor: who, for an operator's action.
func TakenBack(printer string, at State, cause error, certain, byOperator bool, actor, pin string) Move {
	dup := !certain && at != StateAssigned
	kind := EventFailover
	if byOperator {
		kind = EventOperator
	}
	c := Change{Kind: kind, Actor: actor, PossibleDuplicate: dup, Attempt: dup, Printer: &pin,
		Message: fmt.Sprintf("%s: %s while %s", printer, cause, at)}
	if dup {
		c.Reason = "possible-duplicate"
		c.Message += ", requeued as a possible duplicate"
	} else {
		c.Message += ", nothing delivered, requeued"
	}
	if pin != "" {
		c.Message += " for " + pin
	}
	return Move{To: StatePending, Change: c}
}

// Rule: a job that failed at a printer in a way that counts against it (the printer refused it,
// or the outcome is unknown) is requeued for any printer, unless this attempt is its last of
// maxAttempts: then it is aborted, so that a letter no printer can print does not circle for
// ever.

// RetryOrAbort is the move after a failed attempt: c describes the failure (c.Attempt set when
// it counts); attempts is how many the job had before this one.
func RetryOrAbort(c Change, attempts, maxAttempts int) Move {
	if c.Attempt && attempts+1 >= maxAttempts {
		c.Message = fmt.Sprintf("aborted after %d attempts: %s", attempts+1, c.Message)
		c.Reason = "aborted-by-system"
		return Move{To: StateAborted, Change: c}
	}
	empty := ""
	c.Printer = &empty
	return Move{To: StatePending, Change: c}
}
