// One decoded request, and the front door that validates it in PAPPL's fixed order (version,
// request-id, groups, charset and natural-language, target printer and job) before any
// operation handler runs.
package ipp

import (
	"bufio"
	"context"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"
	"github.com/printgate/printgate/job"
)

// URL paths the server answers, relative to the gateway root.
const (
	// PathPrint is the IPP Everywhere path: /ipp/print (default virtual printer) and
	// /ipp/print/{name}.
	PathPrint = "/ipp/print"
	// PathPrinters is the CUPS-style alias: /printers/{name}.
	PathPrinters = "/printers"
	// PathIcons serves the printer-icons PNGs (see Server.Icons).
	PathIcons = "/ipp/icons/"
	// PathDashboardPrinter is where printer-more-info points: the dashboard page of a printer
	// is PathDashboardPrinter + name.
	PathDashboardPrinter = "/ui/printers/"
)

// maxUserName bounds requesting-user-name (name(MAX), RFC 8011 section 5.1.3).
const maxUserName = 255

// request is one decoded IPP request on its way through the front door.
type request struct {
	// hr is the HTTP request (remote address, Host, TLS).
	hr *http.Request
	// msg is the decoded IPP message.
	msg *goipp.Message
	// op is its operation.
	op goipp.Op
	// oper and jobAttrs are the first operation and job groups.
	oper, jobAttrs Attrs
	// body holds the document data after the attribute section.
	body *bufio.Reader
	// printer is the target virtual printer, resolved from the URL path.
	printer *PrinterInfo
	// family is the path family the client used: PathPrint or PathPrinters.
	family string
	// base is the printer's path as the client addressed it (/ipp/print for the default).
	base string
	// job is the target job of job operations.
	job *job.Job
	// user is the signed-in user, else requesting-user-name, "anonymous" when not given.
	user string
	// principal is the signed-in user; nil without (valid) credentials.
	principal *Principal
	// challenge: answer HTTP 401 with a Basic challenge instead of the IPP response.
	challenge bool
	// docPassword is the document-password sent with the document: the PDF is decrypted with
	// it at the door (stage) and it is kept nowhere else.
	docPassword string
}

func newRequest(hr *http.Request, msg *goipp.Message, body *bufio.Reader) *request {
	return &request{
		hr:       hr,
		msg:      msg,
		op:       goipp.Op(msg.Code),
		oper:     firstGroup(msg, goipp.TagOperationGroup),
		jobAttrs: firstGroup(msg, goipp.TagJobGroup),
		body:     body,
		user:     "anonymous",
	}
}

// handle runs the front door, then the operation.
func (s *Server) handle(ctx context.Context, rq *request, rs *response) {
	defer s.audit(ctx, rq, rs)
	entry, e := s.frontDoor(ctx, rq, rs)
	if e != nil {
		rs.fail(e)
		return
	}
	if err := entry.fn(ctx, rq, rs); err != nil {
		e, known := statusOf(err)
		if !known {
			s.log.Error("ipp: operation failed", "op", rq.op.String(), "printer", rq.printer.Name, "err", err)
		}
		rs.fail(e)
	}
}

// frontDoor validates the request in a fixed order and resolves its target. The first failing
// check decides the status, as in PAPPL's _papplClientProcessIPP.
func (s *Server) frontDoor(ctx context.Context, rq *request, rs *response) (operation, *Error) {
	m := rq.msg
	if v := m.Version.Major(); v < 1 || v > 2 {
		return operation{}, Errorf(goipp.StatusErrorVersionNotSupported, "Bad request version number %s.", m.Version)
	}
	if m.RequestID == 0 || m.RequestID > math.MaxInt32 {
		return operation{}, Errorf(goipp.StatusErrorBadRequest, "Bad request-id %d.", m.RequestID)
	}
	if len(m.Groups) == 0 || m.Groups[0].Tag != goipp.TagOperationGroup {
		return operation{}, Errorf(goipp.StatusErrorBadRequest, "No operation attributes in request.")
	}
	for i := 1; i < len(m.Groups); i++ {
		if m.Groups[i].Tag < m.Groups[i-1].Tag {
			return operation{}, Errorf(goipp.StatusErrorBadRequest, "Attribute groups are out of order (%s after %s).",
				m.Groups[i].Tag, m.Groups[i-1].Tag)
		}
	}
	first := m.Groups[0].Attrs
	if len(first) < 2 ||
		first[0].Name != "attributes-charset" || Attrs(first[:1]).Tag("attributes-charset") != goipp.TagCharset ||
		first[1].Name != "attributes-natural-language" || Attrs(first[1:2]).Tag("attributes-natural-language") != goipp.TagLanguage {
		return operation{}, Errorf(goipp.StatusErrorBadRequest,
			"attributes-charset and attributes-natural-language must be the first two attributes.")
	}
	if cs, _ := Attrs(first[:1]).String("attributes-charset"); !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		rs.addUnsupported(first[0])
		return operation{}, Errorf(goipp.StatusErrorCharset, "Unsupported character set %q.", cs)
	}

	// The target: printer-uri or job-uri must be present and well formed, but routing uses the
	// URL path, whatever scheme and host the client wrote (Windows sends http://...).
	uriName := "printer-uri"
	if rq.oper.Tag(uriName) != goipp.TagURI {
		uriName = "job-uri"
		if rq.oper.Tag(uriName) != goipp.TagURI {
			return operation{}, Errorf(goipp.StatusErrorBadRequest, "Missing printer-uri or job-uri attribute.")
		}
	}
	uriAttr, _ := rq.oper.Get(uriName)
	uriValue, _ := rq.oper.String(uriName)
	target, err := url.Parse(uriValue)
	if len(uriAttr.Values) != 1 || err != nil || target.Scheme == "" || target.Host == "" {
		rs.addUnsupported(uriAttr)
		return operation{}, Errorf(goipp.StatusErrorAttributesOrValues, "Bad %s value %q.", uriName, uriValue)
	}
	name, family, base, pathJob, ok := parsePath(rq.hr.URL.Path)
	if !ok {
		return operation{}, Errorf(goipp.StatusErrorNotFound, "No printer at %q.", rq.hr.URL.Path)
	}
	info, err := s.svc.VirtualPrinter(ctx, name)
	if err != nil {
		e, known := statusOf(err)
		if !known {
			s.log.Error("ipp: look up virtual printer", "printer", name, "err", err)
		}
		return operation{}, e
	}
	rq.printer, rq.family, rq.base = info, family, base

	if u, ok := rq.oper.String("requesting-user-name"); ok && u != "" {
		rq.user = truncateUTF8(u, maxUserName)
	}
	// A signed-in user is who the request is from, whatever requesting-user-name claims.
	if e := s.authenticate(rq); e != nil {
		return operation{}, e
	}

	entry, ok := s.ops[rq.op]
	if !ok {
		return operation{}, Errorf(goipp.StatusErrorOperationNotSupported, "Operation %s is not supported.", rq.op)
	}
	if !entry.job {
		return entry, s.checkNeed(rq)
	}

	id := pathJob
	if id == 0 && uriName == "job-uri" {
		_, _, _, id, _ = parsePath(target.Path)
	}
	if id == 0 && rq.oper.Has("job-id") {
		v, ok := rq.oper.Int("job-id")
		if !ok || rq.oper.Tag("job-id") != goipp.TagInteger || v <= 0 {
			at, _ := rq.oper.Get("job-id")
			rs.addUnsupported(at)
			return operation{}, Errorf(goipp.StatusErrorBadRequest, "Bad job-id value.")
		}
		id = int64(v)
	}
	if id == 0 {
		return operation{}, Errorf(goipp.StatusErrorBadRequest, "Missing job-id attribute.")
	}
	j, err := s.svc.Job(ctx, id)
	if err != nil {
		e, known := statusOf(err)
		if !known {
			s.log.Error("ipp: look up job", "job", id, "err", err)
		}
		return operation{}, e
	}
	if j.VirtualPrinter != info.Name {
		return operation{}, Errorf(goipp.StatusErrorNotFound, "Job %d not found.", id)
	}
	rq.job = j
	return entry, s.checkNeed(rq)
}

// parsePath splits a request path into the virtual printer name ("" for the default), the path
// family (PathPrint or PathPrinters), the printer's path as addressed, and a job id when the
// path is a job URI ({printer path}/{job-id}).
func parsePath(p string) (name, family, base string, j int64, ok bool) {
	p = strings.TrimRight(p, "/")
	var rest string
	switch {
	case p == PathPrint:
		return "", PathPrint, PathPrint, 0, true
	case strings.HasPrefix(p, PathPrint+"/"):
		family, rest = PathPrint, p[len(PathPrint)+1:]
	case strings.HasPrefix(p, PathPrinters+"/"):
		family, rest = PathPrinters, p[len(PathPrinters)+1:]
	default:
		return "", "", "", 0, false
	}
	name, jobPart, hasJob := strings.Cut(rest, "/")
	if name == "" {
		return "", "", "", 0, false
	}
	base = family + "/" + name
	if !hasJob {
		return name, family, base, 0, true
	}
	id, err := strconv.ParseInt(jobPart, 10, 64)
	if err != nil || id <= 0 || id > math.MaxInt32 {
		return "", "", "", 0, false
	}
	return name, family, base, id, true
}

// host is the host:port the client used to reach us, for the URIs we answer.
func (rq *request) host() string {
	if rq.hr.Host != "" {
		return rq.hr.Host
	}
	if a, ok := rq.hr.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		return a.String()
	}
	return "localhost"
}

// secure reports whether the request came over TLS.
func (rq *request) secure() bool { return rq.hr.TLS != nil }

// printerURI is printer-uri-supported: the URI the client used, with our scheme.
func (rq *request) printerURI() string {
	scheme := "ipp"
	if rq.secure() {
		scheme = "ipps"
	}
	return scheme + "://" + rq.host() + rq.base
}

// printerPath is the named path of the printer within the family the client used; job URIs hang
// from it (also when the client addressed the default printer as /ipp/print).
func (rq *request) printerPath() string {
	return rq.family + "/" + rq.printer.Name
}

// jobPrinterURI is job-printer-uri.
func (rq *request) jobPrinterURI() string {
	scheme := "ipp"
	if rq.secure() {
		scheme = "ipps"
	}
	return scheme + "://" + rq.host() + rq.printerPath()
}

// jobURI is job-uri for job id.
func (rq *request) jobURI(id int64) string {
	return rq.jobPrinterURI() + "/" + strconv.FormatInt(id, 10)
}

// webURL is an http(s) URL on the gateway for path.
func (rq *request) webURL(path string) string {
	scheme := "http"
	if rq.secure() {
		scheme = "https"
	}
	return scheme + "://" + rq.host() + path
}

// moreInfo is printer-more-info: the printer's dashboard page.
func (rq *request) moreInfo() string {
	return DashboardURL(rq.host(), rq.secure(), rq.printer.Name)
}

// originHost is the client's address, for job-originating-host-name.
func (rq *request) originHost() string {
	host, _, err := net.SplitHostPort(rq.hr.RemoteAddr)
	if err != nil {
		return rq.hr.RemoteAddr
	}
	return host
}
