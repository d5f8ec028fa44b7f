package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
)

// Rules is a compiled, immutable rules file plus the roster it was checked against. A
// reload builds a new Rules and swaps it in whole.
type Rules struct {
	// Version identifies the rules file and roster: every decision carries it.
	Version  string
	Source   string
	LoadedAt time.Time
	// Warnings are the roster-dependent problems found against an open roster (a queue no
	// agent can serve yet), with file:line:col; against a closed roster they are errors.
	Warnings []string
	roster   *Roster
	rules    []*rule
	byName   map[string]*rule
	queues   map[string]*queue
	defQueue *queue
	hours    map[string]*openingHours
	sla      []*SLAPolicy
	usesSLA  bool // a rule conditions on the SLA state
	usesTags bool // a rule conditions on the conversation's tags
	surveys  []*SurveyPolicy
}

// rule is a compiled [RuleSpec].
type rule struct {
	name    string
	conds   []condition
	targets []target
	flow    string
}

// target is a compiled [TargetSpec].
type target struct {
	queue       *queue
	priority    int
	timeout     time.Duration
	skipIfEmpty bool
}

// LoadRulesFile reads and checks a rules file against the roster.
func LoadRulesFile(path string, roster *Roster) (*Rules, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseRules(path, data, roster)
}

// ParseRules checks rules file contents against the roster and compiles them. The error is a
// [cfg.Errors] listing every problem with file:line:col and the field path.
func ParseRules(path string, data []byte, roster *Roster) (*Rules, error) {
	var spec RulesSpec
	doc, err := cfg.Decode(path, data, &spec)
	var errs cfg.Errors
	if err != nil && !errors.As(err, &errs) {
		return nil, err
	}
	if doc == nil {
		return nil, err
	}
	c := &rulesChecker{doc: doc, data: data, spec: &spec, roster: roster}
	if !syntaxOnly(errs) {
		c.check()
	}
	var all cfg.Errors
	if err := doc.Err(); err != nil {
		errors.As(err, &all)
	}
	if all = append(all, c.extra...); len(all) > 0 {
		return nil, all.Err()
	}
	sum := sha256.Sum256(append(append([]byte(nil), data...), roster.hash...))
	c.out.Version, c.out.Source = hex.EncodeToString(sum[:6]), path
	return c.out, nil
}

// syntaxOnly reports an unparseable file: there is nothing to check beyond it.
func syntaxOnly(errs cfg.Errors) bool {
	return len(errs) == 1 && strings.HasPrefix(errs[0].Msg, "invalid YAML")
}

// DefaultRules is the routing used without a rules file: one queue "default" that every
// agent serves, least-loaded.
func DefaultRules(roster *Roster) *Rules {
	spec := &RulesSpec{Queues: map[string]*QueueSpec{"default": {}}, DefaultQueue: "default"}
	c := &rulesChecker{doc: &cfg.Doc{}, spec: spec, roster: roster}
	c.check()
	c.out.Version = "builtin-" + roster.hash[:8]
	return c.out
}

// UsesTags reports whether a rule conditions on the conversation's tags (a waiting
// conversation whose tags change is then routed again).
func (rs *Rules) UsesTags() bool { return rs != nil && rs.usesTags }

// FlowNone is a rule's flow that keeps its conversations out of the flows file's defaults.
const FlowNone = "none"

// FlowFor is the flow the rule matching in names (docs/flows.md): the flow ("" when the rule
// names none, FlowNone when it refuses flows) and the rule ("" when none matched).
func (rs *Rules) FlowFor(in *Input) (flow, rule string) {
	if rs == nil {
		return "", ""
	}
	e := &evalCtx{in: in, text: messageText(in.Message)}
	for _, r := range rs.rules {
		if r.matches(e) {
			return r.flow, r.name
		}
	}
	return "", ""
}

// Flows lists the flows the rules name.
func (rs *Rules) Flows() map[string]string {
	out := map[string]string{}
	for _, r := range rs.rules {
		if r.flow != "" && r.flow != FlowNone {
			out[r.name] = r.flow
		}
	}
	return out
}

// Roster is the roster the rules were checked against.
func (rs *Rules) Roster() *Roster { return rs.roster }

// Queue reports whether a queue exists.
func (rs *Rules) Queue(name string) bool { return rs.queues[name] != nil }

// QueueNames lists the queues.
func (rs *Rules) QueueNames() []string { return slices.Sorted(maps.Keys(rs.queues)) }
