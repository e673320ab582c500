// requested-attributes: which attributes a Get-* response carries, including the group names
// all, printer-description, job-template, job-description and media-col-database.
package ipp

// attrClass is the group an attribute belongs to for requested-attributes.
type attrClass int

const (
	// classDescription: printer-description or job-description attributes.
	classDescription attrClass = iota
	// classTemplate: job-template attributes (and a printer's xxx-default/-supported/-ready).
	classTemplate
	// classExplicit: only returned when asked for by name (media-col-database).
	classExplicit
)

// requested is the set a client asked for.
type requested struct {
	// names are attribute and group names as requested.
	names map[string]bool
}

// requestedAttributes reads requested-attributes from the operation group. When the client sent
// none, defaults apply ("all" when defaults is empty).
func requestedAttributes(oper Attrs, defaults ...string) requested {
	vals := oper.Strings("requested-attributes")
	if !oper.Has("requested-attributes") || len(vals) == 0 {
		vals = defaults
		if len(vals) == 0 {
			vals = []string{"all"}
		}
	}
	r := requested{names: make(map[string]bool, len(vals))}
	for _, v := range vals {
		r.names[v] = true
	}
	return r
}

// wants reports whether an attribute called name of class is requested. object is "printer" or
// "job", selecting which description group name applies.
func (r requested) wants(object, name string, class attrClass) bool {
	if r.names[name] {
		return true
	}
	switch class {
	case classDescription:
		return r.names["all"] || r.names[object+"-description"]
	case classTemplate:
		return r.names["all"] || r.names["job-template"]
	}
	return false
}
