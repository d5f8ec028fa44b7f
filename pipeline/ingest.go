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

// Stage transforms an inbound message between SB_INBOUND and routing. Stages run in order;
// the last one must set CustomerID (the router's identity graph does).
type Stage interface {
	Name() string
	Process(ctx context.Context, m *schema.Message) error
}

// Stages are the stages every inbound message goes through before it is routed.
type Stages []Stage

// Prepare decodes a message as stored on SB_INBOUND (raw; seq its stream sequence, 0 when it
// did not come from there) and runs the stages over it. The provider's raw payload is
// dropped when seq is known: it stays in SB_INBOUND, where GET /v1/messages/{id} finds it by
// that sequence. A message that cannot be decoded, has no id or was not identified is poison.
func (ss Stages) Prepare(ctx context.Context, raw []byte, seq uint64) (*schema.Message, error) {
	var m schema.Message
	if err := kernel.Unmarshal(raw, &m); err != nil {
		return nil, Poison(fmt.Errorf("undecodable message: %w", err))
	}
	if m.ID == "" {
		return nil, Poison(errors.New("message has no id"))
	}
	for _, st := range ss {
		if err := st.Process(ctx, &m); err != nil {
			return nil, fmt.Errorf("stage %s: %w", st.Name(), err)
		}
	}
	if m.CustomerID == "" {
		return nil, Poison(errors.New("no stage identified the customer"))
	}
	if seq > 0 {
		m.Raw = nil
	}
	return &m, nil
}

// InboundSeq is the SB_INBOUND sequence of a message consumed from there.
func InboundSeq(msg jetstream.Msg) uint64 {
	if md, err := msg.Metadata(); err == nil {
		return md.Sequence.Stream
	}
	return 0
}

// Forward hands an identified message or a status (inSeq 0) to its customer's SB_ROUTE
// partition, deduplicated on id.
func Forward(ctx context.Context, js jetstream.JetStream, partitions int, customerID, id, kind string, data []byte, inSeq uint64) error {
	msg := &nats.Msg{Subject: streams.RouteSubject(streams.Partition(customerID, partitions)), Data: data,
		Header: nats.Header{streams.HeaderKind: {kind}}}
	if inSeq > 0 {
		msg.Header.Set(streams.HeaderInbound, strconv.FormatUint(inSeq, 10))
	}
	if _, err := js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return kernel.Unavailable(err)
	}
	return nil
}

// IngestOptions configures the status stage.
type IngestOptions struct {
	JS      jetstream.JetStream
	Config  Config
	Leases  kernel.Leaser // makes each partition exclusive across instances
	DLQ     *DeadLetters
	Metrics *Metrics
	Logger  *zap.Logger
}

// Ingest consumes the delivery statuses on SB_INBOUND: each is matched to the outbound
// message it reports on and forwarded to that message's customer's SB_ROUTE partition.
// Customers' messages are not its business: the router consumes them from SB_INBOUND
// itself (see router.Options.Stages).
type Ingest struct {
	js       jetstream.JetStream
	messages jetstream.KeyValue
	outbox   jetstream.KeyValue
	parts    int
	statuses *Partitioned // order-free, so one waiting for its message holds nothing up
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
	in := &Ingest{js: o.JS, messages: msgs, outbox: outbox, parts: c.Partitions}
	// A status may arrive before the outbox knows its provider id, or be about a message
	// Switchboard never sent; it waits (LaterError) without delaying anything else.
	in.statuses = &Partitioned{
		JS: o.JS, Stream: streams.StreamInbound, Stage: "status", Partitions: c.Partitions,
		Filters:       func(p int) []string { return []string{streams.StatusPartitionFilter(p)} },
		MaxAckPending: 256,
		Handle:        func(ctx context.Context, _ int, msg jetstream.Msg) error { return in.handleStatus(ctx, msg.Data()) },
		Leases:        o.Leases, MaxAttempts: c.MaxAttempts, DLQ: o.DLQ, Metrics: o.Metrics, Logger: o.Logger,
		Backoff: kernel.Backoff{Min: 100 * time.Millisecond, Max: 30 * time.Second},
	}
	return in, nil
}

// Setup creates the stage's consumers.
func (in *Ingest) Setup(ctx context.Context) error { return in.statuses.Setup(ctx) }

// Run processes until ctx ends.
func (in *Ingest) Run(ctx context.Context) error { return in.statuses.Run(ctx) }

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
	return Forward(ctx, in.js, in.parts, m.CustomerID, id, streams.KindStatus, out, 0)
}

// Consumers lists the stage's durable consumers (for lag metrics).
func (in *Ingest) Consumers() []ConsumerRef { return in.statuses.Consumers() }
