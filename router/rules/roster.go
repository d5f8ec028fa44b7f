package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// Agent is one agent of the roster, compiled for routing.
type Agent struct {
	ID        string
	Name      string
	Skills    []string
	Languages []string
	Teams     []string
	MaxLoad   int
	// Source is where the agent is defined: "config" (router.agents) or "api" (PUT
	// /v1/agents/{id}).
	Source   string
	capacity map[schema.Channel]int
	defCap   int
	idx      int
}

// Index is the agent's position in the roster (what [AgentView] is indexed by).
func (a *Agent) Index() int { return a.idx }

// Capacities is the agent's per-channel capacity as configured, "default" included.
func (a *Agent) Capacities() map[string]int {
	out := map[string]int{"default": a.defCap}
	for ch, n := range a.capacity {
		out[string(ch)] = n
	}
	return out
}

// Roster is the compiled agent list. It is immutable.
type Roster struct {
	agents  []*Agent
	byID    map[string]int
	weights map[schema.Channel]int
	skills  map[string]bool
	langs   map[string]bool
	teams   map[string]bool
	hash    string
	// open: agents may be added and removed through the API, so the rules' roster-dependent
	// problems are warnings (see [Rules.Warnings]).
	open bool
}

// Sources of an agent's definition.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// NewRoster compiles the roster of router.agents alone (for check, rules test and replay).
// It is closed, and the rules must fit it, unless it is empty: then the agents are managed
// through the API and its roster-dependent problems are warnings.
func NewRoster(agents []AgentConfig, weights map[string]int) *Roster {
	return NewLiveRoster(agents, nil, weights, len(agents) == 0)
}

// NewLiveRoster compiles the roster in force: the config's agents, then those managed through
// the API (an id in both is the config's). An open roster turns the rules' roster-dependent
// problems into warnings.
func NewLiveRoster(config, api []AgentConfig, weights map[string]int, open bool) *Roster {
	r := &Roster{byID: map[string]int{}, weights: map[schema.Channel]int{},
		skills: map[string]bool{}, langs: map[string]bool{}, teams: map[string]bool{}, open: open}
	for ch, w := range weights {
		r.weights[schema.Channel(ch)] = w
	}
	var agents []AgentConfig
	for _, ac := range config {
		r.add(ac, SourceConfig)
		agents = append(agents, ac)
	}
	for _, ac := range api {
		if _, dup := r.byID[ac.ID]; !dup {
			r.add(ac, SourceAPI)
			agents = append(agents, ac)
		}
	}
	b, _ := json.Marshal(struct {
		A []AgentConfig
		W map[string]int
	}{agents, weights})
	sum := sha256.Sum256(b)
	r.hash = hex.EncodeToString(sum[:])
	return r
}

// Open reports whether agents may come and go through the API.
func (r *Roster) Open() bool { return r.open }

// name is how problems name the roster.
func (r *Roster) name() string {
	if r.open {
		return "the roster"
	}
	return "router.agents"
}

func (r *Roster) add(ac AgentConfig, source string) {
	a := &Agent{ID: ac.ID, Name: ac.Name, Skills: ac.Skills, Languages: ac.Languages, Teams: ac.Teams,
		MaxLoad: ac.MaxLoad, Source: source, capacity: map[schema.Channel]int{}, defCap: DefaultCapacity, idx: len(r.agents)}
	for ch, n := range ac.Capacity {
		if ch == "default" {
			a.defCap = n
		} else {
			a.capacity[schema.Channel(ch)] = n
		}
	}
	mark(r.skills, ac.Skills)
	mark(r.langs, ac.Languages)
	mark(r.teams, ac.Teams)
	r.byID[a.ID] = a.idx
	r.agents = append(r.agents, a)
}

func mark(set map[string]bool, vals []string) {
	for _, v := range vals {
		set[v] = true
	}
}

// Len is the number of agents.
func (r *Roster) Len() int { return len(r.agents) }

// At returns the agent at index i.
func (r *Roster) At(i int) *Agent { return r.agents[i] }

// Lookup returns an agent by id.
func (r *Roster) Lookup(id string) (*Agent, bool) {
	i, ok := r.byID[id]
	if !ok {
		return nil, false
	}
	return r.agents[i], true
}

// Weight is how much one open conversation on ch counts towards an agent's load.
func (r *Roster) Weight(ch schema.Channel) int {
	if w, ok := r.weights[ch]; ok {
		return w
	}
	return 1
}

// Capacity is how many open conversations on ch the agent takes.
func (a *Agent) Capacity(ch schema.Channel) int {
	if n, ok := a.capacity[ch]; ok {
		return n
	}
	return a.defCap
}

// Speaks reports whether the agent speaks lang ("" matches everyone). Matching is on the
// primary subtag: an agent with "de" speaks "de-AT".
func (a *Agent) Speaks(lang string) bool {
	if lang == "" {
		return true
	}
	primary := primaryLanguage(lang)
	return slices.ContainsFunc(a.Languages, func(l string) bool { return primaryLanguage(l) == primary })
}

func primaryLanguage(tag string) string {
	for i := 0; i < len(tag); i++ {
		if tag[i] == '-' || tag[i] == '_' {
			tag = tag[:i]
			break
		}
	}
	return strings.ToLower(tag)
}

// AgentConfig is one agent of the roster.
type AgentConfig struct {
	// The agent's id: what helpdesks, rules and events name them by.
	ID   string `yaml:"id" json:"id" example:"dana"`
	Name string `yaml:"name" json:"name,omitempty" example:"Dana Cohen"`
	// Queues ask for skills, languages and teams (docs/routing.md).
	Skills    []string `yaml:"skills" json:"skills,omitempty" example:"[billing]"`
	Languages []string `yaml:"languages" json:"languages,omitempty" example:"[en]"`
	Teams     []string `yaml:"teams" json:"teams,omitempty" example:"[tier1]"`
	// Open conversations per channel; "default" covers the others (5, DefaultCapacity, when it
	// is not given).
	Capacity map[string]int `yaml:"capacity" json:"capacity,omitempty" example:"{default: 5, webchat: 2}"`
	// Weighted cap across channels (router.load_weights); 0: none.
	MaxLoad int `yaml:"max_load" json:"max_load,omitempty"`
}

// DefaultCapacity is an agent's per-channel capacity when the roster gives none.
const DefaultCapacity = 5

// Validate checks one agent.
func (a *AgentConfig) Validate(ck *cfg.Checker) {
	for ch, n := range a.Capacity {
		if n < 0 || n > 10000 {
			ck.Errorf("capacity."+ch, "must be between 0 and 10000")
		}
	}
	if a.MaxLoad < 0 {
		ck.Errorf("max_load", "must not be negative")
	}
}
