package identity

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Resolve returns the customer a message comes from: the owner of its sender identity,
// else a new customer (whose id derives from the identity, so concurrent first messages
// agree). Identities the channel verified (Profile.Verified) then link automatically: an
// unknown one joins the customer, one that belongs to another customer merges the two,
// unless their external ids differ, which is recorded as a conflict instead.
func (g *Graph) Resolve(ctx context.Context, m *schema.Message) (string, error) {
	id, err := g.norm.sender(m)
	if err != nil {
		m.Problems = append(m.Problems, "identity: "+err.Error())
	}
	key := Key(id)
	hints := g.verifiedHints(m)
	if len(hints) == 0 {
		if c, ok := g.cache.get(idKey(key), g.now()); ok {
			return c, nil
		}
	}
	cust, err := g.Owner(ctx, key)
	if err != nil {
		return "", err
	}
	if cust == "" {
		var rec *custRecord
		if cust, rec, err = g.create(ctx, m, id, hints); err != nil {
			return "", err
		}
		if rec != nil && len(hints) == 0 && g.created != nil { // (hints would change it below)
			c := rec.Customer
			g.created(m, &c, rec.First)
		}
	}
	for _, h := range hints {
		if cust, err = g.applyHint(ctx, cust, h, m); err != nil {
			return "", err
		}
	}
	g.cache.put(idKey(key), cust, g.now())
	return cust, nil
}

// sender is the identity a message's sender is known by.
func (n *Normalizer) sender(m *schema.Message) (schema.Identity, error) {
	id, err := n.Identity(m.Channel, m.Account, m.From)
	id.Source = "channel"
	if a := m.SenderAuth; a != nil && a.Verdict == schema.AuthFail {
		// The channel proved the address forged: the message gets a customer of its own
		// (one per forged address), never the address's real customer.
		id.Kind = "unverified_" + id.Kind
	}
	return id, err
}

// ExpectedCustomer is the id of the customer a message's sender is expected to be: the one
// a new sender gets (seeded by the verified external id the channel vouches for, else by
// the sender's identity). It is right unless identities were linked or merged since; the
// intake files the message under that customer's partition, so that the router usually
// routes it where it reads it.
func (n *Normalizer) ExpectedCustomer(m *schema.Message) string {
	id, _ := n.sender(m)
	if p := m.Profile; p != nil && p.Verified && p.ExternalID != "" {
		if ext, err := n.Identity(m.Channel, m.Account, schema.Address{Kind: "external", Value: p.ExternalID}); err == nil {
			id = ext
		}
	}
	return schema.CustomerID(Key(id))
}

// verifiedHints are the identities a channel vouched for in the message's profile.
func (g *Graph) verifiedHints(m *schema.Message) []schema.Identity {
	p := m.Profile
	if p == nil || !p.Verified {
		return nil
	}
	var out []schema.Identity
	add := func(kind, value string) {
		if value == "" {
			return
		}
		id, err := g.norm.Identity(m.Channel, m.Account, schema.Address{Kind: kind, Value: value})
		if err != nil {
			m.Problems = append(m.Problems, "profile "+kind+": "+err.Error())
			return
		}
		id.Verified, id.Source = true, "profile"
		out = append(out, id)
	}
	add("external", p.ExternalID)
	add("email", p.Email)
	add("phone", p.Phone)
	return out
}

// create makes the customer for a new identity: the owner of a verified hint if there is
// one, else a new customer seeded by the verified external id or the identity itself. The
// record is returned when this call created it and the identity is its own (nil otherwise).
func (g *Graph) create(ctx context.Context, m *schema.Message, id schema.Identity, hints []schema.Identity) (string, *custRecord, error) {
	seed := Key(id)
	for _, h := range hints {
		owner, err := g.Owner(ctx, Key(h))
		if err != nil {
			return "", nil, err
		}
		if owner != "" {
			owner, err := g.attach(ctx, owner, id, m)
			return owner, nil, err
		}
		if h.Kind == "external" {
			seed = Key(h)
		}
	}
	cust := schema.CustomerID(seed)
	name := m.From.Name
	if m.Profile != nil && m.Profile.Name != "" {
		name = m.Profile.Name
	}
	now := g.now().UTC()
	id.AddedAt = now
	var first *FirstConversation
	if g.opensFirst != nil {
		scope, conv := g.opensFirst(m)
		first = &FirstConversation{Scope: scope, ID: conv}
	}
	wrote := false
	rec, err := mutateCustomerFrom(ctx, g.customers, cust, func(r *custRecord) bool {
		if wrote = r.CreatedAt.IsZero(); !wrote {
			return false
		}
		r.Name, r.CreatedAt, r.UpdatedAt = name, now, now
		addIdentity(r, id)
		if first != nil && len(r.Conversations) == 0 {
			r.Conversations, r.First = []string{first.ID}, first
		}
		return true
	}, true)
	if err != nil {
		return "", nil, err
	}
	if wrote {
		// The record was created with the identity listed: claiming the identity is all
		// that is left (attach would read the record back to list it).
		owner, err := g.claim(ctx, Key(id), cust)
		if err != nil {
			return "", nil, err
		}
		if owner == cust {
			return cust, rec, nil
		}
	}
	owner, err := g.attach(ctx, cust, id, m)
	if err == nil && owner != cust { // a concurrent first message with other hints won
		err = updateCustomer(ctx, g.customers, cust, func(r *custRecord) bool {
			changed := removeIdentities(r, []string{Key(id)})
			if first != nil && r.First != nil && *r.First == *first { // the message opens its conversation there
				r.Conversations = slices.DeleteFunc(r.Conversations, func(c string) bool { return c == first.ID })
				r.First, changed = nil, true
			}
			return changed
		})
	}
	return owner, nil, err
}

// attach claims an identity for a customer (or finds who won it) and lists it there.
func (g *Graph) attach(ctx context.Context, cust string, id schema.Identity, m *schema.Message) (string, error) {
	owner, err := g.claim(ctx, Key(id), cust)
	if err != nil {
		return "", err
	}
	if id.AddedAt.IsZero() {
		id.AddedAt = g.now().UTC()
	}
	return owner, updateCustomer(ctx, g.customers, owner, func(r *custRecord) bool {
		if r.CreatedAt.IsZero() {
			r.CreatedAt, r.Name = id.AddedAt, m.From.Name
		}
		return addIdentity(r, id)
	})
}

// applyHint links a verified identity to cust, or merges cust into the customer that has
// it, or records a conflict.
func (g *Graph) applyHint(ctx context.Context, cust string, h schema.Identity, m *schema.Message) (string, error) {
	key := Key(h)
	owner, err := g.Owner(ctx, key)
	if err != nil || owner == cust {
		return cust, err
	}
	rec, err := g.record(ctx, cust)
	if err != nil {
		return "", err
	}
	now := g.now().UTC()
	h.AddedAt = now
	if owner == "" {
		if h.Kind == "external" && rec.ExternalID != "" && rec.ExternalID != h.Value {
			return cust, g.conflict(ctx, cust, h, "", fmt.Sprintf("the customer already has external id %s", rec.ExternalID))
		}
		if won, err := g.claim(ctx, key, cust); err != nil || won != cust {
			return cust, err // someone else took it meanwhile; the next message will see them
		}
		_, err := g.mutate(ctx, cust, func(r *custRecord) bool {
			if !addIdentity(r, h) {
				return false
			}
			addEvent(r, schema.EventIdentityLinked, "channel", now, &schema.IdentityChange{Identities: []schema.Identity{h},
				Source: "profile"}, fmt.Sprintf("verified by %s/%s in message %s", m.Channel, m.Account, m.ID))
			return true
		})
		return cust, err
	}
	other, err := g.record(ctx, owner)
	if err != nil {
		return "", err
	}
	if rec.ExternalID != "" && other.ExternalID != "" && rec.ExternalID != other.ExternalID {
		return cust, g.conflict(ctx, cust, h, owner, fmt.Sprintf("external ids differ (%s, %s)", rec.ExternalID, other.ExternalID))
	}
	reason := fmt.Sprintf("%s %s, verified by %s/%s in message %s, belongs to %s", h.Kind, h.Value, m.Channel, m.Account, m.ID, owner)
	return owner, g.merge(ctx, owner, cust, "channel", reason)
}

// conflict records a refused automatic merge on the customer (once per identity and other
// customer) as a conflict and an event.
func (g *Graph) conflict(ctx context.Context, cust string, h schema.Identity, other, reason string) error {
	now := g.now().UTC()
	_, err := g.mutate(ctx, cust, func(r *custRecord) bool {
		for _, c := range r.Conflicts {
			if c.Kind == h.Kind && c.Value == h.Value && c.CustomerID == other {
				return false
			}
		}
		r.Conflicts = append(r.Conflicts, schema.IdentityConflict{Kind: h.Kind, Value: h.Value, CustomerID: other, Reason: reason, At: now})
		addEvent(r, schema.EventIdentityConflict, "channel", now, &schema.IdentityChange{Identities: []schema.Identity{h},
			OtherCustomer: other, Source: "profile"}, reason)
		return true
	})
	return err
}

func (g *Graph) record(ctx context.Context, id string) (*custRecord, error) {
	var rec custRecord
	_, err := kernel.GetJSON(ctx, g.customers, id, &rec)
	if err != nil {
		return nil, fmt.Errorf("customer %s: %w", id, err)
	}
	return &rec, nil
}

// ownerCache remembers identity owners: most messages come from known senders. While
// [Graph.WatchOwners] follows sb_identities, an owner stays cached until its identity
// changes (a link, merge or split on any instance drops it at once); without the watch an
// owner is trusted for ownerTTL only (the router forwards messages of merged customers
// meanwhile).
type ownerCache struct {
	mu       sync.Mutex
	m        map[string]ownerEntry
	watching bool
}

type ownerEntry struct {
	customer string
	at       time.Time
}

const (
	ownerTTL        = 2 * time.Second
	ownerWatchedTTL = time.Hour // a bound even while watched: a missed change heals
	ownerCacheMax   = 100_000
)

func newOwnerCache() *ownerCache { return &ownerCache{m: map[string]ownerEntry{}} }

func (c *ownerCache) get(key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	ttl := ownerTTL
	if c.watching {
		ttl = ownerWatchedTTL
	}
	if !ok || now.Sub(e.at) > ttl {
		return "", false
	}
	return e.customer, true
}

func (c *ownerCache) put(key, customer string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= ownerCacheMax {
		clear(c.m)
	}
	c.m[key] = ownerEntry{customer, now}
}

func (c *ownerCache) forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
}

// setWatching switches between the watched and the short expiry; either way the cache
// starts over, so nothing cached before the watch began outlives ownerTTL.
func (c *ownerCache) setWatching(on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watching = on
	clear(c.m)
}
