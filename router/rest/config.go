package rest

import (
	"fmt"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// Config authenticates helpdesks on the REST API (the rest section).
type Config struct {
	// Bearer tokens of helpdesks; none: the API is open (a warning is logged).
	Tokens []Token `yaml:"tokens"`
}

// Token is one helpdesk's bearer token.
type Token struct {
	Name  string     `yaml:"name" example:"helpdesk"`
	Token cfg.Secret `yaml:"token" example:"{env: SWITCHBOARD_REST_TOKEN}"`
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
	}
}
