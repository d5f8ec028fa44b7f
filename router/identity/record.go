package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// custRecord is a stored customer: the public record plus the customer event outbox.
// Identity changes write their event into Pending together with the change (one
// compare-and-set), publish it, then drop it from Pending: a crash in between leaves it to
// the next change of the customer to publish, so no event is lost and none is invented.
type custRecord struct {
	schema.Customer
	EventSeq uint64          `json:"event_seq,omitempty"`
	Pending  []*schema.Event `json:"pending_events,omitempty"`
	// First is the conversation the customer's first message opens, listed when the record
	// is created ([Graph.OpensFirst]): the router's threading state until the customer has
	// a second conversation (then sb_threads holds it), so a new customer costs one write
	// of the record and none of the threading state.
	First *FirstConversation `json:"first_conversation,omitempty"`
}

// FirstConversation is the conversation a customer's first message opens, in its threading
// scope ("" when conversations span channels).
type FirstConversation struct {
	Scope string `json:"scope"`
	ID    string `json:"id"`
}

// First returns the conversation customer id was created with (nil: none recorded, or a
// customer created before the router recorded it).
func First(ctx context.Context, kv jetstream.KeyValue, id string) (*FirstConversation, error) {
	_, first, err := Read(ctx, kv, id)
	return first, err
}

// Read returns a customer record (empty when the customer is not recorded yet) and the
// conversation it was created with (nil: none recorded), in one read.
func Read(ctx context.Context, kv jetstream.KeyValue, id string) (*schema.Customer, *FirstConversation, error) {
	var c custRecord
	if _, err := kernel.GetJSON(ctx, kv, id, &c); err != nil {
		if errors.Is(err, kernel.ErrNotFound) {
			return &schema.Customer{ID: id}, nil, nil
		}
		return nil, nil, err
	}
	return &c.Customer, c.First, nil
}

// updateCustomer applies fn to a customer record with compare-and-set, retrying lost races.
// fn returns false to leave the record as it is. A missing record is created.
func updateCustomer(ctx context.Context, kv jetstream.KeyValue, id string, fn func(*custRecord) bool) error {
	_, err := mutateCustomer(ctx, kv, id, fn)
	return err
}

func mutateCustomer(ctx context.Context, kv jetstream.KeyValue, id string, fn func(*custRecord) bool) (*custRecord, error) {
	return mutateCustomerFrom(ctx, kv, id, fn, false)
}

// mutateCustomerFrom is mutateCustomer; absent says the record is most likely not there
// yet (a new identity's customer): its first attempt creates it without reading first, and a
// record that is there after all fails that create and is read as usual.
func mutateCustomerFrom(ctx context.Context, kv jetstream.KeyValue, id string, fn func(*custRecord) bool, absent bool) (*custRecord, error) {
	for attempt := 0; attempt < kernel.MaxCASAttempts; attempt++ {
		var rec custRecord
		var rev uint64
		var err error
		if attempt > 0 || !absent {
			rev, err = kernel.GetJSON(ctx, kv, id, &rec)
		}
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return nil, err
		}
		if rev == 0 {
			rec = custRecord{Customer: schema.Customer{Schema: schema.CustomerSchema, ID: id, Identities: []schema.Identity{}}}
		}
		if !fn(&rec) {
			return &rec, nil
		}
		_, err = kernel.PutJSON(ctx, kv, id, &rec, rev)
		if errors.Is(err, kernel.ErrConflict) {
			continue
		}
		return &rec, err
	}
	return nil, fmt.Errorf("%w: customer %s: too many concurrent changes", kernel.ErrUnavailable, id)
}

// Lookup reads customer id's public record from the customers bucket; a customer not
// recorded yet is an empty record with that id.
func Lookup(ctx context.Context, kv jetstream.KeyValue, id string) (*schema.Customer, error) {
	c, _, err := Read(ctx, kv, id)
	return c, err
}

// AddConversation lists convID on the customer's record (once). A customer merged into
// another meanwhile (the merge copied the conversations it listed then) passes it on to the
// survivor, so that a conversation opened just before a merge is not left behind.
func AddConversation(ctx context.Context, kv jetstream.KeyValue, customer, convID string, at time.Time) error {
	for range maxMergeDepth {
		into := ""
		err := updateCustomer(ctx, kv, customer, func(c *custRecord) bool {
			if into = c.MergedInto; into != "" {
				return false
			}
			if slices.Contains(c.Conversations, convID) {
				return false
			}
			c.Conversations = append(c.Conversations, convID)
			c.UpdatedAt = at
			return true
		})
		if err != nil || into == "" {
			return err
		}
		customer = into
	}
	return nil
}

// addEvent appends a customer event to the record's outbox.
// Its id derives from the customer and its sequence number: a change applied once adds it once.
func addEvent(rec *custRecord, typ schema.EventType, actor string, at time.Time, change *schema.IdentityChange, reason string) {
	rec.EventSeq++
	ev := &schema.Event{Schema: schema.EventSchema, ID: schema.EventID(fmt.Sprintf("customer:%s:%d", rec.ID, rec.EventSeq), 0), Type: typ,
		CustomerID: rec.ID, Seq: rec.EventSeq, At: at, Actor: actor, Identity: change, Reason: reason}
	rec.Pending = append(rec.Pending, ev)
}

// flushEvents publishes a customer's pending events in order, then drops them from the record.
func flushEvents(ctx context.Context, js jetstream.JetStream, kv jetstream.KeyValue, rec *custRecord) error {
	if len(rec.Pending) == 0 {
		return nil
	}
	done := make([]string, 0, len(rec.Pending))
	for _, ev := range rec.Pending {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		if _, err := js.PublishMsg(ctx, &nats.Msg{Subject: streams.EventSubject(ev), Data: data}, jetstream.WithMsgID(ev.ID)); err != nil {
			return fmt.Errorf("%w: publish customer event: %v", kernel.ErrUnavailable, err)
		}
		done = append(done, ev.ID)
	}
	return updateCustomer(ctx, kv, rec.ID, func(r *custRecord) bool {
		n := len(r.Pending)
		r.Pending = slices.DeleteFunc(r.Pending, func(e *schema.Event) bool { return slices.Contains(done, e.ID) })
		return len(r.Pending) != n
	})
}

// hasIdentity reports whether the record lists the identity.
func hasIdentity(rec *custRecord, key string) bool {
	return slices.ContainsFunc(rec.Identities, func(i schema.Identity) bool { return Key(i) == key })
}

// addIdentity lists an identity on the record (once); it reports whether it was added.
func addIdentity(rec *custRecord, id schema.Identity) bool {
	if hasIdentity(rec, Key(id)) {
		return false
	}
	rec.Identities = append(rec.Identities, id)
	if id.Kind == "external" && id.Verified && rec.ExternalID == "" {
		rec.ExternalID = id.Value
	}
	return true
}

// removeIdentities takes identities off the record; it reports whether any was listed.
func removeIdentities(rec *custRecord, keys []string) bool {
	n := len(rec.Identities)
	rec.Identities = slices.DeleteFunc(rec.Identities, func(i schema.Identity) bool {
		if slices.Contains(keys, Key(i)) {
			if i.Kind == "external" && rec.ExternalID == i.Value {
				rec.ExternalID = ""
			}
			return true
		}
		return false
	})
	return len(rec.Identities) != n
}

// SetAttributes stores customer attributes (a flow's set step); values already so are not
// written again.
func SetAttributes(ctx context.Context, kv jetstream.KeyValue, customer string, attrs map[string]string, at time.Time) error {
	return updateCustomer(ctx, kv, customer, func(c *custRecord) bool {
		changed := false
		for k, v := range attrs {
			if old, ok := c.Attributes[k]; ok && old == v {
				continue
			}
			if c.Attributes == nil {
				c.Attributes = map[string]string{}
			}
			c.Attributes[k], changed = v, true
		}
		if changed {
			c.UpdatedAt = at
		}
		return changed
	})
}
