package email_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/connectors/email/emailtest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// BenchmarkDovecotBacklog measures a backlog in a real Dovecot (delivered over LMTP before
// the clock starts) ingested end to end: from the gateway's start to the last conversation
// message event. It runs once per invocation; SWITCHBOARD_EMAIL_BACKLOG sets the size
// (default 10000). Run it with -bench (see docs/benchmarks.md); go test never runs it.
func BenchmarkDovecotBacklog(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_EMAIL_BACKLOG")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		d := emailtest.StartDovecot(b)
		lmtp := d.LMTPClient(b)
		for i := range n { // 1,000 customers writing 10 messages each (fewer for small runs)
			from := fmt.Sprintf("customer%d@example.org", i%max(n/10, 1))
			emailtest.DeliverLMTP(b, lmtp, customerMailFrom(from, fmt.Sprintf("bl%d@example.org", i), "Backlog "+strconv.Itoa(i), "Message body "+strconv.Itoa(i)))
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		g := apptest.Start(b, gatewayConfig(b, d.IMAP, "127.0.0.1:1", emailtest.DovecotPassword),
			apptest.Options{Logger: zap.NewNop()})
		inbound := waitCount(b, g, streams.StreamInbound, "sb.in.email.>", n, start)
		events := waitCount(b, g, streams.StreamConversations, "sb.conv.*.message", n, start)
		b.StopTimer()
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "gateway_cpu_ms/msg")
		b.ReportMetric(float64(n)/inbound.Seconds(), "published_msgs/s")
		b.ReportMetric(float64(n)/events.Seconds(), "end_to_end_msgs/s")
		b.ReportMetric(events.Seconds(), "s_to_last_event")
		g.Stop()
	}
}

// cpuTime is the CPU (user + system) this process used so far: the whole gateway (embedded
// NATS, connector, pipeline, router), not Dovecot.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitCount(b *testing.B, g *apptest.Gateway, stream, filter string, n int, start time.Time) time.Duration {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		if g.StreamCount(stream, filter) >= uint64(n) {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%s: fewer than %d messages after 10 minutes", filter, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BenchmarkDovecotIdleLatency delivers mail over LMTP one by one (every 100ms) to a gateway
// idling on the folder and measures the time from the end of each LMTP delivery to its
// conversation message event. SWITCHBOARD_EMAIL_LATENCY_SAMPLES sets the count (default 200).
func BenchmarkDovecotIdleLatency(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_EMAIL_LATENCY_SAMPLES")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		b.StopTimer()
		d := emailtest.StartDovecot(b)
		lmtp := d.LMTPClient(b)
		g := apptest.Start(b, gatewayConfig(b, d.IMAP, "127.0.0.1:1", emailtest.DovecotPassword), apptest.Options{Logger: zap.NewNop()})
		emailtest.DeliverLMTP(b, lmtp, customerMail("warmup@example.org", "", "warm-up", "x"))
		waitCount(b, g, streams.StreamConversations, "sb.conv.*.message", 1, time.Now())
		seen := follow(b, g)
		var mu sync.Mutex
		delivered := map[string]time.Time{}
		for i := range n {
			id := fmt.Sprintf("lat%d@example.org", i)
			emailtest.DeliverLMTP(b, lmtp, customerMailFrom(fmt.Sprintf("c%d@example.org", i%50), id, "Latency", "x"))
			mu.Lock()
			delivered[id] = time.Now()
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
		var lat []time.Duration
		deadline := time.Now().Add(time.Minute)
		for len(lat) < n && time.Now().Before(deadline) {
			select {
			case ev := <-seen:
				mu.Lock()
				if at, ok := delivered[ev.id]; ok {
					lat = append(lat, ev.at.Sub(at))
				}
				mu.Unlock()
			case <-time.After(time.Second):
			}
		}
		if len(lat) < n {
			b.Fatalf("only %d of %d deliveries became events", len(lat), n)
		}
		slices.Sort(lat)
		q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Milliseconds()) }
		b.ReportMetric(q(0.5), "p50_ms")
		b.ReportMetric(q(0.9), "p90_ms")
		b.ReportMetric(q(0.99), "p99_ms")
		b.ReportMetric(float64(lat[len(lat)-1].Milliseconds()), "max_ms")
		g.Stop()
	}
}

type seenEvent struct {
	id string
	at time.Time
}

// follow streams the arrival time of every message event by the mail's Message-ID.
func follow(b *testing.B, g *apptest.Gateway) <-chan seenEvent {
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	cons, err := g.JS.OrderedConsumer(ctx, streams.StreamConversations, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"sb.conv.*.message"}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		b.Fatal(err)
	}
	out := make(chan seenEvent, 1024)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		at := time.Now()
		var ev schema.Event
		if json.Unmarshal(m.Data(), &ev) == nil && ev.Message != nil && ev.Message.Thread != nil {
			out <- seenEvent{id: ev.Message.Thread.MessageID, at: at}
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(cc.Stop)
	return out
}

func customerMailFrom(from, id, subject, body string) string {
	return "From: " + from + "\r\nTo: " + emailtest.User + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n" +
		"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n"
}
