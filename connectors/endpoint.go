package connectors

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/switchboardhq/switchboard/schema"
)

// Endpoint is an HTTP route a connector serves.
type Endpoint struct {
	Method  string         // GET, POST, ...
	Path    string         // a net/http ServeMux path, with {wildcards}
	Channel schema.Channel // for metrics and forensic records
	MaxBody int64          // 0: the intake's default
	// Handle answers a request whose body has been read (within MaxBody). Exactly one of
	// Handle and Raw is set.
	Handle HandlerFunc
	// Raw serves the request itself (websocket upgrades, static assets). The intake still
	// refuses it with 503 while draining and recovers its panics.
	Raw http.Handler
}

// HandlerFunc handles one request. An error that is an *HTTPError is answered as such; any
// other error becomes 503 (store unavailable, deadline) or 500.
type HandlerFunc func(ctx context.Context, r *Request) (*Response, error)

// Request is an incoming HTTP request with its body already read.
type Request struct {
	HTTP *http.Request
	Body []byte
	// PublicURL is the URL the caller used, rebuilt from the configured public base URL and
	// the request URI (path and query): what Twilio signs.
	PublicURL string
}

// PathValue returns a {wildcard} of the route.
func (r *Request) PathValue(name string) string { return r.HTTP.PathValue(name) }

// Header returns a request header.
func (r *Request) Header(name string) string { return r.HTTP.Header.Get(name) }

// Response is what a handler answers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON answers v as application/json.
func JSON(status int, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		panic("connectors.JSON: " + err.Error())
	}
	return &Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: append(b, '\n')}
}

// Text answers body with the given content type.
func Text(status int, contentType, body string) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Type": {contentType}}, Body: []byte(body)}
}
