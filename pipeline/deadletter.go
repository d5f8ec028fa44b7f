package pipeline

import (
	"context"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// DeadLetters puts unprocessable messages on SB_DLQ with the reason, keeping the original
// subject and headers so they can be redriven.
type DeadLetters struct {
	js      jetstream.JetStream
	metrics *Metrics
}

// Headers on a dead letter, besides Sb-Stage and Sb-Reason.
const (
	HeaderOrigSubject = "Sb-Orig-Subject"
	HeaderOrigStream  = "Sb-Orig-Stream"
	HeaderOrigSeq     = "Sb-Orig-Seq"
)

// NewDeadLetters returns the dead-letter writer.
func NewDeadLetters(js jetstream.JetStream, m *Metrics) *DeadLetters {
	return &DeadLetters{js: js, metrics: m}
}

// Put dead-letters msg from stage with reason. It returns once the dead letter is durable.
func (d *DeadLetters) Put(ctx context.Context, stage string, msg jetstream.Msg, reason string) error {
	_, err := d.PutSeq(ctx, stage, msg, reason)
	return err
}

// PutSeq is Put that also returns the dead letter's sequence in SB_DLQ.
func (d *DeadLetters) PutSeq(ctx context.Context, stage string, msg jetstream.Msg, reason string) (uint64, error) {
	h := nats.Header{}
	for k, v := range msg.Headers() {
		if k != nats.MsgIdHdr && k != streams.HeaderRedrive {
			h[k] = v
		}
	}
	h.Set(streams.HeaderStage, stage)
	h.Set(streams.HeaderReason, reason)
	h.Set(HeaderOrigSubject, msg.Subject())
	if md, err := msg.Metadata(); err == nil {
		h.Set(HeaderOrigStream, md.Stream)
		h.Set(HeaderOrigSeq, strconv.FormatUint(md.Sequence.Stream, 10))
	}
	ack, err := d.js.PublishMsg(ctx, &nats.Msg{Subject: streams.DeadLetterSubject(stage), Header: h, Data: msg.Data()})
	if err != nil {
		return 0, kernel.Unavailable(err)
	}
	d.metrics.DeadLetters.WithLabelValues(stage).Inc()
	return ack.Sequence, nil
}
