// Package api is the generic API channel: any system can post customers' messages over HTTP
// with a per-account bearer token, and receive agents' replies at a callback URL signed the
// Standard Webhooks way (https://www.standardwebhooks.com).
package api

import (
	"net/http"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Connector is the api channel.
type Connector struct {
	cfg    Config
	host   connectors.Host
	client *http.Client
}

var (
	_ connectors.EndpointProvider = (*Connector)(nil)
	_ connectors.SenderProvider   = (*Connector)(nil)
)

// New returns the connector; it starts nothing.
func New(c Config, host connectors.Host) *Connector {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every api test catches it
	}
	return &Connector{cfg: c, host: host, client: &http.Client{
		// Replies go where the account said; a redirect elsewhere is refused, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "api" }

// Endpoints implements [connectors.EndpointProvider].
func (c *Connector) Endpoints() []connectors.Endpoint {
	return []connectors.Endpoint{{
		Method: http.MethodPost, Path: "/v1/channels/api/{account}/messages", Channel: schema.ChannelAPI,
		MaxBody: c.maxBody(), Handle: c.receive,
	}}
}

// maxBody is the largest per-account limit: the intake's cap, checked again per account.
func (c *Connector) maxBody() int64 {
	limit := int64(1 << 20)
	for _, a := range c.cfg.Accounts {
		limit = max(limit, int64(a.MaxBody))
	}
	return limit
}

// Senders implements [connectors.SenderProvider]: replies go to each account's callback.
func (c *Connector) Senders() []connectors.SenderSpec {
	return []connectors.SenderSpec{{Channel: schema.ChannelAPI, Account: "*", Sender: c, Idempotent: true}}
}
