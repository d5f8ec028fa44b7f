package telegram

import (
	"regexp"
	"sort"
	"strings"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the telegram channel's section of the config file. The keys of bots are
// Switchboard account names.
type Config struct {
	// The Bot API base (a local Bot API server, a test fake).
	APIURL  string          `yaml:"api_url" default:"https://api.telegram.org"`
	Timeout cfg.Duration    `yaml:"timeout" default:"20s"` // per Bot API call
	Bots    map[string]*Bot `yaml:"bots" key:"support-bot"`
}

// Bot is one Telegram bot.
type Bot struct {
	// Token is the token @BotFather gave: "<bot id>:<secret>".
	Token BotToken `yaml:"token"`
	// SecretToken is the secret_token given to setWebhook: 1-256 of A-Z a-z 0-9 _ -.
	SecretToken WebhookSecret `yaml:"secret_token"`
}

// DefaultAPIURL is the public Bot API (the tag of Config.APIURL).
var DefaultAPIURL = func() string {
	var c Config
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err)
	}
	return c.APIURL
}()

var (
	tokenFormat  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{20,}$`)
	secretFormat = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// BotToken is a bot token secret, checked for the "<bot id>:<secret>" shape.
type BotToken struct {
	cfg.Secret `yaml:",inline"`
}

// Validate resolves the secret and checks its shape (never printing it).
func (t *BotToken) Validate(ck *cfg.Checker) {
	t.Secret.Validate(ck)
	if v := t.Value(); v != "" && !tokenFormat.MatchString(v) {
		ck.Errorf("", "is not a bot token (<bot id>:<secret>, as @BotFather gives it)")
	}
}

// BotID is the bot's numeric id, the token's first part.
func (t BotToken) BotID() string {
	id, _, _ := strings.Cut(t.Value(), ":")
	return id
}

// WebhookSecret is the setWebhook secret_token.
type WebhookSecret struct {
	cfg.Secret `yaml:",inline"`
}

// Validate resolves the secret and checks the characters Telegram allows.
func (s *WebhookSecret) Validate(ck *cfg.Checker) {
	s.Secret.Validate(ck)
	if v := s.Value(); v != "" && !secretFormat.MatchString(v) {
		ck.Errorf("", "must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule for secret_token)")
	}
}

// Validate checks the API URL and the bots' names.
func (c *Config) Validate(ck *cfg.Checker) {
	ck.BaseURL("api_url", c.APIURL)
	if len(c.Bots) == 0 {
		ck.Errorf("bots", "configure at least one bot")
	}
	names := make([]string, 0, len(c.Bots))
	for name := range c.Bots {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !schema.ValidToken(name) {
			ck.Errorf("bots."+name, "account names may hold only letters, digits, - and _")
		}
	}
}

// Validate checks one bot.
func (b *Bot) Validate(ck *cfg.Checker) {
	ck.Required("token", !b.Token.IsSet())
	ck.Required("secret_token", !b.SecretToken.IsSet())
}
