package job

import (
	"fmt"
	"strings"
)

// reasonWords are state reasons as an operator would read them.
var reasonWords = map[string]string{
	"possible-duplicate":       "may print twice (re-sent after an uncertain outcome)",
	"document-not-received":    "its document never arrived",
	"canceled-by-user":         "canceled",
	"aborted-by-system":        "given up after repeated failures",
	"job-hold-until-specified": "held by an operator",
	"job-refused":              "refused by the printer",
	"document-format-error":    "its document could not be converted for the pool's printers (the job's history has the converter's reason)",
	ReasonRunUploading:         "its bulk run is still uploading",
	ReasonRunScheduled:         "its bulk run waits for its start time",
	ReasonRunPaused:            "its bulk run is paused",
}

// StateMessage is a job's state in words (IPP job-state-message, the dashboard): where it is
// and, when it waits or ended early, why. poolWhy, when not empty, is why the job's pool cannot
// print now (its virtual printer's state message), added to a job that waits for it.
func StateMessage(j *Job, poolWhy string) string {
	why := reasonWords[j.StateReason]
	if why == "" {
		why = strings.ReplaceAll(j.StateReason, "-", " ")
	}
	var msg string
	switch j.State {
	case StateReceived:
		msg = "waiting for its documents"
	case StatePending:
		msg = "waiting for a printer"
		if j.Printer != "" {
			msg = "waiting for " + j.Printer
		}
		if poolWhy != "" {
			msg += ": " + poolWhy
		}
	case StateHeld:
		msg = "held"
	case StateAssigned:
		msg = "assigned to " + j.Printer
	case StateSending:
		msg = "sending to " + j.Printer
	case StatePrinting:
		msg = "printing on " + j.Printer
		if j.ImpressionsDone > 0 && j.Pages > 0 {
			msg += fmt.Sprintf(", %d of %d pages", j.ImpressionsDone, j.Pages)
		}
	case StateCompleted:
		msg = "printed"
		if j.Printer != "" {
			msg += " on " + j.Printer
		}
	case StateCanceled:
		msg = "canceled"
	case StateAborted:
		msg = "aborted"
	default:
		msg = string(j.State)
	}
	if why != "" && j.StateReason != "canceled-by-user" { // "canceled: canceled" says nothing more
		msg += ": " + why
	}
	if j.PossibleDuplicate && j.StateReason != "possible-duplicate" && !j.State.Final() {
		msg += " (may print twice)"
	}
	return msg
}
