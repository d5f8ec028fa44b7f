package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Graph is the identity graph: every identity (sb_identities, "kind:value" → customer id)
// belongs to one customer (sb_customers). All writes are compare-and-set, so concurrent
// first messages, instances and REST calls agree: a new customer's id derives from the
// identity that created it, and whoever creates the identity key first wins.
type Graph struct {
	js         jetstream.JetStream
	identities jetstream.KeyValue
	customers  jetstream.KeyValue
	norm       *Normalizer
	now        func() time.Time
	log        *zap.Logger
	cache      *ownerCache
	// opensFirst names the conversation a new customer's first message opens (nil: none
	// is listed at creation; the router lists it).
	opensFirst func(*schema.Message) (scope, conv string)
	// created hears of each customer a message created (nil: nobody listens).
	created func(m *schema.Message, c *schema.Customer, first *FirstConversation)
}

// OnCreated hands each customer record a message just created (with the conversation it
// lists as the first) to f, on the goroutine that resolved the message, so that the router
// need not read back what was just written (set before messages flow).
func (g *Graph) OnCreated(f func(m *schema.Message, c *schema.Customer, first *FirstConversation)) {
	g.created = f
}

// OpensFirst tells the graph which conversation a new customer's first message opens, to
// list it on the customer record it creates (set before messages flow).
func (g *Graph) OpensFirst(f func(m *schema.Message) (scope, conv string)) { g.opensFirst = f }

// Errors of identity operations.
var (
	// ErrIdentityConflict refuses a merge of customers with different external ids.
	ErrIdentityConflict = errors.New("identity conflict")
	// ErrNotMerged means a split names a customer that was not merged into this one.
	ErrNotMerged = errors.New("not merged into this customer")
)

// NewGraph opens the identity graph.
func NewGraph(ctx context.Context, js jetstream.JetStream, c Config, log *zap.Logger, now func() time.Time) (*Graph, error) {
	if now == nil {
		now = time.Now
	}
	ids, err := js.KeyValue(ctx, streams.BucketIdentities)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", streams.BucketIdentities, err)
	}
	custs, err := js.KeyValue(ctx, streams.BucketCustomers)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", streams.BucketCustomers, err)
	}
	return &Graph{js: js, identities: ids, customers: custs, norm: NewNormalizer(c), now: now,
		log: log.Named("identity"), cache: newOwnerCache()}, nil
}

// Normalizer returns the graph's address normalizer.
func (g *Graph) Normalizer() *Normalizer { return g.norm }

func idKey(key string) string { return streams.Key(key) }

// maxMergeDepth bounds how far merges are followed (and breaks a cycle two concurrent
// opposite merges could make).
const maxMergeDepth = 5

// Owner returns the customer an identity belongs to, following merges ("" when unknown).
func (g *Graph) Owner(ctx context.Context, key string) (string, error) {
	e, err := g.identities.Get(ctx, idKey(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", nil
	}
	if err != nil {
		return "", kernel.Unavailable(err)
	}
	id := string(e.Value())
	survivor, err := g.survivor(ctx, id)
	if err != nil {
		return "", err
	}
	if survivor != id {
		_, _ = g.identities.Update(ctx, idKey(key), []byte(survivor), e.Revision()) // repair a half-done merge
	}
	return survivor, nil
}

// survivor follows MergedInto from a customer.
func (g *Graph) survivor(ctx context.Context, id string) (string, error) {
	for depth := 0; depth < maxMergeDepth; depth++ {
		var rec custRecord
		_, err := kernel.GetJSON(ctx, g.customers, id, &rec)
		if errors.Is(err, kernel.ErrNotFound) || (err == nil && rec.MergedInto == "") {
			return id, nil
		}
		if err != nil {
			return "", err
		}
		id = rec.MergedInto
	}
	g.log.Warn("merge chain too long or circular; stopping", zap.String("customer", id))
	return id, nil
}

// claim makes key belong to customer unless it already belongs to someone; it returns the
// owner.
func (g *Graph) claim(ctx context.Context, key, customer string) (string, error) {
	_, err := g.identities.Create(ctx, idKey(key), []byte(customer))
	if err == nil {
		return customer, nil
	}
	if !errors.Is(err, jetstream.ErrKeyExists) {
		return "", kernel.Unavailable(err)
	}
	owner, err := g.Owner(ctx, key)
	if err != nil {
		return "", err
	}
	if owner == "" { // deleted meanwhile: try again
		return g.claim(ctx, key, customer)
	}
	return owner, nil
}

// repoint moves key from customer from to customer to (no change if it belongs to someone else).
func (g *Graph) repoint(ctx context.Context, key, from, to string) error {
	for attempt := 0; attempt < kernel.MaxCASAttempts; attempt++ {
		e, err := g.identities.Get(ctx, idKey(key))
		if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
			_, err = g.identities.Create(ctx, idKey(key), []byte(to))
			if err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
				return wrapKV(err)
			}
			continue
		}
		if err != nil {
			return wrapKV(err)
		}
		if cur := string(e.Value()); cur != from {
			return nil
		}
		_, err = g.identities.Update(ctx, idKey(key), []byte(to), e.Revision())
		if err == nil || !kernel.IsConflict(err) {
			g.cache.forget(idKey(key))
			return wrapKV(err)
		}
	}
	return fmt.Errorf("%w: identity %s: too many concurrent changes", kernel.ErrUnavailable, key)
}

func wrapKV(err error) error {
	if err == nil {
		return nil
	}
	return kernel.Unavailable(err)
}

// mutate changes a customer record and publishes the events the change added.
func (g *Graph) mutate(ctx context.Context, id string, fn func(*custRecord) bool) (*custRecord, error) {
	rec, err := mutateCustomer(ctx, g.customers, id, fn)
	if err != nil {
		return nil, err
	}
	return rec, flushEvents(ctx, g.js, g.customers, rec)
}

// Customer reads a customer record (ErrNotFound when absent).
func (g *Graph) Customer(ctx context.Context, id string) (*schema.Customer, error) {
	var rec custRecord
	if _, err := kernel.GetJSON(ctx, g.customers, id, &rec); err != nil {
		return nil, err
	}
	return &rec.Customer, nil
}

// WatchOwners follows changes to identities (links, merges, splits, on any instance) until
// ctx ends, dropping each changed identity's cached owner at once, so known senders are
// resolved from memory without a 2-second expiry. It returns nil when ctx ends.
func (g *Graph) WatchOwners(ctx context.Context) error {
	defer g.cache.setWatching(false)
	for ctx.Err() == nil {
		w, err := g.identities.WatchAll(ctx, jetstream.UpdatesOnly())
		if err != nil {
			g.log.Warn("cannot watch identities; owners are cached for 2s only", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
			continue
		}
		g.cache.setWatching(true)
		g.follow(ctx, w.Updates())
		g.cache.setWatching(false)
		_ = w.Stop()
	}
	return nil
}

func (g *Graph) follow(ctx context.Context, updates <-chan jetstream.KeyValueEntry) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-updates:
			if !ok {
				return
			}
			if e != nil {
				g.cache.forget(e.Key())
			}
		}
	}
}
