package rules

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/schema"
)

// CaseFile is a file of routing cases for `switchboard rules test` (docs/routing.md).
type CaseFile struct {
	// At is the default time of every case (default: Monday 2026-01-05 10:00 UTC).
	At    string  `yaml:"at"`
	Cases []*Case `yaml:"cases"`
}

// Case is one routing situation and the decision it must produce.
type Case struct {
	Name     string       `yaml:"name"`
	At       string       `yaml:"at"`
	Message  CaseMessage  `yaml:"message"`
	Customer CaseCustomer `yaml:"customer"`
	// Agents is the agents' state; agents not listed are offline and idle.
	Agents map[string]*CaseAgent `yaml:"agents"`
	// Waiting counts conversations already waiting per queue (all at priority 1000, so
	// anything queued there waits behind them).
	Waiting       map[string]int `yaml:"waiting"`
	PreviousAgent string         `yaml:"previous_agent"`
	// Tags are the conversation's tags (as when a tagged waiting conversation is routed
	// again).
	Tags   []string   `yaml:"tags"`
	Expect CaseExpect `yaml:"expect"`
}

// CaseMessage is the message of a case.
type CaseMessage struct {
	Channel  string            `yaml:"channel"`
	Account  string            `yaml:"account"`
	From     string            `yaml:"from"`
	Subject  string            `yaml:"subject"`
	Text     string            `yaml:"text"`
	Language string            `yaml:"language"`
	Metadata map[string]string `yaml:"metadata"`
}

// CaseCustomer is the customer of a case.
type CaseCustomer struct {
	Name       string            `yaml:"name"`
	ExternalID string            `yaml:"external_id"`
	Attributes map[string]string `yaml:"attributes"`
}

// CaseAgent is an agent's state in a case.
type CaseAgent struct {
	Presence string `yaml:"presence"` // default available
	// Load is the number of open conversations per channel.
	Load map[string]int `yaml:"load"`
}

// CaseExpect is what the decision must be; fields left out are not checked. Agent "none"
// expects the conversation to wait.
type CaseExpect struct {
	Rule   *string `yaml:"rule"`
	Queue  *string `yaml:"queue"`
	Agent  *string `yaml:"agent"`
	Target *int    `yaml:"target"`
	// Survey is the survey policy that applies when the conversation is resolved in the
	// queue decided ("none": no survey).
	Survey *string `yaml:"survey"`
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name     string
	Position string // file:line of the case
	Failures []string
	Decision Decision
}

// OK reports whether the decision matched.
func (r *CaseResult) OK() bool { return len(r.Failures) == 0 }

// RunCaseFile reads a case file and runs every case against rs. The error reports a file
// that cannot be read or decoded (every problem, located).
func RunCaseFile(path string, rs *Rules) ([]*CaseResult, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f CaseFile
	doc, err := cfg.Decode(path, data, &f)
	if err != nil {
		return nil, err
	}
	if len(f.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases", path)
	}
	var out []*CaseResult
	for i, c := range f.Cases {
		pos := path
		if p := doc.Pos(fmt.Sprintf("cases[%d]", i)); p != nil {
			pos = fmt.Sprintf("%s:%d", path, p.Line)
		}
		res, err := runCase(c, rs, f.At)
		if err != nil {
			return nil, fmt.Errorf("%s: case %q: %w", pos, c.Name, err)
		}
		res.Position = pos
		out = append(out, res)
	}
	return out, nil
}

// defaultCaseTime is a Monday morning, so business hours usually hold.
var defaultCaseTime = time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)

func runCase(c *Case, rs *Rules, defAt string) (*CaseResult, error) {
	at, err := caseTime(c.At, defAt)
	if err != nil {
		return nil, err
	}
	view, err := caseView(c, rs.roster, at)
	if err != nil {
		return nil, err
	}
	m := &schema.Message{Channel: schema.Channel(c.Message.Channel), Account: c.Message.Account, Direction: schema.Inbound,
		Kind: schema.KindMessage, From: schema.Address{Kind: "external", Value: c.Message.From}, Subject: c.Message.Subject,
		Text: c.Message.Text, Language: c.Message.Language, Metadata: c.Message.Metadata, ReceivedAt: at}
	cust := &schema.Customer{ID: "cus_case", Name: c.Customer.Name, ExternalID: c.Customer.ExternalID, Attributes: c.Customer.Attributes}
	in := &Input{Message: m, Customer: cust, Now: at, PreviousAgent: c.PreviousAgent, PreviousAt: at}
	for _, t := range c.Tags {
		in.Tags = append(in.Tags, strings.ToLower(strings.TrimSpace(t)))
	}
	d := rs.Decide(in, view)
	res := &CaseResult{Name: c.Name, Decision: d}
	want := c.Expect
	check := func(field, got string, want *string) {
		if want != nil && got != *want {
			res.Failures = append(res.Failures, fmt.Sprintf("%s is %q, want %q", field, got, *want))
		}
	}
	check("rule", d.Rule, want.Rule)
	check("queue", d.Queue, want.Queue)
	agent := d.Agent
	if agent == "" {
		agent = "none"
	}
	check("agent", agent, want.Agent)
	if want.Target != nil && d.Target != *want.Target {
		res.Failures = append(res.Failures, fmt.Sprintf("target is %d, want %d", d.Target, *want.Target))
	}
	if want.Survey != nil {
		survey := "none"
		if p := rs.Survey(SurveyInput{Message: m, Customer: cust, Queue: d.Queue, Now: at}); p != nil {
			survey = p.Name
		}
		check("survey", survey, want.Survey)
	}
	return res, nil
}

func caseTime(at, def string) (time.Time, error) {
	for _, s := range []string{at, def} {
		if s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return t, fmt.Errorf("at: %q is not an RFC 3339 time (e.g. 2026-01-05T10:00:00+01:00)", s)
			}
			return t, nil
		}
	}
	return defaultCaseTime, nil
}

// caseView builds the agents' state of a case.
func caseView(c *Case, roster *Roster, at time.Time) (*StaticView, error) {
	v := NewStaticView(roster)
	for id, a := range c.Agents {
		ag, ok := roster.Lookup(id)
		if !ok {
			return nil, fmt.Errorf("agents: unknown agent %q (not in router.agents)", id)
		}
		p := Presence(strings.ToLower(a.Presence))
		if p == "" {
			p = Available
		}
		if !p.Valid() {
			return nil, fmt.Errorf("agents.%s.presence: must be available, away or offline", id)
		}
		v.Set(ag.idx, p, a.Load, at)
	}
	for q, n := range c.Waiting {
		v.waiting[q] = n
	}
	return v, nil
}

// StaticView is an [AgentView] held in memory: for `rules test`, `rules replay` and
// benchmarks.
type StaticView struct {
	roster   *Roster
	presence []Presence
	states   []*AgentState
	waiting  map[string]int
}

// NewStaticView returns a view with every agent offline and idle.
func NewStaticView(r *Roster) *StaticView {
	v := &StaticView{roster: r, presence: make([]Presence, r.Len()), states: make([]*AgentState, r.Len()), waiting: map[string]int{}}
	for i := range v.states {
		v.presence[i] = Offline
		v.states[i] = NewAgentState(r.At(i).ID)
	}
	return v
}

// Set gives agent i a presence and a number of open conversations per channel.
func (v *StaticView) Set(i int, p Presence, load map[string]int, at time.Time) {
	v.presence[i] = p
	rec := LoadRecord{Agent: v.roster.At(i).ID, Conversations: map[string]Hold{}}
	for ch, n := range load {
		for k := 0; k < n; k++ {
			w := v.roster.Weight(schema.Channel(ch))
			rec.Conversations[fmt.Sprintf("%s-%d", ch, k)] = Hold{Channel: schema.Channel(ch), Weight: w, At: at}
		}
	}
	v.states[i] = v.states[i].WithLoad(rec, v.states[i].loadRev+1)
}

// Hold adds one conversation to agent i's load (a simulated assignment).
func (v *StaticView) Hold(i int, conv string, ch schema.Channel, at time.Time) {
	rec := v.states[i].Load
	convs := make(map[string]Hold, len(rec.Conversations)+1)
	for k, h := range rec.Conversations {
		convs[k] = h
	}
	convs[conv] = Hold{Channel: ch, Weight: v.roster.Weight(ch), At: at}
	rec.Conversations, rec.LastAssigned = convs, at
	v.states[i] = v.states[i].WithLoad(rec, v.states[i].loadRev+1)
}

// Release takes a conversation off agent i's load.
func (v *StaticView) Release(i int, conv string, at time.Time) {
	rec := v.states[i].Load
	if _, ok := rec.Conversations[conv]; !ok {
		return
	}
	convs := make(map[string]Hold, len(rec.Conversations))
	for k, h := range rec.Conversations {
		if k != conv {
			convs[k] = h
		}
	}
	rec.Conversations = convs
	if len(convs) == 0 {
		rec.IdleSince = at
	}
	v.states[i] = v.states[i].WithLoad(rec, v.states[i].loadRev+1)
}

// State implements [AgentView].
func (v *StaticView) State(i int) *AgentState { return v.states[i] }

// Presence implements [AgentView].
func (v *StaticView) Presence(i int) Presence { return v.presence[i] }

// WaitingAhead implements [AgentView].
func (v *StaticView) WaitingAhead(queue string, _ int) int { return v.waiting[queue] }
