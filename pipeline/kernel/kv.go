package kernel

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// MaxCASAttempts bounds a read-modify-write loop over one key: a writer that loses this many
// compare-and-sets in a row gives up with [ErrUnavailable] rather than spin.
const MaxCASAttempts = 32

// GetJSON decodes the record under key into v and returns its revision: [ErrNotFound] when
// absent, [ErrUnavailable] when the bucket cannot be read.
func GetJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any) (uint64, error) {
	e, err := kv.Get(ctx, key)
	if err != nil {
		return 0, KVError(err)
	}
	if err := Unmarshal(e.Value(), v); err != nil {
		return 0, fmt.Errorf("corrupt record %s/%s: %w", kv.Bucket(), key, err)
	}
	return e.Revision(), nil
}

// PutJSON writes v under key: created when rev is 0, else only over revision rev. A lost
// race (either way) is [ErrConflict].
func PutJSON(ctx context.Context, kv jetstream.KeyValue, key string, v any, rev uint64) (uint64, error) {
	data, err := Marshal(v)
	if err != nil {
		return 0, err
	}
	if rev == 0 {
		rev, err = kv.Create(ctx, key, data)
	} else {
		rev, err = kv.Update(ctx, key, data, rev)
	}
	switch {
	case err == nil:
		return rev, nil
	case IsConflict(err):
		return 0, fmt.Errorf("write %s/%s: %w", kv.Bucket(), key, ErrConflict)
	}
	return 0, fmt.Errorf("write %s/%s: %w: %v", kv.Bucket(), key, ErrUnavailable, err)
}
