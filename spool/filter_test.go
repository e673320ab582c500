package spool

import (
	"context"
	"slices"
	"testing"

	"github.com/printgate/printgate/job"
)

func TestJobFilterByVirtualPrinter(t *testing.T) {
	s := openStore(t, Options{})
	ctx := context.Background()
	ids := map[string]int64{}
	for _, vp := range []string{"letters", "labels", "forms"} {
		j, err := s.Submit(ctx, job.NewJob{VirtualPrinter: vp, Origin: "test"}, []*job.Staged{stage(t, s, []byte("%PDF-1.4 "+vp))})
		if err != nil {
			t.Fatal(err)
		}
		ids[vp] = j.ID
	}
	for _, tc := range []struct {
		name   string
		filter job.JobFilter
		want   []string
	}{
		{"one", job.JobFilter{VirtualPrinter: "labels"}, []string{"labels"}},
		{"all but one", job.JobFilter{NotVirtualPrinters: []string{"labels"}}, []string{"letters", "forms"}},
		{"all but two", job.JobFilter{NotVirtualPrinters: []string{"labels", "letters"}}, []string{"forms"}},
		{"none left out", job.JobFilter{NotVirtualPrinters: nil}, []string{"letters", "labels", "forms"}},
		{"both", job.JobFilter{VirtualPrinter: "forms", NotVirtualPrinters: []string{"forms"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.filter.Order = "oldest"
			jobs, err := s.Jobs(ctx, tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			var got, want []int64
			for _, j := range jobs {
				got = append(got, j.ID)
			}
			for _, vp := range tc.want {
				want = append(want, ids[vp])
			}
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got jobs %v, want %v (%v)", got, want, tc.want)
			}
		})
	}
}
