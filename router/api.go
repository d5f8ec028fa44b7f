package router

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// ErrRoutingOff means routing commands were sent to a router without agents or rules.
var ErrRoutingOff = errors.New("routing is off: configure router.agents or router.rules_file")

// ErrUnknownQueue means a transfer names a queue the rules do not define.
var ErrUnknownQueue = errors.New("unknown queue")

// Move asks for a conversation to be assigned or transferred: to agent (whose slot is
// reserved now, so a full agent is refused at once with [ErrNoRoom]) or, with agent empty,
// to queue. It returns once the command is durable; the outcome is an event.
func (r *Router) Move(ctx context.Context, conv *schema.Conversation, typ CommandType, cmdID, agent, queue, reason, actor string) error {
	rs := r.Rules()
	if rs == nil {
		return ErrRoutingOff
	}
	cmd := &Command{ID: cmdID, Type: typ, ConversationID: conv.ID, CustomerID: conv.CustomerID, Actor: actor,
		Reason: reason, AgentID: agent, Queue: queue, At: r.o.Now().UTC()}
	switch {
	case agent != "":
		if _, ok := rs.Roster().Lookup(agent); !ok {
			return fmt.Errorf("%w %q", agents.ErrUnknownAgent, agent)
		}
		if p, _ := r.board.Effective(agent, cmd.At); p == rules.Offline {
			return fmt.Errorf("%w: %s is offline", agents.ErrNoRoom, agent)
		}
		if conv.AgentID != agent {
			ch := conv.ReplyRoute.Channel
			h := rules.Hold{Customer: conv.CustomerID, Channel: ch, Weight: rs.Roster().Weight(ch), Cause: cmd.Cause(), At: cmd.At}
			if err := r.agents.Reserve(ctx, agent, conv.ID, h); err != nil {
				return err
			}
		}
	case !rs.Queue(queue):
		return fmt.Errorf("%w %q", ErrUnknownQueue, queue)
	}
	return SubmitCommand(ctx, r.js, r.o.Partitions, cmd)
}

// AgentInfo is an agent as the REST API shows it.
type AgentInfo struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	Skills    []string       `json:"skills,omitempty"`
	Languages []string       `json:"languages,omitempty"`
	Teams     []string       `json:"teams,omitempty"`
	Presence  rules.Presence `json:"presence"`
	// Source is where the agent is defined: config (router.agents) or api.
	Source        string         `json:"source"`
	Since         *time.Time     `json:"since,omitempty"`
	LastSeen      *time.Time     `json:"last_seen,omitempty"`
	Load          int            `json:"load"`
	MaxLoad       int            `json:"max_load,omitempty"`
	Capacity      map[string]int `json:"capacity"`
	Conversations []string       `json:"conversations"`
}

// Agents lists the roster with each agent's effective presence and load.
func (r *Router) Agents() []AgentInfo {
	roster := r.board.Roster()
	now := r.o.Now()
	out := make([]AgentInfo, 0, roster.Len())
	for i := 0; i < roster.Len(); i++ {
		out = append(out, r.agentInfo(roster.At(i), now))
	}
	return out
}

// Agent returns one agent ([ErrUnknownAgent] if not in the roster).
func (r *Router) Agent(id string) (AgentInfo, error) {
	a, ok := r.board.Roster().Lookup(id)
	if !ok {
		return AgentInfo{}, fmt.Errorf("%w %q", agents.ErrUnknownAgent, id)
	}
	return r.agentInfo(a, r.o.Now()), nil
}

func (r *Router) agentInfo(a *rules.Agent, now time.Time) AgentInfo {
	st := r.board.State(a.ID)
	p, since := st.Effective(now, r.board.Heartbeat())
	info := AgentInfo{ID: a.ID, Name: a.Name, Source: a.Source, Skills: a.Skills, Languages: a.Languages, Teams: a.Teams, Presence: p,
		Load: st.Weighted(), MaxLoad: a.MaxLoad, Capacity: a.Capacities(), Conversations: []string{}}
	if !since.IsZero() {
		info.Since = &since
	}
	if ls := st.Presence.LastSeen; !ls.IsZero() {
		info.LastSeen = &ls
	}
	for conv := range st.Load.Conversations {
		info.Conversations = append(info.Conversations, conv)
	}
	sort.Strings(info.Conversations)
	return info
}

// RulesStatus reports whether the last rules reload succeeded and, if not, why.
func (r *Router) RulesStatus() (bool, error) {
	if r.o.Rules == nil {
		return true, nil
	}
	return r.o.Rules.Status()
}

// ReloadRules reloads the rules file now; a bad file keeps the rules in force and returns
// its problems.
func (r *Router) ReloadRules() error {
	if r.o.Rules == nil {
		return ErrRoutingOff
	}
	_, err := r.o.Rules.Reload()
	return err
}

// Submit puts a command on its customer's route partition; it is durable when this returns.
func (r *Router) Submit(ctx context.Context, cmd *Command) error {
	return SubmitCommand(ctx, r.js, r.o.Partitions, cmd)
}

// QueueInfo is a queue's waiting line now.
type QueueInfo struct {
	Queue   string `json:"queue"`
	Waiting int    `json:"waiting"`
	// OldestWaitSeconds is how long the longest-waiting conversation has waited (0: none).
	OldestWaitSeconds float64 `json:"oldest_wait_seconds"`
}

// Queues lists every queue of the rules (and any other with conversations waiting), by name.
func (r *Router) Queues() []QueueInfo {
	now := r.o.Now()
	waiting := r.waits.Ordered()
	if rs := r.Rules(); rs != nil {
		for _, q := range rs.QueueNames() {
			if _, ok := waiting[q]; !ok {
				waiting[q] = nil
			}
		}
	}
	out := make([]QueueInfo, 0, len(waiting))
	for q, list := range waiting {
		qi := QueueInfo{Queue: q, Waiting: len(list)}
		for _, e := range list {
			qi.OldestWaitSeconds = max(qi.OldestWaitSeconds, now.Sub(e.QueuedAt).Seconds())
		}
		out = append(out, qi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Queue < out[j].Queue })
	return out
}
