package meta

import (
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Connector is the meta channel family.
type Connector struct {
	cfg     Config
	host    connectors.Host
	client  *http.Client
	timeout time.Duration
	log     *zap.Logger
	now     func() time.Time
	workers int // customers of one POST handed off at once
	// byID finds an account by the id webhooks carry (page, Instagram account, phone
	// number id); byName by its Switchboard account name. Both per channel.
	byID   map[schema.Channel]map[string]*account
	byName map[schema.Channel]map[string]*account
}

// account is one page, Instagram account or phone number, compiled from the config.
type account struct {
	name    string
	channel schema.Channel
	id      string // page id, Instagram account id, phone number id
	app     string
	token   string
	api     string // Graph API base with version: https://graph.facebook.com/v23.0
	sendAs  string // the node whose /messages endpoint sends (page, account or phone number)
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
		panic(err) // a bad default tag: every meta test catches it
	}
	conn := &Connector{cfg: c, host: host, timeout: c.Timeout.D(), log: host.Logger, now: time.Now, workers: handOffWorkers,
		client: &http.Client{}, byID: map[schema.Channel]map[string]*account{}, byName: map[schema.Channel]map[string]*account{}}
	for name, p := range c.Messenger {
		conn.add(&account{name: name, channel: schema.ChannelMessenger, id: p.PageID, app: conn.appOf(p.App),
			token: p.AccessToken.Value(), api: conn.api(""), sendAs: p.PageID})
	}
	for name, a := range c.Instagram {
		sendAs := a.AccountID
		if a.PageID != "" {
			sendAs = a.PageID
		}
		conn.add(&account{name: name, channel: schema.ChannelInstagram, id: a.AccountID, app: conn.appOf(a.App),
			token: a.AccessToken.Value(), api: conn.api(a.GraphURL), sendAs: sendAs})
	}
	for name, w := range c.WhatsApp {
		conn.add(&account{name: name, channel: schema.ChannelWhatsApp, id: w.PhoneNumberID, app: conn.appOf(w.App),
			token: w.AccessToken.Value(), api: conn.api(""), sendAs: w.PhoneNumberID})
	}
	return conn
}

func (c *Connector) add(a *account) {
	if c.byID[a.channel] == nil {
		c.byID[a.channel], c.byName[a.channel] = map[string]*account{}, map[string]*account{}
	}
	c.byID[a.channel][a.id] = a
	c.byName[a.channel][a.name] = a
}

// appOf resolves an account's app: the one named, or the only one configured.
func (c *Connector) appOf(name string) string {
	if name == "" && len(c.cfg.Apps) == 1 {
		for only := range c.cfg.Apps {
			return only
		}
	}
	return name
}

// api is the versioned Graph API base for an account.
func (c *Connector) api(override string) string {
	base := override
	if base == "" {
		base = c.cfg.GraphURL
	}
	version := c.cfg.APIVersion
	return strings.TrimRight(base, "/") + "/" + version
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "meta" }

// Endpoints implements [connectors.EndpointProvider]: one webhook per app.
func (c *Connector) Endpoints() []connectors.Endpoint {
	const path = "/v1/channels/meta/{app}/webhook"
	return []connectors.Endpoint{
		{Method: http.MethodGet, Path: path, Channel: "meta", Handle: c.handshake},
		{Method: http.MethodPost, Path: path, Channel: "meta", Handle: c.receive},
	}
}

// Senders implements [connectors.SenderProvider]: one per account, so that another
// connector may serve other accounts of the same channel (Twilio's WhatsApp).
func (c *Connector) Senders() []connectors.SenderSpec {
	var out []connectors.SenderSpec
	for ch, accounts := range c.byName {
		for name, a := range accounts {
			out = append(out, connectors.SenderSpec{Channel: ch, Account: name, Sender: &sender{c: c, acct: a}})
		}
	}
	return out
}

// MediaChannels implements [connectors.MediaFetcher].
func (c *Connector) MediaChannels() []schema.Channel {
	var out []schema.Channel
	for ch := range c.byName {
		out = append(out, ch)
	}
	return out
}

// MediaAccounts implements [connectors.MediaScope]: only this connector's accounts.
func (c *Connector) MediaAccounts(ch schema.Channel) []string {
	var out []string
	for name := range c.byName[ch] {
		out = append(out, name)
	}
	return out
}
