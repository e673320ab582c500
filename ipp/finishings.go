// Finishings, number-up and overrides: the attributes a printer carries out itself (staples,
// imposition, per-page changes). The gateway changes no document, so it offers what its pool's
// members offer, checks a job against that union, and the scheduler sends the job to a member
// that does what it asks.
package ipp

import (
	"slices"

	"github.com/OpenPrinting/goipp"
)

// finishingsNone is finishings "none" (PWG 5100.1), always offered.
const finishingsNone = 3

// requiredOverrides are the overrides-supported members ipp-everywhere.test (CUPS 2.4) looks for
// whatever the printer does: "document-number" (its spelling) and "pages". PWG 5100.6 spells
// the first "document-numbers"; both are advertised so either reader finds it.
var requiredOverrides = []string{"document-number", "document-numbers", "pages"}

// normalizeFinishing fills the finishings, number-up and overrides fields of n from c: "none",
// the template "none" and 1-up always, each list without duplicates. Overrides stay what the
// members do (the front door checks jobs against it); offeredOverrides adds what is advertised
// for ipp-everywhere.test.
func normalizeFinishing(n *Capabilities, c Capabilities) {
	n.Finishings = []int{finishingsNone}
	for _, f := range c.Finishings {
		if f >= finishingsNone && !slices.Contains(n.Finishings, f) {
			n.Finishings = append(n.Finishings, f)
		}
	}
	n.FinishingTemplates = keywords(append([]string{"none"}, c.FinishingTemplates...), "none")
	n.NumberUp = []int{1}
	for _, u := range c.NumberUp {
		if u > 1 && !slices.Contains(n.NumberUp, u) {
			n.NumberUp = append(n.NumberUp, u)
		}
	}
	slices.Sort(n.NumberUp)
	n.Overrides = keywords(c.Overrides, "")
}

// offeredOverrides is overrides-supported: the members' overrides and the required ones.
func offeredOverrides(c Capabilities) []string {
	return keywords(append(slices.Clone(requiredOverrides), c.Overrides...), "")
}

// addFinishingAttrs adds the finishings, finishings-col and number-up printer attributes.
func addFinishingAttrs(b *attrBuilder, c Capabilities) {
	const d, t = classDescription, classTemplate
	b.ints(t, "finishings-default", goipp.TagEnum, finishingsNone)
	b.ints(t, "finishings-ready", goipp.TagEnum, c.Finishings...)
	b.ints(t, "finishings-supported", goipp.TagEnum, c.Finishings...)
	// The same as collections (PWG 5100.1): one finishing-template per collection.
	cols := make([]goipp.Value, len(c.FinishingTemplates))
	for i, f := range c.FinishingTemplates {
		cols[i] = goipp.Collection{goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String(f))}
	}
	b.add(d, "finishings-col-database", goipp.TagBeginCollection, cols...)
	b.add(t, "finishings-col-default", goipp.TagBeginCollection, cols[0])
	b.add(t, "finishings-col-ready", goipp.TagBeginCollection, cols...)
	b.strings(t, "finishings-col-supported", goipp.TagKeyword, "finishing-template")
	b.strings(t, "finishing-template-supported", goipp.TagKeyword, c.FinishingTemplates...)
	b.ints(t, "number-up-default", goipp.TagInteger, 1)
	b.ints(t, "number-up-supported", goipp.TagInteger, c.NumberUp...)
}

// checkFinishings checks finishings: a value no member offers is ignored (or refused under
// fidelity), as a printer ignores a staple it cannot make.
func (s *Server) checkFinishings(k *jobChecker, c Capabilities, at goipp.Attribute) {
	vals := Attrs{at}.Ints(at.Name)
	if len(at.Values) == 0 || len(vals) != len(at.Values) || at.Values[0].T != goipp.TagEnum {
		k.bad(at, "Bad finishings value.")
		return
	}
	for _, f := range vals {
		if !slices.Contains(c.Finishings, f) {
			k.unsupported(at, "unsupported finishings %d (no printer of this virtual printer does it).", f)
			return
		}
	}
	k.accept(at)
}

// checkFinishingsCol checks finishings-col: each collection names a finishing-template a
// member offers; other members (stitching, punching details) are not passed on, so a
// collection with them is ignored (or refused under fidelity) rather than half done.
func (s *Server) checkFinishingsCol(k *jobChecker, c Capabilities, at goipp.Attribute) {
	cols := Attrs{at}.Collections(at.Name)
	if len(at.Values) == 0 || len(cols) != len(at.Values) {
		k.bad(at, "Bad finishings-col value.")
		return
	}
	var canon []goipp.Value
	for _, col := range cols {
		f, ok := col.String("finishing-template")
		if !ok || col.Tag("finishing-template") != goipp.TagKeyword && col.Tag("finishing-template") != goipp.TagName {
			k.unsupported(at, "unsupported finishings-col (only finishing-template is passed on).")
			return
		}
		if len(col) != 1 {
			k.unsupported(at, "unsupported finishings-col members (only finishing-template is passed on).")
			return
		}
		if !slices.Contains(c.FinishingTemplates, f) {
			k.unsupported(at, "unsupported finishing-template %s (no printer of this virtual printer does it).", f)
			return
		}
		canon = append(canon, goipp.Collection{goipp.MakeAttribute("finishing-template", goipp.TagKeyword, goipp.String(f))})
	}
	k.accept(goipp.MakeAttr(at.Name, goipp.TagBeginCollection, canon[0], canon[1:]...))
}

// checkNumberUp checks number-up against what the members impose.
func (s *Server) checkNumberUp(k *jobChecker, c Capabilities, at goipp.Attribute) {
	v, ok := Attrs{at}.Int(at.Name)
	if !ok || len(at.Values) != 1 || at.Values[0].T != goipp.TagInteger || v < 1 {
		k.bad(at, "Bad number-up value.")
		return
	}
	if !slices.Contains(c.NumberUp, v) {
		k.unsupported(at, "unsupported number-up %d (no printer of this virtual printer imposes it).", v)
		return
	}
	if v > 1 {
		k.accept(at)
	}
}

// checkOverrides checks overrides (PWG 5100.6). The gateway does not apply overrides itself:
// a job with overrides is accepted only when a member does the members it uses (pages,
// document-numbers and each attribute), and the scheduler sends it only to such a member.
// Otherwise the whole attribute is ignored (or refused under fidelity): half an override would
// print some pages wrongly with nothing said.
func (s *Server) checkOverrides(k *jobChecker, c Capabilities, at goipp.Attribute) {
	cols := Attrs{at}.Collections(at.Name)
	if len(at.Values) == 0 || len(cols) != len(at.Values) {
		k.bad(at, "Bad overrides value.")
		return
	}
	var canon []goipp.Value
	for _, col := range cols {
		var out goipp.Collection
		sub := &jobChecker{rs: newResponse(goipp.DefaultVersion, 1), exact: true}
		ranged := false
		for _, m := range col {
			switch m.Name {
			case "pages", "document-numbers":
				if !validRanges(m) {
					k.bad(at, "Bad %s value in overrides.", m.Name)
					return
				}
				ranged = true
				out = append(out, m)
			case "overrides", "job-hold-until", "job-priority", "copies":
				k.unsupported(at, "unsupported overrides member %s.", m.Name)
				return
			default:
				if !isTemplateName(m.Name) {
					k.unsupported(at, "unsupported overrides member %s.", m.Name)
					return
				}
				s.checkTemplateAttr(sub, c, m)
			}
			if !slices.Contains(c.Overrides, m.Name) {
				k.unsupported(at, "No printer of this virtual printer does overrides of %s.", m.Name)
				return
			}
		}
		if !ranged {
			k.bad(at, "Bad overrides value: neither pages nor document-numbers.")
			return
		}
		if sub.failed || sub.rs.status != goipp.StatusOk {
			k.unsupported(at, "unsupported overrides value: %s", sub.rs.message)
			return
		}
		canon = append(canon, append(out, sub.accepted...))
	}
	k.accept(goipp.MakeAttr(at.Name, goipp.TagBeginCollection, canon[0], canon[1:]...))
}

// validRanges: one or more rangeOfInteger values, ascending, from 1.
func validRanges(at goipp.Attribute) bool {
	prev := 0
	for _, v := range at.Values {
		r, ok := v.V.(goipp.Range)
		if !ok || v.T != goipp.TagRange || r.Lower < 1 || r.Upper < r.Lower || r.Lower <= prev {
			return false
		}
		prev = r.Upper
	}
	return len(at.Values) > 0
}
