package rules

import (
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Presence is an agent's availability.
type Presence string

// Presence values. Available agents get new conversations; away agents keep theirs but get
// no new ones; offline agents lose theirs to the queue after the grace period.
const (
	Available Presence = "available"
	Away      Presence = "away"
	Offline   Presence = "offline"
)

// Valid reports whether p is a known presence.
func (p Presence) Valid() bool { return p == Available || p == Away || p == Offline }

// PresenceRecord is an agent's presence as stored in sb_agents under presence.<agent>.
type PresenceRecord struct {
	Agent    string    `json:"agent"`
	Status   Presence  `json:"status"`
	Since    time.Time `json:"since"`
	LastSeen time.Time `json:"last_seen"`
	Reason   string    `json:"reason,omitempty"`
}

// Hold is one conversation counted against an agent's capacity.
type Hold struct {
	Customer string         `json:"customer_id"`
	Channel  schema.Channel `json:"channel"`
	Weight   int            `json:"weight"`
	Cause    string         `json:"cause"` // the decision that reserved it
	At       time.Time      `json:"at"`
}

// LoadRecord is an agent's open conversations, stored in sb_agents under load.<agent> and
// changed only by compare-and-set: two routers can never both take an agent's last slot.
type LoadRecord struct {
	Agent         string          `json:"agent"`
	Conversations map[string]Hold `json:"conversations"`
	LastAssigned  time.Time       `json:"last_assigned_at"`
	IdleSince     time.Time       `json:"idle_since"`
}

// Load is the weighted sum of the agent's open conversations.
func (l *LoadRecord) Load() int {
	n := 0
	for _, h := range l.Conversations {
		n += h.Weight
	}
	return n
}

// Count is the number of open conversations on ch.
func (l *LoadRecord) Count(ch schema.Channel) int {
	n := 0
	for _, h := range l.Conversations {
		if h.Channel == ch {
			n++
		}
	}
	return n
}

// AgentState is what the router knows about one agent: presence and load, with the KV
// revisions they were read at.
type AgentState struct {
	Presence PresenceRecord
	Load     LoadRecord
	presRev  uint64
	loadRev  uint64
	load     int
	counts   map[schema.Channel]int
}

// NewAgentState is an agent nothing is known about yet: offline, with no conversation.
func NewAgentState(id string) *AgentState {
	return &AgentState{Presence: PresenceRecord{Agent: id, Status: Offline},
		Load: LoadRecord{Agent: id, Conversations: map[string]Hold{}}, counts: map[schema.Channel]int{}}
}

// WithLoad returns a copy of s carrying load record l at revision rev.
func (s *AgentState) WithLoad(l LoadRecord, rev uint64) *AgentState {
	cp := *s
	if l.Conversations == nil {
		l.Conversations = map[string]Hold{}
	}
	cp.Load, cp.loadRev, cp.load = l, rev, l.Load()
	cp.counts = map[schema.Channel]int{}
	for _, h := range l.Conversations {
		cp.counts[h.Channel]++
	}
	return &cp
}

// WithPresence returns a copy of s carrying presence p at revision rev.
func (s *AgentState) WithPresence(p PresenceRecord, rev uint64) *AgentState {
	cp := *s
	cp.Presence, cp.presRev = p, rev
	return &cp
}

// LoadRev and PresenceRev are the KV revisions the load and presence were read at.
func (s *AgentState) LoadRev() uint64     { return s.loadRev }
func (s *AgentState) PresenceRev() uint64 { return s.presRev }

// Weighted is the weighted sum of the agent's open conversations.
func (s *AgentState) Weighted() int { return s.load }

// Effective is the agent's presence at now: an available or away agent whose heartbeat is
// older than hb (when hb > 0) is offline since the heartbeat expired.
func (s *AgentState) Effective(now time.Time, hb time.Duration) (Presence, time.Time) {
	p := s.Presence
	if hb > 0 && p.Status != Offline && !p.LastSeen.IsZero() && now.Sub(p.LastSeen) > hb {
		return Offline, p.LastSeen.Add(hb)
	}
	return p.Status, p.Since
}

// HasRoom reports whether the agent can take one more conversation on ch.
func (s *AgentState) HasRoom(a *Agent, weight int, ch schema.Channel) bool {
	if s.counts[ch] >= a.Capacity(ch) {
		return false
	}
	return a.MaxLoad == 0 || s.load+weight <= a.MaxLoad
}

// HasRoom reports whether a load record about to be written leaves room for one more
// conversation on ch for agent a.
func (l *LoadRecord) HasRoom(a *Agent, weight int, ch schema.Channel) bool {
	if l.Count(ch) >= a.Capacity(ch) {
		return false
	}
	return a.MaxLoad == 0 || l.Load()+weight <= a.MaxLoad
}
