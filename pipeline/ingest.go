package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Stage transforms an inbound message between SB_INBOUND and the router. Stages run in order;
// the last one must set CustomerID (the router's identity graph does).
type Stage interface {
	Name() string
	Process(ctx context.Context, m *schema.Message) error
}

// IngestOptions configures the ingest stage.
type IngestOptions struct {
	JS      jetstream.JetStream
	Config  Config
	Stages  []Stage
	Leases  kernel.Leaser // makes each partition exclusive across instances
	DLQ     *DeadLetters
	Metrics *Metrics
	Logger  *zap.Logger
}

// Ingest consumes SB_INBOUND in sender partitions, runs the stages and forwards each message to
// its customer's SB_ROUTE partition. Duplicates older than the JetStream dedupe window are
// dropped by the router, which reads the message record anyway.
// Status updates are matched to the outbound message they report on and forwarded likewise.
type Ingest struct {
	js       jetstream.JetStream
	messages jetstream.KeyValue
	outbox   jetstream.KeyValue
	stages   []Stage
	parts    int
	runner   *Partitioned // messages: one at a time per partition, in order
	statuses *Partitioned // statuses: order-free, so one waiting for its message holds nothing up
	log      *zap.Logger
	metrics  *Metrics
}

// NewIngest opens the buckets the stage needs.
func NewIngest(ctx context.Context, o IngestOptions) (*Ingest, error) {
	c := o.Config.WithDefaults()
	msgs, err := o.JS.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		return nil, err
	}
	outbox, err := o.JS.KeyValue(ctx, streams.BucketOutbox)
	if err != nil {
		return nil, err
	}
	in := &Ingest{js: o.JS, messages: msgs, outbox: outbox, stages: o.Stages, parts: c.Partitions,
		log: o.Logger.Named("ingest"), metrics: o.Metrics}
	runner := func(stage string, filter func(int) string, maxAckPending int) *Partitioned {
		return &Partitioned{
			JS: o.JS, Stream: streams.StreamInbound, Stage: stage, Partitions: c.Partitions,
			Filters:       func(p int) []string { return []string{filter(p)} },
			MaxAckPending: maxAckPending,
			Handle:        in.handle, Leases: o.Leases, MaxAttempts: c.MaxAttempts, DLQ: o.DLQ, Metrics: o.Metrics, Logger: o.Logger,
			Backoff: kernel.Backoff{Min: 100 * time.Millisecond, Max: 30 * time.Second},
		}
	}
	in.runner = runner("ingest", streams.InboundPartitionFilter, 1)
	// A status may arrive before the outbox knows its provider id, or be about a message
	// Switchboard never sent; it waits (LaterError) without delaying customers' messages.
	in.statuses = runner("status", streams.StatusPartitionFilter, 256)
	return in, nil
}

// Setup creates the stage's consumers.
func (in *Ingest) Setup(ctx context.Context) error {
	if err := in.runner.Setup(ctx); err != nil {
		return err
	}
	return in.statuses.Setup(ctx)
}

// Run processes until ctx ends.
func (in *Ingest) Run(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- in.statuses.Run(ctx) }()
	err := in.runner.Run(ctx)
	return errors.Join(err, <-done)
}

func (in *Ingest) handle(ctx context.Context, _ int, msg jetstream.Msg) error {
	if msg.Headers().Get(streams.HeaderKind) == streams.KindStatus {
		return in.handleStatus(ctx, msg.Data())
	}
	var seq uint64
	if md, err := msg.Metadata(); err == nil {
		seq = md.Sequence.Stream
	}
	return in.handleMessage(ctx, msg.Data(), seq)
}

func (in *Ingest) handleMessage(ctx context.Context, raw []byte, seq uint64) error {
	var m schema.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return Poison(fmt.Errorf("undecodable message: %w", err))
	}
	if m.ID == "" {
		return Poison(errors.New("message has no id"))
	}
	for _, st := range in.stages {
		if err := st.Process(ctx, &m); err != nil {
			return fmt.Errorf("stage %s: %w", st.Name(), err)
		}
	}
	if m.CustomerID == "" {
		return Poison(errors.New("no stage identified the customer"))
	}
	if seq > 0 {
		// The router never reads the provider's raw payload; it stays in SB_INBOUND, where
		// GET /v1/messages/{id} finds it by the sequence the routed copy carries.
		m.Raw = nil
	}
	data, err := json.Marshal(&m)
	if err != nil {
		return Poison(err)
	}
	return in.forward(ctx, m.CustomerID, "m:"+m.ID, streams.KindMessage, data, seq)
}

// forward hands an identified message or a status (inSeq 0) to its customer's partition.
func (in *Ingest) forward(ctx context.Context, customerID, id, kind string, data []byte, inSeq uint64) error {
	msg := &nats.Msg{Subject: streams.RouteSubject(streams.Partition(customerID, in.parts)), Data: data,
		Header: nats.Header{streams.HeaderKind: {kind}}}
	if inSeq > 0 {
		msg.Header.Set(streams.HeaderInbound, strconv.FormatUint(inSeq, 10))
	}
	if _, err := in.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return kernel.Unavailable(err)
	}
	return nil
}

// statusDelay is how long a status for a message not yet known waits before another look: a
// provider's callback can overtake the sender's own record of the send.
const statusDelay = 2 * time.Second

func (in *Ingest) handleStatus(ctx context.Context, data []byte) error {
	var st schema.StatusUpdate
	if err := json.Unmarshal(data, &st); err != nil {
		return Poison(fmt.Errorf("undecodable status: %w", err))
	}
	if st.MessageID == "" {
		id, err := LookupExternal(ctx, in.outbox, st.Channel, st.Account, st.ExternalID)
		if errors.Is(err, kernel.ErrNotFound) {
			return Later(fmt.Errorf("no outbound message has provider id %q (yet)", st.ExternalID), statusDelay)
		}
		if err != nil {
			return err
		}
		st.MessageID = id
	}
	e, err := in.messages.Get(ctx, streams.OutboundRecordKey(st.MessageID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		e, err = in.messages.Get(ctx, st.MessageID) // a record from before the index
	}
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Later(fmt.Errorf("status for unknown message %s", st.MessageID), statusDelay)
	}
	if err != nil {
		return kernel.Unavailable(err)
	}
	var m schema.Message
	if err := json.Unmarshal(e.Value(), &m); err != nil || m.CustomerID == "" {
		return Later(fmt.Errorf("message %s is not routed yet", st.MessageID), statusDelay)
	}
	out, _ := json.Marshal(&st)
	id := fmt.Sprintf("s:%s:%s:%s", st.MessageID, st.Status, st.ErrorCode)
	return in.forward(ctx, m.CustomerID, id, streams.KindStatus, out, 0)
}

// Consumers lists the stage's durable consumers (for lag metrics).
func (in *Ingest) Consumers() []ConsumerRef {
	return append(in.runner.Consumers(), in.statuses.Consumers()...)
}
