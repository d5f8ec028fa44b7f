// Package twiliotest holds test doubles for the Twilio channel, usable from any package's
// tests and from `switchboard bench`: a reference implementation of Twilio's webhook
// signature, written from Twilio's documentation independently of twilio-go's validator that
// the connector uses, and a fake of Twilio's REST API.
package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// Signature computes X-Twilio-Signature as Twilio documents it
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security): take the full URL Twilio
// calls (scheme, host, path, query), append each POST parameter's name and value sorted by
// name (a repeated name's values sorted too), HMAC-SHA1 the result with the auth token and
// base64-encode the digest.
func Signature(authToken, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignBody signs a form-encoded body as Twilio would when POSTing it to fullURL. It panics on
// a body that is not a form (a test bug).
func SignBody(authToken, fullURL string, body []byte) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		panic("twiliotest: body is not a form: " + err.Error())
	}
	return Signature(authToken, fullURL, form)
}

// Request builds a webhook POST of body to target (where the gateway listens), signed for
// publicURL (the URL Twilio was configured with; target when empty).
func Request(authToken, target, publicURL string, body []byte) *http.Request {
	if publicURL == "" {
		publicURL = target
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(string(body)))
	if err != nil {
		panic("twiliotest: " + err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", SignBody(authToken, publicURL, body))
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	return req
}
