// IPP job and printer states, and how the spool's job states read as IPP.
package ipp

import (
	"fmt"

	"github.com/printgate/printgate/job"
)

// JobState is the IPP job-state enum (RFC 8011 section 5.3.7).
type JobState int

// The IPP job states.
const (
	JobPending           JobState = 3
	JobPendingHeld       JobState = 4
	JobProcessing        JobState = 5
	JobProcessingStopped JobState = 6
	JobCanceled          JobState = 7
	JobAborted           JobState = 8
	JobCompleted         JobState = 9
)

// Final reports whether the job can no longer change (canceled, aborted, completed).
func (s JobState) Final() bool { return s >= JobCanceled && s <= JobCompleted }

func (s JobState) String() string {
	switch s {
	case JobPending:
		return "pending" // IPP keyword
	case JobPendingHeld:
		return "pending-held"
	case JobProcessing:
		return "processing"
	case JobProcessingStopped:
		return "processing-stopped"
	case JobCanceled:
		return "canceled" // IPP keyword
	case JobAborted:
		return "aborted" // IPP keyword
	case JobCompleted:
		return "completed" // IPP keyword
	}
	return fmt.Sprintf("job-state(%d)", int(s))
}

// PrinterState is the IPP printer-state enum (RFC 8011 section 5.4.11).
type PrinterState int

// The IPP printer states.
const (
	PrinterIdle       PrinterState = 3
	PrinterProcessing PrinterState = 4
	PrinterStopped    PrinterState = 5
)

func (s PrinterState) String() string {
	switch s {
	case PrinterIdle:
		return "idle"
	case PrinterProcessing:
		return "processing"
	case PrinterStopped:
		return "stopped"
	}
	return fmt.Sprintf("printer-state(%d)", int(s))
}

// ReasonPossibleDuplicate is the job-state-reasons keyword for a job re-sent after an uncertain
// outcome (job.Job.PossibleDuplicate): it may print twice. No registered keyword says this, so
// it is a private one, prefixed with the product name as RFC 8011 section 5.3.8 allows for
// implementation-defined values; lpstat -l and the Windows queue show it as written.
const ReasonPossibleDuplicate = "printgate-possible-duplicate"

// jobStateOf maps a spool job to its IPP job-state and job-state-reasons.
//
//	received  → pending-held, job-incoming (Create-Job waiting for its documents)
//	pending   → pending, job-queued
//	held      → pending-held, job-hold-until-specified
//	assigned  → pending, job-queued (a printer is chosen but not yet contacted)
//	sending   → processing, job-transmitting (bytes are moving to the physical printer)
//	printing  → processing, job-printing
//	completed → completed, job-completed-successfully
//	canceled  → canceled, job-canceled-by-user
//	aborted   → aborted, aborted-by-system (and document-format-error when the format
//	            bridge could not convert the document)
//
// A possible duplicate adds ReasonPossibleDuplicate to any of them.
func jobStateOf(j *job.Job) (JobState, []string) {
	var st JobState
	var reasons []string
	switch j.State {
	case job.StateReceived:
		st, reasons = JobPendingHeld, []string{"job-incoming"}
	case job.StatePending, job.StateAssigned:
		st, reasons = JobPending, []string{"job-queued"}
	case job.StateHeld:
		st, reasons = JobPendingHeld, []string{"job-hold-until-specified"}
	case job.StateSending:
		st, reasons = JobProcessing, []string{"job-transmitting"}
	case job.StatePrinting:
		st, reasons = JobProcessing, []string{"job-printing"}
	case job.StateCompleted:
		st, reasons = JobCompleted, []string{"job-completed-successfully"}
	case job.StateCanceled:
		st, reasons = JobCanceled, []string{"job-canceled-by-user"}
	case job.StateAborted:
		st, reasons = JobAborted, []string{"aborted-by-system"}
		if j.StateReason == "document-format-error" { // the format bridge could not convert it
			reasons = append(reasons, "document-format-error")
		}
	default:
		st, reasons = JobPending, []string{"none"}
	}
	if j.PossibleDuplicate {
		reasons = append(reasons, ReasonPossibleDuplicate)
	}
	return st, reasons
}

// whichJobs maps a which-jobs keyword (RFC 8011 and PWG 5100.7) to the spool states it selects.
// ok is false for keywords we do not support.
func whichJobs(keyword string) (states []job.State, ok bool) {
	switch keyword {
	case "not-completed":
		return job.Unfinished, true
	case "completed": // IPP keyword
		return job.Finished, true
	case "all":
		return nil, true
	case "pending": // IPP keyword
		return []job.State{job.StatePending, job.StateAssigned}, true
	case "pending-held":
		return []job.State{job.StateReceived, job.StateHeld}, true
	case "processing":
		return []job.State{job.StateSending, job.StatePrinting}, true
	case "canceled": // IPP keyword
		return []job.State{job.StateCanceled}, true
	case "aborted": // IPP keyword
		return []job.State{job.StateAborted}, true
	}
	return nil, false
}

// whichJobsSupported lists the which-jobs keywords whichJobs accepts.
func whichJobsSupported() []string {
	return []string{"aborted", "all", "canceled", "completed", "not-completed", // IPP keywords
		"pending", "pending-held", "processing"} // IPP keywords
}
