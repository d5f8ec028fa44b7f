package twilio

import (
	"net/url"

	"github.com/switchboardhq/switchboard/connectors"
)

// SignatureHeader is the header Twilio signs webhooks with.
const SignatureHeader = "X-Twilio-Signature"

// webhookURL is the URL Twilio called: the account's public base URL when it has its own,
// else the intake's (http.public_url, or rebuilt from the Host header) — either way with the
// exact path and query of the request, which Twilio signs.
func (a *account) webhookURL(r *connectors.Request) string {
	if a.publicURL != "" {
		return a.publicURL + r.HTTP.URL.RequestURI()
	}
	return r.PublicURL
}

// verify parses the form and checks X-Twilio-Signature (constant-time, with and without the
// default port, exactly as twilio-go's validator: see [signatureKey]) against every
// configured auth token.
//
// The signature covers only the first value of a repeated parameter (that is how Twilio's
// own validators compute it), so a form that repeats one is refused: appending
// "&Body=forged" to a genuine request would otherwise keep its signature valid.
func (a *account) verify(r *connectors.Request) (url.Values, error) {
	sig := r.Header(SignatureHeader)
	if sig == "" {
		return nil, connectors.Forbidden("missing_signature", "no %s header: Twilio signs every webhook", SignatureHeader)
	}
	form, err := url.ParseQuery(string(r.Body))
	if err != nil {
		return nil, connectors.Forbidden("bad_signature", "body is not a form Twilio could have signed: %v", err)
	}
	params := make(map[string]string, len(form))
	for k, v := range form {
		if len(v) > 1 {
			return nil, connectors.Forbidden("repeated_parameter", "parameter %q appears %d times; the signature covers only the first", k, len(v))
		}
		params[k] = v[0]
	}
	u := a.webhookURL(r)
	ok := false
	for _, k := range a.keys {
		ok = k.valid(u, params, sig) || ok
	}
	if !ok {
		return nil, connectors.Forbidden("bad_signature",
			"%s does not match %s with account %s's auth token; if that is not the URL configured in Twilio, set http.public_url (or the account's public_url) to its base",
			SignatureHeader, u, a.name)
	}
	return form, nil
}
