package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// Errors of roster changes.
var (
	// ErrConfigAgent means the agent is defined in router.agents: the config file is its
	// source, so the API does not change or remove it.
	ErrConfigAgent = errors.New("the agent is defined in router.agents")
	// ErrInvalidAgent means the agent's definition is not acceptable.
	ErrInvalidAgent = errors.New("invalid agent")
	// ErrRosterRefused means the rules in force do not compile against the new roster.
	ErrRosterRefused = errors.New("the rules do not fit the new roster")
)

// rosterAgentPrefix begins the keys of the API-managed roster in sb_agents.
const rosterAgentPrefix = "roster.agent."

// LiveRoster is the roster in force: router.agents from the config file plus the agents
// managed through the API (kept in sb_agents, followed by a watch on every instance). An id
// in both is the config file's. The roster is open: agents come and go, so a queue no agent
// can serve (yet, or any more) is a warning of the rules, not an error.
type LiveRoster struct {
	kv jetstream.KeyValue

	mu      sync.Mutex
	config  []rules.AgentConfig
	weights map[string]int
	api     map[string]rules.AgentConfig
	cur     *rules.Roster
}

// OpenRoster reads the API-managed agents from sb_agents and compiles the roster in force.
func OpenRoster(ctx context.Context, js jetstream.JetStream, config []rules.AgentConfig, weights map[string]int) (*LiveRoster, error) {
	kv, err := js.KeyValue(ctx, streams.BucketAgents)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", streams.BucketAgents, err)
	}
	l := &LiveRoster{kv: kv, config: config, weights: weights, api: map[string]rules.AgentConfig{}}
	keys, err := kv.ListKeysFiltered(ctx, rosterAgentPrefix+">")
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, fmt.Errorf("read the roster: %w", err)
	}
	if err == nil {
		for key := range keys.Keys() {
			e, err := kv.Get(ctx, key)
			if errors.Is(err, jetstream.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read the roster: %w", err)
			}
			l.applyEntry(e)
		}
	}
	l.cur = l.build(nil, "")
	return l, nil
}

// Current is the roster in force.
func (l *LiveRoster) Current() *rules.Roster {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur
}

// FromConfig reports whether the agent is defined in router.agents.
func (l *LiveRoster) FromConfig(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.config, func(a rules.AgentConfig) bool { return a.ID == id })
}

// build compiles the roster with put added (or replaced) and del removed from the API's
// agents; it changes nothing.
func (l *LiveRoster) build(put *rules.AgentConfig, del string) *rules.Roster {
	api := maps.Clone(l.api)
	if put != nil {
		api[put.ID] = *put
	}
	delete(api, del)
	list := make([]rules.AgentConfig, 0, len(api))
	for _, id := range slices.Sorted(maps.Keys(api)) {
		list = append(list, api[id])
	}
	return rules.NewLiveRoster(l.config, list, l.weights, true)
}

// applyEntry takes one sb_agents entry of the roster into the API's agents. The caller
// holds l.mu or owns l.
func (l *LiveRoster) applyEntry(e jetstream.KeyValueEntry) bool {
	id, ok := strings.CutPrefix(e.Key(), rosterAgentPrefix)
	if !ok {
		return false
	}
	if e.Operation() != jetstream.KeyValuePut {
		_, had := l.api[id]
		delete(l.api, id)
		return had
	}
	var ac rules.AgentConfig
	if json.Unmarshal(e.Value(), &ac) != nil || ac.ID != id {
		return false
	}
	if old, had := l.api[id]; had && reflect.DeepEqual(old, ac) {
		return false
	}
	l.api[id] = ac
	return true
}

// ValidateAgent checks an agent's definition as given to PUT /v1/agents/{id}.
func ValidateAgent(ac *rules.AgentConfig) error {
	var problems []string
	if !schema.ValidToken(ac.ID) {
		problems = append(problems, "id: letters, digits, - and _ only (at most 128)")
	}
	for ch, n := range ac.Capacity {
		if !schema.ValidToken(ch) {
			problems = append(problems, fmt.Sprintf("capacity.%q: a channel name or default", ch))
		}
		if n < 0 || n > 10000 {
			problems = append(problems, fmt.Sprintf("capacity.%s: must be between 0 and 10000", ch))
		}
	}
	if ac.MaxLoad < 0 {
		problems = append(problems, "max_load: must not be negative")
	}
	for field, list := range map[string][]string{"skills": ac.Skills, "languages": ac.Languages, "teams": ac.Teams} {
		for i, v := range list {
			if strings.TrimSpace(v) == "" || len(v) > 128 {
				problems = append(problems, fmt.Sprintf("%s[%d]: must be 1 to 128 characters", field, i))
			}
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("%w: %s", ErrInvalidAgent, strings.Join(problems, "; "))
	}
	return nil
}

// RosterChange is what a roster change through the API did.
type RosterChange struct {
	Agent   AgentInfo
	Created bool
	// Warnings are the rules' roster-dependent problems with the new roster (a queue no agent
	// can serve any more).
	Warnings []string
}

// PutAgent creates or replaces an API-managed agent; it is in force on this instance when
// this returns, and on the others a moment later.
func (r *Router) PutAgent(ctx context.Context, ac rules.AgentConfig) (RosterChange, error) {
	if !r.routingOn() {
		return RosterChange{}, ErrRoutingOff
	}
	if err := ValidateAgent(&ac); err != nil {
		return RosterChange{}, err
	}
	l := r.roster
	if l.FromConfig(ac.ID) {
		return RosterChange{}, fmt.Errorf("%w: change %s in the config file", ErrConfigAgent, ac.ID)
	}
	l.mu.Lock()
	_, existed := l.api[ac.ID]
	candidate := l.build(&ac, "")
	l.mu.Unlock()
	warnings, err := r.checkRoster(candidate)
	if err != nil {
		return RosterChange{}, err
	}
	data, _ := json.Marshal(ac)
	if _, err := l.kv.Put(ctx, rosterAgentPrefix+ac.ID, data); err != nil {
		return RosterChange{}, fmt.Errorf("%w: %v", kernel.ErrUnavailable, err)
	}
	l.mu.Lock()
	l.api[ac.ID] = ac
	l.mu.Unlock()
	if err := r.refreshRoster(); err != nil {
		return RosterChange{}, err
	}
	info, err := r.Agent(ac.ID)
	return RosterChange{Agent: info, Created: !existed, Warnings: warnings}, err
}

// DeleteAgent removes an API-managed agent. Their conversations go back to their queues
// (the dispatcher re-queues what agents no longer in the roster hold).
func (r *Router) DeleteAgent(ctx context.Context, id string) ([]string, error) {
	l := r.roster
	if l.FromConfig(id) {
		return nil, fmt.Errorf("%w: remove %s from the config file", ErrConfigAgent, id)
	}
	l.mu.Lock()
	_, ok := l.api[id]
	candidate := l.build(nil, id)
	l.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%w %q", agents.ErrUnknownAgent, id)
	}
	warnings, err := r.checkRoster(candidate)
	if err != nil {
		return nil, err
	}
	if err := l.kv.Delete(ctx, rosterAgentPrefix+id); err != nil {
		return nil, fmt.Errorf("%w: %v", kernel.ErrUnavailable, err)
	}
	l.mu.Lock()
	delete(l.api, id)
	l.mu.Unlock()
	return warnings, r.refreshRoster()
}

// ApplyConfig takes router.agents and router.load_weights from a reloaded config file, and
// the rules file as it is now: the rules are compiled against the new roster and both go in
// force together. On error nothing changes. It returns the rules' warnings.
func (r *Router) ApplyConfig(config []rules.AgentConfig, weights map[string]int) ([]string, error) {
	r.rosterMu.Lock()
	defer r.rosterMu.Unlock()
	l := r.roster
	l.mu.Lock()
	oldConfig, oldWeights := l.config, l.weights
	l.config, l.weights = config, weights
	next := l.build(nil, "")
	l.mu.Unlock()
	var warnings []string
	if r.o.Rules != nil {
		rs, err := r.o.Rules.ReloadWith(next)
		if err != nil {
			l.mu.Lock()
			l.config, l.weights = oldConfig, oldWeights
			l.mu.Unlock()
			r.metrics.RosterReloads.WithLabelValues("error").Inc()
			return nil, fmt.Errorf("%w:\n%w", ErrRosterRefused, err)
		}
		warnings = rs.Warnings
	}
	r.inForce(next)
	return warnings, nil
}

// checkRoster compiles the rules against a candidate roster and returns their warnings.
func (r *Router) checkRoster(candidate *rules.Roster) ([]string, error) {
	if r.o.Rules == nil {
		return nil, nil
	}
	rs, err := r.o.Rules.Build(candidate)
	if err != nil {
		return nil, fmt.Errorf("%w:\n%w", ErrRosterRefused, err)
	}
	return rs.Warnings, nil
}

// refreshRoster compiles the roster from what is known now and puts it in force: the rules
// are compiled against it, then the board takes it. A roster the rules refuse keeps the old.
func (r *Router) refreshRoster() error {
	r.rosterMu.Lock()
	defer r.rosterMu.Unlock()
	l := r.roster
	l.mu.Lock()
	next := l.build(nil, "")
	l.mu.Unlock()
	if r.o.Rules != nil {
		if _, err := r.o.Rules.UseRoster(next); err != nil {
			r.metrics.RosterReloads.WithLabelValues("error").Inc()
			return fmt.Errorf("%w:\n%w", ErrRosterRefused, err)
		}
	}
	r.inForce(next)
	return nil
}

// inForce makes next the roster in force (the rules already took it). The caller holds
// r.rosterMu.
func (r *Router) inForce(next *rules.Roster) {
	r.roster.mu.Lock()
	r.roster.cur = next
	r.roster.mu.Unlock()
	r.board.SetRoster(next)
	r.metrics.setRoster(next)
	r.rosterChanged.Store(true)
	r.metrics.RosterReloads.WithLabelValues("ok").Inc()
}

// followRoster follows the API-managed roster (changes made on other instances) through the
// board's watch on sb_agents. The returned func is called once the stored entries were read:
// what they changed since OpenRoster is then put in force.
func (r *Router) followRoster() func() {
	var initial, changed atomic.Bool
	initial.Store(true)
	l := r.roster
	r.board.OnRoster = func(e jetstream.KeyValueEntry) {
		l.mu.Lock()
		ch := l.applyEntry(e)
		l.mu.Unlock()
		switch {
		case !ch:
		case initial.Load():
			changed.Store(true)
		default:
			r.logRosterError(r.refreshRoster())
		}
	}
	return func() {
		initial.Store(false)
		if changed.Swap(false) {
			r.logRosterError(r.refreshRoster())
		}
	}
}

func (r *Router) logRosterError(err error) {
	if err != nil {
		r.log.Error("roster change not applied", zap.Error(err))
	}
}
