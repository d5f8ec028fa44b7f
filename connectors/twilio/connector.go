// Package twilio is the SMS, MMS and WhatsApp channel through Twilio Programmable Messaging:
// signed webhooks in (X-Twilio-Signature checked against the public URL Twilio called),
// normalized to schema.Message on channel "sms" or "whatsapp"; agents' replies out through
// the Messages API with a status callback; status callbacks in as delivery statuses; media
// fetched with the account's credentials by the pipeline's media stage.
//
// Each configured account has its own webhook URLs:
//
//	POST /v1/channels/twilio/<account>/messages   incoming messages (A MESSAGE COMES IN)
//	POST /v1/channels/twilio/<account>/status     status callbacks of replies
package twilio

import (
	"net/http"
	"sort"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Channel labels the connector's endpoints in metrics and forensic records; messages travel
// on schema.ChannelSMS or schema.ChannelWhatsApp.
const Channel schema.Channel = "twilio"

// Connector is the twilio channel.
type Connector struct {
	host     connectors.Host
	accounts map[string]*account
}

var (
	_ connectors.EndpointProvider = (*Connector)(nil)
	_ connectors.SenderProvider   = (*Connector)(nil)
	_ connectors.MediaFetcher     = (*Connector)(nil)
	_ connectors.MediaScope       = (*Connector)(nil)
)

// New returns the connector; it starts nothing and calls nobody.
func New(c Config, host connectors.Host) *Connector {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every twilio test catches it
	}
	conn := &Connector{host: host, accounts: map[string]*account{}}
	for name, a := range c.Accounts {
		conn.accounts[name] = compile(name, a, host.PublicURL)
	}
	return conn
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "twilio" }

// maxBody caps a webhook: Twilio's forms are a few KiB (Body ≤ 1600 characters, ten media
// URLs, referral fields), so 64 KiB leaves room without inviting abuse.
const maxBody = 64 << 10

// Endpoints implements [connectors.EndpointProvider].
func (c *Connector) Endpoints() []connectors.Endpoint {
	return []connectors.Endpoint{
		{Method: http.MethodPost, Path: "/v1/channels/twilio/{account}/messages", Channel: Channel,
			MaxBody: maxBody, Handle: c.receive},
		{Method: http.MethodPost, Path: "/v1/channels/twilio/{account}/status", Channel: Channel,
			MaxBody: maxBody, Handle: c.status},
	}
}

// Senders implements [connectors.SenderProvider]: every account sends on sms and whatsapp,
// under its own name (Meta's WhatsApp accounts may share the channel under other names).
// Twilio's Messages API has no idempotency key, so a send interrupted mid-request is not
// repeated (the dispatcher fails it with outcome_unknown rather than risk a second copy on
// the customer's phone).
func (c *Connector) Senders() []connectors.SenderSpec {
	var out []connectors.SenderSpec
	for _, name := range c.names() {
		out = append(out, connectors.SenderSpec{Channel: schema.ChannelSMS, Account: name, Sender: c},
			connectors.SenderSpec{Channel: schema.ChannelWhatsApp, Account: name, Sender: c})
	}
	return out
}

// MediaChannels implements [connectors.MediaFetcher].
func (c *Connector) MediaChannels() []schema.Channel {
	return []schema.Channel{schema.ChannelSMS, schema.ChannelWhatsApp}
}

// MediaAccounts implements [connectors.MediaScope]: only this connector's accounts, so the
// account's credentials never meet another provider's media.
func (c *Connector) MediaAccounts(schema.Channel) []string { return c.names() }

func (c *Connector) names() []string {
	names := make([]string, 0, len(c.accounts))
	for name := range c.accounts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
