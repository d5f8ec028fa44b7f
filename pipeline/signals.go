package pipeline

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// Signals publishes and listens to ephemeral signals on core NATS (never stored).
type Signals struct {
	nc  *nats.Conn
	log *zap.Logger
}

var _ connectors.Signals = (*Signals)(nil)

// NewSignals returns signals over nc.
func NewSignals(nc *nats.Conn, log *zap.Logger) *Signals {
	if log == nil {
		log = zap.NewNop()
	}
	return &Signals{nc: nc, log: log.Named("signals")}
}

// Signal publishes data on sb.signal.<topic>.
func (s *Signals) Signal(topic string, data []byte) error {
	if !validTopic(topic) {
		return fmt.Errorf("%w: signal topic %q", kernel.ErrInvalidMessage, topic)
	}
	if err := s.nc.Publish(streams.SignalPrefix+topic, data); err != nil {
		return kernel.Unavailable(err)
	}
	return nil
}

// Listen subscribes to sb.signal.<prefix>>.
func (s *Signals) Listen(prefix string, fn func(topic string, data []byte)) (func(), error) {
	if prefix != "" && (!strings.HasSuffix(prefix, ".") || !validTopic(strings.TrimSuffix(prefix, "."))) {
		return nil, fmt.Errorf("%w: signal prefix %q must be tokens ending in '.'", kernel.ErrInvalidMessage, prefix)
	}
	sub, err := s.nc.Subscribe(streams.SignalPrefix+prefix+">", func(m *nats.Msg) {
		defer func() { // a listener's bug must not take the connection's dispatcher down
			if p := recover(); p != nil {
				s.log.Error("signal listener panicked", zap.String("subject", m.Subject), zap.Any("panic", p), zap.Stack("stack"))
			}
		}()
		fn(strings.TrimPrefix(m.Subject, streams.SignalPrefix), m.Data)
	})
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	return func() { _ = sub.Unsubscribe() }, nil
}

func validTopic(topic string) bool {
	if topic == "" || len(topic) > 255 {
		return false
	}
	for _, tok := range strings.Split(topic, ".") {
		if !schema.ValidToken(tok) {
			return false
		}
	}
	return true
}
