package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
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
	actor   string
	follows []func(context.Context) error
	// routing is set when the change touched queueing or assignment: the waiting entry and
	// the agents' holds are brought in line after the commit.
	routing bool
	// transfer records a move a person asked for as "transferred", even between queues.
	transfer bool
}

// newChange starts a change of conv by cause.
func (r *Router) newChange(pc *partCache, cause string, conv *convState, rev uint64, actor string) *change {
	if conv.LastCause != cause {
		conv.Release = nil // the releases of the previous change are done
	}
	return &change{pc: pc, cause: cause, conv: conv, rev: rev, actor: actor}
}

// applied reports whether the cause was committed before (only follow-ups may be missing).
func (c *change) applied() bool { return c.conv.LastCause == c.cause }

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
	if ev.Routing != nil || typ == schema.EventResolved || typ == schema.EventReopened || typ == schema.EventUnassigned {
		c.routing = true
	}
}

// then adds a write that runs after the snapshot is stored.
func (c *change) then(f func(context.Context) error) { c.follows = append(c.follows, f) }

// commit publishes the events in order, stores the snapshot and runs the follow-ups.
func (r *Router) commit(ctx context.Context, c *change) error {
	if c.applied() {
		return r.followUp(ctx, c)
	}
	for i := 0; i < len(c.events); i++ {
		seq, err := r.publishEvent(ctx, c.events[i], c.conv.LastStreamSeq)
		if errors.Is(err, errFenced) {
			return r.recover(ctx, c)
		}
		if err != nil {
			return err
		}
		c.conv.LastStreamSeq = seq
	}
	c.conv.LastCause = c.cause
	c.conv.UpdatedAt = r.o.Now().UTC()
	rev, err := putKV(ctx, r.store.Conversations, c.conv.ID, c.conv, c.rev)
	if err != nil {
		return err
	}
	c.pc.putConv(c.conv, rev)
	return r.followUp(ctx, c)
}

func (r *Router) followUp(ctx context.Context, c *change) error {
	for _, f := range c.follows {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return r.settle(ctx, c.conv, c.routing || c.applied())
}

var errFenced = errors.New("the conversation's stream has moved on")

func convFilter(id string) string { return "sb.conv." + id + ".*" }

// publishEvent publishes ev only if the conversation's last event on the stream is at
// sequence last (0: it has none): a processor working from a stale snapshot cannot append.
func (r *Router) publishEvent(ctx context.Context, ev *schema.Event, last uint64) (uint64, error) {
	data, err := json.Marshal(ev)
	if err != nil {
		return 0, pipeline.Poison(err)
	}
	msg := &nats.Msg{Subject: ev.Subject(), Data: data}
	ack, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID),
		jetstream.WithExpectLastSequenceForSubject(last, convFilter(ev.ConversationID)))
	switch {
	case err == nil:
		return ack.Sequence, nil
	case isWrongLastSequence(err):
		return 0, errFenced
	}
	return 0, fmt.Errorf("%w: publish event: %v", connectors.ErrUnavailable, err)
}

// recover handles a fenced publish. If the events past the stored snapshot are this
// cause's own (an earlier attempt published them and failed before storing the snapshot),
// the snapshot is rebuilt from them and the cause completes as published. Anything else
// means another processor is (or was) working on the conversation: retry on fresh state.
func (r *Router) recover(ctx context.Context, c *change) error {
	var base convState
	rev, err := get(ctx, r.store.Conversations, c.conv.ID, &base)
	if errors.Is(err, connectors.ErrNotFound) {
		base, rev = convState{}, 0
	} else if err != nil {
		return err
	}
	if base.LastCause == c.cause {
		c.conv, c.rev = &base, rev
		c.pc.putConv(&base, rev)
		return r.followUp(ctx, c)
	}
	stored, err := r.eventsAfter(ctx, c.conv.ID, base.LastStreamSeq)
	if err != nil {
		return err
	}
	if len(stored) == 0 && base.LastStreamSeq > 0 {
		// The conversation's old events aged out of the stream: nothing to be fenced against.
		return r.restartFence(ctx, c, &base)
	}
	base.Release = nil
	for k, se := range stored {
		if se.ev.ID != schema.EventID(c.cause, k) {
			return errStale
		}
		applyEvent(&base, se.ev)
		base.LastStreamSeq = se.seq
	}
	r.log.Warn("completing a cause from its published events", zap.String("conversation", c.conv.ID), zap.String("cause", c.cause))
	base.LastCause, base.UpdatedAt = c.cause, r.o.Now().UTC()
	newRev, err := putKV(ctx, r.store.Conversations, base.ID, &base, rev)
	if err != nil {
		return err
	}
	c.conv, c.rev, c.routing = &base, newRev, true
	c.pc.putConv(&base, newRev)
	return r.followUp(ctx, c)
}

// restartFence republishes a change whose conversation has no events left on the stream.
func (r *Router) restartFence(ctx context.Context, c *change, base *convState) error {
	if c.conv.LastStreamSeq != base.LastStreamSeq {
		return errStale
	}
	c.conv.LastStreamSeq = 0
	return r.commit(ctx, c)
}

type storedEvent struct {
	ev  *schema.Event
	seq uint64
}

// eventsAfter reads the conversation's events after stream sequence after.
func (r *Router) eventsAfter(ctx context.Context, conv string, after uint64) ([]storedEvent, error) {
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{convFilter(conv)}}
	if after > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, after+1
	}
	cons, err := r.js.OrderedConsumer(ctx, pipeline.StreamConversations, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", connectors.ErrUnavailable, err)
	}
	var out []storedEvent
	for {
		batch, err := cons.Fetch(64, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", connectors.ErrUnavailable, err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			var ev schema.Event
			md, mdErr := m.Metadata()
			if json.Unmarshal(m.Data(), &ev) != nil || mdErr != nil {
				return nil, fmt.Errorf("undecodable event on %s", m.Subject())
			}
			out = append(out, storedEvent{&ev, md.Sequence.Stream})
			last = md.NumPending == 0
		}
		if n == 0 || last {
			return out, nil
		}
	}
}
