package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// onCommand applies a helpdesk or dispatcher command.
func (r *Router) onCommand(ctx context.Context, pc *partCache, cmd *Command) error {
	conv, rev, err := r.loadConv(ctx, pc, cmd.ConversationID)
	if errors.Is(err, kernel.ErrNotFound) && (cmd.Type == CommandSLATimer || cmd.Type == CommandSurveyTimer || cmd.Type == CommandWake || cmd.Type == CommandFlowTimer) {
		return nil // the conversation is gone: nothing is owed
	}
	if errors.Is(err, kernel.ErrNotFound) && cmd.Type == CommandRecover {
		return r.openRecovery(ctx, pc, cmd)
	}
	if errors.Is(err, kernel.ErrNotFound) {
		return pipeline.Poison(fmt.Errorf("command %s: unknown conversation %s", cmd.ID, cmd.ConversationID))
	}
	if err != nil {
		return err
	}
	c := r.newChange(pc, cmd.Cause(), conv, rev, cmd.Actor)
	stopped := r.stopFlow(c, cmd)
	if err := r.applyCommand(ctx, c, cmd); err != nil {
		return err
	}
	if stopped && cmd.Type == CommandReply && c.conv.Status == schema.ConversationOpen && !c.conv.routed() {
		// The agent who answered the customer in the middle of a flow keeps the
		// conversation when they can take it; otherwise it is queued by the rules.
		if err := r.reroute(ctx, c, &rules.Input{Prefer: agentOf(cmd.Actor)}, "the flow stopped: an agent replied"); err != nil {
			return err
		}
	}
	if !c.applied() && cmd.Type != CommandSLATimer {
		if err := r.slaStep(ctx, c, nil, nil); err != nil {
			return err
		}
	}
	if !c.applied() {
		if err := r.surveyStep(ctx, c); err != nil {
			return err
		}
	}
	if len(c.events) == 0 && !c.applied() {
		return r.followUp(ctx, c) // nothing to record (already so); follow-ups may still matter
	}
	return r.commit(ctx, c)
}

func (r *Router) applyCommand(ctx context.Context, c *change, cmd *Command) error {
	conv, fresh := c.conv, !c.applied()
	switch cmd.Type {
	case CommandReply, CommandNote:
		if cmd.Message == nil {
			return pipeline.Poison(fmt.Errorf("command %s: %s without a message", cmd.ID, cmd.Type))
		}
		r.reply(c, cmd)
	case CommandResolve:
		if fresh && conv.Status == schema.ConversationOpen {
			c.emit(r, schema.EventResolved, func(e *schema.Event) { e.Reason, e.Routing = cmd.Reason, r.statusRouting(conv, cmd.Reason) })
		}
	case CommandReopen:
		if fresh && conv.Status == schema.ConversationResolved {
			keep := ""
			if r.o.Config.Threading.keepAgent(conv.ReplyRoute.Channel) {
				keep = conv.AgentID
			}
			c.emit(r, schema.EventReopened, func(e *schema.Event) { e.Reason, e.Routing = cmd.Reason, r.statusRouting(conv, cmd.Reason) })
			return r.reroute(ctx, c, &rules.Input{Prefer: keep}, "reopened by "+cmd.Actor)
		}
	case CommandAssign, CommandTransfer, CommandRequeue, CommandEscalate, CommandOverflow, CommandReroute:
		if fresh {
			return r.routingCommand(ctx, c, cmd)
		}
	case CommandSLATimer:
		if fresh && r.onSLATimer(c, cmd.SLA) {
			return r.slaReroute(ctx, c)
		}
	case CommandSurveyTimer:
		if fresh {
			return r.onSurveyTimer(ctx, c, cmd.Survey)
		}
	case CommandSurvey, CommandSurveyAnswer:
		if fresh {
			return r.onSurveyCommand(ctx, c, cmd)
		}
	case CommandFlowTimer:
		if fresh {
			return r.onFlowTimer(ctx, c, cmd)
		}
	case CommandTag, CommandPriority, CommandSnooze, CommandWake:
		if fresh {
			return r.onTriage(ctx, c, cmd)
		}
	case CommandRecover:
		// the recovery conversation exists: opened by an earlier delivery
	default:
		return pipeline.Poison(fmt.Errorf("command %s: unknown type %q", cmd.ID, cmd.Type))
	}
	return nil
}

// statusRouting is what a resolved or reopened event says about routing: the rules version
// in force and the conversation's queue, agent, rule and target at that moment (nil when
// routing is off).
func (r *Router) statusRouting(conv *convState, reason string) *schema.Routing {
	rs := r.Rules()
	if rs == nil {
		return nil
	}
	rt := &schema.Routing{RulesVersion: rs.Version, Queue: conv.Queue, AgentID: conv.AgentID, Priority: conv.Priority, Reason: reason}
	if conv.Route != nil {
		rt.Rule, rt.Target = conv.Route.Rule, conv.Route.Target
	}
	return rt
}

// reply turns an agent's message into an outbound message on the customer's channel.
func (r *Router) reply(c *change, cmd *Command) {
	conv := c.conv
	m := cmd.Message
	m.Schema, m.Direction = schema.MessageSchema, schema.Outbound
	m.ConversationID, m.CustomerID = conv.ID, conv.CustomerID
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = cmd.At
	}
	// A note is never sent; it names the channel and account a reply would take, so that it
	// conforms to the message schema like every other message event.
	m.Channel, m.Account = conv.ReplyRoute.Channel, conv.ReplyRoute.Account
	if cmd.Type == CommandNote {
		m.Kind = schema.KindNote
	} else {
		m.Kind = schema.KindMessage
		m.To = []schema.Address{conv.ReplyRoute.To}
		m.Status = schema.StatusPending
		m.LastInboundAt = conv.LastInbound
		if m.Subject == "" {
			m.Subject = conv.Subject
		}
		if rr := conv.ReplyRoute; rr.InReplyTo != "" && m.Thread == nil {
			m.Thread = &schema.Thread{InReplyTo: []string{rr.InReplyTo}, References: rr.References}
		}
	}
	if !c.applied() {
		c.emit(r, schema.EventMessage, func(e *schema.Event) { e.Message = eventMessage(m) })
	}
	c.then(r.recordMessage(c, m, 0))
	if cmd.Type == CommandReply {
		c.then(func(ctx context.Context) error { return r.publishOutbound(ctx, m) })
	}
}

// publishOutbound hands a reply to its channel's sender (deduplicated by message id).
func (r *Router) publishOutbound(ctx context.Context, m *schema.Message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return pipeline.Poison(err)
	}
	msg := &nats.Msg{Subject: streams.OutboundSubject(m.Channel, m.Account), Data: data}
	if _, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(m.ID)); err != nil {
		return errors.Join(kernel.ErrUnavailable, err)
	}
	return nil
}
