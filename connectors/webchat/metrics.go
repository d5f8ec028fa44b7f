package webchat

import "github.com/prometheus/client_golang/prometheus"

// metrics are the channel's Prometheus series.
type metrics struct {
	connections prometheus.Gauge       // switchboard_webchat_connections
	disconnects *prometheus.CounterVec // switchboard_webchat_disconnects_total{reason}
	frames      *prometheus.CounterVec // switchboard_webchat_frames_total{type}
	messages    *prometheus.CounterVec // switchboard_webchat_messages_total{outcome}
	refused     *prometheus.CounterVec // switchboard_webchat_refused_total{reason}
	statuses    *prometheus.CounterVec // switchboard_webchat_statuses_total{status,outcome}
	ackLatency  prometheus.Histogram   // switchboard_webchat_ack_seconds
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		connections: prometheus.NewGauge(prometheus.GaugeOpts{Name: "switchboard_webchat_connections",
			Help: "Open webchat sockets on this instance."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webchat_disconnects_total",
			Help: "Sockets that ended, by reason (closed, timeout, slow, read_limit, policy, write_failed, ...)."}, []string{"reason"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webchat_frames_total",
			Help: "Frames received from browsers, by type (invalid, rate_limited included)."}, []string{"type"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webchat_messages_total",
			Help: "Visitor messages by outcome (stored, refused, unavailable)."}, []string{"outcome"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webchat_refused_total",
			Help: "Refused credentials: bad session tokens, identities, attachment tokens, origins, file links."}, []string{"reason"}),
		statuses: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webchat_statuses_total",
			Help: "Delivered and read statuses reported by sockets."}, []string{"status", "outcome"}),
		ackLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "switchboard_webchat_ack_seconds",
			Help:    "Time from a visitor message to its durable acknowledgement.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, 1}}),
	}
	if reg != nil {
		reg.MustRegister(m.connections, m.disconnects, m.frames, m.messages, m.refused, m.statuses, m.ackLatency)
	}
	return m
}
