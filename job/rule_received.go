package job

import (
	"fmt"
	"time"
)

// Rule: a received job whose last document does not come within the multiple-operation
// time-out is aborted (IPP's multiple-operation-time-out-action abort-job): its client went
// away, and a job that can never close must not hold its documents for ever.

// ReceivedTimedOut is the move for a received job that waited longer than timeout.
func ReceivedTimedOut(timeout time.Duration) Move {
	return Move{To: StateAborted, Change: Change{From: []State{StateReceived}, Reason: "document-not-received",
		Message: fmt.Sprintf("no last document within the multiple-operation-time-out (%v)", timeout)}}
}
