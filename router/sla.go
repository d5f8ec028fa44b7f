package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// CommandSLATimer is an SLA clock's warning or due time coming: a JetStream message schedule
// on SB_ROUTE (sb.sched.…) fires it onto the customer's partition at that time, so the timer
// survives crashes and failover like any stored message.
const CommandSLATimer CommandType = "sla_timer"

// SLATimer says which clock a timer is for.
type SLATimer struct {
	Metric   string `json:"metric"`
	Cycle    int    `json:"cycle"`
	Exchange int    `json:"exchange,omitempty"`
	Kind     string `json:"kind"` // warning or breach
}

// Timer kinds.
const (
	timerWarning = "warning"
	timerBreach  = "breach"
)

// slaTolerance is how early a timer may fire and still count (clocks of nodes differ).
const slaTolerance = time.Second

// isAgentReply reports whether ev is a person's reply to the customer.
func isAgentReply(ev *schema.Event) bool {
	m := ev.Message
	return ev.Type == schema.EventMessage && m != nil && m.Direction == schema.Outbound && m.Kind == schema.KindMessage && !m.Automated()
}

// isWaitingMessage reports whether m starts a response clock: a customer's words or button.
func isWaitingMessage(m *schema.Message) bool {
	return m != nil && m.Direction == schema.Inbound && (m.Kind == schema.KindMessage || m.Kind == schema.KindAction || m.Kind == "") &&
		!isSurveyAnswer(m)
}

// applySLA folds an SLA event into the snapshot.
func applySLA(c *convState, ev *schema.Event) {
	s := ev.SLA
	if s == nil {
		return
	}
	clock := s.Clock
	if ev.Type == schema.EventSLAApplied {
		if c.SLA == nil || c.SLA.Cycle != clock.Cycle {
			c.SLA = &schema.SLAState{Policy: s.Policy, RulesVersion: s.RulesVersion, Cycle: clock.Cycle, Clocks: map[string]*schema.SLAClock{}}
		}
		cp := clock
		c.SLA.Clocks[clock.Metric] = &cp
		return
	}
	if c.SLA == nil || c.SLA.Cycle != clock.Cycle {
		return
	}
	cur := c.SLA.Clocks[clock.Metric]
	if cur == nil || cur.Exchange != clock.Exchange {
		return
	}
	at := ev.At
	switch ev.Type {
	case schema.EventSLAWarning:
		cur.WarnedAt = &at
	case schema.EventSLABreached:
		cur.BreachedAt = &at
	case schema.EventSLASatisfied:
		cur.SatisfiedAt = &at
	}
}

// stopResponseClocks stops the response clocks still running when the conversation is
// resolved (nothing is owed any more).
func stopResponseClocks(c *convState, at time.Time) {
	if c.SLA == nil {
		return
	}
	for _, m := range []string{schema.SLAFirstResponse, schema.SLANextResponse} {
		if cl := c.SLA.Clocks[m]; cl.Running() {
			cl.StoppedAt = &at
		}
	}
}

// slaStep adds the SLA events a change causes: a met clock for a reply or a resolution, and
// new clocks for a customer's message that starts a cycle or an exchange. m is the customer
// message the change is about (nil for a command).
func (r *Router) slaStep(ctx context.Context, c *change, m *schema.Message, cust *schema.Customer) error {
	rs := r.Rules()
	conv := c.conv
	if (rs == nil || !rs.HasSLA()) && conv.SLA == nil {
		return nil
	}
	for _, ev := range append([]*schema.Event(nil), c.events...) {
		if conv.SLA == nil {
			break
		}
		switch {
		case isAgentReply(ev):
			for _, metric := range []string{schema.SLAFirstResponse, schema.SLANextResponse} {
				if cl := conv.SLA.Clocks[metric]; cl.Running() && !cl.StartedAt.After(ev.At) {
					r.emitSLA(c, schema.EventSLASatisfied, cl)
					break
				}
			}
		case ev.Type == schema.EventResolved:
			if cl := conv.SLA.Clocks[schema.SLAResolution]; cl.Running() {
				r.emitSLA(c, schema.EventSLASatisfied, cl)
			}
		}
	}
	if conv.Status != schema.ConversationOpen || conv.AwaitingSince == nil || !isWaitingMessage(m) || rs == nil {
		return nil
	}
	now := r.o.Now().UTC()
	if conv.SLA == nil || conv.SLA.Cycle != conv.Cycle {
		if cust == nil {
			var err error
			if cust, err = r.customer(ctx, conv.CustomerID); err != nil {
				return err
			}
		}
		p := rs.SLA(rules.SLAInput{Message: m, Customer: cust, Queue: conv.Queue, Priority: conv.Priority, Now: now})
		if p == nil {
			return nil
		}
		start := conv.CycleAt
		if start.IsZero() {
			start = conv.OpenedAt
		}
		// In a fixed order: a cause retried after a crash must emit the same events.
		for _, clock := range []struct {
			metric string
			from   time.Time
		}{{schema.SLAFirstResponse, *conv.AwaitingSince}, {schema.SLAResolution, start}} {
			metric, from := clock.metric, clock.from
			if cl := p.Clock(metric, conv.Priority, from); cl != nil {
				cl.Cycle = conv.Cycle
				r.applyClock(c, p.Name, rs.Version, cl)
			}
		}
		return nil
	}
	fr, nr := conv.SLA.Clocks[schema.SLAFirstResponse], conv.SLA.Clocks[schema.SLANextResponse]
	if fr == nil || fr.SatisfiedAt == nil || nr.Running() {
		return nil
	}
	p := rs.SLAPolicy(conv.SLA.Policy)
	if p == nil {
		return nil // the policy is gone from the rules: no new clocks
	}
	if cl := p.Clock(schema.SLANextResponse, conv.Priority, *conv.AwaitingSince); cl != nil {
		cl.Cycle, cl.Exchange = conv.Cycle, 1
		if nr != nil {
			cl.Exchange = nr.Exchange + 1
		}
		r.applyClock(c, conv.SLA.Policy, rs.Version, cl)
	}
	return nil
}

// applyClock emits sla_applied for a new clock and schedules its warning and due times.
func (r *Router) applyClock(c *change, policy, version string, cl *schema.SLAClock) {
	c.emit(r, schema.EventSLAApplied, func(e *schema.Event) {
		e.SLA = &schema.SLAEvent{Policy: policy, RulesVersion: version, Clock: *cl}
	})
	for _, t := range []struct {
		kind string
		at   time.Time
	}{{timerWarning, cl.WarnAt}, {timerBreach, cl.DueAt}} {
		c.timers = append(c.timers, r.timerMsg(c.conv, cl, t.kind, t.at))
	}
}

func (r *Router) emitSLA(c *change, typ schema.EventType, cl *schema.SLAClock) {
	policy, version := c.conv.SLA.Policy, c.conv.SLA.RulesVersion
	c.emit(r, typ, func(e *schema.Event) {
		clock := *cl
		at := e.At
		switch typ {
		case schema.EventSLAWarning:
			clock.WarnedAt = &at
		case schema.EventSLABreached:
			clock.BreachedAt = &at
		case schema.EventSLASatisfied:
			clock.SatisfiedAt = &at
		}
		e.SLA = &schema.SLAEvent{Policy: policy, RulesVersion: version, Clock: clock}
	})
}

// timerMsg is the message schedule that fires kind's command for clock cl at at.
func (r *Router) timerMsg(conv *convState, cl *schema.SLAClock, kind string, at time.Time) *nats.Msg {
	id := fmt.Sprintf("sla:%s:%d:%s:%d:%s", conv.ID, cl.Cycle, cl.Metric, cl.Exchange, kind)
	cmd := &Command{ID: id, Type: CommandSLATimer, ConversationID: conv.ID, CustomerID: conv.CustomerID, Actor: "sla", At: at,
		SLA: &SLATimer{Metric: cl.Metric, Cycle: cl.Cycle, Exchange: cl.Exchange, Kind: kind}}
	return r.scheduleMsg(streams.ScheduleSubject(conv.ID, cl.Cycle, cl.Metric, cl.Exchange, kind), conv.CustomerID, cmd, at)
}

// scheduleMsg is a message schedule on subject that fires cmd onto the customer's
// partition at at.
func (r *Router) scheduleMsg(subject, customer string, cmd *Command, at time.Time) *nats.Msg {
	data, _ := json.Marshal(cmd)
	return &nats.Msg{Subject: subject, Data: data,
		Header: nats.Header{
			streams.HeaderKind:     {streams.KindCommand},
			"Nats-Schedule":        {"@at " + at.UTC().Format(time.RFC3339Nano)},
			"Nats-Schedule-Target": {streams.RouteSubject(streams.Partition(customer, r.o.Partitions))},
		}}
}

// publishTimers stores a change's SLA and survey timers before its events: a crash in between leaves a
// timer for a clock that does not exist, which is ignored when it fires.
func (r *Router) publishTimers(ctx context.Context, c *change) error {
	for _, msg := range c.timers {
		if _, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msg.Subject+"@"+msg.Header.Get("Nats-Schedule"))); err != nil {
			return errors.Join(kernel.ErrUnavailable, fmt.Errorf("schedule timer %s: %w", msg.Subject, err))
		}
	}
	c.timers = nil
	return nil
}

// onSLATimer applies a fired timer: a warning or a breach of a clock still running, once.
// It reports whether the SLA state changed.
func (r *Router) onSLATimer(c *change, t *SLATimer) bool {
	conv := c.conv
	if t == nil || conv.SLA == nil || conv.SLA.Cycle != t.Cycle || conv.Status != schema.ConversationOpen {
		return false
	}
	cl := conv.SLA.Clocks[t.Metric]
	if !cl.Running() || cl.Exchange != t.Exchange {
		return false
	}
	before := slaLabel(conv)
	now := r.o.Now().UTC()
	switch t.Kind {
	case timerWarning:
		if cl.WarnedAt == nil && cl.BreachedAt == nil && !now.Before(cl.WarnAt.Add(-slaTolerance)) {
			r.emitSLA(c, schema.EventSLAWarning, cl)
		}
	case timerBreach:
		if cl.BreachedAt == nil && !now.Before(cl.DueAt.Add(-slaTolerance)) {
			r.emitSLA(c, schema.EventSLABreached, cl)
			r.metrics.SLABreaches.WithLabelValues(t.Metric, conv.SLA.Policy).Inc()
		}
	}
	return slaLabel(conv) != before
}

// slaReroute routes a waiting conversation again when its SLA state changed and the rules
// condition on it, and the rules now send it elsewhere (an escalation queue, a priority).
func (r *Router) slaReroute(ctx context.Context, c *change) error {
	if !r.Rules().UsesSLA() {
		return nil
	}
	return r.waitingReroute(ctx, c, "SLA "+slaLabel(c.conv))
}

// waitingReroute routes a waiting conversation again when the rules now give it another
// queue or priority (its SLA state or tags changed); why prefixes the decision's reason.
func (r *Router) waitingReroute(ctx context.Context, c *change, why string) error {
	rs := r.Rules()
	conv := c.conv
	if rs == nil || conv.AgentID != "" || conv.Route == nil || !conv.Route.Waiting {
		return nil
	}
	m, err := r.routeMessage(ctx, conv)
	if err != nil {
		return err
	}
	cust, err := r.customer(ctx, conv.CustomerID)
	if err != nil {
		return err
	}
	in := &rules.Input{Message: m, Customer: cust, Now: r.o.Now().UTC(), Channel: conv.Route.Channel, Conversation: conv.ID,
		SLA: slaLabel(conv), Tags: conv.Tags, NoAgent: true}
	var d rules.Decision
	r.board.Read(rs.Roster(), in.Now, conv.ID, func(v rules.AgentView) { d = rs.Decide(in, v) })
	if d.Queue == conv.Queue && d.Priority == conv.Priority {
		return nil // the same queue and priority: nothing to do
	}
	return r.reroute(ctx, c, &rules.Input{SLA: in.SLA}, why)
}

// slaLabel is a clock's state for routing conditions: ok, warning or breached ("" without).
func slaLabel(conv *convState) string {
	if conv.SLA == nil {
		return ""
	}
	state := "ok"
	for _, cl := range conv.SLA.Clocks {
		switch {
		case !cl.Running():
		case cl.BreachedAt != nil:
			return "breached"
		case cl.WarnedAt != nil:
			state = "warning"
		}
	}
	return state
}
