package pipeline

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	Messages     *prometheus.CounterVec   // switchboard_messages_total{channel,outcome}
	Publish      *prometheus.HistogramVec // switchboard_publish_duration_seconds{stream}
	CircuitOpen  prometheus.Gauge         // switchboard_publish_circuit_open
	FastRefused  prometheus.Counter       // switchboard_publish_refused_total
	Stage        *prometheus.CounterVec   // switchboard_stage_messages_total{stage,outcome}
	StageLatency *prometheus.HistogramVec // switchboard_stage_duration_seconds{stage}
	InHand       *prometheus.GaugeVec     // switchboard_stage_in_hand{stage}
	Outbound     *prometheus.CounterVec   // switchboard_outbound_total{channel,outcome}
	DeadLetters  *prometheus.CounterVec   // switchboard_dead_letters_total{stage}
	Errors       *prometheus.CounterVec   // switchboard_errors_total{component}
	IndexHorizon prometheus.Gauge         // switchboard_message_index_horizon_seconds
}

var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}

// NewMetrics creates the series and registers them with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_messages_total",
			Help: "Messages handed to the pipeline by connectors, by outcome (accepted, duplicate, failed).",
		}, []string{"channel", "outcome"}),
		CircuitOpen: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_publish_circuit_open",
			Help: "1 while JetStream is unreachable and new messages are refused at once (503)."}),
		FastRefused: prometheus.NewCounter(prometheus.CounterOpts{Name: "switchboard_publish_refused_total",
			Help: "Messages refused at once while the publish circuit was open."}),
		Publish: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_publish_duration_seconds", Help: "Time from publish to JetStream acknowledgement.",
			Buckets: latencyBuckets,
		}, []string{"stream"}),
		Stage: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_stage_messages_total",
			Help: "Messages processed by pipeline and router stages, by outcome (ok, duplicate, retry, dead_letter; gap: a lost delivery made a pipelined partition start over).",
		}, []string{"stage", "outcome"}),
		InHand: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_stage_in_hand",
			Help: "Messages a stage is handling right now (at most partitions × lanes for the router's customers' messages).",
		}, []string{"stage"}),
		StageLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_stage_duration_seconds", Help: "Time a stage spends on one message.",
			Buckets: latencyBuckets,
		}, []string{"stage"}),
		Outbound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_total", Help: "Outbound sends by outcome (sent, retry, failed, skipped).",
		}, []string{"channel", "outcome"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_dead_letters_total", Help: "Messages put on the dead-letter stream.",
		}, []string{"stage"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_errors_total", Help: "Errors by component.",
		}, []string{"component"}),
		IndexHorizon: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_message_index_horizon_seconds",
			Help: "Age of the last entry the message index dropped for room: how far back, at the current rate, a message is still found by id and a late duplicate recognized (0 until the index is full)."}),
	}
	if reg != nil {
		reg.MustRegister(m.Messages, m.Publish, m.CircuitOpen, m.FastRefused, m.Stage, m.StageLatency, m.InHand, m.Outbound, m.DeadLetters, m.Errors, m.IndexHorizon)
	}
	return m
}
