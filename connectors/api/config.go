package api

import (
	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the api channel's section of the config file.
type Config struct {
	// API clients, by account name (letters, digits, - and _).
	Accounts map[string]*Account `yaml:"accounts" key:"shop"`
}

// Account is one API client (a system that posts messages on behalf of its users).
type Account struct {
	// Authenticates posts: Authorization: Bearer <token>.
	Token cfg.Secret `yaml:"token" example:"{env: SWITCHBOARD_API_TOKEN}"`
	// Caps a post; larger posts get 413.
	MaxBody cfg.ByteSize `yaml:"max_body" default:"1MiB"`
	// Callback receives agents' replies.
	Callback *Callback `yaml:"callback"`
	// Verified says the account vouches for its senders' identities (profile.external_id):
	// the identity graph may then merge on them.
	Verified bool `yaml:"verified"`
}

// Callback is where replies are delivered, signed the Standard Webhooks way.
type Callback struct {
	URL string `yaml:"url" example:"https://helpdesk.example.com/switchboard"`
	// Signs deliveries: "whsec_" + base64, as Standard Webhooks libraries expect.
	Secret cfg.Secret `yaml:"secret" example:"{env: API_CALLBACK_SECRET}"`
	// Bounds one delivery.
	Timeout cfg.Duration `yaml:"timeout" default:"10s"`
}

// Validate checks account names, tokens and callbacks.
func (c *Config) Validate(ck *cfg.Checker) {
	for name := range c.Accounts {
		if !schema.ValidToken(name) {
			ck.KeyErrorf("accounts."+name, "account names may hold only letters, digits, - and _")
		}
	}
}

// Validate checks one account.
func (a *Account) Validate(ck *cfg.Checker) {
	ck.Required("token", !a.Token.IsSet())
}

// Validate checks the callback.
func (cb *Callback) Validate(ck *cfg.Checker) {
	ck.HTTPURL("url", cb.URL)
	ck.Required("secret", !cb.Secret.IsSet())
}
