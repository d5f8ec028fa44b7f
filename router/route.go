package router

import (
	"context"
	"errors"

	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// maxRaces is how often a decision picks another agent after losing the race for one; then
// the conversation waits and the dispatcher assigns it in order.
const maxRaces = 4

// route decides the conversation's queue and agent, reserves the agent and records the
// decision as an event.
func (r *Router) route(ctx context.Context, c *change, in *rules.Input) error {
	rs := r.Rules()
	if rs == nil {
		return nil
	}
	if in.Channel == "" {
		in.Channel = in.Message.Channel
	}
	in.Conversation = c.conv.ID
	if in.SLA == "" {
		in.SLA = slaLabel(c.conv)
	}
	in.Tags = c.conv.Tags
	prevQueue, prevAgent := c.conv.Queue, c.conv.AgentID
	var d rules.Decision
	for race := 0; ; race++ {
		r.board.Read(rs.Roster(), in.Now, c.conv.ID, func(v rules.AgentView) { d = rs.Decide(in, v) })
		if d.Agent == "" || d.Agent == prevAgent {
			break
		}
		err := r.agents.Reserve(ctx, d.Agent, c.conv.ID, r.holdOn(c.conv, in.Channel, c.cause))
		if err == nil {
			c.reserved = appendNew(c.reserved, d.Agent)
			break
		}
		if !errors.Is(err, agents.ErrNoRoom) {
			return err
		}
		in.Exclude = append(in.Exclude, d.Agent)
		in.NoAgent = race+1 >= maxRaces
	}
	r.record(c, &d, prevQueue, prevAgent)
	return nil
}

// record emits the event for a decision: assigned, transferred (from another agent) or
// queued.
func (r *Router) record(c *change, d *rules.Decision, prevQueue, prevAgent string) {
	typ := schema.EventQueued
	switch {
	case d.Agent != "" && prevAgent != "" && prevAgent != d.Agent:
		typ = schema.EventTransferred
	case d.Agent != "":
		typ = schema.EventAssigned
	case prevAgent != "", c.transfer && prevQueue != d.Queue:
		typ = schema.EventTransferred
	}
	now := r.o.Now().UTC()
	c.emit(r, typ, func(e *schema.Event) {
		e.Routing = d.Routing(now)
		e.Routing.PreviousAgent, e.Routing.PreviousQueue = prevAgent, prevQueue
		e.Reason = d.Reason
	})
	outcome := "queued"
	switch {
	case d.Agent != "":
		outcome = "assigned"
	case d.Queue == "":
		outcome = "unrouted"
	}
	r.metrics.Decisions.WithLabelValues(d.Queue, outcome).Inc()
}

// holdOn is the hold a decision reserves for a conversation counted on channel ch.
func (r *Router) holdOn(conv *convState, ch schema.Channel, cause string) rules.Hold {
	return rules.Hold{Customer: conv.CustomerID, Channel: ch, Weight: r.board.Roster().Weight(ch), Cause: cause, At: r.o.Now().UTC()}
}
