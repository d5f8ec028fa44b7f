package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
)

// errLeaseLost is returned when work stopped because its lease was lost.
var errLeaseLost = errors.New("lease lost")

// exclusively runs work on a consumer while holding the lease key, so that one instance at a
// time consumes it. Before work starts it waits until the consumer has nothing
// unacknowledged with a previous holder. work's context ends when ctx ends or the lease is
// lost; lost is closed in the second case, and work must then abandon what it holds.
func exclusively(ctx context.Context, leases connectors.Leaser, key string, js jetstream.JetStream, stream, consumer string,
	ackWait time.Duration, work func(ctx context.Context, lost <-chan struct{}) error) error {
	lease, err := leases.Acquire(ctx, key)
	if err != nil {
		return err
	}
	defer lease.Release()
	lost := make(chan struct{})
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-lease.Lost():
			close(lost)
			cancel()
		case <-wctx.Done():
		}
	}()
	if err := awaitHandback(wctx, js, stream, consumer, ackWait); err != nil {
		return err
	}
	err = work(wctx, lost)
	if isClosed(lost) {
		return errLeaseLost
	}
	return err
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

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
