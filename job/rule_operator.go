package job

import "fmt"

// Rules: what an operator (or a job's owner) may do to a job, and what it changes. Every such
// move is an operator event naming the actor. A job at a printer is cancelled through its
// flight (the scheduler asks the printer too); these moves are for jobs no printer holds.

// NotPossibleError: an operator's action does not apply to the job in its state.
type NotPossibleError struct {
	JobID int64
	State State
	// Why, when set, says what would be possible.
	Why string
}

func (e *NotPossibleError) Error() string {
	msg := fmt.Sprintf("job %d is %s", e.JobID, e.State)
	if e.Why != "" {
		msg += "; " + e.Why
	}
	return msg
}

// Cancel is the move that cancels a job no printer holds (BeforePrinter).
func Cancel(actor string) Move {
	return Move{To: StateCanceled, Change: Change{From: BeforePrinter, Actor: actor, Kind: EventOperator,
		Reason: "canceled-by-user", Message: "canceled by " + actor}}
}

// CanceledInFlight is the move for a job whose flight an operator's cancel stopped.
func CanceledInFlight(actor string) Move {
	return Move{To: StateCanceled, Change: Change{Actor: actor, Kind: EventOperator,
		Reason: "canceled-by-user", Message: "canceled by " + actor}}
}

// Hold keeps a pending job from printing until released.
func Hold(actor string) Move {
	return Move{To: StateHeld, Change: Change{From: []State{StatePending}, Actor: actor, Kind: EventOperator,
		Reason: "job-hold-until-specified", Message: "held by " + actor}}
}

// Release lets a held job print.
func Release(actor string) Move {
	return Move{To: StatePending, Change: Change{From: []State{StateHeld}, Actor: actor, Kind: EventOperator,
		Message: "released by " + actor}}
}

// Retry sends an aborted or canceled job again, as the same job, to any printer of its pool.
// Only those two end states can be retried: a completed job printed.
func Retry(j *Job, actor string) (Move, error) {
	if j.State != StateAborted && j.State != StateCanceled {
		return Move{}, &NotPossibleError{JobID: j.ID, State: j.State, Why: "only aborted or canceled jobs can be retried"}
	}
	empty := ""
	return Move{To: StatePending, Change: Change{From: []State{j.State}, Printer: &empty, Actor: actor, Kind: EventOperator,
		Message: fmt.Sprintf("retried by %s (was %s, %d attempts so far)", actor, j.State, j.Attempts)}}, nil
}

// Pin moves a pending or held job to printer without changing its state (the scheduler sends
// a pending job with a printer set only there). A job at a printer is taken back instead
// (TakenBack with byOperator).
func Pin(j *Job, printer, actor string) (Move, error) {
	if j.State != StatePending && j.State != StateHeld {
		return Move{}, &NotPossibleError{JobID: j.ID, State: j.State}
	}
	return Move{To: j.State, Change: Change{From: []State{j.State}, Printer: &printer, Actor: actor, Kind: EventOperator,
		Reason: j.StateReason, Message: fmt.Sprintf("moved to %s by %s", printer, actor)}}, nil
}
