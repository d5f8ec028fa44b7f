package rules

import (
	"fmt"
	"hash/fnv"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// queue is a compiled [QueueSpec].
type queue struct {
	name          string
	strategy      string
	eligible      []int // roster indexes of the agents who may serve it
	matchLanguage bool
	sticky        time.Duration
	maxWait       time.Duration
	overflow      string
}

// eligibleAgents lists the roster indexes of agents that can serve q.
func eligibleAgents(r *Roster, q *QueueSpec) []int {
	var out []int
	for i, a := range r.agents {
		if agentServes(a, q) {
			out = append(out, i)
		}
	}
	return out
}

func agentServes(a *Agent, q *QueueSpec) bool {
	for _, s := range q.Skills {
		if !slices.Contains(a.Skills, s) {
			return false
		}
	}
	if len(q.Teams) > 0 && !slices.ContainsFunc(q.Teams, func(t string) bool { return slices.Contains(a.Teams, t) }) {
		return false
	}
	if len(q.Agents) > 0 && !slices.Contains(q.Agents, a.ID) {
		return false
	}
	if len(q.Languages) > 0 && !slices.ContainsFunc(q.Languages, a.Speaks) {
		return false
	}
	return true
}

// AgentView is the agent state a routing decision reads. Implementations hold it still for
// the duration of one decision.
type AgentView interface {
	// State returns the state of roster agent i (never nil).
	State(i int) *AgentState
	// Presence is agent i's effective presence now.
	Presence(i int) Presence
	// WaitingAhead counts conversations waiting in queue with at least this priority.
	WaitingAhead(queue string, priority int) int
}

// pickInput is what picking an agent in a queue needs.
type pickInput struct {
	roster        *Roster
	channel       schema.Channel
	weight        int
	language      string
	now           time.Time
	previousAgent string
	previousAt    time.Time
	exclude       []string
	// seed spreads ties among equally good agents by conversation, so that decisions made
	// at the same moment in different partitions do not all pick the same agent (0: roster
	// order).
	seed uint32
}

// tieSeed derives a tie-breaking seed from a conversation id.
func tieSeed(conv string) uint32 {
	if conv == "" {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(conv))
	return h.Sum32() | 1
}

// tieKey orders agent i for a seed (a cheap integer hash).
func tieKey(seed uint32, i int) uint32 {
	x := seed ^ uint32(i)*2654435761
	x ^= x >> 16
	x *= 0x85ebca6b
	x ^= x >> 13
	return x
}

// anyAvailable reports whether some agent of the queue is available (for skip_if_empty).
func (q *queue) anyAvailable(v AgentView) bool {
	for _, i := range q.eligible {
		if v.Presence(i) == Available {
			return true
		}
	}
	return false
}

// candidate reports whether agent i can take the conversation now.
func (q *queue) candidate(v AgentView, in *pickInput, i int) bool {
	a := in.roster.At(i)
	if v.Presence(i) != Available || slices.Contains(in.exclude, a.ID) {
		return false
	}
	if q.matchLanguage && !a.Speaks(in.language) {
		return false
	}
	return v.State(i).HasRoom(a, in.weight, in.channel)
}

// pick chooses an agent by the queue's strategy; -1 when nobody can take the conversation.
func (q *queue) pick(v AgentView, in *pickInput) (int, string, string) {
	if i, ok := q.stickyAgent(v, in); ok {
		return i, "sticky", fmt.Sprintf("the customer's previous agent, within %v", q.sticky)
	}
	best := -1
	for _, i := range q.eligible {
		if !q.candidate(v, in, i) {
			continue
		}
		if best < 0 || q.better(v, in, i, best) {
			best = i
		}
	}
	if best < 0 {
		return -1, q.strategy, "no available agent with capacity"
	}
	return best, q.strategy, q.explain(v, in, best)
}

func (q *queue) stickyAgent(v AgentView, in *pickInput) (int, bool) {
	if q.sticky <= 0 || in.previousAgent == "" || in.now.Sub(in.previousAt) > q.sticky {
		return -1, false
	}
	a, ok := in.roster.Lookup(in.previousAgent)
	if !ok || !slices.Contains(q.eligible, a.idx) || !q.candidate(v, in, a.idx) {
		return -1, false
	}
	return a.idx, true
}

// better reports whether agent i beats agent j under the queue's strategy. Ties fall back
// to round-robin order, then to roster order, so decisions are deterministic.
func (q *queue) better(v AgentView, in *pickInput, i, j int) bool {
	si, sj := v.State(i), v.State(j)
	switch q.strategy {
	case StrategyLongestIdle:
		ii, ij := si.load == 0, sj.load == 0
		if ii != ij {
			return ii
		}
		if ii && !si.Load.IdleSince.Equal(sj.Load.IdleSince) {
			return si.Load.IdleSince.Before(sj.Load.IdleSince)
		}
		if !ii && si.load != sj.load {
			return si.load < sj.load
		}
	case StrategyLeastLoaded:
		if si.load != sj.load {
			return si.load < sj.load
		}
	}
	if !si.Load.LastAssigned.Equal(sj.Load.LastAssigned) {
		return si.Load.LastAssigned.Before(sj.Load.LastAssigned)
	}
	if in.seed != 0 {
		return tieKey(in.seed, i) < tieKey(in.seed, j)
	}
	return i < j
}

func (q *queue) explain(v AgentView, in *pickInput, i int) string {
	a, s := in.roster.At(i), v.State(i)
	switch q.strategy {
	case StrategyRoundRobin:
		return fmt.Sprintf("round robin: %s was assigned least recently", a.ID)
	case StrategyLongestIdle:
		if s.load == 0 {
			return fmt.Sprintf("longest idle: %s has no open conversation", a.ID)
		}
		return fmt.Sprintf("longest idle: nobody is idle; %s has the lowest load (%d)", a.ID, s.load)
	}
	return fmt.Sprintf("least loaded: %s has load %d (%d/%d open on %s)", a.ID, s.load, s.counts[in.channel], a.Capacity(in.channel), in.channel)
}

// QueueAgents lists the agents who may serve a queue (none for an unknown queue).
func (rs *Rules) QueueAgents(name string) []*Agent {
	q := rs.queues[name]
	if q == nil {
		return nil
	}
	out := make([]*Agent, 0, len(q.eligible))
	for _, i := range q.eligible {
		out = append(out, rs.roster.At(i))
	}
	return out
}
