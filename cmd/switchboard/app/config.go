package app

import (
	"errors"
	"net"
	"os"
	"path/filepath"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/connectors/api"
	"github.com/switchboardhq/switchboard/connectors/email"
	"github.com/switchboardhq/switchboard/connectors/meta"
	"github.com/switchboardhq/switchboard/connectors/telegram"
	"github.com/switchboardhq/switchboard/connectors/twilio"
	"github.com/switchboardhq/switchboard/connectors/webchat"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/rest"
	"github.com/switchboardhq/switchboard/router/webhooks"
)

// Config is the whole configuration file (docs/configuration.md).
type Config struct {
	Log LogConfig `yaml:"log"`
	// The embedded JetStream's file store (and the NATS logins it generates).
	DataDir string `yaml:"data_dir" default:"./data"`
	// Go's soft memory limit for serve; 0: 80% of the container's cgroup limit (none outside a
	// container). GOMEMLIMIT wins over both.
	MemoryLimit cfg.ByteSize `yaml:"memory_limit"`
	// The HTTP server: webhooks, the REST API, the widget, health and metrics.
	HTTP HTTPConfig `yaml:"http"`
	// Bearer tokens of helpdesks on the REST API (docs/rest-api.md).
	REST rest.Config `yaml:"rest"`
	// Which NATS: the embedded server (default) or an external cluster (docs/streams.md).
	NATS pipeline.NATSConfig `yaml:"nats"`
	// Streams and stages.
	Pipeline pipeline.Config `yaml:"pipeline"`
	// Threading, identities, agents and routing rules (docs/routing.md).
	Router router.Config `yaml:"router"`
	// Service figures: the projection and its reports (docs/insight.md).
	Insight insight.Config `yaml:"insight"`
	// Event webhooks: the unified stream posted to helpdesks (docs/webhooks.md).
	Webhooks webhooks.Config `yaml:"webhooks"`
	// One section per channel; a channel without a section is off.
	Channels Channels `yaml:"channels"`
}

// LogConfig chooses the log format and level.
type LogConfig struct {
	// debug, info, warn or error.
	Level string `yaml:"level" default:"info"`
	// json (production) or console (development). serve --log-format overrides it.
	Format string `yaml:"format" default:"json"`
}

// HTTPConfig configures the HTTP server (webhooks, REST API, health, metrics).
type HTTPConfig struct {
	// host:port to listen on. serve --http-addr overrides it.
	Listen string `yaml:"listen" default:"127.0.0.1:8080"`
	// The base URL providers reach this gateway at (behind a proxy, the proxy's URL), e.g.
	// https://gw.example.com. Webhook signatures (Twilio) are checked against public_url +
	// path + query. Required behind a proxy.
	PublicURL string `yaml:"public_url"`
	// Default body limit of webhook endpoints (413 beyond).
	MaxBody cfg.ByteSize `yaml:"max_body" default:"1MiB"`
	// Requests handled at once; beyond, 503 + Retry-After at once.
	MaxInFlight int `yaml:"max_in_flight" default:"1024"`
	// Request bodies held at once; beyond, 503 + Retry-After at once.
	MaxInFlightBytes cfg.ByteSize `yaml:"max_in_flight_bytes" default:"64MiB"`
	// A request that cannot be made durable in time gets 503 (providers retry).
	Timeout cfg.Duration `yaml:"handler_timeout" default:"10s"`
	// Bound of each shutdown phase.
	ShutdownGrace cfg.Duration `yaml:"shutdown_grace" default:"10s"`
	// One noisy integration cannot starve the others: over a limit, 429 + Retry-After and
	// nothing is stored.
	RateLimits connectors.RateLimits `yaml:"rate_limits"`
}

// Channels holds each connector's section.
type Channels struct {
	API      *api.Config      `yaml:"api"`
	Webchat  *webchat.Config  `yaml:"webchat"`
	Email    *email.Config    `yaml:"email"`
	Meta     *meta.Config     `yaml:"meta"`
	Telegram *telegram.Config `yaml:"telegram"`
	Twilio   *twilio.Config   `yaml:"twilio"`
}

// LoadConfig reads and checks a config file; the error lists every problem with
// file:line:col. Defaults are applied to what the file leaves out.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(path, data)
}

// CheckConfig reads a config file the way `switchboard check` needs it: c is what could be
// decoded (defaults applied) even when there are problems, so that the rules file can still be
// checked against it; secrets lists the secrets not available here (unset environment
// variables, unreadable files), apart from the other problems in err.
func CheckConfig(path string) (c *Config, secrets cfg.Errors, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	c = &Config{}
	_, err = cfg.Decode(path, data, c)
	var es cfg.Errors
	if errors.As(err, &es) {
		var problems cfg.Errors
		problems, secrets = es.SplitSecrets()
		err = problems.Err()
	}
	if derr := c.applyDefaults(); derr != nil {
		return nil, nil, derr
	}
	c.resolvePaths(path)
	return c, secrets, err
}

// ParseConfig is LoadConfig on bytes already read.
func ParseConfig(path string, data []byte) (*Config, error) {
	var c Config
	if _, err := cfg.Decode(path, data, &c); err != nil {
		return nil, err
	}
	if err := c.applyDefaults(); err != nil {
		return nil, err
	}
	c.resolvePaths(path)
	return &c, nil
}

// applyDefaults fills what the file left out: the `default` tags of every section (channels
// included), and the embedded server's listen address when no external cluster is given.
func (c *Config) applyDefaults() error {
	if err := cfg.SetDefaults(c); err != nil {
		return err
	}
	if c.NATS.URL == "" && c.NATS.Embedded.Listen == "" {
		c.NATS.Embedded.Listen = "127.0.0.1:4222"
	}
	return nil
}

// Validate checks cross-field rules.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			ck.Errorf("http.listen", "must be host:port: %v", err)
		}
	}
	ck.BaseURL("http.public_url", c.HTTP.PublicURL)
	switch c.Log.Format {
	case "", "json", "console":
	default:
		ck.Errorf("log.format", "must be json or console, not %q", c.Log.Format)
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		ck.Errorf("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.NATS.Embedded.Auth {
	case "", pipeline.AuthCredentials, pipeline.AuthNone:
	default:
		ck.Errorf("nats.embedded.auth", "must be credentials or none, not %q", c.NATS.Embedded.Auth)
	}
	c.REST.Validate(ck.At("rest"))
	if _, err := c.Insight.Location(); err != nil {
		ck.Errorf("insight.timezone", "%s", err.Error())
	}
}

// resolvePaths resolves the router's file paths against the configuration file's directory.
func (c *Config) resolvePaths(path string) {
	for _, f := range []*string{&c.Router.RulesFile, &c.Router.FlowsFile, &c.Router.KnowledgeBase} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(filepath.Dir(path), *f)
		}
	}
}
