package twilio

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // Twilio's signature scheme is HMAC-SHA1
	"encoding/base64"
	"net/url"
	"sort"
	"strings"
)

// Sign computes the X-Twilio-Signature Twilio sends with a webhook POST of form to fullURL
// (twilio.com/docs/usage/webhooks/webhooks-security): the URL, then each parameter's name and
// value sorted by name, HMAC-SHA1 with the auth token, base64. `switchboard bench` signs its
// generated webhooks with it; the connector itself verifies with twilio-go's validator, and
// the tests sign with an implementation of their own.
func Sign(authToken, fullURL string, form url.Values) string {
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
