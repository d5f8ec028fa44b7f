package rest

import (
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// jwtToken turns a bearer JWT signed with the configured key into the token it stands for:
// named jwt:<sub>, acting as agent <sub>, with the scopes of its scope claim. ok is false for
// anything else (another algorithm, a bad signature, expired, wrong issuer or audience).
func jwtToken(c *JWTConfig, raw string) (Token, bool) {
	key := c.Key.Value()
	if key == "" || strings.Count(raw, ".") != 2 {
		return Token{}, false
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired()}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	var claims struct {
		jwt.RegisteredClaims
		Scope string `json:"scope"`
	}
	t, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return []byte(key), nil }, opts...)
	if err != nil || !t.Valid || claims.Subject == "" {
		return Token{}, false
	}
	scopes := strings.Fields(claims.Scope)
	if len(scopes) == 0 {
		scopes = []string{ScopeRead} // a JWT grants what it says, and reading without a scope claim
	}
	return Token{Name: "jwt:" + claims.Subject, Agent: claims.Subject, Scopes: scopes}, true
}
