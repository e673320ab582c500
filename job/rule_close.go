package job

// Rule: closing a received job (IPP Close-Job, or Send-Document with last-document). A job
// created held (its hold reason recorded at Create-Job: job-hold-until, a paused printer) stays
// held; one without any document is aborted, since there is nothing to print; any other becomes
// pending for the scheduler. Only a received job can close.

// CloseReceived is the move that closes a received job whose hold reason is heldReason ("" when
// it was not created held) and that has documents documents.
func CloseReceived(heldReason string, documents int) Move {
	m := Move{To: StatePending, Change: Change{From: []State{StateReceived}, Message: "job closed"}}
	switch {
	case documents == 0:
		m.To, m.Change.Reason, m.Change.Message = StateAborted, "document-not-received", "job closed without a document"
	case heldReason != "":
		m.To, m.Change.Reason = StateHeld, heldReason
	}
	return m
}
