// The IPP client's transport: ipp:// and ipps:// URIs mapped to HTTP, one POST per request
// with the document streamed after the attributes, and IPP and HTTP errors turned into typed
// errors.
package ipp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/OpenPrinting/goipp"

	"github.com/printgate/printgate/internal/capread"
)

// DefaultMaxResponseBytes caps a decoded response (a large printer's full attribute set with
// media-col-database is a few hundred KiB).
const DefaultMaxResponseBytes = 16 << 20

// ClientOptions configure a Client.
type ClientOptions struct {
	// HTTPClient sends the requests; a plain &http.Client{} when nil. Calls are bounded by
	// their context, so it needs no timeout. For ipps:// printers with self-signed
	// certificates, pass one whose transport trusts them.
	HTTPClient *http.Client
	// UserName is requesting-user-name when a request does not name its own; "printgate"
	// when empty.
	UserName string
	// Version is the IPP version of requests; 2.0 when zero. Use 1.1 for old printers.
	Version goipp.Version
	// MaxResponseBytes caps a response; DefaultMaxResponseBytes when 0.
	MaxResponseBytes int64
}

// Client talks to one IPP printer or print-server queue. Safe for concurrent use.
type Client struct {
	// uri is the printer URI without its user name and password: sent as printer-uri (the
	// printer may show it in its job history, as it may the client's errors), and named in
	// errors, which end up in logs, the audit log and the API.
	uri string
	// endpoint is where requests go. It keeps the user info, which net/http sends as HTTP
	// Basic authentication (and masks in its own errors).
	endpoint string
	hc       *http.Client
	user     string
	version  goipp.Version
	maxResp  int64
	nextID   atomic.Uint32
}

// HTTPError is a non-200 HTTP answer to an IPP request. A 503 also matches ErrBusy.
type HTTPError struct {
	StatusCode int
	Status     string
}

func (e *HTTPError) Error() string { return "ipp: HTTP " + e.Status }

// Is lets HTTP 503 Service Unavailable count as ErrBusy: printers and proxies use it for
// "try again shortly" too.
func (e *HTTPError) Is(target error) bool {
	return target == ErrBusy && e.StatusCode == http.StatusServiceUnavailable
}

// NewClient builds a client for printerURI: ipp://host[:port]/path (HTTP, port 631 by
// default), ipps://... (HTTPS, port 631), or an http(s):// URL as Windows writes them. A user
// name and password in it (ipp://user:password@host/...) go to the printer as HTTP Basic
// authentication, never in the IPP request or in an error.
func NewClient(printerURI string, opts ClientOptions) (*Client, error) {
	endpoint, err := endpointURL(printerURI)
	if err != nil {
		return nil, err
	}
	uri := printerURI
	if u, _ := url.Parse(printerURI); u.User != nil { // endpointURL parsed it
		u.User = nil
		uri = u.String()
	}
	c := &Client{
		uri:      uri,
		endpoint: endpoint,
		hc:       opts.HTTPClient,
		user:     opts.UserName,
		version:  opts.Version,
		maxResp:  opts.MaxResponseBytes,
	}
	if c.hc == nil {
		c.hc = &http.Client{}
	}
	if c.user == "" {
		c.user = "printgate"
	}
	if c.version == 0 {
		c.version = goipp.MakeVersion(2, 0)
	}
	if c.maxResp <= 0 {
		c.maxResp = DefaultMaxResponseBytes
	}
	return c, nil
}

// endpointURL maps a printer URI to the HTTP URL its requests are POSTed to. Its errors show
// the URI with any password masked.
func endpointURL(printerURI string) (string, error) {
	u, err := url.Parse(printerURI)
	if err != nil {
		// The *url.Error repeats the URI as written, password and all.
		if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err
		}
		return "", fmt.Errorf("ipp: printer URI: %w", err)
	}
	shown := u.Redacted()
	if u.Host == "" || u.Hostname() == "" {
		return "", fmt.Errorf("ipp: printer URI %q has no host", shown)
	}
	switch strings.ToLower(u.Scheme) {
	case "ipp":
		u.Scheme = "http"
	case "ipps":
		u.Scheme = "https"
	case "http", "https":
		u.Scheme = strings.ToLower(u.Scheme)
		return u.String(), nil
	default:
		return "", fmt.Errorf("ipp: printer URI %q: scheme must be ipp, ipps, http or https", shown)
	}
	if u.Port() == "" {
		u.Host = net.JoinHostPort(u.Hostname(), "631")
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// URI is the printer URI the client was made for, without user name or password (sent as
// printer-uri).
func (c *Client) URI() string { return c.uri }

// Endpoint is the HTTP URL requests go to.
func (c *Client) Endpoint() string { return c.endpoint }

// NewRequest starts a request for op with attributes-charset, attributes-natural-language,
// printer-uri and requesting-user-name (user, or the client's UserName), in that order.
func (c *Client) NewRequest(op goipp.Op, user string) *goipp.Message {
	if user == "" {
		user = c.user
	}
	m := goipp.NewRequest(c.version, op, 0)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(c.uri)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(user)))
	return m
}

// Do sends req, followed by doc when not nil, and decodes the response. docSize is the
// document's length, or -1 when unknown (the body is then sent chunked, which some printers
// refuse: give the size whenever it is known). A request-id of 0 is replaced by the next one.
// An IPP error status returns the decoded response and an *Error.

// errResponseTooLarge ends reading a printer's answer past ClientOptions' maximum.
var errResponseTooLarge = errors.New("ipp: response too large")

func (c *Client) Do(ctx context.Context, req *goipp.Message, doc io.Reader, docSize int64) (*goipp.Message, error) {
	if req.RequestID == 0 {
		req.RequestID = c.nextRequestID()
	}
	op := goipp.Op(req.Code)
	head, err := req.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("ipp: %s: encode request: %w", op, err)
	}
	var body io.Reader = bytes.NewReader(head)
	length := int64(len(head))
	if doc != nil {
		body = io.MultiReader(body, doc)
		if docSize >= 0 {
			length += docSize
		} else {
			length = -1
		}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("ipp: %s: %w", op, err)
	}
	hr.ContentLength = length
	if length < 0 {
		hr.ContentLength = -1
	}
	hr.Header.Set("Content-Type", goipp.ContentType)
	hr.Header.Set("Accept", goipp.ContentType)
	resp, err := c.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("ipp: %s %s: %w", op, c.uri, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("ipp: %s %s: %w", op, c.uri, &HTTPError{StatusCode: resp.StatusCode, Status: resp.Status})
	}
	var rsp goipp.Message
	lr := &capread.Reader{R: resp.Body, N: c.maxResp, TooLarge: errResponseTooLarge}
	if err := rsp.Decode(lr); err != nil {
		if lr.Over {
			return nil, fmt.Errorf("ipp: %s %s: response larger than %d bytes", op, c.uri, c.maxResp)
		}
		return nil, fmt.Errorf("ipp: %s %s: decode response: %w", op, c.uri, err)
	}
	if st := goipp.Status(rsp.Code); st >= 0x0400 {
		msg, _ := Attrs(rsp.Operation).String("status-message")
		return &rsp, &Error{Status: st, Message: msg}
	}
	return &rsp, nil
}

// nextRequestID returns 1, 2, ... skipping 0 on wrap-around (0 is invalid) and staying within
// the positive int32 range RFC 8011 allows.
func (c *Client) nextRequestID() uint32 {
	for {
		id := c.nextID.Add(1) & 0x7fffffff
		if id != 0 {
			return id
		}
	}
}
