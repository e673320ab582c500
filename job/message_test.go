package job

import "testing"

func TestStateMessage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		j       Job
		poolWhy string
		want    string
	}{
		{Job{State: StateReceived}, "", "waiting for its documents"},
		{Job{State: StatePending}, "", "waiting for a printer"},
		{Job{State: StatePending}, "all printers of this pool are out of paper", "waiting for a printer: all printers of this pool are out of paper"},
		{Job{State: StatePending, Printer: "mailroom-2"}, "", "waiting for mailroom-2"},
		{Job{State: StatePending, StateReason: "possible-duplicate", PossibleDuplicate: true}, "", "waiting for a printer: may print twice (re-sent after an uncertain outcome)"},
		{Job{State: StateHeld, StateReason: ReasonRunPaused}, "", "held: its bulk run is paused"},
		{Job{State: StateHeld, StateReason: "job-hold-until-specified"}, "", "held: held by an operator"},
		{Job{State: StateAssigned, Printer: "p1"}, "", "assigned to p1"},
		{Job{State: StateSending, Printer: "p1"}, "", "sending to p1"},
		{Job{State: StatePrinting, Printer: "mailroom-2"}, "", "printing on mailroom-2"},
		{Job{State: StatePrinting, Printer: "mailroom-2", Pages: 4, ImpressionsDone: 1}, "", "printing on mailroom-2, 1 of 4 pages"},
		{Job{State: StatePrinting, Printer: "p1", PossibleDuplicate: true}, "", "printing on p1 (may print twice)"},
		{Job{State: StateCompleted, Printer: "p1"}, "", "printed on p1"},
		{Job{State: StateCanceled, StateReason: "canceled-by-user"}, "", "canceled"},
		{Job{State: StateAborted, StateReason: "document-not-received"}, "", "aborted: its document never arrived"},
		{Job{State: StateAborted, StateReason: "printer-jammed"}, "", "aborted: printer jammed"},
	}
	for _, tt := range tests {
		if got := StateMessage(&tt.j, tt.poolWhy); got != tt.want {
			t.Errorf("StateMessage(%s/%s) = %q, want %q", tt.j.State, tt.j.StateReason, got, tt.want)
		}
	}
}
