package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// SenderIdentity identifies the customer as the sender's address within its account, for
// pipeline tests, which cannot import the router (the gateway runs identity.Stage). The customer record is created on
// first sight; concurrent first messages agree on the id, which is derived from the address.
type SenderIdentity struct {
	customers jetstream.KeyValue
	mu        sync.Mutex
	known     map[string]struct{}
}

// NewSenderIdentity returns the stage.
func NewSenderIdentity(customers jetstream.KeyValue) *SenderIdentity {
	return &SenderIdentity{customers: customers, known: map[string]struct{}{}}
}

// Name implements [Stage].
func (s *SenderIdentity) Name() string { return "identify" }

// Process implements [Stage].
func (s *SenderIdentity) Process(ctx context.Context, m *schema.Message) error {
	id := schema.CustomerID(m.Account + "|" + m.From.Key())
	m.CustomerID = id
	s.mu.Lock()
	_, ok := s.known[id]
	s.mu.Unlock()
	if ok {
		return nil
	}
	now := time.Now().UTC()
	c := schema.Customer{Schema: schema.CustomerSchema, ID: id, Name: m.From.Name, CreatedAt: now, UpdatedAt: now,
		Identities: []schema.Identity{{Kind: m.From.Kind, Value: m.From.Value, AddedAt: now}}}
	data, _ := json.Marshal(&c)
	if _, err := s.customers.Create(ctx, id, data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return kernel.Unavailable(err)
	}
	s.mu.Lock()
	if len(s.known) > 1_000_000 {
		clear(s.known)
	}
	s.known[id] = struct{}{}
	s.mu.Unlock()
	return nil
}
