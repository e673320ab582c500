// Building IPP responses: always through goipp Groups, with the operation group first and the
// unsupported-attributes group right after it (RFC 8011 section 4.1.7).
package ipp

import (
	"github.com/OpenPrinting/goipp"
)

// maxStatusMessage bounds status-message (text(255), RFC 8011 section 4.1.6.2).
const maxStatusMessage = 255

// response accumulates one IPP response. Handlers add object groups; the front door owns the
// operation group.
type response struct {
	// version answered; see responseVersion.
	version goipp.Version
	// requestID echoes the request.
	requestID uint32
	// status is the status-code; raised, never lowered, by setStatus.
	status goipp.Status
	// message becomes status-message when not empty.
	message string
	// unsupported collects request attributes that were not supported (or ignored).
	unsupported goipp.Attributes
	// groups are the object groups (job, printer) in order; Get-Jobs adds one per job.
	groups goipp.Groups
}

// newResponse starts a successful response to a request with the given header fields.
func newResponse(version goipp.Version, requestID uint32) *response {
	return &response{version: responseVersion(version), requestID: requestID, status: goipp.StatusOk}
}

// responseVersion answers the request's version when we speak it, else the nearest one we do:
// 1.0 and 1.1 clients get their version back, 2.x clients get 2.0 (our highest).
func responseVersion(v goipp.Version) goipp.Version {
	switch {
	case v.Major() < 1:
		return goipp.MakeVersion(1, 1)
	case v.Major() == 1:
		return v
	default:
		return goipp.MakeVersion(2, 0)
	}
}

// setStatus records status and message. Like PAPPL's papplClientRespondIPP, a status only ever
// goes up, so an error set by one check is not hidden by a later "ignored" notice; the message
// follows the status it explains.
func (r *response) setStatus(status goipp.Status, message string) {
	if status >= r.status {
		r.status = status
		r.message = message
	}
}

// fail sets the status and message of an *Error.
func (r *response) fail(e *Error) {
	r.setStatus(e.Status, e.Message)
}

// addUnsupported copies attr into the unsupported-attributes group (once per name).
func (r *response) addUnsupported(attr goipp.Attribute) {
	for _, u := range r.unsupported {
		if u.Name == attr.Name {
			return
		}
	}
	if len(attr.Values) == 0 {
		attr.Values.Add(goipp.TagUnsupportedValue, goipp.Void{})
	}
	r.unsupported = append(r.unsupported, attr.DeepCopy())
}

// addGroup appends an object group. Empty groups are kept: Get-Jobs with no matching job
// answers no job group at all, so callers only add what they filled.
func (r *response) addGroup(tag goipp.Tag, attrs goipp.Attributes) {
	r.groups = append(r.groups, goipp.Group{Tag: tag, Attrs: attrs})
}

// isError reports whether the status is an error (client-error-* or server-error-*).
func (r *response) isError() bool { return r.status >= 0x0400 }

// encodeMessage builds the goipp message. Object groups are dropped from error responses:
// RFC 8011 only returns the operation and unsupported groups with an error status (ipptool
// checks that printer-uri-supported is absent from them).
func (r *response) encodeMessage() *goipp.Message {
	op := goipp.Attributes{
		goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")),
		goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")),
	}
	if r.message != "" {
		op.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(truncateUTF8(r.message, maxStatusMessage))))
	}
	groups := goipp.Groups{{Tag: goipp.TagOperationGroup, Attrs: op}}
	if len(r.unsupported) > 0 {
		groups = append(groups, goipp.Group{Tag: goipp.TagUnsupportedGroup, Attrs: r.unsupported})
	}
	if !r.isError() {
		for _, g := range r.groups {
			if len(g.Attrs) > 0 {
				groups = append(groups, g)
			}
		}
	}
	return goipp.NewMessageWithGroups(r.version, goipp.Code(r.status), r.requestID, groups)
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
