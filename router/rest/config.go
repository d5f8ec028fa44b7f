package rest

import (
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// Config authenticates helpdesks on the REST API (the rest section).
type Config struct {
	// Bearer tokens of helpdesks; none (and no jwt): the API is open (a warning is logged).
	Tokens []Token `yaml:"tokens"`
	// Tokens the helpdesk signs itself: JWTs (HS256) whose sub is the agent, scope the scopes.
	JWT JWTConfig `yaml:"jwt"`
}

// JWTConfig accepts JSON Web Tokens signed by the helpdesk, with a shared key (HS256) or a
// key of its JWKS (RS256, ES256, EdDSA, …): sub names the agent, scope lists the scopes
// (space-separated, as OAuth writes them), exp is required; iss and aud are checked when set
// here.
type JWTConfig struct {
	// The shared HMAC key (HS256); unset: HMAC-signed JWTs are not accepted.
	Key cfg.Secret `yaml:"key" example:"{env: HELPDESK_JWT_KEY}"`
	// The helpdesk's JSON Web Key Set (its public keys, chosen by kid); unset: only the HMAC
	// key. Use https outside of tests.
	JWKSURL string `yaml:"jwks_url" example:"https://helpdesk.example.com/.well-known/jwks.json"`
	// How often the JWKS is read again (a token naming an unknown key id also reads it, at
	// most once a minute).
	JWKSRefresh cfg.Duration `yaml:"jwks_refresh" default:"1h"`
	Issuer      string       `yaml:"issuer" example:"https://helpdesk.example.com"`
	Audience    string       `yaml:"audience" example:"switchboard"`
}

// Token is one helpdesk's bearer token.
type Token struct {
	Name  string     `yaml:"name" example:"helpdesk"`
	Token cfg.Secret `yaml:"token" example:"{env: SWITCHBOARD_REST_TOKEN}"`
	// What the token may do: read (every GET), agent (replies, resolve and reopen, assign and
	// transfer, typing, surveys, presence, customers and identities), admin (rules and config
	// reloads, the roster, webhook subscriptions). Empty: all three.
	Scopes []string `yaml:"scopes" example:"[read, agent]"`
	// An agent's own token: agent actions act as this agent (an agent_id or actor naming
	// another is refused with 403), and presence is this agent's only.
	Agent string `yaml:"agent" example:"ann"`
}

// Scopes of REST tokens.
const (
	ScopeRead  = "read"
	ScopeAgent = "agent"
	ScopeAdmin = "admin"
)

// has reports whether the token carries scope (every scope when none is listed).
func (t Token) has(scope string) bool {
	return len(t.Scopes) == 0 || slices.Contains(t.Scopes, scope)
}

// Validate checks the JWKS address.
func (j *JWTConfig) Validate(ck *cfg.Checker) {
	if j.JWKSURL == "" {
		return
	}
	if u, err := url.Parse(j.JWKSURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		ck.Errorf("jwks_url", "must be an http(s) URL")
	}
	if j.JWKSRefresh != 0 && j.JWKSRefresh.D() < time.Minute {
		ck.Errorf("jwks_refresh", "must be at least 1m")
	}
}

// Validate checks that every token has a unique name and a value.
func (c *Config) Validate(ck *cfg.Checker) {
	seen := map[string]bool{}
	for i, t := range c.Tokens {
		if t.Name == "" || seen[t.Name] {
			ck.Errorf(fmt.Sprintf("tokens[%d].name", i), "needs a unique name")
		}
		seen[t.Name] = true
		ck.Required(fmt.Sprintf("tokens[%d].token", i), !t.Token.IsSet())
		for j, sc := range t.Scopes {
			if sc != ScopeRead && sc != ScopeAgent && sc != ScopeAdmin {
				ck.Errorf(fmt.Sprintf("tokens[%d].scopes[%d]", i, j), "must be read, agent or admin, not %q", sc)
			}
		}
	}
}
