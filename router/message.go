package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/identity"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// onMessage threads an inbound message into its customer's conversation and routes the
// conversation when it needs an agent.
func (r *Router) onMessage(ctx context.Context, pc *partCache, m *schema.Message, inSeq uint64) error {
	// A copy of a message routed before (a redelivery after a lost ack, a provider's late
	// duplicate past the dedupe windows) may come after later messages were applied: the
	// message's record (kept retention.messages), written once the message is routed, says so.
	rec, _, err := r.store.locate(ctx, m.ID, inboundOnly)
	if err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return err
	}
	if err == nil && rec.ConversationID != "" {
		r.o.Metrics.Stage.WithLabelValues("router", "duplicate").Inc()
		if rec.InboundSeq == 0 && inSeq > 0 && rec.legacy == nil {
			rec.InboundSeq = inSeq // a record rebuilt from its event does not know where the raw payload is
			return r.store.record(ctx, m, rec, false)
		}
		return nil
	}
	fresh := r.takeFresh(m)
	if fresh != nil {
		pc.setOpening(m.ID, true)
		defer pc.setOpening(m.ID, false)
	}
	ts, _, read, err := r.readThreadFresh(ctx, pc, m.CustomerID, fresh)
	if err != nil {
		return err
	}
	if took, err := r.takeSurveyAnswer(ctx, pc, ts, m, inSeq); took || err != nil {
		return err
	}
	d, err := r.thread(ctx, pc, ts, m)
	if err != nil {
		return err
	}
	var cust *schema.Customer
	if d.isNew || d.route {
		if cust = read; cust == nil {
			if cust, err = r.customer(ctx, m.CustomerID); err != nil {
				return err
			}
		}
		if cust.MergedInto != "" && d.conv.LastCause != m.ID {
			return r.forward(ctx, m, cust.MergedInto, inSeq)
		}
	}
	c := r.newChange(pc, m.ID, d.conv, d.rev, "customer")
	m.ConversationID = d.conv.ID
	if !c.applied() {
		if err := r.applyMessage(ctx, c, m, d, cust); err != nil {
			return err
		}
		if err := r.slaStep(ctx, c, m, cust); err != nil {
			return err
		}
		if err := r.surveyStep(ctx, c); err != nil {
			return err
		}
	}
	r.messageFollowUps(c, m, d, cust, inSeq)
	return r.commit(ctx, c)
}

func (r *Router) applyMessage(ctx context.Context, c *change, m *schema.Message, d *threadDecision, cust *schema.Customer) error {
	if d.isNew {
		c.emit(r, schema.EventOpened, func(e *schema.Event) { e.Reason = d.reason })
	}
	if d.reopen {
		c.emit(r, schema.EventReopened, func(e *schema.Event) { e.Reason, e.Routing = d.reason, r.statusRouting(c.conv, d.reason) })
	}
	c.emit(r, schema.EventMessage, func(e *schema.Event) {
		e.Message = eventMessage(m)
		if !d.isNew {
			e.Reason = d.reason
		}
	})
	r.wakeOnMessage(c, m)
	if c.conv.Flow.Active() && c.conv.Flow.Waiting && m.Direction == schema.Inbound && (m.Kind == schema.KindMessage || m.Kind == schema.KindAction) {
		return r.flowAnswer(ctx, c, m, cust)
	}
	if !d.route {
		return nil
	}
	in := &rules.Input{Message: m, Customer: cust, Channel: m.Channel, Now: r.o.Now().UTC(), Prefer: d.keep}
	if p := d.prev; p != nil && p.AgentID != "" {
		in.PreviousAgent, in.PreviousAt = p.AgentID, p.UpdatedAt
		if p.ResolvedAt != nil {
			in.PreviousAt = *p.ResolvedAt
		}
	}
	if entered, err := r.enterFlow(ctx, c, in); entered || err != nil {
		return err
	}
	return r.route(ctx, c, in)
}

// messageFollowUps records the conversation with the customer, the message record and the
// email Message-ID index. cust is the customer record as read for this message (nil: not
// read): one that lists the conversation already (a new customer's record is created listing
// it) needs no update.
func (r *Router) messageFollowUps(c *change, m *schema.Message, d *threadDecision, cust *schema.Customer, inSeq uint64) {
	convID, customer := c.conv.ID, c.conv.CustomerID
	if d.isNew || c.applied() {
		pc, scope := c.pc, d.scope
		c.then(func(ctx context.Context) error { return r.setCurrent(ctx, pc, customer, scope, convID) })
		listed := cust != nil && cust.ID == customer && cust.MergedInto == "" && slices.Contains(cust.Conversations, convID)
		if !listed {
			c.then(func(ctx context.Context) error { return r.addConversation(ctx, customer, convID) })
		}
	}
	c.then(r.recordMessage(c, m, inSeq))
	if t := m.Thread; t != nil && t.MessageID != "" {
		data, _ := json.Marshal(emailIndex{Conversation: convID, Customer: customer})
		key := emailKey(t.MessageID)
		c.then(func(ctx context.Context) error {
			if _, err := r.store.Threads.Put(ctx, key, data); err != nil {
				return errors.Join(kernel.ErrUnavailable, err)
			}
			return nil
		})
	}
}

// forward hands a message of a customer merged into another to the survivor's partition.
func (r *Router) forward(ctx context.Context, m *schema.Message, survivor string, inSeq uint64) error {
	m.CustomerID = survivor
	data, err := json.Marshal(m)
	if err != nil {
		return pipeline.Poison(err)
	}
	if err := pipeline.Forward(ctx, r.js, r.o.Partitions, survivor, "m:"+m.ID+":"+survivor, streams.KindMessage, data, inSeq); err != nil {
		return err
	}
	r.o.Metrics.Stage.WithLabelValues("router", "forwarded").Inc()
	return nil
}

// customer reads a customer record (empty when the customer is not recorded yet).
func (r *Router) customer(ctx context.Context, id string) (*schema.Customer, error) {
	c, err := identity.Lookup(ctx, r.store.Customers, id)
	if err != nil {
		return nil, fmt.Errorf("customer %s: %w", id, err)
	}
	return c, nil
}

// addConversation lists a conversation on its customer's record.
func (r *Router) addConversation(ctx context.Context, customer, convID string) error {
	return identity.AddConversation(ctx, r.store.Customers, customer, convID, r.o.Now().UTC())
}

// eventMessage is the copy of a message carried in an event: the raw provider payload stays in
// the message record (GET /v1/messages/{id}), keeping the stream light.
func eventMessage(m *schema.Message) *schema.Message {
	cp := *m
	cp.Raw = nil
	return &cp
}
