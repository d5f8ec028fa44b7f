package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"go.uber.org/zap"
)

// Handler processes one message of a partition. Returning nil acks it. A [PoisonError]
// dead-letters it at once; a [LaterError] redelivers it after a delay (while the partition
// moves on when MaxAckPending allows more than one in flight); any other error retries it in place (the partition waits, so order holds) until
// MaxAttempts, then dead-letters it.
type Handler func(ctx context.Context, partition int, msg jetstream.Msg) error

// Partitioned runs one durable consumer per partition of a stream, and processes each
// partition on exactly one instance at a time.
//
// Exclusivity comes from a lease per partition (Leases), not from the consumer: a consumer
// only decides who receives messages, and an instance that lost its turn could otherwise
// still be working through messages it had already received while another instance takes
// newer ones — the customer's messages would interleave. The lease holder stops, and cancels
// the message in hand, as soon as it cannot renew (well before the lease can expire for
// anyone else); a new holder first waits until nothing is left unacknowledged with the
// previous one, so redeliveries come back, in order, before anything newer.
type Partitioned struct {
	JS         jetstream.JetStream
	Stream     string
	Stage      string // consumer name prefix, lease prefix, metrics label, dead-letter subject
	Partitions int
	Filters    func(p int) []string
	// More are further streams each partition consumes under the same lease, at the same
	// time as Stream: one message in flight per source, so Handle may run concurrently for
	// one partition (once per source) and must order what needs ordering itself.
	More        []Source
	Handle      Handler
	Leases      kernel.Leaser
	MaxAttempts int
	Backoff     kernel.Backoff
	AckWait     time.Duration
	// MaxAckPending is 1 (the default) for strict order: the next message comes only once
	// the previous one is acknowledged. Order-free streams (statuses) set more, so that a
	// message answered with a [LaterError] waits out its delay without holding the others.
	MaxAckPending int
	// Lanes and Lane pipeline Stream as they do a [Source].
	Lanes   int
	Lane    func(jetstream.Msg) (key uint64, ok bool)
	Batch   int
	DLQ     *DeadLetters
	Metrics *Metrics
	Logger  *zap.Logger
}

// Source is a further stream of a [Partitioned] runner: its durable consumer per partition is
// Stage-p<N> (a name of its own, so an existing consumer can be taken over), filtered by Filters.
type Source struct {
	Stream  string
	Stage   string
	Filters func(p int) []string
	// Lanes above 1 pipeline the partition: up to Lanes messages of different keys are
	// handled at once, messages of one key one at a time and in stream order (see
	// consumeLanes). Lane gives a message's key; one without a key waits until every
	// lane is idle and is handled alone. Handle must then be safe for concurrent messages
	// of different keys of one partition.
	Lanes int
	Lane  func(jetstream.Msg) (key uint64, ok bool)
}

// HeaderLane is the usual Lane: the key a publisher put in the message's Sb-Lane header
// ([streams.LaneHash]); a message without one (stored before lanes, or by a publisher that
// sets none) has no key.
func HeaderLane(m jetstream.Msg) (uint64, bool) {
	v := m.Headers().Get(streams.HeaderLane)
	if v == "" {
		return 0, false
	}
	k, err := strconv.ParseUint(v, 10, 64)
	return k, err == nil
}

// laneDepth is how many messages each lane may have delivered and not yet acknowledged: the
// one in hand and the next ones waiting behind it.
const laneDepth = 4

// maxAckPending is the consumer's MaxAckPending for src.
func (r *Partitioned) maxAckPending(src Source) int {
	if src.Lanes > 1 {
		return max(r.MaxAckPending, src.Lanes*laneDepth)
	}
	return max(r.MaxAckPending, 1)
}

// sources are the streams partition consumers read: Stream first, then More.
func (r *Partitioned) sources() []Source {
	return append([]Source{{Stream: r.Stream, Stage: r.Stage, Filters: r.Filters, Lanes: r.Lanes, Lane: r.Lane}}, r.More...)
}

func (s Source) consumerName(p int) string { return fmt.Sprintf("%s-p%d", s.Stage, p) }

// LeaseKey is the lease that makes partition p exclusive.
func (r *Partitioned) LeaseKey(p int) string { return fmt.Sprintf("partition.%s.%d", r.Stage, p) }

// Setup creates or updates the partition consumers.
func (r *Partitioned) Setup(ctx context.Context) error {
	for p := 0; p < r.Partitions; p++ {
		for _, src := range r.sources() {
			// MaxAckPending 1: the server hands out a partition's next message only once the
			// previous one is acknowledged. With more in flight, a message lost in delivery (a
			// node dying mid-send) comes back only after AckWait, behind newer ones: lanes
			// notice the gap it leaves in the delivery sequence and start over (consumeLanes).
			cc := jetstream.ConsumerConfig{
				Durable: src.consumerName(p), FilterSubjects: src.Filters(p),
				AckPolicy: jetstream.AckExplicitPolicy, AckWait: r.ackWait(),
				MaxAckPending: r.maxAckPending(src), MaxDeliver: -1,
			}
			if err := retry(ctx, func(ctx context.Context) error {
				_, err := r.JS.CreateOrUpdateConsumer(ctx, src.Stream, cc)
				return err
			}); err != nil {
				return fmt.Errorf("consumer %s on %s: %w", cc.Durable, src.Stream, err)
			}
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

// Run processes every partition this instance can lease, until ctx ends. The message being
// handled when ctx ends is finished; buffered ones are handed back for redelivery.
func (r *Partitioned) Run(ctx context.Context) error {
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 20
	}
	if r.Batch <= 0 {
		r.Batch = 256
	}
	if r.Leases == nil {
		return errors.New("pipeline: Partitioned needs Leases")
	}
	var wg sync.WaitGroup
	for p := 0; p < r.Partitions; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			r.runPartition(ctx, p)
		}(p)
	}
	wg.Wait()
	return nil
}

// runPartition takes the partition's lease, processes it while the lease holds, and starts
// over when the lease is lost or the consumer fails.
func (r *Partitioned) runPartition(ctx context.Context, p int) {
	log := r.Logger.With(zap.String("stage", r.Stage), zap.Int("partition", p))
	for ctx.Err() == nil {
		err := r.owned(ctx, p, log)
		if ctx.Err() != nil {
			return
		}
		log.Warn("partition stopped; taking it up again", zap.Error(err))
		r.Metrics.Errors.WithLabelValues(r.Stage).Inc()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// owned holds partition p's lease while it consumes every source of the partition. Before
// consuming, it waits until no source has a message outstanding with a previous holder; the
// first source to fail stops the others.
func (r *Partitioned) owned(ctx context.Context, p int, log *zap.Logger) error {
	return kernel.RunLeased(ctx, r.Leases, r.LeaseKey(p), func(ctx context.Context, lost <-chan struct{}) error {
		srcs := r.sources()
		deadline := time.Now().Add(r.ackWait() + time.Second) // one wait for all: their AckWaits run at once
		for _, src := range srcs {
			if err := awaitHandback(ctx, r.JS, src.Stream, src.consumerName(p), deadline); err != nil {
				return err
			}
		}
		log.Debug("partition acquired")
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errs := make(chan error, len(srcs))
		for _, src := range srcs {
			go func() {
				err := r.consume(ctx, lost, src, p, log)
				cancel()
				errs <- err
			}()
		}
		var err error
		for range srcs {
			err = errors.Join(err, <-errs)
		}
		return err
	})
}

// Consumers lists the durable consumers this runner uses.
func (r *Partitioned) Consumers() []ConsumerRef {
	var out []ConsumerRef
	for _, src := range r.sources() {
		for p := 0; p < r.Partitions; p++ {
			out = append(out, ConsumerRef{Stream: src.Stream, Name: src.consumerName(p)})
		}
	}
	return out
}
