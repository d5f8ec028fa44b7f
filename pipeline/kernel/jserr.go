package kernel

import (
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// KVError maps a JetStream KV error onto the error catalog, the one place that does: a
// missing key is [ErrNotFound], a create over an existing key [ErrExists], a
// compare-and-set that lost [ErrConflict] (whatever code the server used: 10071 on a single
// replica, 10164 on a replicated bucket), anything else [ErrUnavailable] (wrapping the
// original). A fenced publish that lost answers the same code as a create over an existing
// key (10071), so publishes are checked with [IsConflict] instead.
func KVError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return ErrNotFound
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch): // before ErrKeyExists: it matches both
		return ErrConflict
	case errors.Is(err, jetstream.ErrKeyExists):
		return ErrExists
	case IsConflict(err):
		return ErrConflict
	}
	return Unavailable(err)
}

// Unavailable wraps err as [ErrUnavailable], keeping its text; nil stays nil. The original
// is not in the chain, so a caller never mistakes an outage for one of its causes.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// IsConflict reports a compare-and-set that lost: a KV create or update over another
// revision, or a publish fenced by an expected last sequence. Single-replica streams answer
// 10071, replicated ones 10164; nats.go turns both into ErrKeyRevisionMismatch on Update and
// into ErrKeyExists on Create.
func IsConflict(err error) bool {
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return true
	}
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}
