package webchat

import (
	"fmt"
	"mime"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the webchat channel's section of the config file (docs/channels/webchat.md).
type Config struct {
	// Secret signs session tokens, attachment tokens and file links. Optional: without it a
	// random secret is generated on first use and kept in JetStream, shared by all instances.
	Secret cfg.Secret `yaml:"secret"`
	// Sites are the websites that embed the widget; the name is the account.
	Sites map[string]*Site `yaml:"sites" key:"shop"`

	MaxFrame       cfg.ByteSize `yaml:"max_frame" default:"16KiB"`     // largest frame a browser may send (close 1009 beyond)
	MaxText        int          `yaml:"max_text" default:"4000"`       // characters in one message
	PingInterval   cfg.Duration `yaml:"ping_interval" default:"25s"`   // how often the server pings a socket
	PongTimeout    cfg.Duration `yaml:"pong_timeout" default:"20s"`    // silence after a ping before the socket is closed
	WriteTimeout   cfg.Duration `yaml:"write_timeout" default:"10s"`   // one write to a socket
	SendQueue      cfg.ByteSize `yaml:"send_queue" default:"1MiB"`     // bytes waiting per socket before it counts as slow
	Writers        int          `yaml:"writers" default:"8"`           // shared writer goroutines
	Rate           Rate         `yaml:"rate"`                          // frames a socket may send
	TokenTTL       cfg.Duration `yaml:"token_ttl" default:"720h"`      // session token lifetime
	PublishTimeout cfg.Duration `yaml:"publish_timeout" default:"10s"` // durable handoff of one message
	HelloTimeout   cfg.Duration `yaml:"hello_timeout" default:"10s"`   // a socket that says no hello by then is closed 1008
	PerIP          PerIP        `yaml:"per_ip"`                        // what one client address may hold and open
	// TrustedProxies are the proxies (CIDRs) whose X-Forwarded-For names the real client.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// PerIP limits one client address: sockets open at once, and handshakes (a token bucket).
// Refused handshakes get 429 with Retry-After.
type PerIP struct {
	MaxSockets int     `yaml:"max_sockets" default:"200"`          // offices and mobile carriers share addresses
	PerSecond  float64 `yaml:"handshakes_per_second" default:"20"` // new sockets per second
	Burst      int     `yaml:"handshake_burst" default:"100"`      // new sockets at once
}

// Rate is a token bucket per socket.
type Rate struct {
	PerSecond float64 `yaml:"per_second" default:"5"`
	Burst     int     `yaml:"burst" default:"20"`
}

// Site is one website.
type Site struct {
	// AllowedOrigins lists the origins (scheme://host[:port]) whose pages may open sockets;
	// "https://*.example.com" allows subdomains. The gateway's own origin is allowed when demo
	// is on.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// IdentitySecret verifies identities the site vouches for: user_hash is the hex
	// HMAC-SHA256 of the user id with this secret (email_hash likewise for the email).
	IdentitySecret cfg.Secret `yaml:"identity_secret"`
	// Demo serves a page at /webchat/<site>/demo to try the widget.
	Demo     bool    `yaml:"demo"`
	Title    string  `yaml:"title"`    // the chat window's title (default "Chat with us")
	Greeting string  `yaml:"greeting"` // shown before the first message
	Uploads  Uploads `yaml:"uploads"`
}

// Uploads limits attachments.
type Uploads struct {
	Disabled bool         `yaml:"disabled"`
	MaxBytes cfg.ByteSize `yaml:"max_bytes" default:"10MiB"`
	// MIME types accepted.
	Types []string `yaml:"types" default:"[image/png, image/jpeg, image/gif, image/webp, application/pdf, text/plain]"`
}

// limits are the runtime values with defaults applied.
type limits struct {
	maxFrame, maxText, sendQueue, writers int
	ping, pongTimeout, writeTimeout       time.Duration
	tokenTTL, publishTimeout              time.Duration
	rate                                  float64
	burst                                 int
	hello                                 time.Duration
	ipSockets, ipBurst                    int
	ipRate                                float64
}

// limits are the runtime values; c has its defaults applied.
func (c *Config) limits() limits {
	return limits{
		maxFrame: int(c.MaxFrame), maxText: c.MaxText, sendQueue: int(c.SendQueue), writers: c.Writers,
		ping: c.PingInterval.D(), pongTimeout: c.PongTimeout.D(), writeTimeout: c.WriteTimeout.D(),
		tokenTTL: c.TokenTTL.D(), publishTimeout: c.PublishTimeout.D(),
		rate: c.Rate.PerSecond, burst: c.Rate.Burst, hello: c.HelloTimeout.D(),
		ipSockets: c.PerIP.MaxSockets, ipRate: c.PerIP.PerSecond, ipBurst: c.PerIP.Burst,
	}
}

// Validate checks site names and limits.
func (c *Config) Validate(ck *cfg.Checker) {
	if len(c.Sites) == 0 {
		ck.Errorf("sites", "list at least one site")
	}
	for name := range c.Sites {
		if !schema.ValidToken(name) || len(name) > 64 {
			ck.Errorf("sites."+name, "site names may hold only letters, digits, - and _ (at most 64)")
		}
	}
	if c.Secret.Value() != "" && len(c.Secret.Value()) < 32 {
		ck.Errorf("secret", "must be at least 32 characters")
	}
	if c.MaxFrame != 0 && (c.MaxFrame < 1024 || c.MaxFrame > 1<<20) {
		ck.Errorf("max_frame", "must be between 1KiB and 1MiB")
	}
	if c.MaxText < 0 || c.Writers < 0 || c.Rate.Burst < 0 || c.Rate.PerSecond < 0 {
		ck.Errorf("", "limits must not be negative")
	}
	if c.SendQueue != 0 && c.SendQueue < 1024 {
		ck.Errorf("send_queue", "must be at least 1KiB")
	}
	if c.PingInterval != 0 && c.PingInterval.D() < time.Second {
		ck.Errorf("ping_interval", "must be at least 1s")
	}
	if c.HelloTimeout != 0 && c.HelloTimeout.D() < 100*time.Millisecond {
		ck.Errorf("hello_timeout", "must be at least 100ms")
	}
	if c.PerIP.MaxSockets < 0 || c.PerIP.PerSecond < 0 || c.PerIP.Burst < 0 {
		ck.Errorf("per_ip", "limits must not be negative")
	}
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		ck.Errorf("trusted_proxies", "%v", err)
	}
}

// parsePrefixes reads CIDRs or single addresses.
func parsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range list {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("entry %d %q is not an address or CIDR like 10.0.0.0/8", i, s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Validate checks one site.
func (s *Site) Validate(ck *cfg.Checker) {
	for i, o := range s.AllowedOrigins {
		if _, ok := parseOrigin(o); !ok {
			ck.Errorf("allowed_origins", "entry %d %q is not an origin like https://www.example.com", i, o)
		}
	}
	if len(s.AllowedOrigins) == 0 && !s.Demo {
		ck.Errorf("allowed_origins", "list the origins of the pages that embed the widget")
	}
}

// Validate checks upload types.
func (u *Uploads) Validate(ck *cfg.Checker) {
	for _, t := range u.Types {
		if mt, _, err := mime.ParseMediaType(t); err != nil || mt != strings.ToLower(t) || !strings.Contains(t, "/") {
			ck.Errorf("types", "%q is not a MIME type like image/png", t)
		}
	}
}

// origin is an allowed origin, possibly with a "*." subdomain wildcard.
type origin struct {
	scheme, host string // host may start with "*."
}

func parseOrigin(s string) (origin, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return origin{}, false
	}
	return origin{scheme: u.Scheme, host: strings.ToLower(u.Host)}, true
}

func (o origin) allows(scheme, host string) bool {
	if o.scheme != scheme {
		return false
	}
	if suffix, ok := strings.CutPrefix(o.host, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return o.host == host
}
