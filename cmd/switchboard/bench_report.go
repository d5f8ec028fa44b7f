package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"time"
)

// latencyStats summarizes a latency sample in milliseconds.
type latencyStats struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summarize(d []time.Duration) latencyStats {
	if len(d) == 0 {
		return latencyStats{}
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		i := int(p*float64(len(d))+0.5) - 1
		return float64(d[min(max(i, 0), len(d)-1)]) / 1e6
	}
	return latencyStats{N: len(d), P50: q(.50), P95: q(.95), P99: q(.99), Max: float64(d[len(d)-1]) / 1e6}
}

// benchReport is what `switchboard bench` prints.
type benchReport struct {
	Scenario        string         `json:"scenario"`
	Messages        int            `json:"messages"`
	Concurrency     int            `json:"concurrency"`
	Customers       int            `json:"customers"`
	Rate            float64        `json:"rate,omitempty"`
	InProcess       bool           `json:"in_process"`
	Accepted        int            `json:"accepted"`
	Failures        map[string]int `json:"failures"`
	AcceptedPerSec  float64        `json:"accepted_per_sec"`
	AcceptLatency   latencyStats   `json:"accept_latency"`
	Events          int            `json:"events"`
	EventsPerSec    float64        `json:"events_per_sec"`
	EndToEnd        latencyStats   `json:"end_to_end_latency"`
	Lost            int            `json:"lost"`
	OrderViolations int            `json:"order_violations"`
	Unrecognized    int            `json:"unrecognized_events"`
	Stored          int            `json:"stored"`
	CPUPerMessage   float64        `json:"cpu_ms_per_message,omitempty"`
	StoredMismatch  int            `json:"stored_minus_accepted"`
	Raw             *rawResult     `json:"raw_jetstream,omitempty"`
	Ratio           float64        `json:"ratio_to_raw,omitempty"`
	Reference       *refResult     `json:"reference,omitempty"`
	// RoutedToReference is routed events/s ÷ the reference's accepted/s (target ≥ 0.9);
	// CPUToReference is CPU per routed message ÷ the reference's per accepted one (≤ 1.5);
	// AcceptedToReference is the gateway's intake ÷ the reference's (≥ 0.9).
	RoutedToReference   float64 `json:"routed_to_reference,omitempty"`
	CPUToReference      float64 `json:"cpu_to_reference,omitempty"`
	AcceptedToReference float64 `json:"accepted_to_reference,omitempty"`
	// Insight: how far behind the stream the insight projection's stored figures were when the
	// last message was routed, and how long it then took to catch up (-1: it did not within
	// the timeout).
	InsightLag     uint64  `json:"insight_lag_events"`
	InsightCatchUp float64 `json:"insight_catch_up_seconds"`
}

// collectEvents computes end-to-end figures: from a request's (intended) start to its
// conversation event.
func (r *benchReport) collectEvents(tr *tracker) {
	var lat []time.Duration
	var first, last int64
	for i := range tr.arrived {
		a, s := tr.arrived[i].Load(), tr.start[i].Load()
		if a == 0 || s == 0 {
			continue
		}
		lat = append(lat, time.Duration(a-s))
		if first == 0 || s < first {
			first = s
		}
		last = max(last, a)
	}
	r.Events = len(lat)
	r.EndToEnd = summarize(lat)
	if last > first {
		r.EventsPerSec = float64(len(lat)) / time.Duration(last-first).Seconds()
	}
	r.Lost = r.Accepted - r.Events
	r.OrderViolations = int(tr.violations.Load())
	r.Unrecognized = int(tr.unknown.Load())
}

func (r *benchReport) print(w io.Writer) {
	where := "in-process gateway (file storage, loopback)"
	if !r.InProcess {
		where = "external gateway"
	}
	fmt.Fprintf(w, "scenario %s: %d messages, %d concurrent senders, %d customers, %s\n",
		r.Scenario, r.Messages, r.Concurrency, r.Customers, where)
	if r.Rate > 0 {
		fmt.Fprintf(w, "open loop at %.0f msg/s\n", r.Rate)
	}
	fmt.Fprintf(w, "accepted       %d (%.0f/s)   accept latency  p50 %.2fms  p95 %.2fms  p99 %.2fms  max %.2fms\n",
		r.Accepted, r.AcceptedPerSec, r.AcceptLatency.P50, r.AcceptLatency.P95, r.AcceptLatency.P99, r.AcceptLatency.Max)
	fmt.Fprintf(w, "end to end     %d events (%.0f/s)   latency  p50 %.2fms  p95 %.2fms  p99 %.2fms  max %.2fms\n",
		r.Events, r.EventsPerSec, r.EndToEnd.P50, r.EndToEnd.P95, r.EndToEnd.P99, r.EndToEnd.Max)
	if r.CPUPerMessage > 0 {
		who := "gateway and load generator"
		if !r.InProcess {
			who = "load generator only"
		}
		fmt.Fprintf(w, "cpu            %.3f ms per message (%s, until the last event)\n", r.CPUPerMessage, who)
	}
	if r.Events > 0 {
		fmt.Fprintf(w, "insight        %d events behind the stream when the last message was routed; caught up %.2fs later\n", r.InsightLag, r.InsightCatchUp)
	}
	fmt.Fprintf(w, "checks         lost %d   order violations %d   stored-accepted %d   unrecognized events %d\n",
		r.Lost, r.OrderViolations, r.StoredMismatch, r.Unrecognized)
	if len(r.Failures) > 0 {
		keys := make([]string, 0, len(r.Failures))
		for k := range r.Failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "failed         %d × %s\n", r.Failures[k], k)
		}
	}
	if r.Raw != nil {
		fmt.Fprintf(w, "raw jetstream  %d × %d B sync publishes at the same concurrency: %.0f/s (p50 %.2fms p99 %.2fms)\n",
			r.Raw.Messages, r.Raw.Size, r.Raw.PerSec, r.Raw.Latency.P50, r.Raw.Latency.P99)
		fmt.Fprintf(w, "ratio          accepted/s ÷ raw = %.2f\n", r.Ratio)
	}
	if ref := r.Reference; ref != nil {
		fmt.Fprintf(w, "reference      straight-line gateway (verify, normalize, one sync publish): %d accepted (%.0f/s)  p50 %.2fms  p99 %.2fms  cpu %.3f ms/message\n",
			ref.Accepted, ref.PerSec, ref.Latency.P50, ref.Latency.P99, ref.CPUPerMessage)
		fmt.Fprintf(w, "vs reference   routed/s ÷ reference accepted/s = %.2f   accepted/s ÷ reference = %.2f   cpu per message ÷ reference = %.2f\n",
			r.RoutedToReference, r.AcceptedToReference, r.CPUToReference)
		for k, n := range ref.Failures {
			fmt.Fprintf(w, "ref failed     %d × %s\n", n, k)
		}
	}
}
