package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// errStale means another processor changed the conversation meanwhile: the cause is retried
// on fresh state.
var errStale = errors.New("conversation changed elsewhere; retrying on fresh state")

// change is what one cause does to one conversation: events to publish (each folded into
// the snapshot as it is emitted), then the snapshot, then follow-up writes. Every step is
// idempotent, so a cause interrupted by a crash is completed, not repeated, when it is
// redelivered.
type change struct {
	pc      *partCache
	cause   string
	conv    *convState
	rev     uint64 // 0: the conversation is new
	events  []*schema.Event
	seqs    []uint64 // the SB_CONVERSATIONS sequence of each event, once published
	actor   string
	follows []func(context.Context) error
	// routing is set when the change touched queueing or assignment: the waiting entry and
	// the agents' holds are brought in line after the commit.
	routing bool
	// transfer records a move a person asked for as "transferred", even between queues.
	transfer bool
	// wasWaiting says the conversation had a waiting entry before the change.
	wasWaiting bool
	// again says the cause was applied before this attempt (a redelivery, or one a fence
	// recovery found done): its follow-ups cannot tell what it changed, so they bring the
	// waiting line and the agents' holds in line whatever it did.
	again bool
	// reserved lists the agents this attempt reserved: if the published events name
	// somebody else (an earlier attempt decided), they are released.
	reserved []string
	// timers are the SLA timers the change's clocks need, stored before its events.
	timers []*nats.Msg
	// early are writes that run once the events are published, before the snapshot: the
	// hand-over of automated messages (a flow's, a survey's), which a redelivery of an
	// applied cause would not rebuild. A crash before the snapshot redoes the cause (or
	// completes it from its events); after it, they are done.
	early []func(context.Context) error
}

// beforeSnapshot adds a write that runs after the events, before the snapshot.
func (c *change) beforeSnapshot(f func(context.Context) error) { c.early = append(c.early, f) }

func (c *change) runEarly(ctx context.Context) error {
	for _, f := range c.early {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

// newChange starts a change of conv by cause.
func (r *Router) newChange(pc *partCache, cause string, conv *convState, rev uint64, actor string) *change {
	if conv.LastCause != cause {
		conv.Release = nil // the releases of the previous change are done
	}
	return &change{pc: pc, cause: cause, conv: conv, rev: rev, actor: actor,
		wasWaiting: conv.Route != nil && conv.Route.Waiting, again: conv.appliedCause(cause)}
}

// applied reports whether the cause was committed before (only follow-ups may be missing).
func (c *change) applied() bool { return c.conv.appliedCause(c.cause) }

// emit appends an event with the conversation's next sequence number and folds it in.
func (c *change) emit(r *Router, typ schema.EventType, fill func(*schema.Event)) {
	ev := &schema.Event{
		Schema: schema.EventSchema, ID: schema.EventID(c.cause, len(c.events)), Type: typ,
		ConversationID: c.conv.ID, CustomerID: c.conv.CustomerID, Seq: c.conv.LastSeq + 1,
		At: r.o.Now().UTC(), Actor: c.actor,
	}
	if fill != nil {
		fill(ev)
	}
	applyEvent(c.conv, ev)
	c.events = append(c.events, ev)
	if ev.Routing != nil || typ == schema.EventResolved || typ == schema.EventReopened || typ == schema.EventUnassigned ||
		typ == schema.EventPriorityChanged {
		c.routing = true
	}
}

// located returns the conversation seq and stream sequence of the message event for message
// id that this change published (zeros when it published none: a redelivered cause).
func (c *change) located(id string) (seq, streamSeq uint64) {
	for i, ev := range c.events {
		if ev.Type == schema.EventMessage && ev.Message != nil && ev.Message.ID == id && i < len(c.seqs) {
			return ev.Seq, c.seqs[i]
		}
	}
	return 0, 0
}

// checkpoint says whether the change stores the snapshot: a change of status, queue or
// agent (what other readers act on), a command (it leaves no record but its cause), or the
// stored snapshot (none: a new conversation) [checkpointEvery] events behind. Otherwise the
// events are the record and readers catch up from the stored snapshot, or fold a conversation
// that has none yet from its events ([Router.loadConv], [Store.Conversation]): opening a
// conversation nobody routes costs no snapshot write.
func (c *change) checkpoint() bool {
	if c.routing || strings.HasPrefix(c.cause, "cmd:") {
		return true
	}
	for _, ev := range c.events {
		switch ev.Type {
		case schema.EventMessage, schema.EventDelivery, schema.EventFlowStep, schema.EventOpened:
		default:
			return true
		}
	}
	return c.conv.LastSeq-c.conv.stored >= checkpointEvery
}

// then adds a write that runs after the snapshot is stored.
func (c *change) then(f func(context.Context) error) { c.follows = append(c.follows, f) }

// commit publishes the events in order, stores the snapshot and runs the follow-ups.
func (r *Router) commit(ctx context.Context, c *change) error {
	if c.applied() {
		c.again = true
		return r.followUp(ctx, c)
	}
	if err := r.publishTimers(ctx, c); err != nil {
		return err
	}
	for i := 0; i < len(c.events); i++ {
		seq, err := r.publishEvent(ctx, c.events[i], c.cause, c.conv.LastStreamSeq)
		if errors.Is(err, errFenced) {
			return r.recover(ctx, c)
		}
		if err != nil {
			return err
		}
		c.conv.LastStreamSeq = seq
		c.seqs = append(c.seqs, seq)
	}
	if err := c.runEarly(ctx); err != nil {
		return err
	}
	if strings.HasPrefix(c.conv.LastCause, "cmd:") {
		c.conv.remember(c.conv.LastCause) // commands leave no record to recognise them by
	}
	c.conv.LastCause = c.cause
	c.conv.UpdatedAt = r.o.Now().UTC()
	if c.checkpoint() {
		rev, err := kernel.PutJSON(ctx, r.store.Conversations, c.conv.ID, c.conv, c.rev)
		if err != nil {
			return err
		}
		c.rev, c.conv.stored = rev, c.conv.LastSeq
	}
	c.pc.putConv(c.conv, c.rev)
	return r.followUp(ctx, c)
}

func (r *Router) followUp(ctx context.Context, c *change) error {
	for _, f := range c.follows {
		if err := f(ctx); err != nil {
			return err
		}
	}
	// (c.applied() is true here for every change: the commit recorded its cause.)
	return r.settle(ctx, c.conv, c.routing || c.again, c.wasWaiting || c.again, c.reserved...)
}

var errFenced = errors.New("the conversation's stream has moved on")

// publishEvent publishes ev only if the conversation's last event on the stream is at
// sequence last (0: it has none): a processor working from a stale snapshot cannot append.
func (r *Router) publishEvent(ctx context.Context, ev *schema.Event, cause string, last uint64) (uint64, error) {
	data, err := kernel.Marshal(ev)
	if err != nil {
		return 0, pipeline.Poison(err)
	}
	msg := &nats.Msg{Subject: streams.EventSubject(ev), Data: data, Header: nats.Header{streams.HeaderCause: {cause}}}
	ack, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID),
		jetstream.WithExpectLastSequenceForSubject(last, streams.ConversationFilter(ev.ConversationID)))
	switch {
	case err == nil && ack.Duplicate:
		// An earlier attempt of this cause published an event with this id (JetStream
		// answers with the stored one's sequence, before any fence check). It decided
		// what the stream now says, which need not be what this attempt decided.
		same, err := r.sameAsStored(ctx, ack.Sequence, ev)
		if err != nil {
			return 0, fmt.Errorf("%w: read back event %d: %v", kernel.ErrUnavailable, ack.Sequence, err)
		}
		if !same {
			return 0, errFenced
		}
		return ack.Sequence, nil
	case err == nil:
		return ack.Sequence, nil
	case kernel.IsConflict(err):
		return 0, errFenced
	}
	return 0, fmt.Errorf("%w: publish event: %v", kernel.ErrUnavailable, err)
}

// sameAsStored reports whether the event stored at seq records what ev does: same type,
// message, queue and agent (the time and the wording of the reason may differ).
func (r *Router) sameAsStored(ctx context.Context, seq uint64, ev *schema.Event) (bool, error) {
	stored, err := r.events.At(ctx, seq)
	if err != nil {
		return false, err
	}
	if stored.Err != nil {
		return false, stored.Err
	}
	return decision(stored.Event) == decision(ev), nil
}

// decision is what two attempts of one cause must agree on for their events to be the same:
// id, type, message, queue and agent (the time and the wording of the reason may differ).
func decision(e *schema.Event) [5]string {
	k := [5]string{e.ID, string(e.Type)}
	if e.Message != nil {
		k[2] = e.Message.ID
	}
	if e.Routing != nil {
		k[3], k[4] = e.Routing.Queue, e.Routing.AgentID
	}
	return k
}

// recover handles a fenced publish: the stream holds events of the conversation that its
// stored snapshot does not reflect. They are the truth: an earlier attempt of this cause,
// or of another one that a crash interrupted between its events and its snapshot (after a
// crash, redeliveries can come after newer messages). The snapshot is rebuilt from them,
// the interrupted cause's follow-ups are completed, and this cause then completes (if it
// was the one) or is retried on the rebuilt snapshot.
func (r *Router) recover(ctx context.Context, c *change) error {
	var base convState
	rev, err := kernel.GetJSON(ctx, r.store.Conversations, c.conv.ID, &base)
	if errors.Is(err, kernel.ErrNotFound) {
		base, rev = convState{}, 0
	} else if err != nil {
		return err
	}
	base.stored = base.LastSeq
	if base.appliedCause(c.cause) {
		// The stored snapshot has this cause: its events and its writes before the
		// snapshot were done (by the attempt that stored it, or by a rebuild from them).
		c.conv, c.rev, c.again = &base, rev, true
		c.pc.putConv(&base, rev)
		return r.followUp(ctx, c)
	}
	stored, err := r.eventsAfter(ctx, c.conv.ID, base.LastStreamSeq)
	if err != nil {
		return err
	}
	if len(stored) == 0 {
		if base.LastStreamSeq > 0 { // the conversation's old events aged out of the stream
			return r.restartFence(ctx, c, &base)
		}
		return errStale
	}
	base.catchUp(stored, r.scopeOf)
	if base.LastCause == c.cause {
		rest, err := r.publishRest(ctx, c, &base, stored)
		if err != nil {
			return err
		}
		stored = append(stored, rest...)
	}
	base.UpdatedAt = r.o.Now().UTC()
	r.log.Warn("rebuilt a snapshot from published events", zap.String("conversation", base.ID),
		zap.String("completed", base.LastCause), zap.String("cause", c.cause))
	newRev, err := kernel.PutJSON(ctx, r.store.Conversations, base.ID, &base, rev)
	if err != nil {
		return err
	}
	base.stored = base.LastSeq
	c.pc.putConv(&base, newRev)
	// What the stored events ask for (records, replies to send) is done here; this
	// attempt's own writes before the snapshot are not run: they may be about events that
	// never reached the stream.
	if err := r.completeFollowUps(ctx, c.pc, &base, stored); err != nil {
		return err
	}
	if base.appliedCause(c.cause) {
		c.conv, c.rev, c.routing, c.again = &base, newRev, true, true
		return r.followUp(ctx, c)
	}
	// This cause still applies, on the rebuilt snapshot; what this attempt reserved for
	// its decision was not published.
	for _, a := range c.reserved {
		if err := r.agents.Release(ctx, a, c.conv.ID, c.cause); err != nil {
			return err
		}
	}
	return errStale
}

// publishRest publishes the events of c that an interrupted earlier attempt of the same
// cause did not get onto the stream (a crash between two of its publishes): the stored
// events of the cause must be the first events of c, deciding the same (see [decision]);
// the rest are numbered on from base. Otherwise the earlier attempt decided differently,
// and what it published stands alone. The published events are folded into base and
// returned; c learns their stream sequences (its follow-ups locate its messages by them).
func (r *Router) publishRest(ctx context.Context, c *change, base *convState, stored []*streams.Stored) ([]*streams.Stored, error) {
	var mine []*streams.Stored
	for _, se := range stored {
		if se.Cause == c.cause {
			mine = append(mine, se)
		}
	}
	k := len(mine)
	if k == 0 || k >= len(c.events) {
		return nil, nil
	}
	for i, se := range mine {
		if decision(se.Event) != decision(c.events[i]) {
			return nil, nil
		}
	}
	c.seqs = c.seqs[:0]
	for _, se := range mine {
		c.seqs = append(c.seqs, se.Seq)
	}
	var out []*streams.Stored
	for _, ev := range c.events[k:] {
		ev.Seq = base.LastSeq + 1 // base moves on with each one folded in
		seq, err := r.publishEvent(ctx, ev, c.cause, base.LastStreamSeq)
		if errors.Is(err, errFenced) {
			return nil, errStale // the stream moved on again: start over from it
		}
		if err != nil {
			return nil, err
		}
		se := &streams.Stored{Event: ev, Seq: seq, Subject: streams.EventSubject(ev), Cause: c.cause}
		base.catchUp([]*streams.Stored{se}, r.scopeOf)
		c.seqs = append(c.seqs, seq)
		out = append(out, se)
	}
	r.log.Warn("published the events an interrupted attempt did not", zap.String("conversation", base.ID),
		zap.String("cause", c.cause), zap.Int("published", len(out)), zap.Int("found", k))
	return out, nil
}

// completeFollowUps does what the causes of recovered events would have done after their
// snapshot: message records, the customer's conversation list, threading state, replies.
func (r *Router) completeFollowUps(ctx context.Context, pc *partCache, conv *convState, stored []*streams.Stored) error {
	for _, se := range stored {
		ev := se.Event
		switch {
		case ev.Type == schema.EventOpened:
			if err := r.setCurrent(ctx, pc, conv.CustomerID, conv.Scope, conv.ID); err != nil {
				return err
			}
			if err := r.addConversation(ctx, conv.CustomerID, conv.ID); err != nil {
				return err
			}
		case ev.Type == schema.EventMessage && ev.Message != nil:
			m := *ev.Message
			l := &locator{ConversationID: conv.ID, CustomerID: conv.CustomerID, Seq: ev.Seq, StreamSeq: se.Seq}
			if m.Direction != schema.Inbound {
				l.Status = m.Status
			}
			if err := r.store.record(ctx, &m, l, true); err != nil {
				return err
			}
			if m.Direction == schema.Outbound && (m.Kind == schema.KindMessage || m.Kind == schema.KindSurvey) {
				if err := r.publishOutbound(ctx, &m); err != nil {
					return err
				}
			}
		}
	}
	return r.settle(ctx, conv, true, true)
}

// restartFence republishes a change whose conversation has no events left on the stream.
func (r *Router) restartFence(ctx context.Context, c *change, base *convState) error {
	if c.conv.LastStreamSeq != base.LastStreamSeq {
		return errStale
	}
	c.conv.LastStreamSeq = 0
	return r.commit(ctx, c)
}

// eventsAfter reads the conversation's events after stream sequence after. An event that
// does not decode fails the read: the router never decides over a gap.
func (r *Router) eventsAfter(ctx context.Context, conv string, after uint64) ([]*streams.Stored, error) {
	var out []*streams.Stored
	for seq := after; ; {
		st, err := r.events.Next(ctx, streams.ConversationFilter(conv), seq) // a direct get: no consumer
		if errors.Is(err, kernel.ErrNotFound) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if st.Err != nil {
			return nil, st.Err
		}
		out = append(out, st)
		seq = st.Seq
	}
}
