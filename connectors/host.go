package connectors

import (
	"context"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Host is what the runtime gives a connector. New functions receive it and keep it; they
// must not start anything (that is Run's job).
type Host struct {
	Publisher Publisher
	Blobs     BlobStore
	State     StateStore
	Leases    kernel.Leaser
	Feed      Feed
	Signals   Signals
	Logger    *zap.Logger
	// Registerer takes the connector's own Prometheus series (nil: not registered).
	Registerer prometheus.Registerer
	// PublicURL is the base URL providers call us at (https://gw.example.com), used to
	// rebuild the exact URL a provider signed and to build callback URLs.
	PublicURL string
}

// Receipt is the result of a durable handoff.
type Receipt struct {
	ID        string // the message id (deterministic from the dedupe key)
	Duplicate bool   // the store had seen this dedupe key already; nothing new was stored
}

// Publisher is the durable handoff. Publish returns after the message is stored (a JetStream
// PubAck), never before. It fills in ID, Schema, Kind, Direction and ReceivedAt when empty,
// and refuses a message without Channel, Account, ExternalID or From.
type Publisher interface {
	Publish(ctx context.Context, m *schema.Message) (Receipt, error)
	PublishStatus(ctx context.Context, s *schema.StatusUpdate) error
}

// BlobStore keeps attachment bytes (the JetStream object store).
type BlobStore interface {
	// Put stores r under key. It reads at most max bytes and returns ErrTooLarge if r has
	// more; nothing is kept then.
	Put(ctx context.Context, key, contentType string, r io.Reader, max int64) (schema.BlobRef, error)
	// Open returns the bytes stored under key and their content type.
	Open(ctx context.Context, key string) (io.ReadCloser, string, error)
}

// StateStore is a connector's own small key-value state (cursors, sessions, windows),
// namespaced per connector. Keys may be any string; values are opaque bytes. Revisions make
// compare-and-set possible.
type StateStore interface {
	Get(ctx context.Context, key string) ([]byte, uint64, error)                      // ErrNotFound
	Create(ctx context.Context, key string, value []byte) (uint64, error)             // ErrExists
	Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) // ErrConflict
	Put(ctx context.Context, key string, value []byte) (uint64, error)
	Delete(ctx context.Context, key string) error
}

// Feed follows the unified conversation stream. One instance shares a single live
// subscription among all its watchers; the stream is read only to catch a watcher up.
type Feed interface {
	// Follow calls fn with every event of the conversation whose Seq is greater than after,
	// then with new events as they are published, until ctx ends or fn returns an error.
	Follow(ctx context.Context, conversationID string, after uint64, fn func(*schema.Event) error) error
	// Watch is Follow without a goroutine per caller, for connectors holding many sessions:
	// fn receives the events after seq `after` (stored ones first, then live ones), in order,
	// without gaps or repeats, from the feed's own goroutines. fn must not block (hand the
	// event to a queue) and must not modify the event, which watchers share. stop ends the
	// watch; fn is not called once stop has returned.
	Watch(conversationID string, after uint64, fn func(*schema.Event)) (stop func(), err error)
	// Routed calls fn once, from the feed's goroutines, with the id of the conversation the
	// router threaded message messageID into: as soon as its message event is published, or
	// at once when it was routed before. Register before publishing the message, so the
	// event cannot be missed. stop cancels the wait.
	Routed(messageID string, fn func(conversationID string)) (stop func())
}

// Signals carries ephemeral notices between instances and to helpdesks (typing indicators,
// read receipts, presence): core NATS subjects sb.signal.<topic>, at most once, never stored.
// Topics are dot-separated tokens of letters, digits, '-' and '_'.
type Signals interface {
	// Signal publishes data on topic to every listener on every instance.
	Signal(topic string, data []byte) error
	// Listen calls fn for every signal whose topic starts with prefix (whole tokens, ending
	// in "."), from one goroutine per Listen; fn must not block. stop ends it.
	Listen(prefix string, fn func(topic string, data []byte)) (stop func(), err error)
}
