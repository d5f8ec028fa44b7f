package router

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// onStatus applies a delivery status to an outbound message. Statuses only move forward
// (see [schema.DeliveryStatus.Rank]): a late "sent" after "delivered" changes nothing. A
// status that skips steps brings the implied ones first ([schema.DeliveryStatus.Implied]),
// so a helpdesk always sees sent, delivered, read in that order.
func (r *Router) onStatus(ctx context.Context, pc *partCache, st *schema.StatusUpdate) error {
	rec, _, err := r.store.locate(ctx, st.MessageID, outboundOnly)
	if errors.Is(err, kernel.ErrNotFound) {
		return pipeline.Poison(fmt.Errorf("status for unknown message %s", st.MessageID))
	}
	if err != nil {
		return err
	}
	m, _, err := r.store.Message(ctx, st.MessageID)
	if errors.Is(err, kernel.ErrNotFound) {
		return pipeline.Poison(fmt.Errorf("status for unknown message %s", st.MessageID))
	}
	if err != nil {
		return err
	}
	if m.ConversationID == "" {
		return fmt.Errorf("status for message %s that is not routed yet", st.MessageID)
	}
	// An operator's resend of a failed message starts its statuses over from queued.
	resend := st.Resend > 0 && st.Status == schema.StatusQueued && m.Status.Rank() == schema.StatusFailed.Rank()
	if !resend && st.Status.Rank() <= m.Status.Rank() {
		r.o.Metrics.Stage.WithLabelValues("router", "stale_status").Inc()
		return nil
	}
	conv, rev, err := r.loadConv(ctx, pc, m.ConversationID)
	if err != nil {
		return err
	}
	cause := fmt.Sprintf("status:%s:%s", st.MessageID, st.Status)
	if st.Resend > 0 {
		cause += fmt.Sprintf(":r%d", st.Resend)
	}
	c := r.newChange(pc, cause, conv, rev, "channel")
	prev := m.Status
	m.Status = st.Status
	if st.ExternalID != "" && m.ExternalID == "" {
		m.ExternalID = st.ExternalID
	}
	c.then(func(ctx context.Context) error {
		if rec.legacy != nil { // a whole record from before locators: its event has the rest
			rec.ConversationID, rec.CustomerID = m.ConversationID, m.CustomerID
		}
		rec.Status, rec.ExternalID = m.Status, m.ExternalID
		return r.store.record(ctx, m, rec, false)
	})
	if c.applied() {
		return r.followUp(ctx, c)
	}
	for _, implied := range st.Status.Implied(prev) {
		c.emit(r, schema.EventDelivery, func(e *schema.Event) {
			e.Delivery = &schema.Delivery{MessageID: m.ID, ExternalID: st.ExternalID, Channel: m.Channel,
				Status: implied, Implied: true, Resend: st.Resend}
		})
	}
	c.emit(r, schema.EventDelivery, func(e *schema.Event) {
		e.Delivery = &schema.Delivery{MessageID: m.ID, ExternalID: st.ExternalID, Channel: m.Channel,
			Status: st.Status, ErrorCode: st.ErrorCode, ErrorMessage: st.ErrorMessage, Attempts: st.Attempts,
			Resend: st.Resend, DeadLetter: st.DeadLetter}
	})
	return r.commit(ctx, c)
}
