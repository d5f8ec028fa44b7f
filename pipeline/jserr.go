package pipeline

import (
	"errors"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
)

// KVError maps a JetStream KV or fenced-publish error onto the error catalog, the one place
// that does: a missing key is connectors.ErrNotFound, a create over an existing key
// connectors.ErrExists, a compare-and-set that lost connectors.ErrConflict (whatever code the
// server used: 10071 on a single replica, 10164 on a replicated bucket), anything else
// connectors.ErrUnavailable (wrapping the original).
func KVError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jetstream.ErrKeyNotFound), errors.Is(err, jetstream.ErrKeyDeleted):
		return connectors.ErrNotFound
	case errors.Is(err, jetstream.ErrKeyRevisionMismatch): // before ErrKeyExists: it matches both
		return connectors.ErrConflict
	case errors.Is(err, jetstream.ErrKeyExists):
		return connectors.ErrExists
	case IsConflict(err):
		return connectors.ErrConflict
	}
	return unavailable(err)
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
