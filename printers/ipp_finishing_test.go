package printers

import (
	"context"
	"slices"
	"testing"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/ipp"
)

// TestIPPFinishingCapabilities: an IPP printer's finishings, finishing templates, number-up
// (values or a range) and overrides are read from its attributes, and one that lists none of
// them does none (none, 1-up, no overrides), so that routing never takes it for a printer that
// cannot say. (Read as "cannot say", a plain IPP printer got 2-up jobs and the backend dropped
// the number-up.)
func TestIPPFinishingCapabilities(t *testing.T) {
	t.Parallel()
	finisher := ipp.Attrs{
		goipp.MakeAttr("finishings-supported", goipp.TagEnum, goipp.Integer(3), goipp.Integer(4), goipp.Integer(20)),
		goipp.MakeAttribute("finishings-col-supported", goipp.TagKeyword, goipp.String("finishing-template")),
		goipp.MakeAttr("finishing-template-supported", goipp.TagKeyword, goipp.String("none"), goipp.String("staple")),
		goipp.MakeAttribute("number-up-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 4}),
	}
	if got := finishings(finisher); !slices.Equal(got, []int{3, 4, 20}) {
		t.Errorf("finishings %v", got)
	}
	if got := finishingTemplates(finisher); !slices.Equal(got, []string{"none", "staple"}) {
		t.Errorf("finishing templates %v", got)
	}
	if got := numberUp(finisher); !slices.Equal(got, []int{1, 2, 3, 4}) {
		t.Errorf("number-up %v", got)
	}
	listed := ipp.Attrs{goipp.MakeAttr("number-up-supported", goipp.TagInteger, goipp.Integer(1), goipp.Integer(2), goipp.Integer(4))}
	if got := numberUp(listed); !slices.Equal(got, []int{1, 2, 4}) {
		t.Errorf("number-up %v", got)
	}
	// Templates without finishings-col: not usable in a job.
	noCol := ipp.Attrs{goipp.MakeAttr("finishing-template-supported", goipp.TagKeyword, goipp.String("staple"))}
	if got := finishingTemplates(noCol); !slices.Equal(got, []string{"none"}) {
		t.Errorf("finishing templates without finishings-col-supported %v", got)
	}

	_, srv := newFakeIPP(t)
	st, err := newTestIPP(t, srv).Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := st.Capabilities
	if !slices.Equal(c.Finishings, []int{3}) || !slices.Equal(c.FinishingTemplates, []string{"none"}) ||
		!slices.Equal(c.NumberUp, []int{1}) || len(c.Overrides) != 0 {
		t.Errorf("a printer that lists no finishings, number-up or overrides: %+v", c)
	}
}
