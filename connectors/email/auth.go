package email

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// credentials authenticate one server login: a password, or OAuth 2.0 access tokens that
// are fetched and refreshed on demand (cached until shortly before they expire).
type credentials struct {
	user     string
	password string
	tokens   oauth2.TokenSource // nil: password login
}

func newCredentials(s *Server, acct *Account) *credentials {
	cr := &credentials{user: s.username(acct), password: s.Password.Value()}
	if s.Auth == "xoauth2" && s.OAuth2 != nil {
		cr.tokens = tokenSource(s.OAuth2)
	}
	return cr
}

// tokenSource picks the flow: refresh token when one is configured, else client credentials.
func tokenSource(o *OAuth2) oauth2.TokenSource {
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	if o.RefreshToken.Value() != "" {
		c := &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret.Value(),
			Endpoint: oauth2.Endpoint{TokenURL: o.TokenURL}, Scopes: o.Scopes}
		return c.TokenSource(ctx, &oauth2.Token{RefreshToken: o.RefreshToken.Value()})
	}
	c := &clientcredentials.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret.Value(),
		TokenURL: o.TokenURL, Scopes: o.Scopes}
	return oauth2.ReuseTokenSource(nil, c.TokenSource(ctx))
}

// errAuth marks a refused login: the supervisor backs off, the log says why.
var errAuth = errors.New("authentication failed")

// saslClient returns the SASL mechanism for this login. mechs lists what the server offers
// (nil: unknown); a password login prefers PLAIN and falls back to LOGIN.
func (cr *credentials) saslClient(mechs func(string) bool) (sasl.Client, error) {
	if cr.tokens != nil {
		tok, err := cr.tokens.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: oauth2 token: %v", errAuth, err)
		}
		return &xoauth2{user: cr.user, token: tok.AccessToken}, nil
	}
	if mechs != nil && !mechs(sasl.Plain) && mechs(sasl.Login) {
		return sasl.NewLoginClient(cr.user, cr.password), nil
	}
	return sasl.NewPlainClient("", cr.user, cr.password), nil
}

// xoauth2 is the XOAUTH2 SASL mechanism of Google and Microsoft
// (developers.google.com/gmail/imap/xoauth2-protocol); go-sasl does not have it.
type xoauth2 struct{ user, token string }

func (x *xoauth2) Start() (string, []byte, error) {
	return "XOAUTH2", []byte("user=" + x.user + "\x01auth=Bearer " + x.token + "\x01\x01"), nil
}

// Next answers the server's error challenge (a base64 JSON status) with an empty response,
// after which the server fails the exchange with a tagged NO.
func (x *xoauth2) Next([]byte) ([]byte, error) { return []byte{}, nil }
