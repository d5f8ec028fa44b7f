package pipeline

import (
	"errors"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// PoisonError marks a message no retry can fix (undecodable, invalid): it is dead-lettered at once.
type PoisonError struct{ Err error }

func (e *PoisonError) Error() string { return "poison: " + e.Err.Error() }
func (e *PoisonError) Unwrap() error { return e.Err }

// Poison wraps err as unfixable.
func Poison(err error) error { return &PoisonError{Err: err} }

// LaterError asks the runner to redeliver the message after a delay and go on with the next
// one. Only for messages whose order does not matter (status updates).
type LaterError struct {
	Err   error
	After time.Duration
}

func (e *LaterError) Error() string { return "retry later: " + e.Err.Error() }
func (e *LaterError) Unwrap() error { return e.Err }

// Later wraps err as "redeliver after d, out of order".
func Later(err error, d time.Duration) error { return &LaterError{Err: err, After: d} }

func isPoison(err error) bool {
	var p *PoisonError
	return errors.As(err, &p) || errors.Is(err, kernel.ErrInvalidMessage)
}
