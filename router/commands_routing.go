package router

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/agents"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// routingCommand applies assign, transfer, requeue, escalate and overflow. A command that
// no longer fits the conversation (the dispatcher offered an agent for a conversation that
// was assigned meanwhile, an escalation for a target it left) changes nothing but gives
// back what it reserved.
func (r *Router) routingCommand(ctx context.Context, c *change, cmd *Command) error {
	if !r.routingOn() {
		return pipeline.Poison(fmt.Errorf("command %s: routing is off (no router.agents, no rules file)", cmd.ID))
	}
	conv := c.conv
	if conv.Status != schema.ConversationOpen {
		r.giveBack(c, cmd)
		return nil
	}
	switch cmd.Type {
	case CommandAssign, CommandTransfer:
		if cmd.AgentID == "" {
			c.transfer = true
			return r.reroute(ctx, c, &rules.Input{Queue: cmd.Queue, Priority: conv.Priority, Exclude: []string{conv.AgentID}},
				"transferred to queue "+cmd.Queue+reasonSuffix(cmd.Reason))
		}
		return r.assignTo(ctx, c, cmd)
	case CommandRequeue:
		if conv.AgentID != cmd.AgentID {
			c.then(func(ctx context.Context) error { return r.agents.Release(ctx, cmd.AgentID, conv.ID, "") })
			return nil
		}
		queue := conv.Queue
		c.emit(r, schema.EventUnassigned, func(e *schema.Event) {
			e.Reason = cmd.Reason
			e.Routing = &schema.Routing{RulesVersion: r.Rules().Version, Queue: queue, PreviousAgent: cmd.AgentID, Reason: cmd.Reason}
		})
		return r.reroute(ctx, c, &rules.Input{Queue: queue, Priority: conv.Priority, Exclude: []string{cmd.AgentID}}, "re-queued: "+cmd.Reason)
	case CommandEscalate:
		rt := conv.Route
		if rt == nil || !rt.Waiting || rt.Rule != cmd.Rule || rt.Target != cmd.Target {
			return nil
		}
		return r.reroute(ctx, c, &rules.Input{Rule: rt.Rule, From: rt.Target + 1}, cmd.Reason)
	case CommandOverflow:
		to, _, ok := r.Rules().Overflow(conv.Queue)
		if conv.Route == nil || !conv.Route.Waiting || conv.Queue != cmd.Queue || !ok {
			return nil
		}
		return r.reroute(ctx, c, &rules.Input{Queue: to, Priority: conv.Priority}, cmd.Reason)
	case CommandReroute:
		if conv.Route == nil || !conv.Route.Waiting || conv.Queue != cmd.Queue || r.Rules().Queue(conv.Queue) {
			return nil
		}
		return r.reroute(ctx, c, &rules.Input{}, cmd.Reason)
	}
	return nil
}

func reasonSuffix(reason string) string {
	if reason == "" {
		return ""
	}
	return ": " + reason
}

// giveBack releases the reservation an assign or transfer command came with.
func (r *Router) giveBack(c *change, cmd *Command) {
	if cmd.AgentID == "" || (cmd.Type != CommandAssign && cmd.Type != CommandTransfer) {
		return
	}
	conv, cause := c.conv.ID, c.cause
	c.then(func(ctx context.Context) error { return r.agents.Release(ctx, cmd.AgentID, conv, cause) })
}

// assignTo gives the conversation to the command's agent, whose slot the sender reserved.
func (r *Router) assignTo(ctx context.Context, c *change, cmd *Command) error {
	conv := c.conv
	if conv.AgentID == cmd.AgentID {
		return nil
	}
	if cmd.Type == CommandAssign && cmd.Queue != "" && (conv.Route == nil || !conv.Route.Waiting || conv.Queue != cmd.Queue) {
		r.giveBack(c, cmd) // a stale offer: the conversation moved on
		return nil
	}
	err := r.agents.Reserve(ctx, cmd.AgentID, conv.ID, r.hold(conv, c.cause))
	if errors.Is(err, agents.ErrNoRoom) {
		r.log.Info("assignment lost its reservation; the conversation stays as it is",
			zap.String("conversation", conv.ID), zap.String("agent", cmd.AgentID))
		return nil
	}
	if err != nil {
		return err
	}
	c.reserved = appendNew(c.reserved, cmd.AgentID)
	d := &rules.Decision{RulesVersion: r.Rules().Version, Queue: conv.Queue, Priority: conv.Priority, Agent: cmd.AgentID,
		Strategy: cmd.Strategy, Reason: cmd.Reason}
	if cmd.Queue != "" {
		d.Queue = cmd.Queue
	}
	if d.Strategy == "" {
		d.Strategy = "manual"
	}
	if rt := conv.Route; rt != nil {
		d.Rule, d.Target = rt.Rule, rt.Target
	}
	r.record(c, d, conv.Queue, conv.AgentID)
	return nil
}

// reroute routes an existing conversation again (escalation, overflow, re-queue, transfer
// to a queue, reopen), from the message that last routed it.
func (r *Router) reroute(ctx context.Context, c *change, in *rules.Input, why string) error {
	if !r.routingOn() {
		return nil
	}
	m, err := r.routeMessage(ctx, c.conv)
	if err != nil {
		return err
	}
	cust, err := r.customer(ctx, c.conv.CustomerID)
	if err != nil {
		return err
	}
	in.Message, in.Customer, in.Now = m, cust, r.o.Now().UTC()
	if rt := c.conv.Route; rt != nil && in.Channel == "" {
		in.Channel = rt.Channel
	}
	n := len(c.events)
	if err := r.route(ctx, c, in); err != nil {
		return err
	}
	if len(c.events) > n && why != "" {
		ev := c.events[len(c.events)-1]
		ev.Reason = why + "; " + ev.Reason
		ev.Routing.Reason = ev.Reason
	}
	return nil
}

// routeMessage is the message rules are evaluated on when a conversation is routed again:
// the conversation's last message, or what the snapshot knows when it is gone.
func (r *Router) routeMessage(ctx context.Context, conv *convState) (*schema.Message, error) {
	if id := conv.LastMessage; id != "" {
		m, _, err := r.store.Message(ctx, id)
		if err == nil && m.Direction == schema.Inbound {
			return m, nil
		}
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return nil, err
		}
	}
	return &schema.Message{Channel: conv.ReplyRoute.Channel, Account: conv.ReplyRoute.Account, Direction: schema.Inbound,
		Kind: schema.KindMessage, From: conv.ReplyRoute.To, Subject: conv.Subject, Language: conv.Language}, nil
}
