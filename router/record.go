package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// A message's record is not the message: its conversation event carries that, and SB_INBOUND
// the provider's raw payload. An inbound message is found by id through the message index
// ([pipeline.MessageIndex], fixed memory); an outbound one (a reply or note, whose delivery
// status changes after its event) has a small record of its own under "o.<id>" in
// sb_messages, kept retention.messages like the send record in sb_outbox.

// locator says where a message is.
type locator struct {
	ConversationID string `json:"conversation_id"`
	CustomerID     string `json:"customer_id,omitempty"`
	// Seq is the message event's seq in the conversation; StreamSeq its SB_CONVERSATIONS
	// sequence (0 when not known: the event is then found by reading the conversation).
	Seq       uint64 `json:"seq,omitempty"`
	StreamSeq uint64 `json:"stream_seq,omitempty"`
	// InboundSeq is the inbound message's SB_INBOUND sequence (its raw payload).
	InboundSeq uint64                `json:"inbound_seq,omitempty"`
	Status     schema.DeliveryStatus `json:"status,omitempty"`
	ExternalID string                `json:"external_id,omitempty"`

	// event is the message's event when the lookup read it.
	event *schema.Event
	// legacy is a whole message record written before locators (read only).
	legacy *schema.Message
}

// Which records a lookup reads: an inbound message is only in the index, an outbound one
// only has its own record (the router's duplicate check must not pay a read for the other).
type direction int

const (
	anyDirection direction = iota
	inboundOnly
	outboundOnly
)

// locate finds a message ([kernel.ErrNotFound] when it is not routed, or past the index's
// horizon). rev is the outbound record's revision (0 for an inbound message).
func (s *Store) locate(ctx context.Context, id string, dir direction) (*locator, uint64, error) {
	if dir != inboundOnly {
		var l locator
		rev, err := kernel.GetJSON(ctx, s.Messages, streams.OutboundRecordKey(id), &l)
		if err == nil || !errors.Is(err, kernel.ErrNotFound) {
			return &l, rev, err
		}
	}
	if s.Index != nil && dir != outboundOnly {
		st, ent, err := s.Index.Locate(ctx, id)
		if err == nil {
			return &locator{ConversationID: st.Event.ConversationID, CustomerID: st.Event.CustomerID, Seq: st.Event.Seq,
				StreamSeq: st.Seq, InboundSeq: ent.InboundSeq, event: st.Event}, 0, nil
		}
		if !errors.Is(err, kernel.ErrNotFound) {
			return nil, 0, err
		}
	}
	if !s.legacy {
		return nil, 0, kernel.ErrNotFound
	}
	var m schema.Message
	rev, err := kernel.GetJSON(ctx, s.Messages, id, &m)
	if err != nil {
		return nil, 0, err
	}
	return &locator{ConversationID: m.ConversationID, CustomerID: m.CustomerID, Status: m.Status,
		ExternalID: m.ExternalID, legacy: &m}, rev, nil
}

// Message returns a message as GET /v1/messages/{id} shows it: the copy in its conversation
// event, with the delivery status and provider id its record has now and the provider's raw
// payload from SB_INBOUND (while retention.inbound keeps it). [kernel.ErrNotFound] when the
// message is not routed (yet), or past the index's horizon.
func (s *Store) Message(ctx context.Context, id string) (*schema.Message, uint64, error) {
	l, rev, err := s.locate(ctx, id, anyDirection)
	if err != nil {
		return nil, 0, err
	}
	if l.legacy != nil {
		return l.legacy, rev, nil
	}
	m, err := s.messageEvent(ctx, id, l)
	if err != nil {
		return nil, 0, err
	}
	if l.Status != "" {
		m.Status = l.Status
	}
	if l.ExternalID != "" && m.ExternalID == "" {
		m.ExternalID = l.ExternalID
	}
	if m.Direction == schema.Inbound && len(m.Raw) == 0 && m.RawRef == nil && l.InboundSeq > 0 {
		m.Raw = s.inboundRaw(ctx, id, l.InboundSeq)
	}
	return m, rev, nil
}

// messageEvent returns the message's copy from its conversation event.
func (s *Store) messageEvent(ctx context.Context, id string, l *locator) (*schema.Message, error) {
	if l.event == nil && l.StreamSeq > 0 {
		st, err := s.events.At(ctx, l.StreamSeq)
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return nil, err
		}
		if err == nil && st.Err == nil && st.Event.Message != nil && st.Event.Message.ID == id {
			l.event = st.Event
		}
	}
	if l.event == nil {
		// Not recorded (a record completed after a crash): look through the conversation.
		st, err := s.findMessageEvent(ctx, l.ConversationID, id)
		if err != nil {
			return nil, err
		}
		l.event = st.Event
	}
	m := *l.event.Message
	return &m, nil
}

// findMessageEvent reads the conversation's message events for message id's.
func (s *Store) findMessageEvent(ctx context.Context, conv, id string) (*streams.Stored, error) {
	var found *streams.Stored
	err := s.events.Read(ctx, streams.Query{Filter: streams.ConversationTypeFilter(conv, schema.EventMessage)},
		func(st *streams.Stored) error {
			if st.Err == nil && st.Event.Message != nil && st.Event.Message.ID == id {
				found = st
				return streams.ErrStop
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: message %s: no event in conversation %s", kernel.ErrNotFound, id, conv)
	}
	return found, nil
}

// inboundRaw returns the provider's payload of an inbound message from SB_INBOUND (nil when
// it aged out).
func (s *Store) inboundRaw(ctx context.Context, id string, seq uint64) json.RawMessage {
	st, err := s.js.Stream(ctx, streams.StreamInbound)
	if err != nil {
		return nil
	}
	raw, err := st.GetMsg(ctx, seq)
	if err != nil {
		return nil
	}
	var m struct {
		ID  string          `json:"id"`
		Raw json.RawMessage `json:"raw"`
	}
	if json.Unmarshal(raw.Data, &m) != nil || m.ID != id {
		return nil
	}
	return m.Raw
}

// record stores where a message is: an inbound one in the index, an outbound one as its own
// record (create: only if it has none, so a newer delivery status is kept).
func (s *Store) record(ctx context.Context, m *schema.Message, l *locator, create bool) error {
	if m.Direction == schema.Inbound {
		if s.Index == nil {
			return nil
		}
		if l.StreamSeq == 0 {
			st, err := s.findMessageEvent(ctx, l.ConversationID, m.ID)
			if err != nil {
				return err
			}
			l.StreamSeq = st.Seq
		}
		return s.Index.Add(ctx, m.ID, pipeline.IndexEntry{StreamSeq: l.StreamSeq, InboundSeq: l.InboundSeq})
	}
	data, err := kernel.Marshal(l)
	if err != nil {
		return err
	}
	if create {
		_, err = s.Messages.Create(ctx, streams.OutboundRecordKey(m.ID), data)
		if errors.Is(err, jetstream.ErrKeyExists) {
			err = nil
		}
	} else {
		_, err = s.Messages.Put(ctx, streams.OutboundRecordKey(m.ID), data)
	}
	if err != nil {
		return errors.Join(kernel.ErrUnavailable, err)
	}
	return nil
}

// conversationOf returns the conversation of a routed message ("" when unknown).
func (r *Router) conversationOf(ctx context.Context, msgID string) (string, error) {
	l, _, err := r.store.locate(ctx, msgID, anyDirection)
	if errors.Is(err, kernel.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return l.ConversationID, nil
}

// recordMessage records where a message applied by change c is (after its commit, so the
// message event's stream sequence is known).
func (r *Router) recordMessage(c *change, m *schema.Message, inboundSeq uint64) func(context.Context) error {
	return func(ctx context.Context) error {
		l := &locator{ConversationID: c.conv.ID, CustomerID: c.conv.CustomerID, InboundSeq: inboundSeq}
		if m.Direction != schema.Inbound {
			l.Status, l.ExternalID = m.Status, m.ExternalID
		}
		l.Seq, l.StreamSeq = c.located(m.ID)
		return r.store.record(ctx, m, l, false)
	}
}

// inboundSeq reads the SB_INBOUND sequence the ingest stage put on a routed message.
func inboundSeq(msg jetstream.Msg) uint64 {
	n, _ := strconv.ParseUint(msg.Headers().Get(streams.HeaderInbound), 10, 64)
	return n
}
