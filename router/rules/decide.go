package rules

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// Input is what a routing decision depends on besides the rules and the agents' state.
type Input struct {
	Message  *schema.Message
	Customer *schema.Customer
	// Channel the conversation counts on against agents' capacity (default: the message's).
	Channel schema.Channel
	Now     time.Time
	// Rule and From continue a decision at target From of rule Rule (escalation). An empty
	// Rule matches the rules from the top.
	Rule string
	From int
	// Queue, when set, skips the rules: the conversation goes back to this queue (re-queue
	// after an agent went offline, transfer to a queue).
	Queue    string
	Priority int
	// PreviousAgent is the agent of the customer's previous conversation, PreviousAt when it
	// was resolved (for sticky queues).
	PreviousAgent string
	PreviousAt    time.Time
	// Exclude lists agents that must not get the conversation.
	Exclude []string
	// NoAgent decides the queue only (the agent is picked later, in waiting order).
	NoAgent bool
	// Prefer is an agent who gets the conversation if they can serve the queue and are
	// available with room, ahead of anyone waiting (a reopened conversation's agent).
	Prefer string
	// Conversation is the conversation being routed: ties between equally good agents are
	// broken by it, so that simultaneous decisions spread over them.
	Conversation string
	// SLA is the conversation's SLA state: "" (no policy), ok, warning or breached.
	SLA string
	// Tags are the conversation's tags; Priority its priority now.
	Tags []string
}

// Decision is the outcome of routing one conversation.
type Decision struct {
	RulesVersion string
	Rule         string // "" when no rule matched
	Target       int
	Queue        string // "" when the conversation is not queued at all
	Priority     int
	Timeout      time.Duration // move on to the next target after this long (0: never)
	Agent        string        // "" when the conversation waits
	Strategy     string
	Reason       string
}

// Routing renders the decision for an event.
func (d *Decision) Routing(now time.Time) *schema.Routing {
	r := &schema.Routing{RulesVersion: d.RulesVersion, Rule: d.Rule, Target: d.Target, Queue: d.Queue,
		Priority: d.Priority, AgentID: d.Agent, Strategy: d.Strategy, Reason: d.Reason}
	if d.Agent == "" && d.Timeout > 0 {
		at := now.Add(d.Timeout)
		r.TimeoutAt = &at
	}
	return r
}

// Decide routes one conversation. It is a pure function of the input, the rules and the
// agent view: the same arguments give the same decision.
func (rs *Rules) Decide(in *Input, v AgentView) Decision {
	d := Decision{RulesVersion: rs.Version}
	if in.Queue != "" {
		return rs.decideQueue(in, v, d)
	}
	e := &evalCtx{in: in, text: messageText(in.Message)}
	r, from, why := rs.match(e)
	if r == nil {
		if rs.defQueue == nil {
			d.Reason = "no rule matched and there is no default_queue"
			return d
		}
		d.Queue = rs.defQueue.name
		rs.pickAgent(in, v, rs.defQueue, &d)
		d.Reason = "no rule matched; default queue: " + d.Reason
		return d
	}
	d.Rule = r.name
	var skipped []string
	for t := from; t < len(r.targets); t++ {
		tg := r.targets[t]
		if tg.skipIfEmpty && t < len(r.targets)-1 && !tg.queue.anyAvailable(v) {
			skipped = append(skipped, tg.queue.name)
			continue
		}
		d.Target, d.Queue, d.Priority, d.Timeout = t, tg.queue.name, tg.priority, tg.timeout
		rs.pickAgent(in, v, tg.queue, &d)
		d.Reason = why + "; " + d.Reason
		if len(skipped) > 0 {
			d.Reason = fmt.Sprintf("%s (skipped %s: nobody available)", d.Reason, strings.Join(skipped, ", "))
		}
		return d
	}
	d.Reason = why + "; no target left"
	return d
}

// match finds the rule and first target to use.
func (rs *Rules) match(e *evalCtx) (*rule, int, string) {
	if e.in.Rule != "" {
		if r := rs.byName[e.in.Rule]; r != nil && e.in.From < len(r.targets) {
			return r, e.in.From, fmt.Sprintf("rule %s, target %d", r.name, e.in.From)
		}
	}
	for _, r := range rs.rules {
		if r.matches(e) {
			return r, 0, "rule " + r.name + " matched"
		}
	}
	return nil, 0, ""
}

func (r *rule) matches(e *evalCtx) bool {
	for _, c := range r.conds {
		if !c(e) {
			return false
		}
	}
	return true
}

func (rs *Rules) decideQueue(in *Input, v AgentView, d Decision) Decision {
	q := rs.queues[in.Queue]
	if q == nil {
		in.Queue = ""
		d = rs.Decide(in, v)
		d.Reason = "queue no longer exists; " + d.Reason
		return d
	}
	d.Queue, d.Priority = q.name, in.Priority
	rs.pickAgent(in, v, q, &d)
	return d
}

// pickAgent fills the agent, strategy and reason, unless conversations wait ahead.
func (rs *Rules) pickAgent(in *Input, v AgentView, q *queue, d *Decision) {
	d.Strategy = q.strategy
	if in.NoAgent {
		d.Reason = "queued " + q.name
		return
	}
	ch := in.Channel
	if ch == "" {
		ch = in.Message.Channel
	}
	pin := &pickInput{roster: rs.roster, channel: ch, weight: rs.roster.Weight(ch), language: in.Message.Language,
		now: in.Now, previousAgent: in.PreviousAgent, previousAt: in.PreviousAt, exclude: in.Exclude,
		seed: tieSeed(in.Conversation)}
	if a, ok := rs.roster.Lookup(in.Prefer); ok && slices.Contains(q.eligible, a.idx) && q.candidate(v, pin, a.idx) {
		d.Agent, d.Strategy = a.ID, "keep"
		d.Reason = "assigned in " + q.name + ": kept " + a.ID + ", who had the conversation before"
		return
	}
	if n := v.WaitingAhead(q.name, d.Priority); n > 0 {
		d.Reason = fmt.Sprintf("queued %s behind %d waiting", q.name, n)
		return
	}
	i, strategy, reason := q.pick(v, pin)
	d.Strategy = strategy
	if i < 0 {
		d.Reason = "queued " + q.name + ": " + reason
		return
	}
	d.Agent = rs.roster.At(i).ID
	d.Reason = "assigned in " + q.name + ": " + reason
}
