// Typed, panic-free lookups over one goipp attribute group.
package ipp

import (
	"time"

	"github.com/OpenPrinting/goipp"
)

// Attrs is a read-only view of one attribute group (or a collection value). Lookups return the
// first attribute of a name, as CUPS' ippFindAttribute does, and use comma-ok type assertions:
// an out-of-band value (no-value, unknown, ...) is goipp.Void and reads as absent, never as a
// panic.
type Attrs goipp.Attributes

// Get returns the first attribute called name.
func (a Attrs) Get(name string) (goipp.Attribute, bool) {
	for _, at := range a {
		if at.Name == name {
			return at, true
		}
	}
	return goipp.Attribute{}, false
}

// Has reports whether an attribute called name is present (with any value, even out-of-band).
func (a Attrs) Has(name string) bool {
	_, ok := a.Get(name)
	return ok
}

// Tag returns the value tag of name's first value, goipp.TagZero when absent.
func (a Attrs) Tag(name string) goipp.Tag {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return goipp.TagZero
	}
	return at.Values[0].T
}

// Count returns how many values name has (0 when absent).
func (a Attrs) Count(name string) int {
	at, _ := a.Get(name)
	return len(at.Values)
}

// String returns the first value of name when it is a string-like value (text, name, keyword,
// uri, charset, mimeMediaType, ..., with or without language).
func (a Attrs) String(name string) (string, bool) {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return "", false
	}
	return valueString(at.Values[0].V)
}

// Strings returns every string-like value of name, skipping others.
func (a Attrs) Strings(name string) []string {
	at, _ := a.Get(name)
	var out []string
	for _, v := range at.Values {
		if s, ok := valueString(v.V); ok {
			out = append(out, s)
		}
	}
	return out
}

// Int returns the first value of name when it is an integer or enum.
func (a Attrs) Int(name string) (int, bool) {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return 0, false
	}
	i, ok := at.Values[0].V.(goipp.Integer)
	return int(i), ok
}

// Ints returns every integer or enum value of name, skipping others.
func (a Attrs) Ints(name string) []int {
	at, _ := a.Get(name)
	var out []int
	for _, v := range at.Values {
		if i, ok := v.V.(goipp.Integer); ok {
			out = append(out, int(i))
		}
	}
	return out
}

// Bool returns the first value of name when it is a boolean.
func (a Attrs) Bool(name string) (value, ok bool) {
	at, found := a.Get(name)
	if !found || len(at.Values) == 0 {
		return false, false
	}
	b, ok := at.Values[0].V.(goipp.Boolean)
	return bool(b), ok
}

// Range returns the first value of name when it is a rangeOfInteger.
func (a Attrs) Range(name string) (goipp.Range, bool) {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return goipp.Range{}, false
	}
	r, ok := at.Values[0].V.(goipp.Range)
	return r, ok
}

// Time returns the first value of name when it is a dateTime.
func (a Attrs) Time(name string) (time.Time, bool) {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return time.Time{}, false
	}
	t, ok := at.Values[0].V.(goipp.Time)
	return t.Time, ok
}

// Collection returns the first value of name when it is a collection.
func (a Attrs) Collection(name string) (Attrs, bool) {
	at, ok := a.Get(name)
	if !ok || len(at.Values) == 0 {
		return nil, false
	}
	c, ok := at.Values[0].V.(goipp.Collection)
	return Attrs(c), ok
}

// Collections returns every collection value of name, skipping others.
func (a Attrs) Collections(name string) []Attrs {
	at, _ := a.Get(name)
	var out []Attrs
	for _, v := range at.Values {
		if c, ok := v.V.(goipp.Collection); ok {
			out = append(out, Attrs(c))
		}
	}
	return out
}

// valueString reads a string-like value.
func valueString(v goipp.Value) (string, bool) {
	switch v := v.(type) {
	case goipp.String:
		return string(v), true
	case goipp.TextWithLang:
		return v.Text, true
	}
	return "", false
}

// firstGroup returns the attributes of the first group with tag in m, as decoded.
func firstGroup(m *goipp.Message, tag goipp.Tag) Attrs {
	for _, g := range m.AttrGroups() {
		if g.Tag == tag {
			return Attrs(g.Attrs)
		}
	}
	return nil
}
