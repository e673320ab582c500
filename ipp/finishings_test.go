package ipp

import (
	"reflect"
	"slices"
	"testing"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/document"
	"github.com/printgate/printgate/job"
)

// A pool that staples, punches, prints 2-up and does overrides of pages and orientation.
func finisherCaps(c *Capabilities) {
	c.Finishings = []int{3, 4, 20}
	c.FinishingTemplates = []string{"none", "staple", "staple-top-left"}
	c.NumberUp = []int{1, 2, 4}
	c.Overrides = []string{"document-numbers", "pages", "orientation-requested", "media"}
}

// TestFinishingsNumberUpOverridesAtTheFrontDoor: the front door takes finishings,
// finishings-col, number-up and overrides the pool's members offer and stores them typed; what
// no member offers is ignored (refused under fidelity), and a plain pool offers "none", 1-up and
// no overrides. (Before, every finishing but none and every number-up but 1 were ignored,
// finishings-col and overrides were unknown attributes.)
func TestFinishingsNumberUpOverridesAtTheFrontDoor(t *testing.T) {
	t.Parallel()
	override := func(members ...goipp.Attribute) goipp.Attribute {
		return goipp.MakeAttribute("overrides", goipp.TagBeginCollection, goipp.Collection(members))
	}
	pages := goipp.MakeAttribute("pages", goipp.TagRange, goipp.Range{Lower: 1, Upper: 1})
	landscape := goipp.MakeAttribute("orientation-requested", goipp.TagEnum, goipp.Integer(4))
	template := func(f string) goipp.Attribute {
		return goipp.MakeAttribute("finishings-col", goipp.TagBeginCollection,
			goipp.Collection{goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String(f))})
	}
	cases := []struct {
		name        string
		caps        func(*Capabilities)
		fidelity    bool
		attr        goipp.Attribute
		status      goipp.Status
		unsupported string
		stored      job.Attributes
	}{
		{"staple", finisherCaps, false, goipp.MakeAttr("finishings", goipp.TagEnum, goipp.Integer(4), goipp.Integer(20)),
			goipp.StatusOk, "", job.Attributes{Finishings: []int{4, 20}}},
		{"staple on a plain pool", nil, false, goipp.MakeAttribute("finishings", goipp.TagEnum, goipp.Integer(4)),
			goipp.StatusOkIgnoredOrSubstituted, "finishings", job.Attributes{}},
		{"staple on a plain pool, fidelity", nil, true, goipp.MakeAttribute("finishings", goipp.TagEnum, goipp.Integer(4)),
			goipp.StatusErrorAttributesOrValues, "finishings", job.Attributes{}},
		{"punch no member does", finisherCaps, false, goipp.MakeAttribute("finishings", goipp.TagEnum, goipp.Integer(91)),
			goipp.StatusOkIgnoredOrSubstituted, "finishings", job.Attributes{}},
		{"finishings as keyword", finisherCaps, false, goipp.MakeAttribute("finishings", goipp.TagKeyword, goipp.String("staple")),
			goipp.StatusErrorAttributesOrValues, "finishings", job.Attributes{}},
		{"finishing-template", finisherCaps, false, template("staple-top-left"),
			goipp.StatusOk, "", job.Attributes{FinishingTemplates: []string{"staple-top-left"}}},
		{"finishing-template on a plain pool", nil, false, template("staple-top-left"),
			goipp.StatusOkIgnoredOrSubstituted, "finishings-col", job.Attributes{}},
		{"finishings-col with details", finisherCaps, false, goipp.MakeAttribute("finishings-col", goipp.TagBeginCollection, goipp.Collection{
			goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String("staple")),
			goipp.MakeAttribute("stitching", goipp.TagBeginCollection, goipp.Collection{
				goipp.MakeAttribute("stitching-reference-edge", goipp.TagKeyword, goipp.String("top"))})}),
			goipp.StatusOkIgnoredOrSubstituted, "finishings-col", job.Attributes{}},
		{"2-up", finisherCaps, false, goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(2)),
			goipp.StatusOk, "", job.Attributes{NumberUp: 2}},
		{"2-up on a plain pool", nil, false, goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(2)),
			goipp.StatusOkIgnoredOrSubstituted, "number-up", job.Attributes{}},
		{"1-up anywhere", nil, false, goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(1)),
			goipp.StatusOk, "", job.Attributes{}},
		{"number-up 0", finisherCaps, false, goipp.MakeAttribute("number-up", goipp.TagInteger, goipp.Integer(0)),
			goipp.StatusErrorAttributesOrValues, "number-up", job.Attributes{}},
		{"override of page 1", finisherCaps, false, override(pages, landscape), goipp.StatusOk, "",
			job.Attributes{Overrides: []job.Override{{Pages: [][2]int{{1, 1}}, Attributes: job.Attributes{Orientation: 4}}}}},
		{"override on a plain pool", nil, false, override(pages, landscape), goipp.StatusOkIgnoredOrSubstituted, "overrides", job.Attributes{}},
		{"override on a plain pool, fidelity", nil, true, override(pages, landscape), goipp.StatusErrorAttributesOrValues, "overrides", job.Attributes{}},
		{"override of sides no member does", finisherCaps, false,
			override(pages, goipp.MakeAttribute("sides", goipp.TagKeyword, goipp.String("one-sided"))),
			goipp.StatusOkIgnoredOrSubstituted, "overrides", job.Attributes{}},
		{"override without pages", finisherCaps, false, override(landscape), goipp.StatusErrorAttributesOrValues, "overrides", job.Attributes{}},
		{"override with bad pages", finisherCaps, false,
			override(goipp.MakeAttribute("pages", goipp.TagRange, goipp.Range{Lower: 3, Upper: 1}), landscape),
			goipp.StatusErrorAttributesOrValues, "overrides", job.Attributes{}},
		{"override with media the pool lacks", finisherCaps, false,
			override(pages, goipp.MakeAttribute("media", goipp.TagKeyword, goipp.String("iso_a3_297x420mm"))),
			goipp.StatusOkIgnoredOrSubstituted, "overrides", job.Attributes{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			if tc.caps != nil {
				tc.caps(&svc.printers["letters"].Caps)
			}
			s, _ := newTestServer(t, svc, Options{})
			m := printReq(lettersURI, document.PDF)
			if tc.fidelity {
				addOp(m, "ipp-attribute-fidelity", goipp.TagBoolean, goipp.Boolean(true))
			}
			m.Job.Add(tc.attr)
			rsp := do(t, s, "/ipp/print/letters", m, testPDF(1))
			if status(rsp) != tc.status {
				msg, _ := Attrs(rsp.Operation).String("status-message")
				t.Fatalf("status %s (%s), want %s", status(rsp), msg, tc.status)
			}
			if got := Attrs(rsp.Unsupported).Has(tc.attr.Name); got != (tc.unsupported != "") {
				t.Errorf("%s in the unsupported group: %v, want %v (%v)", tc.attr.Name, got, tc.unsupported != "", rsp.Unsupported)
			}
			if tc.status >= 0x0400 {
				if len(svc.jobs) != 0 {
					t.Error("a refused job was stored")
				}
				return
			}
			got := svc.jobs[jobID(t, rsp)].Attributes
			got.DocumentFormat = ""
			if !reflect.DeepEqual(got, tc.stored) {
				t.Errorf("stored %+v\nwant %+v", got, tc.stored)
			}
		})
	}
}

// TestFinishingsAdvertisedAreThePools: finishings-supported, finishing-template-supported,
// finishings-col-database, number-up-supported and overrides-supported say what the pool's
// members do, besides none, 1-up and the overrides ipp-everywhere.test requires.
func TestFinishingsAdvertisedAreThePools(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		caps      func(*Capabilities)
		fin       []int
		templates []string
		up        []int
		overrides []string
	}{
		{"plain", nil, []int{3}, []string{"none"}, []int{1}, []string{"document-number", "document-numbers", "pages"}},
		{"finisher", finisherCaps, []int{3, 4, 20}, []string{"none", "staple", "staple-top-left"}, []int{1, 2, 4},
			[]string{"document-number", "document-numbers", "pages", "orientation-requested", "media"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			svc := newFakeService()
			if tc.caps != nil {
				tc.caps(&svc.printers["letters"].Caps)
			}
			s, _ := newTestServer(t, svc, Options{})
			m := newReq(goipp.OpGetPrinterAttributes, lettersURI)
			addOp(m, "requested-attributes", goipp.TagKeyword, goipp.String("all"))
			p := Attrs(do(t, s, "/ipp/print/letters", m, nil).Printer)
			if got := p.Ints("finishings-supported"); !slices.Equal(got, tc.fin) {
				t.Errorf("finishings-supported %v, want %v", got, tc.fin)
			}
			if got := p.Strings("finishing-template-supported"); !slices.Equal(got, tc.templates) {
				t.Errorf("finishing-template-supported %v, want %v", got, tc.templates)
			}
			var db []string
			for _, col := range p.Collections("finishings-col-database") {
				f, _ := col.String("finishing-template")
				db = append(db, f)
			}
			if !slices.Equal(db, tc.templates) {
				t.Errorf("finishings-col-database %v, want %v", db, tc.templates)
			}
			if got := p.Ints("number-up-supported"); !slices.Equal(got, tc.up) {
				t.Errorf("number-up-supported %v, want %v", got, tc.up)
			}
			if got := p.Strings("overrides-supported"); !slices.Equal(got, tc.overrides) {
				t.Errorf("overrides-supported %v, want %v", got, tc.overrides)
			}
			if got := p.Strings("job-creation-attributes-supported"); !slices.Contains(got, "overrides") || !slices.Contains(got, "finishings-col") {
				t.Errorf("job-creation-attributes-supported %v lacks overrides or finishings-col", got)
			}
		})
	}
}

// TestDocumentPasswordIgnoredAndSaidSo: document-password-supported is 0, so a document-password
// (Print-Job, Send-Document) is ignored with successful-ok-ignored-or-substituted-attributes and
// named in the unsupported group, without its value. (Before, it was dropped without a word: the
// client believed its encrypted PDF would be opened.)
func TestDocumentPasswordIgnoredAndSaidSo(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, rsp *goipp.Message) {
		t.Helper()
		if status(rsp) != goipp.StatusOkIgnoredOrSubstituted {
			t.Fatalf("status %s, want successful-ok-ignored-or-substituted-attributes", status(rsp))
		}
		at, ok := Attrs(rsp.Unsupported).Get("document-password")
		if !ok {
			t.Fatalf("document-password not in the unsupported group %v", rsp.Unsupported)
		}
		if len(at.Values) != 1 || at.Values[0].T != goipp.TagUnsupportedValue {
			t.Errorf("document-password comes back as %v, want the unsupported out-of-band value", at.Values)
		}
	}
	password := goipp.MakeAttribute("document-password", goipp.TagString, goipp.Binary("s3cret"))
	t.Run("Print-Job", func(t *testing.T) {
		t.Parallel()
		svc := newFakeService()
		s, _ := newTestServer(t, svc, Options{})
		m := printReq(lettersURI, document.PDF)
		m.Operation.Add(password)
		check(t, do(t, s, "/ipp/print/letters", m, testPDF(1)))
		if len(svc.jobs) != 1 {
			t.Errorf("%d jobs stored, want 1", len(svc.jobs))
		}
	})
	t.Run("Send-Document", func(t *testing.T) {
		t.Parallel()
		svc := newFakeService()
		s, _ := newTestServer(t, svc, Options{})
		c := newReq(goipp.OpCreateJob, lettersURI)
		addOp(c, "requesting-user-name", goipp.TagName, goipp.String("alice"))
		id := jobID(t, do(t, s, "/ipp/print/letters", c, nil))
		m := newReq(goipp.OpSendDocument, lettersURI)
		addOp(m, "job-id", goipp.TagInteger, goipp.Integer(id))
		addOp(m, "requesting-user-name", goipp.TagName, goipp.String("alice"))
		addOp(m, "document-format", goipp.TagMimeType, goipp.String(document.PDF))
		addOp(m, "last-document", goipp.TagBoolean, goipp.Boolean(true))
		m.Operation.Add(password)
		check(t, do(t, s, "/ipp/print/letters", m, testPDF(1)))
	})
}

// TestSupportedTemplateFinishingsNumberUpOverrides: the client passes finishings, finishings-col,
// number-up and overrides on to a printer only where it lists them (number-up-supported as a
// range too), and overrides only whole: every member of every override must be one the printer
// does, with values it takes.
func TestSupportedTemplateFinishingsNumberUpOverrides(t *testing.T) {
	t.Parallel()
	finisher := parsePrinterStatus(Attrs{
		goipp.MakeAttr("finishings-supported", goipp.TagEnum, goipp.Integer(3), goipp.Integer(4)),
		goipp.MakeAttribute("finishings-col-supported", goipp.TagKeyword, goipp.String("finishing-template")),
		goipp.MakeAttr("finishing-template-supported", goipp.TagKeyword, goipp.String("none"), goipp.String("staple")),
		goipp.MakeAttribute("number-up-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: 4}),
		goipp.MakeAttr("overrides-supported", goipp.TagKeyword, goipp.String("pages"), goipp.String("orientation-requested")),
		goipp.MakeAttr("orientation-requested-supported", goipp.TagEnum, goipp.Integer(3), goipp.Integer(4)),
	})
	plain := parsePrinterStatus(Attrs{
		goipp.MakeAttribute("finishings-supported", goipp.TagEnum, goipp.Integer(3)),
		goipp.MakeAttribute("number-up-supported", goipp.TagInteger, goipp.Integer(1)),
		goipp.MakeAttr("orientation-requested-supported", goipp.TagEnum, goipp.Integer(3), goipp.Integer(4)),
	})
	landscape := []job.Override{{Pages: [][2]int{{1, 1}}, Attributes: job.Attributes{Orientation: 4}}}
	for _, tc := range []struct {
		name          string
		a             job.Attributes
		finisherKeeps bool
		plainKeeps    bool
	}{
		{"staple", job.Attributes{Finishings: []int{4}}, true, false},
		{"staple-top-left", job.Attributes{Finishings: []int{20}}, false, false},
		{"finishing-template staple", job.Attributes{FinishingTemplates: []string{"staple"}}, true, false},
		{"finishing-template punch", job.Attributes{FinishingTemplates: []string{"punch-dual-left"}}, false, false},
		{"2-up", job.Attributes{NumberUp: 2}, true, false},
		{"6-up", job.Attributes{NumberUp: 6}, false, false},
		{"override orientation", job.Attributes{Overrides: landscape}, true, false},
		{"override orientation it lacks", job.Attributes{Overrides: []job.Override{{Pages: [][2]int{{1, 1}},
			Attributes: job.Attributes{Orientation: 6}}}}, false, false},
		{"override of documents", job.Attributes{Overrides: []job.Override{{DocumentNumbers: [][2]int{{1, 1}},
			Attributes: job.Attributes{Orientation: 4}}}}, false, false},
	} {
		for _, p := range []struct {
			name  string
			st    *PrinterStatus
			keeps bool
		}{{"finisher", finisher, tc.finisherKeeps}, {"plain", plain, tc.plainKeeps}} {
			kept, _ := p.st.SupportedTemplate(EncodeTemplate(tc.a))
			if got := len(kept) == 1; got != p.keeps {
				t.Errorf("%s to the %s: kept %v, want kept=%v", tc.name, p.name, kept, p.keeps)
			}
		}
	}
}
