package pipeline

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// State is a connector's namespaced key-value state in bucket sb_state.
type State struct {
	kv jetstream.KeyValue
	ns string
}

var _ connectors.StateStore = (*State)(nil)

// NewState returns the state of the connector namespace ns.
func NewState(kv jetstream.KeyValue, ns string) *State { return &State{kv: kv, ns: streams.Key(ns)} }

func (s *State) key(k string) string { return s.ns + "." + streams.Key(k) }

// Get returns the value and revision of key.
func (s *State) Get(ctx context.Context, key string) ([]byte, uint64, error) {
	e, err := s.kv.Get(ctx, s.key(key))
	if err != nil {
		return nil, 0, kernel.KVError(err)
	}
	return e.Value(), e.Revision(), nil
}

// Create stores key only if it does not exist.
func (s *State) Create(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := s.kv.Create(ctx, s.key(key), value)
	return rev, kernel.KVError(err)
}

// Update stores key only if its revision is still rev.
func (s *State) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	r, err := s.kv.Update(ctx, s.key(key), value, rev)
	return r, kernel.KVError(err)
}

// Put stores key unconditionally.
func (s *State) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	r, err := s.kv.Put(ctx, s.key(key), value)
	return r, kernel.KVError(err)
}

// Delete removes key.
func (s *State) Delete(ctx context.Context, key string) error {
	return kernel.KVError(s.kv.Delete(ctx, s.key(key)))
}
