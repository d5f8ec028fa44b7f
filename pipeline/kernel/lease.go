package kernel

import (
	"context"
)

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

// RunLeased takes the lease on key (blocking until it is held or ctx ends), runs work while
// holding it, and releases it. work's context ends when ctx ends or the lease is lost; lost
// is closed (and the context's cause is [ErrLeaseLost]) only in the second case, and work must then abandon what it holds (a shutdown,
// by contrast, may let the item in hand finish). When the lease was lost RunLeased returns
// [ErrLeaseLost], whatever work returned; otherwise work's error, or Acquire's.
func RunLeased(ctx context.Context, leases Leaser, key string, work func(ctx context.Context, lost <-chan struct{}) error) error {
	lease, err := leases.Acquire(ctx, key)
	if err != nil {
		return err
	}
	defer lease.Release()
	if d, ok := lease.(interface{ PreviousHolderGone() bool }); ok && d.PreviousHolderGone() {
		ctx = context.WithValue(ctx, previousDeadKey{}, true)
	}
	lost := make(chan struct{})
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-lease.Lost():
			close(lost)
			cancel(ErrLeaseLost)
		case <-wctx.Done():
		}
	}()
	err = work(wctx, lost)
	cancel(nil)
	<-watched
	if IsClosed(lost) {
		return ErrLeaseLost
	}
	return err
}

type previousDeadKey struct{}

// PreviousHolderGone reports whether the lease the work of ctx runs under (see [RunLeased])
// was taken from a holder whose work under it is known to have ended: one that released it
// (a clean stop, or a partition it gave up), or an earlier run of this instance that a crash
// ended (its data directory's lock says so). What it had in hand will never be
// acknowledged, and can be taken back at once rather than waited for.
func PreviousHolderGone(ctx context.Context) bool {
	dead, _ := ctx.Value(previousDeadKey{}).(bool)
	return dead
}

// IsClosed reports whether ch is closed, without blocking.
func IsClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
