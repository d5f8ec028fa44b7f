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

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Publisher is the durable handoff for connectors: it publishes to SB_INBOUND and returns
// only after JetStream has acknowledged.
type Publisher struct {
	js         jetstream.JetStream
	blobs      connectors.BlobStore
	partitions int
	metrics    *Metrics
	circuit    *circuit
	// partitionKey picks a message's SB_INBOUND partition (default: the sender's address).
	partitionKey func(*schema.Message) string
}

var _ connectors.Publisher = (*Publisher)(nil)

// NewPublisher returns a publisher over js.
func NewPublisher(js jetstream.JetStream, blobs connectors.BlobStore, partitions int, m *Metrics) *Publisher {
	return &Publisher{js: js, blobs: blobs, partitions: max(partitions, 1), metrics: m,
		circuit: &circuit{conn: js.Conn(), metrics: m}, partitionKey: func(m *schema.Message) string { return m.From.Key() }}
}

// PartitionBy files each message under the SB_INBOUND partition of key(message), which must
// be the same for every message of one sender (their order is kept per partition). The
// gateway uses the customer the sender is expected to be, so that the router reading the
// partition is usually that customer's. Call it before the first Publish.
func (p *Publisher) PartitionBy(key func(*schema.Message) string) { p.partitionKey = key }

// Publish stores m on SB_INBOUND. See [connectors.Publisher].
func (p *Publisher) Publish(ctx context.Context, m *schema.Message) (connectors.Receipt, error) {
	if err := prepare(m); err != nil {
		p.metrics.Messages.WithLabelValues(string(m.Channel), "invalid").Inc()
		return connectors.Receipt{}, err
	}
	data, err := p.encode(ctx, m)
	if err != nil {
		p.metrics.Messages.WithLabelValues(string(m.Channel), "failed").Inc()
		return connectors.Receipt{ID: m.ID}, err
	}
	key := p.partitionKey(m)
	subject := streams.InboundSubject(m.Channel, m.Account, streams.Partition(key, p.partitions))
	ack, err := p.publish(ctx, streams.StreamInbound, subject, m.ID, streams.KindMessage, data,
		streams.HeaderLane, strconv.FormatUint(streams.LaneHash(key), 10))
	if err != nil {
		p.metrics.Messages.WithLabelValues(string(m.Channel), "failed").Inc()
		return connectors.Receipt{ID: m.ID}, err
	}
	outcome := "accepted"
	if ack.Duplicate {
		outcome = "duplicate"
	}
	p.metrics.Messages.WithLabelValues(string(m.Channel), outcome).Inc()
	return connectors.Receipt{ID: m.ID, Duplicate: ack.Duplicate}, nil
}

// PublishStatus stores a delivery status update on SB_INBOUND.
func (p *Publisher) PublishStatus(ctx context.Context, s *schema.StatusUpdate) error {
	if s.Channel == "" || !schema.ValidToken(s.Account) || s.Status == "" || (s.MessageID == "" && s.ExternalID == "") {
		return fmt.Errorf("%w: status update needs channel, account, status and a message or external id", kernel.ErrInvalidMessage)
	}
	s.Schema = schema.StatusSchema
	if s.At.IsZero() {
		s.At = time.Now().UTC()
	}
	data, err := json.Marshal(s)
	if err != nil {
		return err
	}
	ref := s.MessageID
	if ref == "" {
		ref = s.ExternalID
	}
	id := fmt.Sprintf("status:%s:%s:%s:%s", s.Channel, s.Account, ref, s.Status)
	if s.Resend > 0 {
		id += fmt.Sprintf(":r%d", s.Resend) // a resend's statuses are news again
	}
	_, err = p.publish(ctx, streams.StreamInbound, streams.StatusSubject(s.Channel, s.Account, streams.Partition(ref, p.partitions)), id, streams.KindStatus, data)
	return err
}

// publishAttempt bounds one publish attempt. While a stream elects a new leader an
// attempt can hang; a fresh attempt (same message id, so never stored twice) usually goes
// through well inside the caller's deadline.
const publishAttempt = 3 * time.Second

// publish makes one message durable, or says why not within handoffBudget. While JetStream
// is known to be unreachable it refuses at once (kernel.ErrCircuitOpen). A message refused
// after a timeout may still land (the publish was sent); its retry, with the same id, is then
// answered as a duplicate.
func (p *Publisher) publish(ctx context.Context, stream, subject, id, kind string, data []byte, header ...string) (*jetstream.PubAck, error) {
	start := time.Now()
	if !p.circuit.allow(start) {
		p.metrics.FastRefused.Inc()
		return nil, kernel.ErrCircuitOpen
	}
	ctx, cancelAll := context.WithTimeout(ctx, handoffBudget)
	defer cancelAll()
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{streams.HeaderKind: {kind}}}
	for i := 0; i+1 < len(header); i += 2 {
		msg.Header.Set(header[i], header[i+1])
	}
	for {
		actx, cancel := context.WithTimeout(ctx, publishAttempt)
		ack, err := p.js.PublishMsg(actx, msg, jetstream.WithMsgID(id), jetstream.WithExpectStream(stream))
		cancel()
		if err == nil {
			p.circuit.succeeded()
			p.metrics.Publish.WithLabelValues(stream).Observe(time.Since(start).Seconds())
			return ack, nil
		}
		if retryablePublish(err) && !errors.Is(err, nats.ErrNoResponders) {
			p.circuit.trip() // no answer in time: new messages are refused at once
		}
		if ctx.Err() != nil || !retryablePublish(err) {
			return nil, kernel.Unavailable(err)
		}
		select {
		case <-ctx.Done():
			return nil, kernel.Unavailable(err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// retryablePublish reports whether another attempt may succeed: timeouts and missing
// responders (a leader election), not a refusal by the stream.
func retryablePublish(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// prepare fills defaults and checks what the contract requires.
func prepare(m *schema.Message) error {
	var missing []string
	if m.Channel == "" {
		missing = append(missing, "channel")
	}
	if !schema.ValidToken(m.Account) {
		missing = append(missing, "account (letters, digits, - and _)")
	}
	if m.ExternalID == "" {
		missing = append(missing, "external_id")
	}
	if m.From.Kind == "" || m.From.Value == "" {
		missing = append(missing, "from")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: missing or invalid %v", kernel.ErrInvalidMessage, missing)
	}
	m.Schema = schema.MessageSchema
	m.ID = schema.MessageID(schema.DedupeKey(m.Channel, m.Account, m.ExternalID))
	if m.Direction == "" {
		m.Direction = schema.Inbound
	}
	if m.Kind == "" {
		m.Kind = schema.KindMessage
	}
	if m.ReceivedAt.IsZero() {
		m.ReceivedAt = time.Now().UTC()
	}
	return nil
}

// encode marshals m, moving an oversized raw payload to the object store.
func (p *Publisher) encode(ctx context.Context, m *schema.Message) ([]byte, error) {
	data, err := kernel.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", kernel.ErrInvalidMessage, err)
	}
	const headroom = 4 << 10
	if len(data) <= MaxPayload-headroom {
		return data, nil
	}
	if len(m.Raw) > 0 && p.blobs != nil {
		ref, err := p.blobs.Put(ctx, "raw/"+m.ID, "application/json", bytesReader(m.Raw), int64(len(m.Raw)))
		if err != nil {
			return nil, kernel.Unavailable(err)
		}
		m.Raw, m.RawRef = nil, &ref
		if data, err = kernel.Marshal(m); err == nil && len(data) <= MaxPayload-headroom {
			return data, nil
		}
	}
	return nil, fmt.Errorf("%w: message is %d bytes after moving the raw payload out; the limit is %d",
		kernel.ErrTooLarge, len(data), MaxPayload-headroom)
}
