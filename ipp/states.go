// IPP job and printer states, and how the spool's job states read as IPP.
package ipp

import (
	"fmt"

	"github.com/printgate/printgate/spool"
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
		return "pending"
	case JobPendingHeld:
		return "pending-held"
	case JobProcessing:
		return "processing"
	case JobProcessingStopped:
		return "processing-stopped"
	case JobCanceled:
		return "canceled"
	case JobAborted:
		return "aborted"
	case JobCompleted:
		return "completed"
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
// outcome (spool.Job.PossibleDuplicate): it may print twice. No registered keyword says this, so
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
//	aborted   → aborted, aborted-by-system
//
// A possible duplicate adds ReasonPossibleDuplicate to any of them.
func jobStateOf(j *spool.Job) (JobState, []string) {
	var st JobState
	var reasons []string
	switch j.State {
	case spool.StateReceived:
		st, reasons = JobPendingHeld, []string{"job-incoming"}
	case spool.StatePending, spool.StateAssigned:
		st, reasons = JobPending, []string{"job-queued"}
	case spool.StateHeld:
		st, reasons = JobPendingHeld, []string{"job-hold-until-specified"}
	case spool.StateSending:
		st, reasons = JobProcessing, []string{"job-transmitting"}
	case spool.StatePrinting:
		st, reasons = JobProcessing, []string{"job-printing"}
	case spool.StateCompleted:
		st, reasons = JobCompleted, []string{"job-completed-successfully"}
	case spool.StateCanceled:
		st, reasons = JobCanceled, []string{"job-canceled-by-user"}
	case spool.StateAborted:
		st, reasons = JobAborted, []string{"aborted-by-system"}
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
func whichJobs(keyword string) (states []spool.State, ok bool) {
	switch keyword {
	case "not-completed":
		return []spool.State{spool.StateReceived, spool.StatePending, spool.StateHeld,
			spool.StateAssigned, spool.StateSending, spool.StatePrinting}, true
	case "completed":
		return []spool.State{spool.StateCompleted, spool.StateCanceled, spool.StateAborted}, true
	case "all":
		return nil, true
	case "pending":
		return []spool.State{spool.StatePending, spool.StateAssigned}, true
	case "pending-held":
		return []spool.State{spool.StateReceived, spool.StateHeld}, true
	case "processing":
		return []spool.State{spool.StateSending, spool.StatePrinting}, true
	case "canceled":
		return []spool.State{spool.StateCanceled}, true
	case "aborted":
		return []spool.State{spool.StateAborted}, true
	}
	return nil, false
}

// whichJobsSupported lists the which-jobs keywords whichJobs accepts.
func whichJobsSupported() []string {
	return []string{"aborted", "all", "canceled", "completed", "not-completed",
		"pending", "pending-held", "processing"}
}
