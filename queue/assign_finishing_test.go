package queue

import (
	"testing"

	"github.com/printgate/printgate/job"
	"github.com/printgate/printgate/printers"
)

// TestSupportsFinishingsNumberUpOverrides: feature routing sends a job that asks for a staple, a
// finishing template or 2-up only to members that offer it (a member that cannot say is
// trusted, as for sides and media), and a job with overrides only to members that say they do
// each override (never to one that cannot say: LPD, socket and file printers would print every
// page alike). (Before, none of these took part in routing: a stapled job could go to any
// member, which dropped the staple.)
func TestSupportsFinishingsNumberUpOverrides(t *testing.T) {
	t.Parallel()
	finisher := &printers.Capabilities{Finishings: []int{3, 4, 20}, FinishingTemplates: []string{"none", "staple"},
		NumberUp: []int{1, 2, 4}, Overrides: []string{"pages", "orientation-requested", "media"}}
	plain := &printers.Capabilities{Finishings: []int{3}, FinishingTemplates: []string{"none"}, NumberUp: []int{1}}
	silent := &printers.Capabilities{}
	landscapeFirst := []job.Override{{Pages: [][2]int{{1, 1}}, Attributes: job.Attributes{Orientation: 4}}}
	cases := []struct {
		name string
		a    job.Attributes
		// want: finisher, plain, silent (empty lists), unprobed (nil)
		want [4]bool
	}{
		{"nothing asked", job.Attributes{}, [4]bool{true, true, true, true}},
		{"finishings none", job.Attributes{Finishings: []int{3}}, [4]bool{true, true, true, true}},
		{"staple", job.Attributes{Finishings: []int{4}}, [4]bool{true, false, true, true}},
		{"staple and punch", job.Attributes{Finishings: []int{4, 91}}, [4]bool{false, false, true, true}},
		{"finishing-template staple", job.Attributes{FinishingTemplates: []string{"staple"}}, [4]bool{true, false, true, true}},
		{"2-up", job.Attributes{NumberUp: 2}, [4]bool{true, false, true, true}},
		{"6-up", job.Attributes{NumberUp: 6}, [4]bool{false, false, true, true}},
		{"override orientation", job.Attributes{Overrides: landscapeFirst}, [4]bool{true, false, false, false}},
		{"override sides", job.Attributes{Overrides: []job.Override{{Pages: [][2]int{{2, 2}},
			Attributes: job.Attributes{Sides: "one-sided"}}}}, [4]bool{false, false, false, false}},
		{"override of documents", job.Attributes{Overrides: []job.Override{{DocumentNumbers: [][2]int{{1, 1}},
			Attributes: job.Attributes{Media: "iso_a4_210x297mm"}}}}, [4]bool{false, false, false, false}},
	}
	for _, tc := range cases {
		for i, c := range []*printers.Capabilities{finisher, plain, silent, nil} {
			if got := supports(c, &job.Job{Attributes: tc.a}); got != tc.want[i] {
				t.Errorf("%s on %s: supports = %v, want %v", tc.name, []string{"finisher", "plain", "silent", "unprobed"}[i], got, tc.want[i])
			}
		}
	}
}
