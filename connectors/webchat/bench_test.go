package webchat_test

// Benchmarks of docs/benchmarks.md (section "Webchat"). They open up to 10,000 sockets and
// run only with -bench; see that page for the commands and the figures.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// benchConfig lifts the per-socket rate limit (64 sockets send as fast as acks come back).
var benchConfig = strings.Replace(strings.Replace(testConfig, "{per_second: 200, burst: 200}", "{per_second: 100000, burst: 100000}", 1),
	"log: {level: warn}", "log: {level: error}", 1)

func benchConns() int {
	if n, err := strconv.Atoi(os.Getenv("WEBCHAT_BENCH_CONNS")); err == nil && n > 0 {
		return n
	}
	return 10000
}

// liveBytes is the heap in use plus goroutine stacks after a full collection.
func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// measureIdle opens n idle sockets against url (from a separate process) and reports the
// server process's growth per socket.
func measureIdle(b *testing.B, url string, n int) (perConn float64, goroutines int) {
	heap0, g0 := liveBytes(), runtime.NumGoroutine()
	f := startFleet(b, fleetSpec{URL: url, Origin: origin, Idle: n, Timeout: 120})
	r := f.result(b)
	if r.Connected != n {
		b.Fatalf("%d of %d sockets connected: %v", r.Connected, n, r.Errors)
	}
	time.Sleep(2 * time.Second) // let handshakes and hellos settle
	heap1, g1 := liveBytes(), runtime.NumGoroutine()
	f.stop()
	return float64(int64(heap1)-int64(heap0)) / float64(n), g1 - g0
}

// BenchmarkIdleMemory: memory per idle socket of the gateway, and of a bare gorilla server
// with default settings (the package's echo example: Upgrader{}, the handler reads in a loop)
// measured the same way in the same run. Run with -benchtime=1x.
func BenchmarkIdleMemory(b *testing.B) {
	raiseFileLimit()
	n := benchConns()
	g := apptest.Start(b, benchConfig)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer bare.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ours, oursG := measureIdle(b, strings.Replace(g.URL, "http", "ws", 1)+"/webchat/shop/ws", n)
		time.Sleep(time.Second)
		base, baseG := measureIdle(b, strings.Replace(bare.URL, "http", "ws", 1)+"/bare", n)
		b.ReportMetric(ours, "B/conn")
		b.ReportMetric(float64(oursG)/float64(n), "goroutines/conn")
		b.ReportMetric(base, "bareB/conn")
		b.ReportMetric(float64(baseG)/float64(n), "bareGoroutines/conn")
		b.ReportMetric(ours/base, "ratio")
	}
}

// BenchmarkAckRate: 64 sockets send messages (each waits for its ack) among n idle ones;
// reports acknowledged messages per second and the ack latency. Run with -benchtime=1x.
func BenchmarkAckRate(b *testing.B) {
	raiseFileLimit()
	n := benchConns()
	g := apptest.Start(b, benchConfig)
	url := strings.Replace(g.URL, "http", "ws", 1) + "/webchat/shop/ws"
	per := 400
	if v, err := strconv.Atoi(os.Getenv("WEBCHAT_BENCH_PER")); err == nil && v > 0 {
		per = v
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := startFleet(b, fleetSpec{URL: url, Origin: origin, Idle: n, Active: 64, PerConn: per, Timeout: 300})
		if idle := f.result(b); idle.Connected != n {
			b.Fatalf("%d of %d idle sockets connected: %v", idle.Connected, n, idle.Errors)
		}
		cpu0 := cpuTime()
		r := f.result(b)
		if r.Acks != 64*per {
			b.Fatalf("%d acks of %d: %v", r.Acks, 64*per, r.Errors)
		}
		// CPU until every message is routed (a message event each): the same pipeline work
		// as the raw run below, so the difference is the websocket side.
		waitMessageEvents(b, g, uint64(64*per))
		cpu := cpuTime() - cpu0 // the 64 active handshakes and the idle sockets' pings included
		f.stop()
		cpu1 := cpuTime()
		ceiling := rawPublishRate(b, g, 64, per)
		waitMessageEvents(b, g, uint64(2*64*per))
		rawCPU := cpuTime() - cpu1
		b.ReportMetric(float64(cpu.Microseconds())/float64(r.Acks), "e2e_cpu_us/msg")
		b.ReportMetric(float64(rawCPU.Microseconds())/float64(64*per), "raw_e2e_cpu_us/msg")
		b.ReportMetric(float64(r.Acks)/r.Seconds, "acks/s")
		b.ReportMetric(r.P50, "p50_ms")
		b.ReportMetric(r.P99, "p99_ms")
		b.ReportMetric(ceiling, "raw_acks/s")
		b.ReportMetric(float64(r.Acks)/r.Seconds/ceiling, "ratio")
	}
}

// waitMessageEvents waits until SB_CONVERSATIONS holds n message events.
func waitMessageEvents(b *testing.B, g *apptest.Gateway, n uint64) {
	deadline := time.Now().Add(5 * time.Minute)
	for g.StreamCount("SB_CONVERSATIONS", "sb.conv.*.message") < n {
		if time.Now().After(deadline) {
			b.Fatalf("the pipeline did not route %d messages in 5 minutes", n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cpuTime is the user+system CPU time of this process (the gateway).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rawPublishRate is the same load without websockets, in the same run: 64 NATS clients'
// synchronous JetStream publishes of a message like the widget's onto SB_INBOUND.
func rawPublishRate(b *testing.B, g *apptest.Gateway, clients, per int) float64 {
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				ext := fmt.Sprintf("raw-%d-%d-%d", start.UnixNano(), c, i)
				id := schema.MessageID(schema.DedupeKey(schema.ChannelWebchat, "shop", ext))
				body, _ := json.Marshal(schema.Message{Schema: schema.MessageSchema, ID: id, Channel: schema.ChannelWebchat,
					Account: "shop", Direction: schema.Inbound, Kind: schema.KindMessage, ExternalID: ext,
					From: schema.Address{Kind: "visitor", Value: "shop:raw"}, Text: "load test message", ReceivedAt: time.Now().UTC()})
				if _, err := g.JS.Publish(context.Background(), "sb.in.webchat.shop.0", body, jetstream.WithMsgID(id)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(clients*per) / time.Since(start).Seconds()
}

// BenchmarkFanout: agents reply through the REST API to many visitors at once; reports agent
// messages pushed to sockets per second and the latency from the REST call to the socket.
// WEBCHAT_BENCH_VISITORS (default 500) visitors, WEBCHAT_BENCH_REPLIES (default 20) each.
func BenchmarkFanout(b *testing.B) {
	runFanout(b, func(g *apptest.Gateway, opened fleetResult, replies int) { postReplies(b, g, opened.Convs, replies) })
}

// BenchmarkFeedFanout: agent messages published straight onto SB_CONVERSATIONS (as the router
// publishes them) reach the sockets through the instance's shared feed: this is the fan-out
// itself, without the router in front. Same variables as BenchmarkFanout.
func BenchmarkFeedFanout(b *testing.B) {
	runFanout(b, func(g *apptest.Gateway, opened fleetResult, replies int) {
		publishEvents(b, g, opened.Convs, opened.Visitors, replies)
	})
}

// runFanout opens the visitors' conversations, has send deliver the agent messages and
// reports how fast they reached the sockets.
func runFanout(b *testing.B, send func(g *apptest.Gateway, opened fleetResult, replies int)) {
	raiseFileLimit()
	visitors, replies := envInt("WEBCHAT_BENCH_VISITORS", 500), envInt("WEBCHAT_BENCH_REPLIES", 20)
	g := apptest.Start(b, benchConfig)
	url := strings.Replace(g.URL, "http", "ws", 1) + "/webchat/shop/ws"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := startFleet(b, fleetSpec{URL: url, Origin: origin, Watch: visitors, Expect: replies, Timeout: 120})
		opened := f.result(b)
		if len(opened.Convs) != visitors {
			b.Fatalf("%d of %d conversations opened", len(opened.Convs), visitors)
		}
		send(g, opened, replies)
		r := f.result(b)
		f.stop()
		if r.Received != visitors*replies {
			b.Fatalf("%d agent messages reached sockets, want %d", r.Received, visitors*replies)
		}
		b.ReportMetric(float64(r.Received)/r.Seconds, "msgs/s")
		b.ReportMetric(r.LatP50, "p50_ms")
		b.ReportMetric(r.LatP99, "p99_ms")
	}
}

// postReplies posts replies round by round from 16 agents in parallel; each text is the
// sending time, for the latency.
func postReplies(b *testing.B, g *apptest.Gateway, convs []string, replies int) {
	jobs := make(chan string)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for conv := range jobs {
				status, body := g.Do("POST", "/v1/conversations/"+conv+"/messages", apptest.Token,
					map[string]any{"text": fmt.Sprint(time.Now().UnixNano())})
				if status != http.StatusAccepted {
					b.Errorf("reply: %d %s", status, body)
				}
			}
		}()
	}
	for r := 0; r < replies; r++ {
		for _, c := range convs {
			jobs <- c
		}
	}
	close(jobs)
	wg.Wait()
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// publishEvents publishes replies outbound message events per conversation, continuing its
// sequence, as fast as JetStream takes them.
func publishEvents(b *testing.B, g *apptest.Gateway, convs, visitors []string, replies int) {
	last := make([]uint64, len(convs))
	for i, c := range convs {
		apptest.Eventually(b, 10*time.Second, func() error {
			_, body := g.Do("GET", "/v1/conversations/"+c, apptest.Token, nil)
			var conv schema.Conversation
			_ = json.Unmarshal(body, &conv)
			if conv.LastSeq < 2 {
				return fmt.Errorf("conversation %s not routed", c)
			}
			last[i] = conv.LastSeq
			return nil
		})
	}
	js, err := jetstream.New(g.NC, jetstream.WithPublishAsyncMaxPending(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	for r := 0; r < replies; r++ {
		for i, c := range convs {
			last[i]++
			ev := schema.Event{Schema: schema.EventSchema, ID: fmt.Sprintf("evt_bench_%s_%d", c, last[i]), Type: schema.EventMessage,
				ConversationID: c, Seq: last[i], At: time.Now().UTC(), Message: &schema.Message{
					ID: fmt.Sprintf("msg_bench_%s_%d", c, last[i]), Channel: schema.ChannelWebchat, Account: "shop",
					Direction: schema.Outbound, Kind: schema.KindMessage, Text: fmt.Sprint(time.Now().UnixNano()),
					To: []schema.Address{{Kind: "visitor", Value: "shop:" + visitors[i]}}}}
			data, _ := json.Marshal(ev)
			if _, err := js.PublishAsync(streams.EventSubject(&ev), data, jetstream.WithMsgID(ev.ID)); err != nil {
				b.Fatal(err)
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(60 * time.Second):
		b.Fatal("publishing events timed out")
	}
}
