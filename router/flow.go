package router

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/flows"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/router/survey"
	"github.com/switchboardhq/switchboard/schema"
)

// CommandFlowTimer is a flow question's timeout coming (a JetStream message schedule).
const CommandFlowTimer CommandType = "flow_timer"

// flowActor is the actor of flow events and the bot's messages.
const flowActor = "flow"

// Flows returns the flows in force (nil: none configured).
func (r *Router) Flows() *flows.File { return r.o.Flows.Current() }

// FlowsHolder is the holder of the flows (nil: none configured).
func (r *Router) FlowsHolder() *FlowsHolder { return r.o.Flows }

// enterFlow starts the flow a conversation being routed for a customer's message should
// enter, if any: the flow the matching rule names, else the flows file's default for the
// channel. It reports whether the conversation entered one (then it is not queued now).
func (r *Router) enterFlow(ctx context.Context, c *change, in *rules.Input) (bool, error) {
	file := r.Flows()
	conv, m := c.conv, in.Message
	if file == nil || m == nil || m.Direction != schema.Inbound || in.Prefer != "" {
		return false, nil
	}
	if conv.Flow != nil && conv.Flow.Cycle == conv.Cycle {
		return false, nil // one flow per cycle: a hand-off's routing does not start it again
	}
	in.Conversation, in.Tags = conv.ID, conv.Tags
	name, rule := r.Rules().FlowFor(in)
	why := ""
	switch {
	case name == rules.FlowNone:
		return false, nil
	case name != "":
		why = "rule " + rule + " names flow " + name
	default:
		if name = file.Default(string(m.Channel), m.Account); name == "" {
			return false, nil
		}
		why = "the default flow for " + string(m.Channel)
	}
	f := file.Flow(name)
	if f == nil {
		r.log.Warn("a rule names a flow the flows file does not define; routing without it",
			zap.String("flow", name), zap.String("rule", rule), zap.String("conversation", conv.ID))
		return false, nil
	}
	st, out := f.StartIn(r.flowIn(ctx, c, m, in.Customer), flows.CustomerVars(in.Customer, m))
	st.Cycle = conv.Cycle
	r.metrics.FlowEntries.WithLabelValues(f.Name).Inc()
	return true, r.flowTurn(ctx, c, st, out, m, in.Customer, "entered flow "+name+": "+why)
}

func (r *Router) flowIn(ctx context.Context, c *change, m *schema.Message, cust *schema.Customer) flows.In {
	return flows.In{Ctx: ctx, Now: r.o.Now().UTC(), Message: m, Customer: cust, Tags: c.conv.Tags, Conversation: c.conv.ID}
}

// flowAnswer takes a customer's message in a conversation whose flow waits for them.
func (r *Router) flowAnswer(ctx context.Context, c *change, m *schema.Message, cust *schema.Customer) error {
	st := *c.conv.Flow
	f := r.Flows().Flow(st.Flow)
	if f == nil {
		out := flows.Output{Handoff: &flows.Handoff{Reason: "flow " + st.Flow + " is no longer defined"}}
		st.Done, st.Waiting, st.WaitUntil, st.Outcome = true, false, nil, schema.FlowOutcomeHandoff
		return r.flowTurn(ctx, c, st, out, m, cust, "")
	}
	text, payload := flows.AnswerOf(m)
	st, out := f.AnswerIn(r.flowIn(ctx, c, m, cust), st, text, payload)
	return r.flowTurn(ctx, c, st, out, m, cust, "")
}

// onFlowTimer applies a flow question's timeout, once, if the question still waits.
func (r *Router) onFlowTimer(ctx context.Context, c *change, cmd *Command) error {
	st := c.conv.Flow
	if !st.Active() || !st.Waiting || st.WaitUntil == nil || cmd.Until == nil || !st.WaitUntil.Equal(*cmd.Until) {
		return nil // answered meanwhile, or the timer of an earlier question
	}
	f := r.Flows().Flow(st.Flow)
	if f == nil {
		out := flows.Output{Handoff: &flows.Handoff{Reason: "flow " + st.Flow + " is no longer defined"}}
		end := *st
		end.Done, end.Waiting, end.WaitUntil, end.Outcome = true, false, nil, schema.FlowOutcomeHandoff
		return r.flowTurn(ctx, c, end, out, nil, nil, "")
	}
	in := r.flowIn(ctx, c, nil, nil)
	if in.Now.Before(*st.WaitUntil) {
		in.Now = *st.WaitUntil // a timer that fires a little early
	}
	next, out := f.TimeoutIn(in, *st)
	r.metrics.FlowOutcomes.WithLabelValues(f.Name, "timeout", st.Step).Inc()
	return r.flowTurn(ctx, c, next, out, nil, nil, "")
}

// flowTurn records one turn of a flow: one flow event (the steps, why, the state after
// them), the bot's messages, what set steps changed, and the end: a hand-off routes the
// conversation to the flow's queue (or by the rules), a resolution resolves it.
func (r *Router) flowTurn(ctx context.Context, c *change, st flows.State, out flows.Output, m *schema.Message, cust *schema.Customer, why string) error {
	if len(out.Steps) == 0 && len(out.Messages) == 0 && !out.Ended() {
		return nil
	}
	typ := schema.EventFlowStep
	fe := &schema.FlowEvent{Flow: st.Flow, Version: st.Version, Steps: out.Steps}
	switch {
	case out.Handoff != nil:
		typ, fe.Outcome, fe.Queue, fe.Answers = schema.EventFlowHandoff, schema.FlowOutcomeHandoff, out.Handoff.Queue, out.Handoff.Answers
	case out.Resolved != "":
		typ, fe.Outcome = schema.EventFlowCompleted, schema.FlowOutcomeResolved
	}
	state := st
	state.Vars = maps.Clone(st.Vars)
	fe.State = &state
	if why == "" && len(out.Steps) > 0 {
		why = out.Steps[len(out.Steps)-1].Why
	}
	c.emit(r, typ, func(e *schema.Event) { e.Actor, e.Reason, e.Flow = flowActor, why, fe })
	for _, s := range out.Steps {
		r.metrics.FlowSteps.WithLabelValues(st.Flow, s.Step).Inc()
	}
	now := r.o.Now().UTC()
	for i, fm := range out.Messages {
		if bot := r.flowMessage(c, fm, i, now); bot != nil {
			c.emit(r, schema.EventMessage, func(e *schema.Event) { e.Actor, e.Message = flowActor, eventMessage(bot) })
			c.beforeSnapshot(func(ctx context.Context) error { return r.publishOutbound(ctx, bot) })
			c.then(r.recordMessage(c, bot, 0))
		}
	}
	r.flowSets(c, out)
	if st.Waiting && st.WaitUntil != nil {
		c.timers = append(c.timers, r.flowTimer(c.conv, *st.WaitUntil))
	}
	last := st.Step
	switch {
	case out.Handoff != nil:
		r.metrics.FlowOutcomes.WithLabelValues(st.Flow, schema.FlowOutcomeHandoff, last).Inc()
		return r.flowHandoff(ctx, c, m, cust, st.Flow, out.Handoff)
	case out.Resolved != "":
		r.metrics.FlowOutcomes.WithLabelValues(st.Flow, schema.FlowOutcomeResolved, last).Inc()
		reason := "contained by flow " + st.Flow + ": " + out.Resolved
		c.emit(r, schema.EventResolved, func(e *schema.Event) {
			e.Actor, e.Reason, e.Routing = flowActor, reason, r.statusRouting(c.conv, reason)
		})
	}
	return nil
}

// flowHandoff routes a conversation the flow handed off: to its queue (the rules' choice
// when it names none), the answers in the decision's reason.
func (r *Router) flowHandoff(ctx context.Context, c *change, m *schema.Message, cust *schema.Customer, flow string, h *flows.Handoff) error {
	if r.Rules() == nil {
		return nil
	}
	in := &rules.Input{Message: m, Customer: cust, Queue: h.Queue, Now: r.o.Now().UTC()}
	if m == nil {
		in.Message = &schema.Message{Channel: c.conv.ReplyRoute.Channel, Account: c.conv.ReplyRoute.Account, Language: c.conv.Language}
	}
	in.Channel = in.Message.Channel
	n := len(c.events)
	if err := r.route(ctx, c, in); err != nil {
		return err
	}
	note := "flow " + flow + " handed off: " + h.Reason
	if len(h.Answers) > 0 {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(h.Answers)) {
			kv = append(kv, k+"="+h.Answers[k])
		}
		note += " (answers: " + strings.Join(kv, ", ") + ")"
	}
	for _, ev := range c.events[n:] {
		if ev.Routing != nil {
			ev.Reason = note + "; " + ev.Reason
			ev.Routing.Reason = ev.Reason
		}
	}
	return nil
}

// flowSets applies what set steps changed: tags, the priority, customer attributes.
func (r *Router) flowSets(c *change, out flows.Output) {
	var add []string
	for _, t := range out.Tags {
		if n, err := schema.NormalizeTag(t); err == nil && !slices.Contains(c.conv.Tags, n) && !slices.Contains(add, n) {
			add = append(add, n)
		}
	}
	if room := schema.MaxTags - len(c.conv.Tags); len(add) > room {
		add = add[:max(room, 0)]
	}
	if len(add) > 0 {
		c.emit(r, schema.EventTagged, func(e *schema.Event) {
			e.Actor, e.Reason, e.Triage = flowActor, "set by flow "+c.conv.Flow.Flow, &schema.Triage{Tags: add}
		})
	}
	if p := out.Priority; p != nil && *p != c.conv.Priority && c.conv.Status == schema.ConversationOpen {
		prio, prev := *p, c.conv.Priority
		c.emit(r, schema.EventPriorityChanged, func(e *schema.Event) {
			e.Actor, e.Reason, e.Triage = flowActor, "set by flow "+c.conv.Flow.Flow, &schema.Triage{Priority: &prio, PreviousPriority: prev}
		})
	}
	if len(out.Customer) > 0 {
		customer, attrs, at := c.conv.CustomerID, maps.Clone(out.Customer), r.o.Now().UTC()
		c.then(func(ctx context.Context) error {
			return identity.SetAttributes(ctx, r.store.Customers, customer, attrs, at)
		})
	}
}

// stopFlow ends a running flow when a person steps in: an agent's reply, an assignment or
// transfer, a resolution by hand.
func (r *Router) stopFlow(c *change, cmd *Command) bool {
	st := c.conv.Flow
	if !st.Active() || c.applied() {
		return false
	}
	var why string
	switch cmd.Type {
	case CommandReply:
		why = "an agent replied"
	case CommandAssign, CommandTransfer:
		why = "the conversation was given to an agent or queue"
	case CommandResolve:
		why = "the conversation was resolved by hand"
	default:
		return false
	}
	if cmd.Actor != "" {
		why += " (" + cmd.Actor + ")"
	}
	state := *st
	state.Done, state.Waiting, state.WaitUntil, state.Outcome = true, false, nil, schema.FlowOutcomeStopped
	state.Vars = maps.Clone(st.Vars)
	c.emit(r, schema.EventFlowCompleted, func(e *schema.Event) {
		e.Reason = why
		e.Flow = &schema.FlowEvent{Flow: st.Flow, Version: st.Version, State: &state, Outcome: schema.FlowOutcomeStopped}
	})
	r.metrics.FlowOutcomes.WithLabelValues(st.Flow, schema.FlowOutcomeStopped, st.Step).Inc()
	return true
}

// agentOf is the agent id of a command's actor ("agent:<id>;token:<name>"), "" for others.
func agentOf(actor string) string {
	id, ok := strings.CutPrefix(actor, "agent:")
	if !ok {
		return ""
	}
	id, _, _ = strings.Cut(id, ";")
	return id
}

// applyFlow folds a flow event into the snapshot.
func applyFlow(c *convState, ev *schema.Event) {
	if ev.Flow != nil && ev.Flow.State != nil {
		st := *ev.Flow.State
		c.Flow = &st
	}
}

// flowTimer is the message schedule of a flow question's timeout.
func (r *Router) flowTimer(conv *convState, at time.Time) *nats.Msg {
	cmd := &Command{ID: fmt.Sprintf("flow:%s:%d", conv.ID, at.UnixMilli()), Type: CommandFlowTimer, ConversationID: conv.ID,
		CustomerID: conv.CustomerID, Actor: flowActor, At: at, Until: &at}
	return r.scheduleMsg(streams.FlowTimerSubject(conv.ID, at), conv.CustomerID, cmd, at)
}

// flowMessage renders a bot message for the conversation's channel: native buttons, quick
// replies, lists or a keyboard where the channel has them, the options numbered in the text
// (which every channel can show) always. The id derives from the turn's cause, so a
// redelivered message makes the same bot message, sent once.
func (r *Router) flowMessage(c *change, fm flows.Message, i int, now time.Time) *schema.Message {
	conv, rt := c.conv, c.conv.ReplyRoute
	if rt.Channel == "" || rt.To.Value == "" {
		return nil
	}
	id := schema.MessageID("flow:" + c.cause + ":" + strconv.Itoa(i))
	m := &schema.Message{Schema: schema.MessageSchema, ID: id, ExternalID: id, From: schema.Address{Kind: "agent", Value: flowActor},
		Channel: rt.Channel, Account: rt.Account, Direction: schema.Outbound, Kind: schema.KindMessage,
		To: []schema.Address{rt.To}, ConversationID: conv.ID, CustomerID: conv.CustomerID, Status: schema.StatusPending,
		LastInboundAt: conv.LastInbound, Flags: []string{schema.FlagAutomated}, Language: conv.Language, ReceivedAt: now,
		Subject: conv.Subject, Text: fm.Text}
	if rt.InReplyTo != "" {
		m.Thread = &schema.Thread{InReplyTo: []string{rt.InReplyTo}, References: rt.References}
	}
	if len(fm.Options) == 0 {
		return m
	}
	lines := []string{fm.Text}
	ch := &schema.Choices{Style: "buttons", Prompt: fm.Text, Button: "Options"}
	for _, o := range fm.Options {
		lines = append(lines, fmt.Sprintf("%d. %s", o.Number, o.Label))
		ch.Options = append(ch.Options, schema.Choice{Payload: flows.PayloadPrefix + o.Payload, Title: o.Label})
	}
	m.Text = strings.Join(lines, "\n")
	if survey.Native[rt.Channel] {
		m.Choices = ch
	}
	return m
}
