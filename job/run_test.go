package job

import "testing"

// TestRunTransitions spells the run machine out again, independently of runTransitions, so
// that a change to either is noticed; every pair of states is tried.
func TestRunTransitions(t *testing.T) {
	t.Parallel()
	all := []RunState{RunUploading, RunScheduled, RunActive, RunPaused, RunCompleted, RunCanceled, RunDiscarded}
	legal := map[[2]RunState]bool{
		{RunUploading, RunScheduled}: true, {RunUploading, RunActive}: true, {RunUploading, RunDiscarded}: true,
		{RunScheduled, RunActive}: true, {RunScheduled, RunPaused}: true, {RunScheduled, RunCanceled}: true,
		{RunActive, RunPaused}: true, {RunActive, RunCanceled}: true, {RunActive, RunCompleted}: true,
		{RunPaused, RunActive}: true, {RunPaused, RunScheduled}: true, {RunPaused, RunCanceled}: true, {RunPaused, RunCompleted}: true,
		{RunCompleted, RunActive}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got, want := CanRunTransition(from, to), legal[[2]RunState{from, to}]; got != want {
				t.Errorf("CanRunTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, final := range []RunState{RunCanceled, RunDiscarded} {
		if !final.Final() {
			t.Errorf("%s is not Final", final)
		}
	}
}
