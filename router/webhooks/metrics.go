package webhooks

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the deliverer's Prometheus series.
type Metrics struct {
	Attempts *prometheus.CounterVec
	Failing  *prometheus.GaugeVec
	Position *prometheus.GaugeVec
}

// NewMetrics registers the series with reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "switchboard_webhook_attempts_total",
			Help: "Webhook delivery attempts by subscription and outcome (delivered, failed)."}, []string{"subscription", "outcome"}),
		Failing: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_webhook_failing",
			Help: "1 while a subscription's oldest undelivered event has failed for retry.failing_after."}, []string{"subscription"}),
		Position: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "switchboard_webhook_position",
			Help: "The SB_CONVERSATIONS stream sequence a subscription has handled up to."}, []string{"subscription"}),
	}
	if reg != nil {
		reg.MustRegister(m.Attempts, m.Failing, m.Position)
	}
	return m
}
