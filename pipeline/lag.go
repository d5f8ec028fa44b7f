package pipeline

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerRef names a durable consumer.
type ConsumerRef struct{ Stream, Name string }

// LagCollector exports consumer lag at scrape time:
// switchboard_consumer_pending (not yet delivered) and switchboard_consumer_ack_pending
// (delivered, not yet acknowledged), by stream and consumer.
type LagCollector struct {
	js        jetstream.JetStream
	consumers func() []ConsumerRef
	pending   *prometheus.Desc
	unacked   *prometheus.Desc
}

// NewLagCollector returns a collector over the consumers listed by list.
func NewLagCollector(js jetstream.JetStream, list func() []ConsumerRef) *LagCollector {
	return &LagCollector{
		js: js, consumers: list,
		pending: prometheus.NewDesc("switchboard_consumer_pending",
			"Messages not yet delivered to a pipeline consumer (lag).", []string{"stream", "consumer"}, nil),
		unacked: prometheus.NewDesc("switchboard_consumer_ack_pending",
			"Messages delivered to a pipeline consumer and not yet acknowledged.", []string{"stream", "consumer"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (l *LagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- l.pending; ch <- l.unacked }

// Collect implements prometheus.Collector.
func (l *LagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, c := range l.consumers() {
		cons, err := l.js.Consumer(ctx, c.Stream, c.Name)
		if err != nil {
			continue
		}
		info := cons.CachedInfo()
		if fresh, err := cons.Info(ctx); err == nil {
			info = fresh
		}
		ch <- prometheus.MustNewConstMetric(l.pending, prometheus.GaugeValue, float64(info.NumPending), c.Stream, c.Name)
		ch <- prometheus.MustNewConstMetric(l.unacked, prometheus.GaugeValue, float64(info.NumAckPending), c.Stream, c.Name)
	}
}
