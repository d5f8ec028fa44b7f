// Package webchat is the website live-chat channel: visitors talk to agents through a
// websocket opened by a small embeddable widget (one <script> tag) that the gateway serves.
//
// A visitor holds a session token (HMAC) naming its site and visitor id, so nobody reads or
// writes another visitor's conversation by guessing ids; a site may also vouch for a signed-in
// user (an HMAC of its user id), which makes the visitor verified and the same on every device.
// Visitor messages carry a client id and are acknowledged only after JetStream stored them; a
// resend after a reconnect is deduplicated. Agent replies and conversation events reach every
// open tab through the instance's shared conversation feed; typing indicators and read receipts
// travel as ephemeral signals.
//
// Each idle socket costs one reader goroutine and a 512-byte read buffer: writes go through a
// small shared pool of writer goroutines with pooled write buffers, pings come from one timer
// wheel. See docs/channels/webchat.md for the wire protocol.
package webchat

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// Connector is the webchat channel.
type Connector struct {
	cfg      Config
	lim      limits
	perIP    *ipLimits
	host     connectors.Host
	log      *zap.Logger
	sites    map[string]*site
	upgrader websocket.Upgrader
	metrics  *metrics

	mu       sync.Mutex
	rt       *runtime // started on first use, stopped by Drain
	draining bool
}

// site is a configured site with its parsed origins.
type site struct {
	name    string
	cfg     *Site
	origins []origin
	types   map[string]bool
}

var (
	_ connectors.EndpointProvider = (*Connector)(nil)
	_ connectors.SenderProvider   = (*Connector)(nil)
	_ connectors.Drainer          = (*Connector)(nil)
)

// New returns the connector; it starts nothing.
func New(c Config, host connectors.Host) *Connector {
	if host.Logger == nil {
		host.Logger = zap.NewNop()
	}
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every webchat test catches it
	}
	con := &Connector{cfg: c, lim: c.limits(), host: host, log: host.Logger, sites: map[string]*site{},
		metrics: newMetrics(host.Registerer)}
	trusted, _ := parsePrefixes(c.TrustedProxies) // checked by Validate
	con.perIP = newIPLimits(con.lim, trusted)
	for name, s := range c.Sites {
		st := &site{name: name, cfg: s, types: map[string]bool{}}
		for _, o := range s.AllowedOrigins {
			if po, ok := parseOrigin(o); ok {
				st.origins = append(st.origins, po)
			}
		}
		types := s.Uploads.Types
		if len(types) == 0 { // an explicit empty list: the defaults too
			var def Uploads
			_ = cfg.SetDefaults(&def)
			types = def.Types
		}
		for _, t := range types {
			st.types[t] = true
		}
		con.sites[name] = st
	}
	con.upgrader = websocket.Upgrader{
		ReadBufferSize:  512,
		WriteBufferSize: 1024,
		WriteBufferPool: &sync.Pool{},
		CheckOrigin:     con.checkOrigin,
	}
	return con
}

// Name implements [connectors.Connector].
func (c *Connector) Name() string { return "webchat" }

// Endpoints implements [connectors.EndpointProvider].
func (c *Connector) Endpoints() []connectors.Endpoint {
	raw := func(method, path string, h http.HandlerFunc) connectors.Endpoint {
		return connectors.Endpoint{Method: method, Path: path, Channel: schema.ChannelWebchat, Raw: h}
	}
	return []connectors.Endpoint{
		raw(http.MethodGet, "/webchat/{site}/ws", c.serveSocket),
		raw(http.MethodGet, "/webchat/widget.js", c.serveWidget),
		raw(http.MethodGet, "/webchat/{site}/demo", c.serveDemo),
		raw(http.MethodPost, "/webchat/{site}/uploads", c.serveUpload),
		raw(http.MethodOptions, "/webchat/{site}/uploads", c.servePreflight),
		raw(http.MethodGet, "/webchat/{site}/files/{key...}", c.serveFile),
	}
}

// Senders implements [connectors.SenderProvider]. Replies reach visitors through the
// conversation stream; Send only confirms the reply has a visitor to go to. Sockets report
// "delivered" when they push it and "read" on the visitor's receipt.
func (c *Connector) Senders() []connectors.SenderSpec {
	return []connectors.SenderSpec{{Channel: schema.ChannelWebchat, Account: "*", Sender: c, Idempotent: true}}
}

// Send implements [connectors.Sender].
func (c *Connector) Send(_ context.Context, m *schema.Message) (connectors.SendResult, error) {
	if _, ok := c.sites[m.Account]; !ok {
		return connectors.SendResult{}, connectors.Permanent("unknown_site", "webchat site %q is not configured", m.Account)
	}
	for _, to := range m.To {
		if to.Kind == addressKind {
			return connectors.SendResult{Status: schema.StatusSent}, nil
		}
	}
	return connectors.SendResult{}, connectors.Permanent("no_visitor", "reply has no visitor address")
}

// addressKind is the kind of a visitor's address; its value is "<site>:<visitor id>".
const addressKind = "visitor"

func visitorAddress(site, visitor string) string { return site + ":" + visitor }

// checkOrigin allows the site's listed origins (and the gateway's own with demo on).
func (c *Connector) checkOrigin(r *http.Request) bool {
	st := c.sites[r.PathValue("site")]
	if st == nil {
		return false
	}
	return st.allowsOrigin(r)
}

func (st *site) allowsOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	po, ok := parseOrigin(o)
	if !ok {
		return false
	}
	if st.cfg.Demo && po.host == strings.ToLower(r.Host) {
		return true
	}
	for _, allowed := range st.origins {
		if allowed.allows(po.scheme, po.host) {
			return true
		}
	}
	return false
}
