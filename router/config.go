package router

import (
	"fmt"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Config is the `router:` section of the configuration file (docs/routing.md).
type Config struct {
	// Queues, business hours and routing rules (docs/routing.md), hot-reloaded. A relative
	// path is resolved against the directory of the configuration file. Empty: one built-in
	// queue "default" with every agent, least-loaded.
	RulesFile string `yaml:"rules_file" example:"rules.yaml"`
	// Decision-tree flows (docs/flows.md), hot-reloaded like the rules: rules send
	// conversations into them with `flow: NAME`, or the file's defaults per channel. A
	// relative path is resolved against the directory of the configuration file. Empty: no
	// flows. Flows need routing (agents or a rules file).
	FlowsFile string `yaml:"flows_file" example:"flows.yaml"`
	// The knowledge base of the flows' article steps: a folder of Markdown articles (front
	// matter title, tags, language, url), indexed at start and on change.
	KnowledgeBase string `yaml:"knowledge_base" example:"kb/"`
	// How often the rules and flows files (and the knowledge base) are checked for changes.
	ReloadInterval cfg.Duration `yaml:"reload_interval" default:"5s"`
	// Which conversation a message joins.
	Threading Threading `yaml:"threading"`
	// How addresses are normalized into identities.
	Identity identity.Config `yaml:"identity"`
	// The roster. Without agents and without a rules file, routing is off: the router threads
	// conversations and queues nothing.
	Agents []rules.AgentConfig `yaml:"agents"`
	// Agents' presence timers.
	Presence PresenceConfig `yaml:"presence"`
	// Weight of one open conversation per channel (1 for a channel not listed): with
	// webchat: 3, one chat counts like three emails against max_load.
	LoadWeights map[string]int `yaml:"load_weights" example:"{webchat: 3}"`
	// Surveys: the policies are in the rules file (docs/surveys.md).
	Surveys SurveysConfig `yaml:"surveys"`
}

// SurveysConfig configures what surveys need besides their policies.
type SurveysConfig struct {
	// Key signs the links of email surveys (HMAC-SHA256; at least 32 characters). Empty: a
	// random key is made at the first start and kept in JetStream (sb_meta), shared by every
	// instance. Changing it invalidates the links already sent.
	Key cfg.Secret `yaml:"key"`
}

// Threading says which conversation a message joins.
type Threading struct {
	// customer (one conversation per customer across channels) or customer_channel (one per
	// customer and channel).
	Scope string `yaml:"scope" default:"customer"`
	// What a message after the conversation was resolved does, per channel; the key
	// "default" covers the others (a new conversation unless it says otherwise).
	Reopen map[string]ReopenPolicy `yaml:"reopen" key:"email"`
	// A reopened conversation goes back to its previous agent when they are available and
	// have room.
	KeepAgent *bool `yaml:"keep_agent_on_reopen" default:"true"`
}

// ReopenPolicy decides between reopening a resolved conversation and starting a new one.
type ReopenPolicy struct {
	// reopen (the resolved conversation) or new (a new conversation).
	Mode string `yaml:"mode" example:"reopen"`
	// Reopen only this long after the conversation was resolved; later messages start a new
	// conversation. 0: no limit.
	Window cfg.Duration `yaml:"window" example:"168h"`
	// Overrides keep_agent_on_reopen for this channel.
	KeepAgent *bool `yaml:"keep_agent" example:"true"`
}

// PresenceConfig configures agent presence.
type PresenceConfig struct {
	// An agent with neither a presence update nor a heartbeat for this long is offline; 0:
	// presence holds until changed.
	HeartbeatTimeout cfg.Duration `yaml:"heartbeat_timeout"`
	// How long an offline agent keeps their conversations before they are queued again.
	OfflineGrace cfg.Duration `yaml:"offline_grace" default:"2m"`
}

// Threading scopes.
const (
	ScopeCustomer        = "customer"
	ScopeCustomerChannel = "customer_channel"
)

// Reopen modes.
const (
	ReopenAlways = "reopen"
	ReopenNew    = "new"
)

// WithDefaults fills what the file left out.
func (c Config) WithDefaults() Config {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err) // a bad default tag: every test that loads a config catches it
	}
	// A policy map without "default" gets one: a message after resolution starts a new
	// conversation unless its channel says otherwise.
	if _, ok := c.Threading.Reopen["default"]; !ok {
		r := map[string]ReopenPolicy{"default": {Mode: ReopenNew}}
		for k, v := range c.Threading.Reopen {
			r[k] = v
		}
		c.Threading.Reopen = r
	}
	return c
}

// RoutingEnabled reports whether conversations are queued and assigned at all.
func (c Config) RoutingEnabled() bool { return c.RulesFile != "" || len(c.Agents) > 0 }

// keepAgent reports whether a conversation reopened on ch goes back to its previous agent:
// the channel's keep_agent, else keep_agent_on_reopen (default true).
func (t Threading) keepAgent(ch schema.Channel) bool {
	if k := t.reopenPolicy(ch).KeepAgent; k != nil {
		return *k
	}
	return t.KeepAgent == nil || *t.KeepAgent
}

// reopenPolicy returns the policy for a channel.
func (t Threading) reopenPolicy(ch schema.Channel) ReopenPolicy {
	if p, ok := t.Reopen[string(ch)]; ok {
		return p
	}
	return t.Reopen["default"]
}

// Validate checks the section.
func (c *Config) Validate(ck *cfg.Checker) {
	if c.ReloadInterval != 0 && c.ReloadInterval.D() < 100*time.Millisecond {
		ck.Errorf("reload_interval", "must be at least 100ms")
	}
	for ch, w := range c.LoadWeights {
		if w < 1 || w > 1000 {
			ck.Errorf("load_weights."+ch, "must be between 1 and 1000")
		}
	}
	seen := map[string]bool{}
	for i, a := range c.Agents {
		path := fmt.Sprintf("agents[%d]", i)
		switch {
		case !schema.ValidToken(a.ID):
			ck.Errorf(path+".id", "is required: letters, digits, - and _")
		case seen[a.ID]:
			ck.Errorf(path+".id", "duplicate agent id %q", a.ID)
		}
		seen[a.ID] = true
	}
}

// Validate checks the threading policy.
func (t *Threading) Validate(ck *cfg.Checker) {
	switch t.Scope {
	case "", ScopeCustomer, ScopeCustomerChannel:
	default:
		ck.Errorf("scope", "must be %s or %s, not %q", ScopeCustomer, ScopeCustomerChannel, t.Scope)
	}
}

// Validate checks one reopen policy.
func (p *ReopenPolicy) Validate(ck *cfg.Checker) {
	switch p.Mode {
	case ReopenAlways:
	case ReopenNew:
		if p.Window != 0 {
			ck.Errorf("window", "only applies to mode reopen")
		}
	default:
		ck.Errorf("mode", "must be reopen or new, not %q", p.Mode)
	}
}

// Validate checks the presence timers.
func (p *PresenceConfig) Validate(ck *cfg.Checker) {
	if p.HeartbeatTimeout != 0 && p.HeartbeatTimeout.D() < time.Second {
		ck.Errorf("heartbeat_timeout", "must be at least 1s (or 0 to turn heartbeats off)")
	}
}
