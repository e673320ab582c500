package job

import "fmt"

// Rule: the format bridge could not convert a job's document for the printer it was given (the
// converter could not read it, or it ran past the converter's time, memory or size limit).
// Nothing reached that printer. Every other printer that needs a conversion would fail the
// same way, so when a pool member takes the document as it is, the job is requeued (the
// attempt counts, so that it cannot circle for ever) and the scheduler keeps it away from
// converting members; when none does, the job is aborted now, its reason the converter's.

// ConversionFailed is the move after a failed conversion for printer; why is the converter's
// reason; asIs says some member of the pool takes the document without conversion; attempts
// is how many the job had before this one.
func ConversionFailed(printer, why string, asIs bool, attempts, maxAttempts int) Move {
	c := Change{Reason: "document-format-error", Attempt: true,
		Message: fmt.Sprintf("could not convert the document for %s: %s", printer, why)}
	if !asIs {
		c.Message += "; no printer of the pool takes it unconverted"
		return Move{To: StateAborted, Change: c}
	}
	return RetryOrAbort(c, attempts, maxAttempts)
}
