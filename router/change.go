package router

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// convState is the stored snapshot: the public conversation plus the id of the last cause
// (message or command) applied to it, which makes applying a cause twice a no-op.
type convState struct {
	schema.Conversation
	LastCause string `json:"last_cause,omitempty"`
}

// change is what one cause does to one conversation: events to publish, then the snapshot,
// then follow-up writes. Every step is idempotent, so a cause interrupted by a crash is
// completed, not repeated, when it is redelivered.
type change struct {
	cause   string
	conv    *convState
	rev     uint64 // 0: the conversation is new
	events  []*schema.Event
	actor   string
	follows []func(context.Context) error
}

// emit appends an event with the conversation's next sequence number.
func (c *change) emit(r *Router, typ schema.EventType, fill func(*schema.Event)) {
	c.conv.LastSeq++
	ev := &schema.Event{
		Schema: schema.EventSchema, ID: schema.EventID(c.cause, len(c.events)), Type: typ,
		ConversationID: c.conv.ID, CustomerID: c.conv.CustomerID, Seq: c.conv.LastSeq,
		At: r.o.Now().UTC(), Actor: c.actor,
	}
	if fill != nil {
		fill(ev)
	}
	c.events = append(c.events, ev)
}

// then adds a write that runs after the snapshot is stored.
func (c *change) then(f func(context.Context) error) { c.follows = append(c.follows, f) }

// commit publishes the events in order, stores the snapshot and runs the follow-ups.
func (r *Router) commit(ctx context.Context, c *change) error {
	for _, ev := range c.events {
		if err := r.publishEvent(ctx, ev); err != nil {
			return err
		}
	}
	c.conv.LastCause = c.cause
	c.conv.UpdatedAt = r.o.Now().UTC()
	if _, err := put(ctx, r.store.Conversations, c.conv.ID, c.conv, c.rev); err != nil {
		return err
	}
	return r.followUp(ctx, c)
}

func (r *Router) followUp(ctx context.Context, c *change) error {
	for _, f := range c.follows {
		if err := f(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (r *Router) publishEvent(ctx context.Context, ev *schema.Event) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return pipeline.Poison(err)
	}
	msg := &nats.Msg{Subject: ev.Subject(), Data: data}
	if _, err := r.js.PublishMsg(ctx, msg, jetstream.WithMsgID(ev.ID)); err != nil {
		return errors.Join(connectors.ErrUnavailable, err)
	}
	return nil
}

// loadConv returns the stored conversation for id with its revision.
func (r *Router) loadConv(ctx context.Context, id string) (*convState, uint64, error) {
	var s convState
	rev, err := get(ctx, r.store.Conversations, id, &s)
	return &s, rev, err
}

// eventMessage is the copy of a message carried in an event: the raw provider payload stays in
// the message record (GET /v1/messages/{id}), keeping the stream light.
func eventMessage(m *schema.Message) *schema.Message {
	cp := *m
	cp.Raw = nil
	return &cp
}

// saveRecord stores the routed message record (conversation id and status filled in).
func (r *Router) saveRecord(m *schema.Message) func(context.Context) error {
	return func(ctx context.Context) error {
		data, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if _, err := r.store.Messages.Put(ctx, m.ID, data); err != nil {
			return errors.Join(connectors.ErrUnavailable, err)
		}
		return nil
	}
}

func addChannel(chs []schema.Channel, ch schema.Channel) []schema.Channel {
	if slices.Contains(chs, ch) {
		return chs
	}
	return append(chs, ch)
}
