package rules

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// ReplayItem is one recorded happening that matters to routing, in stream order: a
// conversation routed on a customer's message, or a conversation resolved.
type ReplayItem struct {
	At           time.Time
	Conversation string
	Customer     string
	Message      *schema.Message // the message it was routed on; nil for a resolve
	Recorded     *schema.Routing // what the rules in force decided then (nil: not routed then)
	Resolved     bool
}

// ReplayOutcome is where a conversation went.
type ReplayOutcome struct {
	Rule   string `json:"rule,omitempty"`
	Queue  string `json:"queue,omitempty"`
	Agent  string `json:"agent,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// ReplayChange is a conversation the candidate rules route differently.
type ReplayChange struct {
	Conversation string        `json:"conversation_id"`
	At           time.Time     `json:"at"`
	Current      ReplayOutcome `json:"current"`
	Candidate    ReplayOutcome `json:"candidate"`
}

// ReplayReport compares the rules in force with candidate rules over recorded traffic.
type ReplayReport struct {
	CurrentVersion   string                   `json:"current_version"`
	CandidateVersion string                   `json:"candidate_version"`
	Routed           int                      `json:"routed"`
	Changes          []ReplayChange           `json:"changes"`
	Queues           map[string]*ReplayCounts `json:"queues"`
	Agents           map[string]*ReplayCounts `json:"agents"`
	// Recorded counts decisions found in the stream; Faithful how many of them the
	// simulation of the current rules reproduces (agent state is simulated, so agents'
	// real comings and goings make these differ).
	Recorded int `json:"recorded"`
	Faithful int `json:"faithful"`
}

// ReplayCounts compares counts under the current and the candidate rules.
type ReplayCounts struct {
	Current   int `json:"current"`
	Candidate int `json:"candidate"`
}

// replaySim is one rule set replayed over simulated agents.
type replaySim struct {
	rules *Rules
	view  *StaticView
	owner map[string]int // conversation → agent index
}

func newReplaySim(rs *Rules, at time.Time, available func(agent string) bool) *replaySim {
	s := &replaySim{rules: rs, view: NewStaticView(rs.roster), owner: map[string]int{}}
	for i := 0; i < rs.roster.Len(); i++ {
		p := Offline
		if available(rs.roster.At(i).ID) {
			p = Available
		}
		s.view.Set(i, p, nil, at)
	}
	return s
}

func (s *replaySim) route(it *ReplayItem, cust *schema.Customer) ReplayOutcome {
	if i, ok := s.owner[it.Conversation]; ok {
		s.view.Release(i, it.Conversation, it.At)
		delete(s.owner, it.Conversation)
	}
	d := s.rules.Decide(&Input{Message: it.Message, Customer: cust, Now: it.At}, s.view)
	if a, ok := s.rules.roster.Lookup(d.Agent); ok {
		s.view.Hold(a.idx, it.Conversation, it.Message.Channel, it.At)
		s.owner[it.Conversation] = a.idx
	}
	return ReplayOutcome{Rule: d.Rule, Queue: d.Queue, Agent: d.Agent, Reason: d.Reason}
}

func (s *replaySim) resolve(it *ReplayItem) {
	if i, ok := s.owner[it.Conversation]; ok {
		s.view.Release(i, it.Conversation, it.At)
		delete(s.owner, it.Conversation)
	}
}

// Replay runs recorded traffic through the current and the candidate rules with no side
// effects and reports what would change. customer returns a customer record (nil: none);
// available says which agents the simulation treats as available (their load starts
// empty and follows the replay).
func Replay(items []ReplayItem, current, candidate *Rules, customer func(id string) *schema.Customer,
	available func(agent string) bool) *ReplayReport {
	rep := &ReplayReport{CurrentVersion: current.Version, CandidateVersion: candidate.Version,
		Queues: map[string]*ReplayCounts{}, Agents: map[string]*ReplayCounts{}, Changes: []ReplayChange{}}
	var start time.Time
	if len(items) > 0 {
		start = items[0].At
	}
	cur, cand := newReplaySim(current, start, available), newReplaySim(candidate, start, available)
	for i := range items {
		it := &items[i]
		if it.Resolved {
			cur.resolve(it)
			cand.resolve(it)
			continue
		}
		if it.Message == nil {
			continue
		}
		cust := customer(it.Customer)
		a, b := cur.route(it, cust), cand.route(it, cust)
		rep.Routed++
		rep.count(a, b)
		if r := it.Recorded; r != nil {
			rep.Recorded++
			if r.Queue == a.Queue && r.AgentID == a.Agent {
				rep.Faithful++
			}
		}
		if a.Queue != b.Queue || a.Agent != b.Agent {
			rep.Changes = append(rep.Changes, ReplayChange{Conversation: it.Conversation, At: it.At, Current: a, Candidate: b})
		}
	}
	return rep
}

func (rep *ReplayReport) count(a, b ReplayOutcome) {
	get := func(m map[string]*ReplayCounts, k string) *ReplayCounts {
		if m[k] == nil {
			m[k] = &ReplayCounts{}
		}
		return m[k]
	}
	get(rep.Queues, a.Queue).Current++
	get(rep.Queues, b.Queue).Candidate++
	if a.Agent != "" {
		get(rep.Agents, a.Agent).Current++
	}
	if b.Agent != "" {
		get(rep.Agents, b.Agent).Candidate++
	}
}

// ReplayCollector turns the conversation stream into replay items: a conversation is
// routed on the first customer message after it opened or reopened.
type ReplayCollector struct {
	Items   []ReplayItem
	pending map[string]bool // conversation waits for the message it is routed on
	last    map[string]int  // conversation → index of its latest route item
}

// NewReplayCollector returns an empty collector.
func NewReplayCollector() *ReplayCollector {
	return &ReplayCollector{pending: map[string]bool{}, last: map[string]int{}}
}

// Add takes the next event of the stream.
func (c *ReplayCollector) Add(ev *schema.Event) {
	conv := ev.ConversationID
	switch ev.Type {
	case schema.EventOpened, schema.EventReopened:
		c.pending[conv] = true
	case schema.EventMessage:
		m := ev.Message
		if !c.pending[conv] || m == nil || m.Direction != schema.Inbound || m.Kind != schema.KindMessage {
			return
		}
		delete(c.pending, conv)
		c.last[conv] = len(c.Items)
		c.Items = append(c.Items, ReplayItem{At: ev.At, Conversation: conv, Customer: ev.CustomerID, Message: m})
	case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
		if i, ok := c.last[conv]; ok && c.Items[i].Recorded == nil && ev.Routing != nil {
			c.Items[i].Recorded = ev.Routing
		}
	case schema.EventResolved:
		delete(c.pending, conv)
		delete(c.last, conv)
		c.Items = append(c.Items, ReplayItem{At: ev.At, Conversation: conv, Customer: ev.CustomerID, Resolved: true})
	}
}
