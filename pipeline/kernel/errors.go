package kernel

import (
	"errors"
	"fmt"
)

// The error catalog, matched with errors.Is. Stores and services wrap these; HTTP handlers
// map them onto status codes (ErrNotFound → 404, ErrConflict → 409, ErrUnavailable → 503).
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	ErrConflict = errors.New("revision conflict")
	ErrTooLarge = errors.New("too large")
	// ErrUnavailable means the durable store could not take the message now; a webhook
	// answers 503 so the provider retries.
	ErrUnavailable = errors.New("store unavailable")
	// ErrCircuitOpen is ErrUnavailable known before trying: JetStream is unreachable (the
	// connection is down, or publishes time out), so the request is refused at once.
	ErrCircuitOpen = fmt.Errorf("%w: jetstream unreachable, refused at once until a publish succeeds again", ErrUnavailable)
	// ErrInvalidMessage means a connector built a message the contract refuses (a bug in
	// the connector, not the provider's fault).
	ErrInvalidMessage = errors.New("invalid message")
	// ErrLeaseLost is returned by work that stopped because its lease was lost.
	ErrLeaseLost = errors.New("lease lost")
)
