package pipeline

import (
	"encoding/json"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// Rejections records refused requests on SB_REJECTED without holding up the answer: the
// publish is asynchronous and a failure is only logged (the stream is forensic, bounded, and
// never worth failing a request over).
type Rejections struct {
	js  jetstream.JetStream
	log *zap.Logger
}

var _ connectors.Rejecter = (*Rejections)(nil)

// NewRejections returns a recorder over js.
func NewRejections(js jetstream.JetStream, log *zap.Logger) *Rejections {
	return &Rejections{js: js, log: log}
}

// Reject records r.
func (r *Rejections) Reject(rej *connectors.Rejection) {
	data, err := json.Marshal(rej)
	if err != nil {
		return
	}
	if _, err := r.js.PublishAsync(streams.RejectedSubject(rej.Channel), data); err != nil {
		r.log.Warn("could not record rejected request", zap.Error(err))
	}
}
