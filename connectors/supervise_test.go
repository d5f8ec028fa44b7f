package connectors

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

type sourceFunc func(ctx context.Context) error

func (f sourceFunc) Run(ctx context.Context) error { return f(ctx) }

func TestSuperviseRestartsAFailingSource(t *testing.T) {
	var runs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	src := sourceFunc(func(ctx context.Context) error {
		if runs.Add(1) == 3 {
			cancel()
			<-ctx.Done()
			return nil
		}
		return errors.New("connection reset")
	})
	done := make(chan struct{})
	go func() {
		Supervise(ctx, SourceSpec{Name: "s", Source: src}, SuperviseOptions{Backoff: kernel.Backoff{Min: time.Millisecond, Max: 5 * time.Millisecond}})
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("supervisor did not stop")
	}
	if runs.Load() != 3 {
		t.Fatalf("ran %d times, want 3", runs.Load())
	}
}

type testLease struct{ lost chan struct{} }

func (l *testLease) Lost() <-chan struct{} { return l.lost }
func (l *testLease) Release()              {}

type testLeaser struct {
	acquired atomic.Int32
	leases   chan *testLease
}

func (l *testLeaser) Acquire(ctx context.Context, key string) (kernel.Lease, error) {
	l.acquired.Add(1)
	le := &testLease{lost: make(chan struct{})}
	l.leases <- le
	return le, nil
}

func TestSuperviseStopsTheSourceWhenItsLeaseIsLost(t *testing.T) {
	leaser := &testLeaser{leases: make(chan *testLease, 4)}
	stopped := make(chan error, 4)
	src := sourceFunc(func(ctx context.Context) error {
		<-ctx.Done()
		stopped <- context.Cause(ctx)
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Supervise(ctx, SourceSpec{Name: "mailbox", LeaseKey: "k", Source: src},
		SuperviseOptions{Leases: leaser, Backoff: kernel.Backoff{Min: time.Millisecond, Max: 2 * time.Millisecond}})
	first := <-leaser.leases
	close(first.lost)
	if cause := <-stopped; !errors.Is(cause, kernel.ErrLeaseLost) {
		t.Fatalf("source stopped with %v, want lease lost", cause)
	}
	<-leaser.leases // re-acquired after the backoff
	if leaser.acquired.Load() != 2 {
		t.Fatalf("acquired %d times", leaser.acquired.Load())
	}
}
