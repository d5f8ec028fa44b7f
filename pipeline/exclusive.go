package pipeline

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
)

// exclusively runs work on a consumer while holding the lease key, so that one instance at a
// time consumes it. Before work starts it waits until the consumer has nothing
// unacknowledged with a previous holder. See [kernel.RunLeased] for work's context and lost.
func exclusively(ctx context.Context, leases kernel.Leaser, key string, js jetstream.JetStream, stream, consumer string,
	ackWait time.Duration, work func(ctx context.Context, lost <-chan struct{}) error) error {
	return kernel.RunLeased(ctx, leases, key, func(ctx context.Context, lost <-chan struct{}) error {
		if err := awaitHandback(ctx, js, stream, consumer, time.Now().Add(ackWait+time.Second)); err != nil {
			return err
		}
		return work(ctx, lost)
	})
}

// awaitHandback waits until the consumer has no message outstanding with a previous holder:
// their acknowledgement or redelivery (in order, ahead of newer messages) must come first. A
// clean handover (the previous holder handed its messages back) waits for nothing; after a
// crash, until deadline (AckWait and a second from taking the lease), unless the previous
// holder's work is known to have ended ([kernel.PreviousHolderGone]: it released the lease,
// or it was this instance's crashed run): then the consumer is reset to redeliver from its
// acknowledgement floor at once. A server without the reset API is waited out as before.
func awaitHandback(ctx context.Context, js jetstream.JetStream, stream, consumer string, deadline time.Time) error {
	reset := kernel.PreviousHolderGone(ctx)
	for {
		cons, err := js.Consumer(ctx, stream, consumer)
		if err != nil {
			return err
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return err
		}
		if info.NumAckPending == 0 || time.Now().After(deadline) {
			return nil
		}
		if reset {
			reset = false
			if _, err := js.ResetConsumer(ctx, stream, consumer); err == nil {
				handbacksReset.Add(1)
				continue // read the state again: nothing should be outstanding now
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// handbacksReset counts the consumers awaitHandback reset (see [HandbacksReset]).
var handbacksReset atomic.Uint64

// HandbacksReset is how many consumers were reset at once because the work of their previous
// holder had ended (switchboard_consumer_resets_total).
func HandbacksReset() uint64 { return handbacksReset.Load() }
