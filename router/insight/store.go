package insight

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// posKey holds the projection's [Position].
const posKey = "pos"

// Position is how far the cells of a generation reflect SB_CONVERSATIONS.
type Position struct {
	Generation uint64    `json:"generation"`
	Seq        uint64    `json:"seq"`
	At         time.Time `json:"at"`
	// RebuiltAt is when `switchboard insight rebuild` made this generation (zero: built live).
	RebuiltAt *time.Time `json:"rebuilt_at,omitempty"`
}

// Provision creates the sb_insight bucket.
func Provision(ctx context.Context, js jetstream.JetStream, c Config, replicas int) error {
	c = c.WithDefaults()
	_, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: streams.BucketInsight,
		Description: "Service-insight report cells (docs/insight.md).", History: 1, TTL: c.Retention.D(),
		Storage: jetstream.FileStorage, Replicas: max(replicas, 1)})
	if err != nil {
		return fmt.Errorf("provision bucket %s: %w", streams.BucketInsight, err)
	}
	return nil
}

// cellKey is a cell's key under a generation.
func cellKey(gen uint64, key string) string { return "g" + strconv.FormatUint(gen, 10) + "." + key }

// loadPosition reads the position and its revision (a zero position and revision when there is
// none yet).
func loadPosition(ctx context.Context, kv jetstream.KeyValue) (Position, uint64, error) {
	var p Position
	rev, err := kernel.GetJSON(ctx, kv, posKey, &p)
	if errors.Is(err, kernel.ErrNotFound) {
		return Position{Generation: 1}, 0, nil
	}
	if err != nil {
		return p, 0, err
	}
	if p.Generation == 0 {
		p.Generation = 1
	}
	return p, rev, nil
}

// getCell reads one stored cell: nil when there is none. A cell that does not decode is
// reported with its revision, so the caller can replace it.
func getCell(ctx context.Context, kv jetstream.KeyValue, gen uint64, key string) (*kpi.Cell, uint64, error) {
	e, err := kv.Get(ctx, cellKey(gen, key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, kernel.KVError(err)
	}
	c, err := kpi.DecodeCell(e.Value())
	if err != nil {
		return nil, e.Revision(), fmt.Errorf("cell %s: %w", e.Key(), err)
	}
	return c, e.Revision(), nil
}
