package webhooks

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Config declares the event subscriptions.
type Config struct {
	Subscriptions []Subscription `yaml:"subscriptions"`
	Retry         Retry          `yaml:"retry"`
	// Delivery records (GET /v1/webhooks/{id}/deliveries) are kept this long.
	LogRetention cfg.Duration `yaml:"log_retention" default:"168h"`
}

// Retry is how a failed delivery is retried: after Initial, doubling up to MaxInterval, for
// as long as it takes (a delivery is never skipped). A subscription whose oldest undelivered
// event has failed for FailingAfter is marked failing.
type Retry struct {
	// The wait after a delivery's first failed attempt; it doubles after each.
	Initial cfg.Duration `yaml:"initial" default:"5s"`
	// The longest wait between attempts.
	MaxInterval cfg.Duration `yaml:"max_interval" default:"1h"`
	// An event undelivered this long marks its subscription failing (it is retried on).
	FailingAfter cfg.Duration `yaml:"failing_after" default:"24h"`
}

// Subscription is one receiver and what it gets.
type Subscription struct {
	// Names the subscription in the API, the log, metrics and leases (letters, digits, - and _).
	ID string `yaml:"id" example:"helpdesk"`
	// Where events are posted (http or https).
	URL string `yaml:"url" example:"https://helpdesk.example.com/hooks/switchboard"`
	// Sign every delivery ("whsec_" + base64, as Standard Webhooks libraries expect); with two
	// (a rotation) each delivery carries both signatures.
	Secrets []cfg.Secret `yaml:"secrets" example:"[{env: HELPDESK_WEBHOOK_SECRET}]"`
	// Event types to deliver (docs/streams.md); empty: every type.
	Events []string `yaml:"events" example:"[opened, message, assigned, resolved]"`
	// Only conversations on these channels, in these queues, of these accounts (empty: all).
	// Events outside conversations (agent_presence, customer events) pass only without them.
	Channels []string `yaml:"channels" example:"[whatsapp, webchat]"`
	Queues   []string `yaml:"queues"`
	Accounts []string `yaml:"accounts"`
	// Where a new subscription starts: "new" (events after its first start) or "all" (the
	// whole stream kept).
	Start string `yaml:"start" default:"new"`
	// Bounds one delivery attempt.
	Timeout cfg.Duration `yaml:"timeout" default:"10s"`
}

// Validate checks the subscription ids are unique.
func (c *Config) Validate(ck *cfg.Checker) {
	seen := map[string]bool{}
	for i, s := range c.Subscriptions {
		if seen[s.ID] {
			ck.Errorf("subscriptions["+strconv.Itoa(i)+"].id", "subscription %q is declared twice", s.ID)
		}
		seen[s.ID] = true
	}
	if c.Retry.Initial.D() > c.Retry.MaxInterval.D() && c.Retry.MaxInterval.D() > 0 {
		ck.Errorf("retry.initial", "must not be longer than retry.max_interval")
	}
}

// Validate checks one subscription.
func (s *Subscription) Validate(ck *cfg.Checker) {
	for _, p := range s.problems() {
		ck.Errorf(p.field, "%s", p.msg)
	}
}

// problem is one thing wrong with a subscription: a field and what is wrong with it.
type problem struct{ field, msg string }

func (s *Subscription) problems() []problem {
	var out []problem
	add := func(field, format string, args ...any) {
		out = append(out, problem{field, fmt.Sprintf(format, args...)})
	}
	if s.ID == "" || !schema.ValidToken(s.ID) {
		add("id", "name the subscription with letters, digits, - and _ (it names its lease and log)")
	}
	if u, err := url.Parse(s.URL); s.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		add("url", "must be an absolute http(s) URL")
	}
	if len(s.Secrets) == 0 {
		add("secrets", "give at least one signing secret (whsec_… as Standard Webhooks libraries expect)")
	}
	for i, sec := range s.Secrets {
		if sec.IsSet() && sec.Value() != "" && !validSecret(sec.Value()) {
			add("secrets["+strconv.Itoa(i)+"]", "write the secret as whsec_ + base64 of at least 24 bytes (Standard Webhooks receivers expect it)")
		}
	}
	types := schema.EventTypes()
	for i, e := range s.Events {
		if !slices.Contains(types, schema.EventType(e)) {
			add("events["+strconv.Itoa(i)+"]", "unknown event type %q (the stream has %v)", e, types)
		}
	}
	switch s.Start {
	case "", "new", "all":
	default:
		add("start", "must be new or all, not %q", s.Start)
	}
	if s.Timeout.D() < 0 {
		add("timeout", "must be positive")
	}
	return out
}

// validSecret is "whsec_" + standard base64 of 24 bytes or more.
func validSecret(v string) bool {
	b64, ok := strings.CutPrefix(v, "whsec_")
	if !ok {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	return err == nil && len(key) >= 24
}
