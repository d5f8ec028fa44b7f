package connectors

import (
	"context"
	"errors"
	"io"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/schema"
)

// Host is what the runtime gives a connector. New functions receive it and keep it; they
// must not start anything (that is Run's job).
type Host struct {
	Publisher Publisher
	Blobs     BlobStore
	State     StateStore
	Leases    Leaser
	Feed      Feed
	Logger    *zap.Logger
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

// Leaser hands out exclusive, self-renewing leases across all instances.
type Leaser interface {
	// Acquire blocks until this instance holds the lease on key or ctx ends.
	Acquire(ctx context.Context, key string) (Lease, error)
}

// Lease is held until Release or until it is lost (renewal failed, another holder won).
type Lease interface {
	Lost() <-chan struct{}
	Release()
}

// Feed follows the unified conversation stream.
type Feed interface {
	// Follow calls fn with every event of the conversation whose Seq is greater than after,
	// then with new events as they are published, until ctx ends or fn returns an error.
	Follow(ctx context.Context, conversationID string, after uint64, fn func(*schema.Event) error) error
}

// Errors of the Host services, matched with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("revision conflict")
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable means the durable store could not take the message now; a webhook
	// answers 503 so the provider retries.
	ErrUnavailable = errors.New("store unavailable")
	// ErrInvalidMessage means a connector built a message the contract refuses (a bug in
	// the connector, not the provider's fault).
	ErrInvalidMessage = errors.New("invalid message")
)
