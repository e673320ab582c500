package job

// Rule: what a restart does to each job (the driver applies it at open, before the scheduler
// runs; docs/OPERATIONS.md tells operators the same):
//   - received: aborted (document-not-received): the client's Create-Job session died with the
//     process, and a job waiting for documents that will never come confuses IPP clients more
//     than an aborted one with a reason.
//   - assigned: back to pending, printer cleared (the printer was never contacted).
//   - sending: back to pending, attempts+1, possible duplicate (the printer may have it).
//   - printing: left alone; the scheduler resumes watching it at its printer (or, when that
//     printer is no longer configured, PrinterGone).
//   - every other state: left alone.

// OnRestart is the move a restart makes for a job found in state s, and false when it leaves
// such a job alone.
func OnRestart(s State) (Move, bool) {
	empty := ""
	switch s {
	case StateReceived:
		return Move{To: StateAborted, Change: Change{Reason: "document-not-received", Kind: EventRecovery,
			Message: "restart before the last document arrived"}}, true
	case StateAssigned:
		return Move{To: StatePending, Change: Change{Printer: &empty, Kind: EventRecovery,
			Message: "restart: assignment dropped, job requeued"}}, true
	case StateSending:
		return Move{To: StatePending, Change: Change{Printer: &empty, Attempt: true, PossibleDuplicate: true,
			Reason: "possible-duplicate", Kind: EventRecovery, Message: "restart while sending: requeued, may print twice"}}, true
	}
	return Move{}, false
}

// PrinterGone is the move for a job found printing at start on a printer that left the
// configuration: it must print elsewhere, and may print twice.
func PrinterGone(printer string) Move {
	empty := ""
	return Move{To: StatePending, Change: Change{Printer: &empty, Kind: EventFailover, PossibleDuplicate: true,
		Attempt: true, Reason: "possible-duplicate", Message: "printer " + printer + " no longer configured"}}
}
