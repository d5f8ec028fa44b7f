package kernel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

func TestBackoffGrowsAndJitters(t *testing.T) {
	b := kernel.Backoff{Min: 100 * time.Millisecond, Max: time.Second}
	for n, want := range []time.Duration{100, 200, 400, 800, 1000, 1000} {
		hi := want * time.Millisecond
		for i := 0; i < 50; i++ {
			if d := b.Delay(n); d < hi/2 || d > hi {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", n, d, hi/2, hi)
			}
		}
	}
}

type lease struct {
	lost     chan struct{}
	released chan struct{}
}

func (l *lease) Lost() <-chan struct{} { return l.lost }
func (l *lease) Release()              { close(l.released) }

type leaser struct{ next *lease }

func (l *leaser) Acquire(ctx context.Context, key string) (kernel.Lease, error) {
	if key != "k" {
		return nil, errors.New("wrong key " + key)
	}
	return l.next, nil
}

func TestRunLeasedStopsWorkWhenTheLeaseIsLost(t *testing.T) {
	le := &lease{lost: make(chan struct{}), released: make(chan struct{})}
	started := make(chan struct{})
	var cause error
	var sawLost bool
	go func() { <-started; close(le.lost) }()
	err := kernel.RunLeased(context.Background(), &leaser{le}, "k", func(ctx context.Context, lost <-chan struct{}) error {
		close(started)
		<-ctx.Done()
		cause, sawLost = context.Cause(ctx), kernel.IsClosed(lost)
		return errors.New("work's own error")
	})
	if !errors.Is(err, kernel.ErrLeaseLost) {
		t.Fatalf("RunLeased = %v, want ErrLeaseLost", err)
	}
	if !errors.Is(cause, kernel.ErrLeaseLost) || !sawLost {
		t.Fatalf("work saw cause %v, lost closed %v", cause, sawLost)
	}
	if !kernel.IsClosed(le.released) {
		t.Fatal("the lease was not released")
	}
}

func TestRunLeasedShutdownIsNotALostLease(t *testing.T) {
	le := &lease{lost: make(chan struct{}), released: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	var sawLost bool
	err := kernel.RunLeased(ctx, &leaser{le}, "k", func(wctx context.Context, lost <-chan struct{}) error {
		cancel()
		<-wctx.Done()
		sawLost = kernel.IsClosed(lost)
		return wctx.Err()
	})
	if !errors.Is(err, context.Canceled) || sawLost {
		t.Fatalf("RunLeased = %v (lost closed: %v), want context.Canceled and lost open", err, sawLost)
	}
	if !kernel.IsClosed(le.released) {
		t.Fatal("the lease was not released")
	}
}

func TestRunLeasedReturnsAcquireErrors(t *testing.T) {
	err := kernel.RunLeased(context.Background(), &leaser{}, "other", func(context.Context, <-chan struct{}) error {
		t.Fatal("work ran without the lease")
		return nil
	})
	if err == nil || err.Error() != "wrong key other" {
		t.Fatalf("RunLeased = %v", err)
	}
}
