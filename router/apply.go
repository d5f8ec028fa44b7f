package router

import (
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// convState is the stored snapshot: the public conversation plus what the router needs to
// continue it. Every field but the bookkeeping at the bottom is the fold of the
// conversation's events ([applyEvent]), so the snapshot can be rebuilt from the stream.
type convState struct {
	schema.Conversation
	// Scope is the threading scope the conversation was opened in ("" or a channel).
	Scope string      `json:"scope,omitempty"`
	Route *routeState `json:"route,omitempty"`
	// Language is the last language a customer message was detected in.
	Language string `json:"language,omitempty"`
	// Cycle counts reopenings; CycleAt is when the current cycle began (opened or reopened).
	Cycle   int       `json:"cycle,omitempty"`
	CycleAt time.Time `json:"cycle_at,omitzero"`
	// AwaitingSince is the customer's oldest message no agent has answered yet.
	AwaitingSince *time.Time `json:"awaiting_since,omitempty"`
	// Surveys counts the surveys scheduled on the conversation (survey ids number them).
	Surveys int `json:"surveys,omitempty"`
	// Release lists agents whose hold on the conversation the last change ended.
	Release []string `json:"release,omitempty"`

	// LastCause is the id of the last cause (message or command) applied: applying a cause
	// twice is a no-op.
	LastCause string `json:"last_cause,omitempty"`
	// LastStreamSeq is the stream sequence of the conversation's last event: the next event
	// is published only if it is still the last (a fence against a stale writer).
	LastStreamSeq uint64 `json:"last_stream_seq,omitempty"`
	// Recent lists recent commands and causes completed from their published events after a
	// crash: a redelivery, possibly after later causes, must not apply them again. (A
	// message's record says whether it was applied; commands have no record.)
	Recent []string `json:"recent_causes,omitempty"`

	// stored is LastSeq of the snapshot as stored: the snapshot is a checkpoint, written
	// every [checkpointEvery] events (and at every change that opens, routes, resolves or
	// reopens), and whoever reads it folds in the events past it ([convState.catchUp]).
	stored uint64
}

// checkpointEvery bounds how many events a stored snapshot may lag behind its stream.
const checkpointEvery = 16

// catchUp folds events stored past the snapshot into it: their causes become the last and
// the recent ones. scopeOf (nil: left alone) gives the threading scope of a channel.
func (c *convState) catchUp(stored []*streams.Stored, scopeOf func(schema.Channel) string) {
	if len(stored) == 0 {
		return
	}
	c.Release = nil
	prior := c.LastCause
	for _, se := range stored {
		if scopeOf != nil && c.Scope == "" && se.Event.Message != nil && se.Event.Message.Direction == schema.Inbound && c.Messages == 0 {
			c.Scope = scopeOf(se.Event.Message.Channel)
		}
		applyEvent(c, se.Event)
		c.LastStreamSeq = se.Seq
		c.UpdatedAt = se.Event.At
		if se.Cause != c.LastCause {
			if c.LastCause != prior {
				c.remember(c.LastCause)
			}
			c.LastCause = se.Cause
		}
	}
}

// maxRecent bounds the causes a snapshot remembers.
const maxRecent = 32

// appliedCause reports whether a cause was applied to the conversation.
func (c *convState) appliedCause(cause string) bool {
	return c.LastCause == cause || slices.Contains(c.Recent, cause)
}

// remember keeps a cause among the recent ones.
func (c *convState) remember(cause string) {
	if cause == "" || slices.Contains(c.Recent, cause) {
		return
	}
	c.Recent = append(c.Recent, cause)
	if len(c.Recent) > maxRecent {
		c.Recent = c.Recent[len(c.Recent)-maxRecent:]
	}
}

// routeState is the routing part of the snapshot.
type routeState struct {
	RulesVersion string         `json:"rules_version,omitempty"`
	Rule         string         `json:"rule,omitempty"`
	Target       int            `json:"target"`
	Channel      schema.Channel `json:"channel"`
	Language     string         `json:"language,omitempty"`
	Waiting      bool           `json:"waiting"`
	TargetAt     time.Time      `json:"target_at"`
	TimeoutAt    *time.Time     `json:"timeout_at,omitempty"`
}

// routed reports whether the conversation was routed (queued, assigned, or found no rule).
func (c *convState) routed() bool { return c.Route != nil || c.Queue != "" || c.AgentID != "" }

// applyEvent folds one event into the snapshot.
func applyEvent(c *convState, ev *schema.Event) {
	c.LastSeq = ev.Seq
	switch ev.Type {
	case schema.EventOpened:
		c.Schema, c.ID, c.CustomerID = schema.ConversationSchema, ev.ConversationID, ev.CustomerID
		c.Status, c.OpenedAt, c.ThreadReason = schema.ConversationOpen, ev.At, ev.Reason
		c.CycleAt = ev.At
		if ev.Survey != nil && ev.Survey.Route != nil {
			c.ReplyRoute = *ev.Survey.Route // a recovery task answers where the survey was answered
		}
	case schema.EventMessage:
		applyMessage(c, ev.Message)
		if ev.Message != nil {
			applySurveyMessage(c, ev.Message)
		}
		switch {
		case isWaitingMessage(ev.Message) && c.AwaitingSince == nil:
			at := ev.At
			c.AwaitingSince = &at
		case isAgentReply(ev):
			c.AwaitingSince = nil
		}
	case schema.EventFlowStep, schema.EventFlowHandoff, schema.EventFlowCompleted:
		applyFlow(c, ev)
	case schema.EventSLAApplied, schema.EventSLAWarning, schema.EventSLABreached, schema.EventSLASatisfied:
		applySLA(c, ev)
	case schema.EventSurveyScheduled, schema.EventSurveySent, schema.EventSurveyAnswered, schema.EventSurveyExpired, schema.EventSurveySkipped:
		applySurvey(c, ev)
	case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
		applyRouting(c, ev)
	case schema.EventUnassigned:
		c.Release = appendNew(c.Release, c.AgentID)
		c.AgentID = ""
	case schema.EventTagged, schema.EventUntagged, schema.EventPriorityChanged, schema.EventSnoozed, schema.EventWoken:
		applyTriage(c, ev)
	case schema.EventResolved:
		at := ev.At
		c.Status, c.ResolvedAt = schema.ConversationResolved, &at
		c.SnoozedUntil = nil
		c.Release = appendNew(c.Release, c.AgentID)
		c.QueuedAt = nil
		if c.Route != nil {
			c.Route.Waiting = false
		}
		c.AwaitingSince = nil
		stopResponseClocks(c, ev.At)
	case schema.EventReopened:
		c.Cycle++
		c.CycleAt, c.AwaitingSince, c.SLA = ev.At, nil, nil
		c.Status, c.ResolvedAt = schema.ConversationOpen, nil
		c.Queue, c.Priority, c.Route = "", 0, nil
		c.Release = appendNew(c.Release, c.AgentID)
		c.AgentID = ""
	}
}

// applyTriage folds a tagged, untagged, priority_changed, snoozed or woken event.
func applyTriage(c *convState, ev *schema.Event) {
	t := ev.Triage
	if t == nil {
		return
	}
	switch ev.Type {
	case schema.EventTagged:
		for _, tag := range t.Tags {
			if !slices.Contains(c.Tags, tag) {
				c.Tags = append(c.Tags, tag)
			}
		}
	case schema.EventUntagged:
		c.Tags = slices.DeleteFunc(c.Tags, func(tag string) bool { return slices.Contains(t.Tags, tag) })
		if len(c.Tags) == 0 {
			c.Tags = nil
		}
	case schema.EventPriorityChanged:
		if t.Priority != nil {
			c.Priority = *t.Priority
		}
	case schema.EventSnoozed:
		c.SnoozedUntil = t.Until
	case schema.EventWoken:
		c.SnoozedUntil = nil
	}
}

func applyMessage(c *convState, m *schema.Message) {
	if m == nil {
		return
	}
	c.Messages++
	c.LastMessage = m.ID
	if m.Direction != schema.Inbound {
		return
	}
	c.Channels = addChannel(c.Channels, m.Channel)
	if c.Subject == "" {
		c.Subject = m.Subject
	}
	if m.Kind != schema.KindMessage && m.Kind != schema.KindAction {
		return
	}
	if m.Language != "" {
		c.Language = m.Language
	}
	at := m.ReceivedAt
	c.LastInbound = &at
	c.ReplyRoute = schema.ReplyRoute{Channel: m.Channel, Account: m.Account, To: m.From}
	if t := m.Thread; t != nil && t.MessageID != "" {
		c.ReplyRoute.InReplyTo = t.MessageID
		c.ReplyRoute.References = referenceChain(t.References, t.MessageID)
	}
}

// applyRouting folds a queued, assigned or transferred event.
func applyRouting(c *convState, ev *schema.Event) {
	r := ev.Routing
	if r == nil {
		return
	}
	if c.AgentID != "" && c.AgentID != r.AgentID {
		c.Release = appendNew(c.Release, c.AgentID)
	}
	rs := &routeState{RulesVersion: r.RulesVersion, Rule: r.Rule, Target: r.Target, Channel: c.ReplyRoute.Channel,
		Waiting: r.AgentID == "", TargetAt: ev.At, TimeoutAt: r.TimeoutAt}
	if old := c.Route; old != nil && old.Rule == r.Rule && old.Target == r.Target && old.Waiting {
		rs.TargetAt = old.TargetAt // still the same target: its timeout runs on
	}
	rs.Language = c.Language
	c.Route = rs
	c.Queue, c.Priority, c.AgentID = r.Queue, r.Priority, r.AgentID
	if rs.Waiting && c.QueuedAt == nil {
		at := ev.At
		c.QueuedAt = &at
	}
	if !rs.Waiting {
		c.QueuedAt = nil
	}
}

func appendNew(list []string, id string) []string {
	if id == "" || slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}

func addChannel(chs []schema.Channel, ch schema.Channel) []schema.Channel {
	if slices.Contains(chs, ch) {
		return chs
	}
	return append(chs, ch)
}

// maxReferences bounds the References chain kept for replies (RFC 5322 allows trimming the
// middle; mail clients need the first and the last ids).
const maxReferences = 20

// referenceChain is the References header of a reply to a message with these references and
// Message-ID: its references plus its id, the middle trimmed when long.
func referenceChain(refs []string, id string) []string {
	chain := append(append([]string(nil), refs...), id)
	if len(chain) > maxReferences {
		chain = append(chain[:1], chain[len(chain)-maxReferences+1:]...)
	}
	return chain
}
