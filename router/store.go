package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/schema"
)

// Store reads and writes the router's records in KV with compare-and-set revisions.
type Store struct {
	Messages      jetstream.KeyValue
	Conversations jetstream.KeyValue
	Customers     jetstream.KeyValue
}

// OpenStore opens the buckets.
func OpenStore(ctx context.Context, js jetstream.JetStream) (*Store, error) {
	var s Store
	for _, b := range []struct {
		name string
		kv   *jetstream.KeyValue
	}{{pipeline.BucketMessages, &s.Messages}, {pipeline.BucketConversations, &s.Conversations}, {pipeline.BucketCustomers, &s.Customers}} {
		kv, err := js.KeyValue(ctx, b.name)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s: %w", b.name, err)
		}
		*b.kv = kv
	}
	return &s, nil
}

// get decodes key into v and returns its revision; ErrNotFound when absent.
func get(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, connectors.ErrNotFound
	}
	if err != nil {
		return 0, fmt.Errorf("%w: %v", connectors.ErrUnavailable, err)
	}
	if err := json.Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("corrupt record %s/%s: %w", kv.Bucket(), key, err)
	}
	return e.Revision(), nil
}

// put writes v under key: created when rev is 0, else only over revision rev.
func put(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		rev, err = kv.Create(ctx, key, data)
	} else {
		rev, err = kv.Update(ctx, key, data, rev)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s/%s: %w", kv.Bucket(), key, err)
	}
	return rev, nil
}

// Message returns a message record.
func (s *Store) Message(ctx context.Context, id string) (*schema.Message, uint64, error) {
	var m schema.Message
	rev, err := get(ctx, s.Messages, id, &m)
	return &m, rev, err
}

// Conversation returns a conversation snapshot.
func (s *Store) Conversation(ctx context.Context, id string) (*schema.Conversation, uint64, error) {
	var c schema.Conversation
	rev, err := get(ctx, s.Conversations, id, &c)
	return &c, rev, err
}

// Customer returns a customer record.
func (s *Store) Customer(ctx context.Context, id string) (*schema.Customer, uint64, error) {
	var c schema.Customer
	rev, err := get(ctx, s.Customers, id, &c)
	return &c, rev, err
}
