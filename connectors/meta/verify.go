package meta

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/switchboardhq/switchboard/connectors"
)

// SignatureHeader carries "sha256=" + hex HMAC-SHA256(app secret, raw body).
const SignatureHeader = "X-Hub-Signature-256"

// app returns the configured app named in the path, or a 404.
func (c *Connector) app(r *connectors.Request) (*App, error) {
	name := r.PathValue("app")
	app, ok := c.cfg.Apps[name]
	if !ok {
		return nil, connectors.NotFound("no Meta app %q is configured (channels.meta.apps)", name)
	}
	return app, nil
}

// handshake answers the webhook subscription check: when hub.mode is subscribe and
// hub.verify_token matches, the body is hub.challenge, verbatim. Anything else is a 403.
func (c *Connector) handshake(_ context.Context, r *connectors.Request) (*connectors.Response, error) {
	app, err := c.app(r)
	if err != nil {
		return nil, err
	}
	q := r.HTTP.URL.Query()
	token := []byte(q.Get("hub.verify_token"))
	if subtle.ConstantTimeCompare(token, []byte(app.VerifyToken.Value())) != 1 || q.Get("hub.mode") != "subscribe" {
		return nil, connectors.Forbidden("bad_verify_token", "hub.mode must be subscribe and hub.verify_token must match the app's verify_token")
	}
	return connectors.Text(http.StatusOK, "text/plain; charset=utf-8", q.Get("hub.challenge")), nil
}

// verify checks X-Hub-Signature-256 over the exact body bytes, in constant time. A body
// that was parsed and re-encoded on the way (a proxy, a test) does not verify.
func verify(secret string, header string, body []byte) error {
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if header == "" || !ok {
		return connectors.Forbidden("missing_signature", "%s: sha256=<hex> is required", SignatureHeader)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return connectors.Forbidden("bad_signature", "%s is not sha256=<64 hex digits>", SignatureHeader)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return connectors.Forbidden("bad_signature", "%s does not match the body signed with the app secret", SignatureHeader)
	}
	return nil
}
