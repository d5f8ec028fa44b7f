package router

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/schema"
)

// threadDecision says which conversation a message joins and why.
type threadDecision struct {
	conv   *convState
	rev    uint64
	isNew  bool
	reason string
}

// onMessage threads an inbound message into its customer's conversation.
func (r *Router) onMessage(ctx context.Context, m *schema.Message) error {
	rec, _, err := r.store.Message(ctx, m.ID)
	if err != nil && !errors.Is(err, connectors.ErrNotFound) {
		return err
	}
	if err == nil && rec.ConversationID != "" {
		r.o.Metrics.Stage.WithLabelValues("router", "duplicate").Inc()
		return nil // routed before: a redelivery changes nothing
	}
	cust, custRev, err := r.store.Customer(ctx, m.CustomerID)
	if err != nil {
		return fmt.Errorf("customer %s: %w", m.CustomerID, err)
	}
	d, err := r.thread(ctx, cust, m)
	if err != nil {
		return err
	}
	c := &change{cause: m.ID, conv: d.conv, rev: d.rev, actor: "customer"}
	if d.conv.LastCause == m.ID {
		return r.followUp(ctx, r.messageFollowUps(c, m, cust, custRev))
	}
	m.ConversationID = d.conv.ID
	if d.isNew {
		c.emit(r, schema.EventOpened, func(e *schema.Event) { e.Reason = d.reason })
	}
	r.applyInbound(d.conv, m)
	c.emit(r, schema.EventMessage, func(e *schema.Event) {
		e.Message = eventMessage(m)
		if !d.isNew {
			e.Reason = d.reason
		}
	})
	return r.commit(ctx, r.messageFollowUps(c, m, cust, custRev))
}

// thread picks the conversation: the customer's open one, else a new one. A new
// conversation's id derives from the message, so a redelivery finds the one it created.
func (r *Router) thread(ctx context.Context, cust *schema.Customer, m *schema.Message) (*threadDecision, error) {
	if n := len(cust.Conversations); n > 0 {
		last := cust.Conversations[n-1]
		conv, rev, err := r.loadConv(ctx, last)
		if err != nil {
			return nil, fmt.Errorf("conversation %s: %w", last, err)
		}
		if conv.Status == schema.ConversationOpen {
			return &threadDecision{conv: conv, rev: rev, reason: "the customer's open conversation"}, nil
		}
	}
	id := schema.ConversationIDFor(m.ID)
	if conv, rev, err := r.loadConv(ctx, id); err == nil {
		return &threadDecision{conv: conv, rev: rev}, nil // created by this message before a crash
	} else if !errors.Is(err, connectors.ErrNotFound) {
		return nil, err
	}
	now := r.o.Now().UTC()
	reason := "first message from this customer"
	if len(cust.Conversations) > 0 {
		reason = "the customer's previous conversation is resolved"
	}
	conv := &convState{Conversation: schema.Conversation{
		Schema: schema.ConversationSchema, ID: id, CustomerID: cust.ID, Status: schema.ConversationOpen,
		Subject: m.Subject, OpenedAt: now, ThreadReason: reason,
	}}
	return &threadDecision{conv: conv, isNew: true, reason: reason}, nil
}

// applyInbound updates the snapshot for an inbound message.
func (r *Router) applyInbound(conv *convState, m *schema.Message) {
	conv.Messages++
	conv.LastMessage = m.ID
	conv.Channels = addChannel(conv.Channels, m.Channel)
	at := m.ReceivedAt
	conv.LastInbound = &at
	conv.ReplyRoute = schema.ReplyRoute{Channel: m.Channel, Account: m.Account, To: m.From}
	if t := m.Thread; t != nil && t.MessageID != "" {
		conv.ReplyRoute.InReplyTo = t.MessageID
		conv.ReplyRoute.References = referenceChain(t.References, t.MessageID)
	}
	if conv.Subject == "" {
		conv.Subject = m.Subject
	}
}

// messageFollowUps adds the customer's conversation list and the message record.
func (r *Router) messageFollowUps(c *change, m *schema.Message, cust *schema.Customer, custRev uint64) *change {
	m.ConversationID = c.conv.ID
	convID := c.conv.ID
	c.then(func(ctx context.Context) error {
		if slices.Contains(cust.Conversations, convID) {
			return nil
		}
		cust.Conversations = append(cust.Conversations, convID)
		cust.UpdatedAt = r.o.Now().UTC()
		_, err := put(ctx, r.store.Customers, cust.ID, cust, custRev)
		return err
	})
	c.then(r.saveRecord(m))
	return c
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
