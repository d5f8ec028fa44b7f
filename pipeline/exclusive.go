package pipeline

import (
	"context"
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
		if err := awaitHandback(ctx, js, stream, consumer, ackWait); err != nil {
			return err
		}
		return work(ctx, lost)
	})
}

// awaitHandback waits until the consumer has no message outstanding with a previous holder:
// their acknowledgement or redelivery (in order, ahead of newer messages) must come first. A
// clean handover (the previous holder handed its messages back) waits for nothing; after a
// crash, at most AckWait.
func awaitHandback(ctx context.Context, js jetstream.JetStream, stream, consumer string, ackWait time.Duration) error {
	deadline := time.Now().Add(ackWait + time.Second)
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
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
