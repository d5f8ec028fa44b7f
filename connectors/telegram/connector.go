package telegram

import (
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Connector is the telegram channel.
type Connector struct {
	host    connectors.Host
	api     string
	client  *http.Client
	timeout time.Duration
	log     *zap.Logger
	bots    map[string]*bot // by account name
}

// bot is one configured bot, compiled.
type bot struct {
	account string
	id      string // the bot's numeric id (from its token)
	token   string
	secret  string
}

var (
	_ connectors.EndpointProvider = (*Connector)(nil)
	_ connectors.SenderProvider   = (*Connector)(nil)
	_ connectors.MediaFetcher     = (*Connector)(nil)
	_ connectors.MediaScope       = (*Connector)(nil)
)

// New returns the connector; it starts nothing.
func New(c Config, host connectors.Host) *Connector {
	if host.Logger == nil {
		host.Logger = zap.NewNop()
	}
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every telegram test catches it
	}
	conn := &Connector{host: host, api: strings.TrimRight(c.APIURL, "/"), client: &http.Client{},
		timeout: c.Timeout.D(), log: host.Logger, bots: map[string]*bot{}}
	for name, b := range c.Bots {
		conn.bots[name] = &bot{account: name, id: b.Token.BotID(), token: b.Token.Value(), secret: b.SecretToken.Value()}
	}
	return conn
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "telegram" }

// Endpoints implements [connectors.EndpointProvider].
func (c *Connector) Endpoints() []connectors.Endpoint {
	return []connectors.Endpoint{{Method: http.MethodPost, Path: "/v1/channels/telegram/{account}/webhook",
		Channel: schema.ChannelTelegram, Handle: c.receive}}
}

// Senders implements [connectors.SenderProvider]: one sender per bot.
func (c *Connector) Senders() []connectors.SenderSpec {
	var out []connectors.SenderSpec
	for name, b := range c.bots {
		out = append(out, connectors.SenderSpec{Channel: schema.ChannelTelegram, Account: name, Sender: &sender{c: c, bot: b}})
	}
	return out
}

// MediaChannels implements [connectors.MediaFetcher].
func (c *Connector) MediaChannels() []schema.Channel { return []schema.Channel{schema.ChannelTelegram} }

// MediaAccounts implements [connectors.MediaScope].
func (c *Connector) MediaAccounts(schema.Channel) []string {
	out := make([]string, 0, len(c.bots))
	for name := range c.bots {
		out = append(out, name)
	}
	return out
}
