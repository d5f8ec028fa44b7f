package connectors

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the connector framework's Prometheus series.
type Metrics struct {
	Requests       *prometheus.CounterVec   // switchboard_http_requests_total{channel,route,code}
	Latency        *prometheus.HistogramVec // switchboard_http_request_duration_seconds{channel,route}
	Rejected       *prometheus.CounterVec   // switchboard_rejected_requests_total{channel,code}
	Overload       *prometheus.CounterVec   // switchboard_overload_total{channel}
	Panics         *prometheus.CounterVec   // switchboard_panics_total{channel}
	SourceUp       *prometheus.GaugeVec     // switchboard_source_up{source}
	SourceRestarts *prometheus.CounterVec   // switchboard_source_restarts_total{source}
	SourceLeased   *prometheus.GaugeVec     // switchboard_source_leased{source}
}

// NewMetrics creates the series and registers them with reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_http_requests_total", Help: "HTTP requests to connector endpoints, by answer code.",
		}, []string{"channel", "route", "code"}),
		Latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_http_request_duration_seconds", Help: "Time to answer connector requests.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"channel", "route"}),
		Rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_rejected_requests_total", Help: "Requests refused for bad credentials or signatures.",
		}, []string{"channel", "code"}),
		Overload: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_overload_total", Help: "Requests answered 503 because too many were in flight.",
		}, []string{"channel"}),
		Panics: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_panics_total", Help: "Recovered panics in connector handlers.",
		}, []string{"channel"}),
		SourceUp: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_source_up", Help: "1 while a pull source is connected and running.",
		}, []string{"source"}),
		SourceRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_source_restarts_total", Help: "Times a pull source failed and was restarted.",
		}, []string{"source"}),
		SourceLeased: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_source_leased", Help: "1 while this instance holds the source's lease.",
		}, []string{"source"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.Latency, m.Rejected, m.Overload, m.Panics, m.SourceUp, m.SourceRestarts, m.SourceLeased)
	}
	return m
}

func (m *Metrics) observe(ep Endpoint, route string, status int, d time.Duration) {
	m.Requests.WithLabelValues(string(ep.Channel), route, strconv.Itoa(status)).Inc()
	m.Latency.WithLabelValues(string(ep.Channel), route).Observe(d.Seconds())
}
