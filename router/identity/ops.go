package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Link makes an identity belong to customer cust (a person decided: actor). An identity
// that belongs to another customer merges that customer into cust, unless their external
// ids differ ([ErrIdentityConflict]).
func (g *Graph) Link(ctx context.Context, cust string, id schema.Identity, actor string) (*schema.Customer, error) {
	if _, err := g.record(ctx, cust); err != nil {
		return nil, err
	}
	id.Source = "rest"
	key := Key(id)
	owner, err := g.Owner(ctx, key)
	if err != nil {
		return nil, err
	}
	switch owner {
	case cust:
	case "":
		if owner, err = g.claim(ctx, key, cust); err != nil {
			return nil, err
		}
		if owner != cust {
			return g.Link(ctx, cust, id, actor) // taken meanwhile: merge instead
		}
		now := g.now().UTC()
		id.AddedAt = now
		if _, err := g.mutate(ctx, cust, func(r *custRecord) bool {
			if !addIdentity(r, id) {
				return false
			}
			addEvent(r, schema.EventIdentityLinked, actor, now, &schema.IdentityChange{Identities: []schema.Identity{id}, Source: "rest"},
				"linked by "+actor)
			return true
		}); err != nil {
			return nil, err
		}
	default:
		if err := g.Merge(ctx, cust, owner, actor); err != nil {
			return nil, err
		}
	}
	return g.settled(ctx, cust)
}

// settled returns a customer's record after publishing any events its outbox still holds.
func (g *Graph) settled(ctx context.Context, cust string) (*schema.Customer, error) {
	rec, err := g.record(ctx, cust)
	if err != nil {
		return nil, err
	}
	if err := flushEvents(ctx, g.js, g.customers, rec); err != nil {
		return nil, err
	}
	return &rec.Customer, nil
}

// Merge merges customer other into survivor: other's identities and conversations move to
// survivor, other's record points at survivor. [Graph.Split] undoes it.
func (g *Graph) Merge(ctx context.Context, survivor, other, actor string) error {
	if survivor == other {
		return nil
	}
	s, err := g.record(ctx, survivor)
	if err != nil {
		return err
	}
	o, err := g.record(ctx, other)
	if err != nil {
		return err
	}
	if s.MergedInto != "" {
		return fmt.Errorf("%w: %s was merged into %s; merge into that one", ErrIdentityConflict, survivor, s.MergedInto)
	}
	if o.MergedInto != "" && o.MergedInto != survivor {
		return fmt.Errorf("%w: %s was merged into %s already", ErrIdentityConflict, other, o.MergedInto)
	}
	if s.ExternalID != "" && o.ExternalID != "" && s.ExternalID != o.ExternalID {
		return fmt.Errorf("%w: %s and %s have different external ids (%s, %s)", ErrIdentityConflict, survivor, other, s.ExternalID, o.ExternalID)
	}
	return g.merge(ctx, survivor, other, actor, "merged by "+actor)
}

// merge does the merge in steps that a retry completes: mark other, move its identity keys,
// then list everything on survivor (with the event).
func (g *Graph) merge(ctx context.Context, survivor, other, actor, reason string) error {
	o, err := mutateCustomer(ctx, g.customers, other, func(r *custRecord) bool {
		if r.MergedInto == survivor {
			return false
		}
		r.MergedInto, r.UpdatedAt = survivor, g.now().UTC()
		return true
	})
	if err != nil {
		return err
	}
	for _, id := range o.Identities {
		if err := g.repoint(ctx, Key(id), other, survivor); err != nil {
			return err
		}
	}
	now := g.now().UTC()
	_, err = g.mutate(ctx, survivor, func(r *custRecord) bool {
		if slices.Contains(r.MergedFrom, other) {
			return false
		}
		r.MergedFrom = append(r.MergedFrom, other)
		for _, id := range o.Identities {
			addIdentity(r, id)
		}
		for _, c := range o.Conversations {
			if !slices.Contains(r.Conversations, c) {
				r.Conversations = append(r.Conversations, c)
			}
		}
		if r.ExternalID == "" {
			r.ExternalID = o.ExternalID
		}
		if r.Name == "" {
			r.Name = o.Name
		}
		r.UpdatedAt = now
		addEvent(r, schema.EventCustomerMerged, actor, now, &schema.IdentityChange{Identities: o.Identities, OtherCustomer: other,
			Source: actor}, reason)
		return true
	})
	g.log.Info("customers merged", zap.String("survivor", survivor), zap.String("merged", other), zap.String("reason", reason))
	return err
}

// Split undoes a merge: other gets back the identities and conversations it had.
func (g *Graph) Split(ctx context.Context, survivor, other, actor string) (*schema.Customer, error) {
	o, err := g.record(ctx, other)
	if err != nil {
		return nil, err
	}
	s, err := g.record(ctx, survivor)
	if err != nil {
		return nil, err
	}
	if o.MergedInto != survivor && !slices.Contains(s.MergedFrom, other) {
		return nil, fmt.Errorf("%w: %s", ErrNotMerged, other)
	}
	if _, err := mutateCustomer(ctx, g.customers, other, func(r *custRecord) bool {
		if r.MergedInto == "" {
			return false
		}
		r.MergedInto, r.UpdatedAt = "", g.now().UTC()
		return true
	}); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(o.Identities))
	for _, id := range o.Identities {
		keys = append(keys, Key(id))
		if err := g.repoint(ctx, Key(id), survivor, other); err != nil {
			return nil, err
		}
	}
	now := g.now().UTC()
	if _, err := g.mutate(ctx, survivor, func(r *custRecord) bool {
		if !slices.Contains(r.MergedFrom, other) {
			return false
		}
		r.MergedFrom = slices.DeleteFunc(r.MergedFrom, func(id string) bool { return id == other })
		removeIdentities(r, keys)
		r.Conversations = slices.DeleteFunc(r.Conversations, func(c string) bool { return slices.Contains(o.Conversations, c) })
		if r.ExternalID != "" && r.ExternalID == o.ExternalID && !hasIdentity(r, "external:"+r.ExternalID) {
			r.ExternalID = ""
		}
		r.UpdatedAt = now
		addEvent(r, schema.EventCustomerSplit, actor, now, &schema.IdentityChange{Identities: o.Identities, OtherCustomer: other,
			Source: actor}, "split by "+actor)
		return true
	}); err != nil {
		return nil, err
	}
	return g.settled(ctx, survivor)
}

// Unlink takes an identity off a customer; it becomes a new customer of its own (returned),
// which [Graph.Link] or [Graph.Merge] can undo. opID makes a retried request idempotent.
func (g *Graph) Unlink(ctx context.Context, cust string, key, opID, actor string) (*schema.Customer, error) {
	rec, err := g.record(ctx, cust)
	if err != nil {
		return nil, err
	}
	owner, err := g.Owner(ctx, key)
	if err != nil {
		return nil, err
	}
	var id schema.Identity
	for _, i := range rec.Identities {
		if Key(i) == key {
			id = i
		}
	}
	newID := schema.CustomerID("unlink:" + key + ":" + opID)
	if owner != cust && owner != newID {
		return nil, fmt.Errorf("%w: identity %s does not belong to %s", kernel.ErrNotFound, key, cust)
	}
	if id.Kind == "" {
		kind, value, _ := strings.Cut(key, ":")
		id = schema.Identity{Kind: kind, Value: value}
	}
	now := g.now().UTC()
	moved := id
	moved.Source, moved.AddedAt = "rest", now
	if _, err := mutateCustomer(ctx, g.customers, newID, func(r *custRecord) bool {
		if !r.CreatedAt.IsZero() {
			return false
		}
		r.CreatedAt, r.UpdatedAt, r.Name = now, now, rec.Name
		addIdentity(r, moved)
		return true
	}); err != nil {
		return nil, err
	}
	if err := g.repoint(ctx, key, cust, newID); err != nil {
		return nil, err
	}
	if _, err := g.mutate(ctx, cust, func(r *custRecord) bool {
		if !removeIdentities(r, []string{key}) {
			return false
		}
		r.UpdatedAt = now
		addEvent(r, schema.EventIdentityUnlinked, actor, now, &schema.IdentityChange{Identities: []schema.Identity{id},
			OtherCustomer: newID, Source: "rest"}, "unlinked by "+actor)
		return true
	}); err != nil {
		return nil, err
	}
	if _, err := g.settled(ctx, cust); err != nil {
		return nil, err
	}
	return g.Customer(ctx, newID)
}

// IsConflict reports an identity conflict or a split of customers that were not merged.
func IsConflict(err error) bool {
	return errors.Is(err, ErrIdentityConflict) || errors.Is(err, ErrNotMerged)
}

// SetAttributes changes a customer's name (when not empty) and attributes (a nil value
// deletes one); rules see them on the next decision.
func (g *Graph) SetAttributes(ctx context.Context, id, name string, attrs map[string]*string) (*schema.Customer, error) {
	if _, err := g.record(ctx, id); err != nil {
		return nil, err
	}
	rec, err := g.mutate(ctx, id, func(r *custRecord) bool {
		if name != "" {
			r.Name = name
		}
		for k, v := range attrs {
			if v == nil {
				delete(r.Attributes, k)
				continue
			}
			if r.Attributes == nil {
				r.Attributes = map[string]string{}
			}
			r.Attributes[k] = *v
		}
		r.UpdatedAt = g.now().UTC()
		return true
	})
	if err != nil {
		return nil, err
	}
	return &rec.Customer, nil
}
