package connectors

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Rejection is the forensic record of a refused request: enough to tell a misconfigured
// provider from an attack, without keeping credentials. Bodies are cut to MaxRejectedBody.
type Rejection struct {
	At        time.Time           `json:"at"`
	Channel   schema.Channel      `json:"channel"`
	Method    string              `json:"method"`
	URL       string              `json:"url"`
	Remote    string              `json:"remote"`
	Status    int                 `json:"status"`
	Code      string              `json:"code"`
	Reason    string              `json:"reason"`
	Header    map[string][]string `json:"header"`
	Body      string              `json:"body,omitempty"`
	BodyBytes int                 `json:"body_bytes"`
}

// Rejecter records rejections. Reject must not block the request for long.
type Rejecter interface {
	Reject(r *Rejection)
}

// MaxRejectedBody is how much of a refused request's body is kept.
const MaxRejectedBody = 2048

// redactedHeaders carry credentials; their values are never recorded. Signature headers are
// kept: they are not secrets and show what the caller computed.
var redactedHeaders = map[string]bool{
	"Authorization":                   true,
	"Proxy-Authorization":             true,
	"Cookie":                          true,
	"X-Api-Key":                       true,
	"X-Telegram-Bot-Api-Secret-Token": true,
}

// NewRejection builds the redacted, bounded record of a refused request.
func NewRejection(ch schema.Channel, r *http.Request, body []byte, he *HTTPError) *Rejection {
	h := make(map[string][]string, len(r.Header))
	for k, v := range r.Header {
		if redactedHeaders[http.CanonicalHeaderKey(k)] {
			h[k] = []string{"<redacted>"}
			continue
		}
		h[k] = v
	}
	b := body
	if len(b) > MaxRejectedBody {
		b = b[:MaxRejectedBody]
	}
	return &Rejection{
		At: time.Now().UTC(), Channel: ch, Method: r.Method, URL: r.URL.Path,
		Remote: remoteHost(r), Status: he.Status, Code: he.Code, Reason: he.Message,
		Header: h, Body: strings.ToValidUTF8(string(b), "\uFFFD"), BodyBytes: len(body),
	}
}

func remoteHost(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return r.RemoteAddr[:i]
	}
	return r.RemoteAddr
}
