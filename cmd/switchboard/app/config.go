package app

import (
	"errors"
	"net"
	"net/url"
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
	"github.com/switchboardhq/switchboard/router/rest"
)

// Config is the whole configuration file (docs/configuration.md).
type Config struct {
	Log     LogConfig `yaml:"log"`
	DataDir string    `yaml:"data_dir"`
	// MemoryLimit is the Go runtime's soft memory limit for serve (default: 80% of the
	// container's cgroup limit, none outside a container; GOMEMLIMIT wins).
	MemoryLimit cfg.ByteSize        `yaml:"memory_limit"`
	HTTP        HTTPConfig          `yaml:"http"`
	REST        rest.Config         `yaml:"rest"`
	NATS        pipeline.NATSConfig `yaml:"nats"`
	Pipeline    pipeline.Config     `yaml:"pipeline"`
	Router      router.Config       `yaml:"router"`
	Channels    Channels            `yaml:"channels"`
}

// LogConfig chooses the log format and level.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info (default), warn, error
	Format string `yaml:"format"` // json (default) or console
}

// HTTPConfig configures the HTTP server (webhooks, REST API, health, metrics).
type HTTPConfig struct {
	Listen string `yaml:"listen"`
	// PublicURL is the base URL providers reach this gateway at (behind a proxy, the
	// proxy's URL). Webhook signatures are checked against it.
	PublicURL   string       `yaml:"public_url"`
	MaxBody     cfg.ByteSize `yaml:"max_body"`
	MaxInFlight int          `yaml:"max_in_flight"`
	// MaxInFlightBytes caps the request bodies held at once (default 64MiB; 503 beyond).
	MaxInFlightBytes cfg.ByteSize `yaml:"max_in_flight_bytes"`
	Timeout          cfg.Duration `yaml:"handler_timeout"`
	// ShutdownGrace bounds each shutdown phase.
	ShutdownGrace cfg.Duration `yaml:"shutdown_grace"`
	// RateLimits caps messages per sender and per account (429 + Retry-After).
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
	c.applyDefaults()
	if f := c.Router.RulesFile; f != "" && !filepath.IsAbs(f) {
		c.Router.RulesFile = filepath.Join(filepath.Dir(path), f)
	}
	return c, secrets, err
}

// ParseConfig is LoadConfig on bytes already read.
func ParseConfig(path string, data []byte) (*Config, error) {
	var c Config
	if _, err := cfg.Decode(path, data, &c); err != nil {
		return nil, err
	}
	c.applyDefaults()
	if f := c.Router.RulesFile; f != "" && !filepath.IsAbs(f) {
		c.Router.RulesFile = filepath.Join(filepath.Dir(path), f)
	}
	return &c, nil
}

func (c *Config) applyDefaults() {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:8080"
	}
	if c.NATS.URL == "" && c.NATS.Embedded.Listen == "" {
		c.NATS.Embedded.Listen = "127.0.0.1:4222"
	}
	if c.NATS.Replicas == 0 {
		c.NATS.Replicas = 1
	}
	c.Pipeline = c.Pipeline.WithDefaults()
}

// Validate checks cross-field rules.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.HTTP.Listen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			ck.Errorf("http.listen", "must be host:port: %v", err)
		}
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			ck.Errorf("http.public_url", "must be an absolute http(s) URL without a query")
		}
	}
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
}
