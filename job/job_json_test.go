package job_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/printgate/printgate/job"
)

// Times not reached yet are left out of the JSON (not written as year 1), and an answer without
// them decodes to zero times again: the CLI and the dashboard read jobs back from the API.
func TestJobJSONLeavesOutZeroTimes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		job     job.Job
		present []string
		absent  []string
	}{
		{"pending", job.Job{ID: 1, Created: at, Updated: at, Documents: []job.Document{{Seq: 1}}},
			[]string{`"created"`, `"updated"`}, []string{`"started"`, `"finished"`, `"deleted"`, "0001-01-01"}},
		{"printing", job.Job{ID: 2, Created: at, Updated: at, Started: at},
			[]string{`"started"`}, []string{`"finished"`, "0001-01-01"}},
		{"finished, document removed", job.Job{ID: 3, Created: at, Updated: at, Started: at, Finished: at,
			Documents: []job.Document{{Seq: 1, Deleted: at}}},
			[]string{`"started"`, `"finished"`, `"deleted"`}, []string{"0001-01-01"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b, err := json.Marshal(tt.job)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.present {
				if !strings.Contains(string(b), s) {
					t.Errorf("%s lacks %s", b, s)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(string(b), s) {
					t.Errorf("%s has %s", b, s)
				}
			}
			var back job.Job
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if !back.Started.Equal(tt.job.Started) || !back.Finished.Equal(tt.job.Finished) ||
				len(back.Documents) != len(tt.job.Documents) ||
				(len(back.Documents) > 0 && !back.Documents[0].Deleted.Equal(tt.job.Documents[0].Deleted)) {
				t.Errorf("decoded back as %+v", back)
			}
		})
	}
}
