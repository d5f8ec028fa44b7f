package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
)

// PriorityGroup is the pinned priority group of every partition consumer: across instances,
// one client at a time receives a partition's messages.
const PriorityGroup = "sb"

// Handler processes one message of a partition. Returning nil acks it. A [PoisonError]
// dead-letters it at once; a [LaterError] redelivers it after a delay while the partition
// moves on; any other error retries it in place (the partition waits, so order holds) until
// MaxAttempts, then dead-letters it.
type Handler func(ctx context.Context, partition int, msg jetstream.Msg) error

// Partitioned runs one durable consumer per partition of a stream.
type Partitioned struct {
	JS          jetstream.JetStream
	Stream      string
	Stage       string // consumer name prefix, metrics label, dead-letter subject
	Partitions  int
	Filters     func(p int) []string
	Handle      Handler
	MaxAttempts int
	Backoff     connectors.Backoff
	AckWait     time.Duration
	Batch       int
	DLQ         *DeadLetters
	Metrics     *Metrics
	Logger      *zap.Logger
}

// ConsumerName is the durable name of partition p.
func (r *Partitioned) ConsumerName(p int) string { return fmt.Sprintf("%s-p%d", r.Stage, p) }

// Setup creates or updates the partition consumers.
func (r *Partitioned) Setup(ctx context.Context) error {
	for p := 0; p < r.Partitions; p++ {
		cc := jetstream.ConsumerConfig{
			Durable: r.ConsumerName(p), FilterSubjects: r.Filters(p),
			AckPolicy: jetstream.AckExplicitPolicy, AckWait: r.ackWait(),
			MaxAckPending: 4096, MaxDeliver: -1,
			PriorityPolicy: jetstream.PriorityPolicyPinned, PriorityGroups: []string{PriorityGroup},
			PinnedTTL: 10 * time.Second,
		}
		if err := retry(ctx, func(ctx context.Context) error {
			_, err := r.JS.CreateOrUpdateConsumer(ctx, r.Stream, cc)
			return err
		}); err != nil {
			return fmt.Errorf("consumer %s on %s: %w", cc.Durable, r.Stream, err)
		}
	}
	return nil
}

func (r *Partitioned) ackWait() time.Duration {
	if r.AckWait > 0 {
		return r.AckWait
	}
	return 10 * time.Second
}

// Run consumes every partition until ctx ends. The message being handled when ctx ends is
// finished (bounded by AckWait); buffered ones are handed back for redelivery.
func (r *Partitioned) Run(ctx context.Context) error {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 20
	}
	if r.Batch <= 0 {
		r.Batch = 256
	}
	var wg sync.WaitGroup
	errs := make(chan error, r.Partitions)
	for p := 0; p < r.Partitions; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			if err := r.runPartition(ctx, p); err != nil && ctx.Err() == nil {
				errs <- err
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	return errors.Join(collect(errs)...)
}

func collect(ch <-chan error) []error {
	var out []error
	for err := range ch {
		out = append(out, err)
	}
	return out
}

func (r *Partitioned) runPartition(ctx context.Context, p int) error {
	log := r.Logger.With(zap.String("stage", r.Stage), zap.Int("partition", p))
	for ctx.Err() == nil {
		err := r.consume(ctx, p, log)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("partition consumer stopped; restarting", zap.Error(err))
		r.Metrics.Errors.WithLabelValues(r.Stage).Inc()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

func (r *Partitioned) consume(ctx context.Context, p int, log *zap.Logger) error {
	cons, err := r.JS.Consumer(ctx, r.Stream, r.ConsumerName(p))
	if err != nil {
		return err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(r.Batch), jetstream.PullPriorityGroup(PriorityGroup))
	if err != nil {
		return err
	}
	// On shutdown the iterator drains: messages already buffered come out of Next and are
	// handed back (Nak) for immediate redelivery instead of waiting out AckWait.
	stop := context.AfterFunc(ctx, it.Drain)
	defer stop()
	defer it.Stop()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) && ctx.Err() != nil {
				r.unpin(p)
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			_ = msg.Nak()
			continue
		}
		r.process(ctx, p, msg, log)
	}
}

// unpin lets another instance take the partition at once instead of after PinnedTTL.
func (r *Partitioned) unpin(p int) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if st, err := r.JS.Stream(ctx, r.Stream); err == nil {
		_ = st.UnpinConsumer(ctx, r.ConsumerName(p), PriorityGroup)
	}
}

// process handles one message to completion: ack, later, dead letter, or (on shutdown)
// left unacked for redelivery.
func (r *Partitioned) process(ctx context.Context, p int, msg jetstream.Msg, log *zap.Logger) {
	// The handler's context outlives a shutdown request (bounded) so the message in hand is
	// finished rather than half-done.
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*r.ackWait())
	defer cancel()
	defer keepAlive(msg, r.ackWait())()
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := r.Handle(hctx, p, msg)
		r.Metrics.StageLatency.WithLabelValues(r.Stage).Observe(time.Since(start).Seconds())
		var later *LaterError
		switch {
		case err == nil:
			_ = msg.Ack()
			r.Metrics.Stage.WithLabelValues(r.Stage, "ok").Inc()
			return
		case errors.As(err, &later):
			if md, mdErr := msg.Metadata(); mdErr == nil && int(md.NumDelivered) >= r.MaxAttempts {
				r.deadLetter(ctx, msg, err, log)
				return
			}
			_ = msg.NakWithDelay(later.After)
			r.Metrics.Stage.WithLabelValues(r.Stage, "later").Inc()
			return
		case isPoison(err) || attempt >= r.MaxAttempts:
			r.deadLetter(ctx, msg, err, log)
			return
		}
		r.Metrics.Stage.WithLabelValues(r.Stage, "retry").Inc()
		log.Warn("stage failed; retrying in place", zap.Error(err), zap.Int("attempt", attempt))
		_ = msg.InProgress()
		select {
		case <-ctx.Done():
			return // not acked: redelivered after AckWait, to this or another instance
		case <-time.After(r.Backoff.Delay(attempt - 1)):
		}
	}
}

// keepAlive tells the server every third of AckWait that msg is still being worked on, so a
// slow handler (a media download) is not redelivered behind its own back. It returns the stop.
func keepAlive(msg jetstream.Msg, ackWait time.Duration) func() {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

func (r *Partitioned) deadLetter(ctx context.Context, msg jetstream.Msg, cause error, log *zap.Logger) {
	for attempt := 0; ; attempt++ {
		err := r.DLQ.Put(ctx, r.Stage, msg, cause.Error())
		if err == nil {
			_ = msg.Ack()
			r.Metrics.Stage.WithLabelValues(r.Stage, "dead_letter").Inc()
			log.Warn("dead-lettered", zap.String("subject", msg.Subject()), zap.Error(cause))
			return
		}
		log.Error("cannot dead-letter; retrying", zap.Error(err))
		select {
		case <-ctx.Done():
			return
		case <-time.After(r.Backoff.Delay(attempt)):
		}
	}
}

// Consumers lists the durable consumers this runner uses.
func (r *Partitioned) Consumers() []ConsumerRef {
	out := make([]ConsumerRef, r.Partitions)
	for p := range out {
		out[p] = ConsumerRef{Stream: r.Stream, Name: r.ConsumerName(p)}
	}
	return out
}
