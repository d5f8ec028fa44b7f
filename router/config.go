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
	// RulesFile holds queues, business hours and routing rules. A relative path is resolved
	// against the directory of the configuration file. Empty: one built-in queue "default"
	// with every agent, least-loaded.
	RulesFile string `yaml:"rules_file"`
	// ReloadInterval is how often the rules file is checked for changes (default 5s).
	ReloadInterval cfg.Duration    `yaml:"reload_interval"`
	Threading      Threading       `yaml:"threading"`
	Identity       identity.Config `yaml:"identity"`
	// Agents is the roster. Without agents and without a rules file, routing is off: the
	// router threads conversations and queues nothing.
	Agents   []rules.AgentConfig `yaml:"agents"`
	Presence PresenceConfig      `yaml:"presence"`
	// LoadWeights weigh an agent's open conversations by channel (default 1 each): with
	// webchat: 3, one chat counts like three emails against max_load.
	LoadWeights map[string]int `yaml:"load_weights"`
}

// Threading says which conversation a message joins.
type Threading struct {
	// Scope is "customer" (one conversation per customer across channels, the default) or
	// "customer_channel" (one per customer and channel).
	Scope string `yaml:"scope"`
	// Reopen is the policy for a message after the conversation was resolved, per channel;
	// the key "default" covers the others (default: a new conversation).
	Reopen map[string]ReopenPolicy `yaml:"reopen"`
	// KeepAgent gives a reopened conversation back to its agent when they are available
	// and have capacity (default true).
	KeepAgent *bool `yaml:"keep_agent_on_reopen"`
}

// ReopenPolicy decides between reopening a resolved conversation and starting a new one.
type ReopenPolicy struct {
	// Mode is "reopen" or "new".
	Mode string `yaml:"mode"`
	// Window limits reopen to this long after the conversation was resolved; later messages
	// start a new conversation. 0: no limit.
	Window cfg.Duration `yaml:"window"`
	// KeepAgent overrides threading.keep_agent_on_reopen for this channel.
	KeepAgent *bool `yaml:"keep_agent"`
}

// PresenceConfig configures agent presence.
type PresenceConfig struct {
	// HeartbeatTimeout turns an agent offline when neither a presence update nor a heartbeat
	// arrived for this long (0, the default: presence holds until changed).
	HeartbeatTimeout cfg.Duration `yaml:"heartbeat_timeout"`
	// OfflineGrace is how long an offline agent keeps their conversations before they are
	// queued again (default 2m).
	OfflineGrace cfg.Duration `yaml:"offline_grace"`
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
	if c.ReloadInterval == 0 {
		c.ReloadInterval = cfg.Duration(5 * time.Second)
	}
	if c.Threading.Scope == "" {
		c.Threading.Scope = ScopeCustomer
	}
	if c.Threading.KeepAgent == nil {
		t := true
		c.Threading.KeepAgent = &t
	}
	if _, ok := c.Threading.Reopen["default"]; !ok {
		r := map[string]ReopenPolicy{"default": {Mode: ReopenNew}}
		for k, v := range c.Threading.Reopen {
			r[k] = v
		}
		c.Threading.Reopen = r
	}
	if c.Presence.OfflineGrace == 0 {
		c.Presence.OfflineGrace = cfg.Duration(2 * time.Minute)
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
