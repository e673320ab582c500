package job

import (
	"errors"
	"fmt"
	"time"
)

// Rule: every job flagged possible-duplicate gets a review for the mail room: the printer of
// the uncertain attempt and what its page counter said, kept until an operator decides
// whether the letter came out once or twice (and the second copy must be destroyed). A
// decision can be corrected; each one is an operator event (the audit log) and goes into the
// run's manifest. A new uncertain attempt of the same job opens its review again.

// Decision is an operator's finding about a possible duplicate.
type Decision string

const (
	// DecisionNone: not reviewed yet.
	DecisionNone Decision = ""
	// DecisionPrintedOnce: one copy found; nothing to destroy.
	DecisionPrintedOnce Decision = "printed-once"
	// DecisionPrintedTwice: two copies found; the second is to be destroyed.
	DecisionPrintedTwice Decision = "printed-twice"
)

// ErrNotDuplicate: the job has no duplicate review (it was never flagged).
var ErrNotDuplicate = errors.New("spool: job is not a possible duplicate")

// ParseDecision reads an operator's decision: printed-once (once) or printed-twice (twice).
func ParseDecision(s string) (Decision, error) {
	switch s {
	case "printed-once", "once":
		return DecisionPrintedOnce, nil
	case "printed-twice", "twice":
		return DecisionPrintedTwice, nil
	}
	return DecisionNone, fmt.Errorf("decision %q: use printed-once or printed-twice", s)
}

// Text is the decision for people.
func (d Decision) Text() string {
	switch d {
	case DecisionPrintedOnce:
		return "printed once"
	case DecisionPrintedTwice:
		return "printed twice, destroy copy"
	}
	return "not reviewed"
}

// DecisionEvent is the operator event recording decision d on job id by actor.
func DecisionEvent(id int64, d Decision, actor, note string) Event {
	msg := fmt.Sprintf("duplicate review of job %d: %s", id, d.Text())
	if note != "" {
		msg += ": " + note
	}
	return Event{Kind: EventOperator, JobID: id, Actor: actor, To: string(d), Message: msg}
}

// Duplicate is one possible-duplicate job's review.
type Duplicate struct {
	JobID int64  `json:"job_id"`
	Name  string `json:"name"`
	Owner string `json:"owner"`
	RunID int64  `json:"run_id,omitempty"`
	Seq   int64  `json:"seq,omitempty"`
	Pages int    `json:"pages"`
	State State  `json:"state"`
	// Printer is where the uncertain attempt was; the job may since have printed elsewhere
	// (CurrentPrinter).
	Printer        string `json:"printer"`
	CurrentPrinter string `json:"current_printer,omitempty"`
	// Evidence is what the page counter said; nil when that printer has none (IPP, or SNMP
	// without a counter).
	Evidence  *Evidence `json:"evidence,omitempty"`
	Message   string    `json:"message"`
	FlaggedAt time.Time `json:"flagged_at"`
	Decision  Decision  `json:"decision,omitempty"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	Note      string    `json:"note,omitempty"`
}

// DuplicateFilter selects reviews. Zero fields do not filter.
type DuplicateFilter struct {
	RunID int64
	// Undecided only the ones no operator has decided yet.
	Undecided bool
	Limit     int
}
