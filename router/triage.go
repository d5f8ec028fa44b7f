package router

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// onTriage applies a tag, priority, snooze or wake command. Each change is one event;
// a command that changes nothing records nothing.
func (r *Router) onTriage(ctx context.Context, c *change, cmd *Command) error {
	conv := c.conv
	switch cmd.Type {
	case CommandTag:
		return r.retag(ctx, c, cmd)
	case CommandPriority:
		if conv.Status == schema.ConversationOpen && cmd.Priority != conv.Priority {
			p, prev := cmd.Priority, conv.Priority
			c.emit(r, schema.EventPriorityChanged, func(e *schema.Event) {
				e.Reason, e.Triage = cmd.Reason, &schema.Triage{Priority: &p, PreviousPriority: prev}
			})
		}
	case CommandSnooze:
		if conv.Status != schema.ConversationOpen || cmd.Until == nil || !cmd.Until.After(r.o.Now()) {
			return nil
		}
		until := cmd.Until.UTC()
		c.emit(r, schema.EventSnoozed, func(e *schema.Event) { e.Reason, e.Triage = cmd.Reason, &schema.Triage{Until: &until} })
		c.timers = append(c.timers, r.wakeTimer(conv, until))
	case CommandWake:
		s := conv.SnoozedUntil
		if s == nil {
			return nil
		}
		wake := schema.WakeAgent
		if cmd.Actor == snoozeActor {
			if cmd.Until == nil || !cmd.Until.Equal(*s) {
				return nil // the timer of an earlier snooze
			}
			wake = schema.WakeTime
		}
		until := *s
		c.emit(r, schema.EventWoken, func(e *schema.Event) {
			e.Reason, e.Triage = cmd.Reason, &schema.Triage{Until: &until, Wake: wake}
			if e.Reason == "" && wake == schema.WakeTime {
				e.Reason = "snoozed until " + until.Format(time.RFC3339)
			}
		})
	}
	return nil
}

// retag adds and removes tags; a waiting conversation whose rules use tags is routed again.
func (r *Router) retag(ctx context.Context, c *change, cmd *Command) error {
	conv := c.conv
	var add, remove []string
	for _, t := range cmd.Untag {
		if slices.Contains(conv.Tags, t) && !slices.Contains(remove, t) {
			remove = append(remove, t)
		}
	}
	for _, t := range cmd.Tags {
		if !slices.Contains(conv.Tags, t) && !slices.Contains(add, t) && !slices.Contains(remove, t) {
			add = append(add, t)
		}
	}
	if room := schema.MaxTags - len(conv.Tags) + len(remove); len(add) > room {
		r.log.Warn("tags beyond the limit dropped", zap.String("conversation", conv.ID), zap.Strings("dropped", add[max(room, 0):]))
		add = add[:max(room, 0)]
	}
	if len(remove) > 0 {
		c.emit(r, schema.EventUntagged, func(e *schema.Event) { e.Reason, e.Triage = cmd.Reason, &schema.Triage{Tags: remove} })
	}
	if len(add) > 0 {
		c.emit(r, schema.EventTagged, func(e *schema.Event) { e.Reason, e.Triage = cmd.Reason, &schema.Triage{Tags: add} })
	}
	if len(add)+len(remove) == 0 || !r.Rules().UsesTags() {
		return nil
	}
	return r.waitingReroute(ctx, c, fmt.Sprintf("tags now %v", conv.Tags))
}

// wakeOnMessage wakes a snoozed conversation when the customer writes.
func (r *Router) wakeOnMessage(c *change, m *schema.Message) {
	s := c.conv.SnoozedUntil
	if s == nil || m.Direction != schema.Inbound || (m.Kind != schema.KindMessage && m.Kind != schema.KindAction) {
		return
	}
	until := *s
	c.emit(r, schema.EventWoken, func(e *schema.Event) {
		e.Reason, e.Triage = "the customer wrote", &schema.Triage{Until: &until, Wake: schema.WakeCustomer}
	})
}

// snoozeActor is the actor of the wake timer's command.
const snoozeActor = "snooze"

// wakeTimer is the message schedule that wakes a conversation snoozed until until.
func (r *Router) wakeTimer(conv *convState, until time.Time) *nats.Msg {
	cmd := &Command{ID: fmt.Sprintf("snooze:%s:%d", conv.ID, until.UnixMilli()), Type: CommandWake, ConversationID: conv.ID,
		CustomerID: conv.CustomerID, Actor: snoozeActor, At: until, Until: &until}
	return r.scheduleMsg(streams.SnoozeSubject(conv.ID, until), conv.CustomerID, cmd, until)
}
