// A job's states, the legal moves between them and the named sets of states that the scheduler,
// the front-ends and the drivers ask about.
package job

import "slices"

// State is a job's persisted state. See shared/DESIGN.md for the machine.
type State string

// The job states. Every change between them is one transaction with an event row.
const (
	// StateReceived: the row exists (IPP Create-Job) but its last document has not arrived.
	StateReceived State = "received"
	// StatePending: durable and waiting for the scheduler.
	StatePending State = "pending"
	// StateHeld: kept back by an operator, a paused virtual printer or a bulk-run schedule.
	StateHeld State = "held"
	// StateAssigned: a printer was chosen but not yet contacted; safe to move at any time.
	StateAssigned State = "assigned"
	// StateSending: bytes are moving to the printer; the outcome is uncertain on a crash.
	StateSending State = "sending"
	// StatePrinting: the printer accepted the job and is printing it.
	StatePrinting State = "printing"
	// StateCompleted, StateCanceled and StateAborted are final.
	StateCompleted State = "completed"
	StateCanceled  State = "canceled"
	StateAborted   State = "aborted"
)

// Final reports whether s is an end state: the scheduler never moves a job out of it; only an
// operator's retry (canceled or aborted back to pending) does.
func (s State) Final() bool {
	return s == StateCompleted || s == StateCanceled || s == StateAborted
}

// Active reports whether a job in state s is bound to a printer.
func (s State) Active() bool {
	return s == StateAssigned || s == StateSending || s == StatePrinting
}

// transitions lists, for each state, the states it may move to. pending -> pending and
// held -> held are an operator's move (the job's printer changes, its state does not);
// canceled/aborted -> pending is an operator's retry of the same job.
var transitions = map[State][]State{
	StateReceived: {StatePending, StateHeld, StateCanceled, StateAborted},
	StatePending:  {StatePending, StateAssigned, StateHeld, StateCanceled, StateAborted},
	StateHeld:     {StateHeld, StatePending, StateCanceled, StateAborted},
	StateAssigned: {StatePending, StateSending, StateHeld, StateCanceled, StateAborted},
	StateSending:  {StatePending, StatePrinting, StateCompleted, StateCanceled, StateAborted},
	StatePrinting: {StatePending, StateCompleted, StateCanceled, StateAborted},
	StateCanceled: {StatePending},
	StateAborted:  {StatePending},
}

// CanTransition reports whether from → to is a legal move.
func CanTransition(from, to State) bool { return slices.Contains(transitions[from], to) }

// The named sets of states. Callers use these instead of spelling the states out, so that a new
// state is added to every question in one place.
var (
	// Unfinished: the job may still print (Final is false).
	Unfinished = []State{StateReceived, StatePending, StateHeld, StateAssigned, StateSending, StatePrinting}
	// Finished: the end states (Final is true).
	Finished = []State{StateCompleted, StateCanceled, StateAborted}
	// AtPrinter: bound to a printer (Active is true).
	AtPrinter = []State{StateAssigned, StateSending, StatePrinting}
	// BeforePrinter: unfinished and not yet bound to a printer; an operator's cancel needs no
	// printer to agree.
	BeforePrinter = []State{StateReceived, StatePending, StateHeld}
	// All is every state, in the order of the machine.
	All = append(append([]State{}, Unfinished...), Finished...)
)

// Stamps says which of a job's times a move into state to sets: started when the first bytes
// go to a printer (kept on a later attempt), finished when it ends. Every driver path that
// writes a state (one job or a set of letters) applies it.
func Stamps(to State) (started, finished bool) {
	return to == StateSending, to.Final()
}
