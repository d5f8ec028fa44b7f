package rules

import (
	"github.com/switchboardhq/switchboard/configs/cfg"
)

// RulesSpec is the YAML shape of a rules file (docs/routing.md). It is checked against the
// roster and compiled into [Rules].
type RulesSpec struct {
	Queues        map[string]*QueueSpec `yaml:"queues"`
	BusinessHours map[string]*HoursSpec `yaml:"business_hours"`
	Rules         []*RuleSpec           `yaml:"rules"`
	// DefaultQueue takes conversations no rule matches (empty: they are not queued).
	DefaultQueue string `yaml:"default_queue"`
	// SLA policies, in order (docs/insight.md#sla-policies).
	SLA []*SLASpec `yaml:"sla"`
	// Surveys are the CSAT and NPS survey policies, in order (docs/surveys.md).
	Surveys []*SurveySpec `yaml:"surveys"`
}

// QueueSpec is a queue: who can serve it and how an agent is picked.
type QueueSpec struct {
	// Skills an agent needs, all of them.
	Skills []string `yaml:"skills"`
	// Teams limits the queue to agents of one of these teams.
	Teams []string `yaml:"teams"`
	// Agents limits the queue to these agents.
	Agents []string `yaml:"agents"`
	// Languages limits the queue to agents speaking one of these.
	Languages []string `yaml:"languages"`
	// MatchLanguage requires the agent to speak the message's language, when it is known.
	MatchLanguage bool `yaml:"match_language"`
	// Strategy picks among the available agents: least_loaded (default), round_robin,
	// longest_idle.
	Strategy string `yaml:"strategy"`
	// Sticky prefers the agent of the customer's previous conversation if it ended (or
	// was last routed) within this long.
	Sticky cfg.Duration `yaml:"sticky"`
	// MaxWait moves a conversation waiting this long to the Overflow queue.
	MaxWait  cfg.Duration `yaml:"max_wait"`
	Overflow string       `yaml:"overflow"`
}

// HoursSpec is a named set of opening hours.
type HoursSpec struct {
	// Timezone is an IANA name, e.g. Europe/Berlin (default UTC).
	Timezone string `yaml:"timezone"`
	// Weekly maps days ("mon", "sat-sun", "mon-fri") to opening intervals ("09:00-17:30").
	Weekly map[string][]string `yaml:"weekly"`
	// Holidays are closed dates, YYYY-MM-DD.
	Holidays []string `yaml:"holidays"`
}

// RuleSpec is one routing rule: conditions and ordered targets. The first rule whose
// conditions all hold decides.
type RuleSpec struct {
	Name    string        `yaml:"name"`
	When    WhenSpec      `yaml:"when"`
	Targets []*TargetSpec `yaml:"targets"`
	// Flow sends a matched conversation into the named flow (the flows file, docs/flows.md)
	// before it is queued; the targets apply when the flow hands off without naming a
	// queue. "none" keeps the conversation out of the flows file's defaults.
	Flow string `yaml:"flow"`
}

// WhenSpec are a rule's conditions; all given ones must hold (an empty when matches
// everything). Lists match when any entry matches.
type WhenSpec struct {
	Channel  []string `yaml:"channel"`
	Account  []string `yaml:"account"`
	Language []string `yaml:"language"`
	// Customer matches customer attributes: value "*" means "set to anything".
	Customer map[string]string `yaml:"customer"`
	// Keywords match case-insensitively anywhere in the subject or text.
	Keywords []string `yaml:"keywords"`
	// Regex (RE2 syntax) matches the subject and text.
	Regex string `yaml:"regex"`
	// BusinessHours holds while the named hours are open; OutsideBusinessHours while closed.
	BusinessHours        string `yaml:"business_hours"`
	OutsideBusinessHours string `yaml:"outside_business_hours"`
	// Expr is an expr-lang expression over message, customer and now that must be true.
	Expr string `yaml:"expr"`
	// SLA matches the conversation's SLA state: ok (clocks running within target), warning
	// (a clock past its warning time) or breached (a clock past its target).
	SLA []string `yaml:"sla"`
	// Tags matches a conversation with any of these tags (set through the API or by a flow;
	// a waiting conversation whose tags change is routed again).
	Tags []string `yaml:"tags"`
}

func (w *WhenSpec) empty() bool {
	return len(w.Channel) == 0 && len(w.Account) == 0 && len(w.Language) == 0 && len(w.Customer) == 0 &&
		len(w.Keywords) == 0 && w.Regex == "" && w.BusinessHours == "" && w.OutsideBusinessHours == "" && w.Expr == "" && len(w.SLA) == 0 &&
		len(w.Tags) == 0
}

// TargetSpec is where a matched conversation goes, in order: a target that times out hands
// the conversation to the next one.
type TargetSpec struct {
	Queue    string `yaml:"queue"`
	Priority int    `yaml:"priority"`
	// Timeout moves a conversation still waiting after this long to the next target.
	Timeout cfg.Duration `yaml:"timeout"`
	// SkipIfEmpty passes over this target when nobody who can serve it is available.
	SkipIfEmpty bool `yaml:"skip_if_empty"`
}

// Strategies.
const (
	StrategyLeastLoaded = "least_loaded"
	StrategyRoundRobin  = "round_robin"
	StrategyLongestIdle = "longest_idle"
)
