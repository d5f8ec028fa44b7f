package pipeline

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// externalKey is the outbox index entry from a provider's message id to ours.
func externalKey(ch schema.Channel, account, externalID string) string {
	return "x." + streams.Key(string(ch)) + "." + streams.Key(account) + "." + streams.Key(externalID)
}

// IndexExternal records that the provider knows our message id by externalID.
func IndexExternal(ctx context.Context, outbox jetstream.KeyValue, ch schema.Channel, account, externalID, id string) error {
	_, err := outbox.Put(ctx, externalKey(ch, account, externalID), []byte(id))
	return kernel.KVError(err)
}

// LookupExternal finds our message id for a provider's message id.
func LookupExternal(ctx context.Context, outbox jetstream.KeyValue, ch schema.Channel, account, externalID string) (string, error) {
	if externalID == "" {
		return "", kernel.ErrNotFound
	}
	e, err := outbox.Get(ctx, externalKey(ch, account, externalID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", kernel.ErrNotFound
	}
	if err != nil {
		return "", kernel.Unavailable(err)
	}
	return string(e.Value()), nil
}
