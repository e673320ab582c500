// Keeping printer passwords out of sight: a printer URI may carry one
// (ipp://user:password@host/...), and URIs end up in errors, logs, the audit log, the API and
// the dashboard. The backends never put a password in their errors; these helpers are for
// showing a configured URI, and a second line of defence for text from elsewhere.
package printers

import (
	"errors"
	"net/url"
	"regexp"
)

// RedactURI returns uri with any password masked as "xxxxx" (url.URL.Redacted), for display.
// A URI that does not parse is masked as text, by RedactText.
func RedactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return RedactText(uri)
	}
	return u.Redacted()
}

// userinfoPassword matches the "user:password@" of a URI inside any text: a scheme, "//", a
// user name without ':', '@' or '/', and a password up to the last '@' before the host (an
// unescaped '@' in a password still belongs to it, as for url.Parse).
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:"'<>]*):[^\s/?#"'<>]*@`)

// RedactText masks the password of every URI in s (an error message, a printer's status
// message) as "xxxxx".
func RedactText(s string) string {
	return userinfoPassword.ReplaceAllString(s, "${1}:xxxxx@")
}

// parseError is url.Parse's error without the URI it repeats, password and all.
func parseError(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
