package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// Part sends one provider message of a reply and returns the provider's id for it.
type Part func(ctx context.Context) (string, error)

// SendParts sends a reply that a provider takes as several messages (text, then each
// attachment) in order, and returns the provider ids of all of them. Progress is kept in
// state under the message id, so a retry after a [Temporary] failure of part n resends
// nothing before n: the customer never gets the text twice because an attachment was
// throttled. A single part keeps no state.
func SendParts(ctx context.Context, state StateStore, messageID string, parts []Part) ([]string, error) {
	if len(parts) == 1 {
		id, err := parts[0](ctx)
		if err != nil {
			return nil, err
		}
		return []string{id}, nil
	}
	key := "parts/" + messageID
	done, rev, err := loadParts(ctx, state, key)
	if err != nil {
		return nil, Temporary(fmt.Errorf("load send progress: %w", err), 0)
	}
	for i := len(done); i < len(parts); i++ {
		id, err := parts[i](ctx)
		if err != nil {
			if _, temporary := IsTemporary(err); !temporary {
				_ = state.Delete(ctx, key)
			}
			return done, err
		}
		done = append(done, id)
		if i < len(parts)-1 {
			// Best effort: if this write fails, a retry may repeat parts already sent.
			rev, _ = storeParts(ctx, state, key, done, rev)
		}
	}
	_ = state.Delete(ctx, key)
	return done, nil
}

func loadParts(ctx context.Context, state StateStore, key string) ([]string, uint64, error) {
	data, rev, err := state.Get(ctx, key)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	var done []string
	if err := json.Unmarshal(data, &done); err != nil {
		return nil, rev, nil // unreadable progress: start over rather than never send
	}
	return done, rev, nil
}

func storeParts(ctx context.Context, state StateStore, key string, done []string, rev uint64) (uint64, error) {
	data, _ := json.Marshal(done)
	if rev == 0 {
		return state.Create(ctx, key, data)
	}
	return state.Update(ctx, key, data, rev)
}
