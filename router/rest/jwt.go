package rest

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"
	"golang.org/x/time/rate"
)

// Algorithms of the JWTs accepted: HS256 with rest.jwt.key; the asymmetric ones with a key
// of rest.jwt.jwks_url (chosen by kid, and only of its own kind: an RSA key never checks an
// HMAC signature).
var (
	hmacMethods = []string{"HS256"}
	jwksMethods = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// jwtToken turns a bearer JWT signed with the configured key (or a key of the JWKS) into the
// token it stands for: named jwt:<sub>, acting as agent <sub>, with the scopes of its scope
// claim. ok is false for anything else (another algorithm, a bad signature, an unknown key,
// expired, wrong issuer or audience).
func jwtToken(c *credentials, raw string) (Token, bool) {
	key := c.JWT.Key.Value()
	if (key == "" && c.jwks == nil) || strings.Count(raw, ".") != 2 {
		return Token{}, false
	}
	var methods []string
	if key != "" {
		methods = append(methods, hmacMethods...)
	}
	if c.jwks != nil {
		methods = append(methods, jwksMethods...)
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired()}
	if c.JWT.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.JWT.Issuer))
	}
	if c.JWT.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.JWT.Audience))
	}
	var claims struct {
		jwt.RegisteredClaims
		Scope string `json:"scope"`
	}
	keyFor := func(t *jwt.Token) (any, error) {
		if _, hmac := t.Method.(*jwt.SigningMethodHMAC); hmac {
			return []byte(key), nil
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return c.jwks.KeyfuncCtx(ctx)(t)
	}
	t, err := jwt.ParseWithClaims(raw, &claims, keyFor, opts...)
	if err != nil || !t.Valid || claims.Subject == "" {
		return Token{}, false
	}
	scopes := strings.Fields(claims.Scope)
	if len(scopes) == 0 {
		scopes = []string{ScopeRead} // a JWT grants what it says, and reading without a scope claim
	}
	return Token{Name: "jwt:" + claims.Subject, Agent: claims.Subject, Scopes: scopes}, true
}

// newJWKS follows the JWKS at c.JWKSURL: read at once (a failure is logged, and its JWTs are
// refused until a read succeeds), again every jwks_refresh, and when a token names a key id
// it does not know (at most once a minute: a rotated key is taken up without waiting).
func newJWKS(c JWTConfig, log *zap.Logger) (keyfunc.Keyfunc, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	refresh := c.JWKSRefresh.D()
	if refresh <= 0 {
		refresh = time.Hour
	}
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{c.JWKSURL}, keyfunc.Override{
		HTTPTimeout:       10 * time.Second,
		RefreshInterval:   refresh,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
		RateLimitWaitMax:  time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				if !errors.Is(err, context.Canceled) {
					log.Warn("the JWKS could not be read; JWTs signed with keys not yet known are refused", zap.String("url", u), zap.Error(err))
				}
			}
		},
	})
	if err != nil {
		log.Error("the JWKS cannot be followed; JWTs it would sign are refused", zap.String("url", c.JWKSURL), zap.Error(err))
		cancel()
		return nil, nil
	}
	return k, cancel
}
