package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// laneRig is a one-partition runner with lanes over stream T (subject t.0), on a real
// nats-server. Messages carry their key in the HeaderLane header (none: a barrier) and
// "<key>:<n>" as their data.
type laneRig struct {
	js      jetstream.JetStream
	r       *Partitioned
	metrics *Metrics
	mu      sync.Mutex
	order   map[string][]int // handled, per key, in the order handled
}

func newLaneRig(t testing.TB, lanes int, handle func(key string, n int) error) *laneRig {
	t.Helper()
	js := natstest.StartJetStream(t)
	ctx := context.Background()
	if err := Provision(ctx, js, Config{Partitions: 1}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	kv, _ := js.KeyValue(ctx, streams.BucketLeases)
	g := &laneRig{js: js, metrics: NewMetrics(prometheus.NewRegistry()), order: map[string][]int{}}
	g.r = &Partitioned{JS: js, Stream: "T", Stage: "t", Partitions: 1, AckWait: 2 * time.Second, Lanes: lanes,
		Filters: func(int) []string { return []string{"t.0"} },
		Handle: func(_ context.Context, _ int, msg jetstream.Msg) error {
			key, n, _ := strings.Cut(string(msg.Data()), ":")
			i, _ := strconv.Atoi(n)
			if err := handle(key, i); err != nil {
				return err
			}
			g.mu.Lock()
			g.order[key] = append(g.order[key], i)
			g.mu.Unlock()
			return nil
		},
		Leases:  NewLeases(kv, &Instance{ID: "a"}, 10*time.Second, zap.NewNop()),
		Metrics: g.metrics, Logger: zap.NewNop(), Backoff: kernel.Backoff{Min: 10 * time.Millisecond, Max: 50 * time.Millisecond},
		Lane: HeaderLane,
	}
	if err := g.r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = g.r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	return g
}

func (g *laneRig) publish(t testing.TB, key string, n int) {
	t.Helper()
	msg := &nats.Msg{Subject: "t.0", Data: fmt.Appendf(nil, "%s:%d", key, n), Header: nats.Header{}}
	if key != "" {
		msg.Header.Set(streams.HeaderLane, strconv.FormatUint(streams.LaneHash(key), 10))
	}
	if _, err := g.js.PublishMsg(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// gaps is how many delivery gaps the runner noticed.
func (g *laneRig) gaps() float64 {
	var m dto.Metric
	_ = g.metrics.Stage.WithLabelValues("t", "gap").Write(&m)
	return m.GetCounter().GetValue()
}

func (g *laneRig) handled(key string) []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.order[key]...)
}

func (g *laneRig) waitHandled(t *testing.T, key string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); len(g.handled(key)) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("key %s: handled %v, want %d messages", key, g.handled(key), n)
		}
	}
}

// inOrder fails unless got holds 1..n, each at least once, never one below a number
// already handled (a redelivery of the last one handled may repeat it).
func inOrder(t *testing.T, key string, got []int, n int) {
	t.Helper()
	top := 0
	for _, v := range got {
		if v < top {
			t.Fatalf("key %s handled out of order: %v", key, got)
		}
		top = v
	}
	seen := map[int]bool{}
	for _, v := range got {
		seen[v] = true
	}
	if len(seen) != n || !seen[1] || !seen[n] {
		t.Fatalf("key %s: handled %v, want each of 1..%d", key, got, n)
	}
}

// Lanes handle different keys at once and each key's messages one at a time, in stream
// order, through a retried failure; a message without a key is handled alone.
func TestLanesKeepEachKeysOrderAndRunKeysAtOnce(t *testing.T) {
	const keys, per = 8, 20
	var inFlight, most, barrierCompany, gaugeMost atomic.Int32
	var rig atomic.Pointer[laneRig]
	failed := sync.Map{}
	g := newLaneRig(t, 4, func(key string, n int) error {
		now := inFlight.Add(1)
		defer inFlight.Add(-1)
		var m dto.Metric
		if g := rig.Load(); g != nil {
			_ = g.metrics.InHand.WithLabelValues("t").Write(&m)
		}
		if v := int32(m.GetGauge().GetValue()); v > gaugeMost.Load() {
			gaugeMost.Store(v) // racy max, good enough: it only needs to pass 1
		}
		for {
			m := most.Load()
			if now <= m || most.CompareAndSwap(m, now) {
				break
			}
		}
		if key == "" && now > 1 {
			barrierCompany.Add(1)
		}
		if n == 7 {
			if _, again := failed.LoadOrStore(key, true); !again {
				return errors.New("transient") // retried in place: the key's next message waits
			}
		}
		time.Sleep(2 * time.Millisecond)
		return nil
	})
	rig.Store(g)
	for n := 1; n <= per; n++ {
		for k := range keys {
			g.publish(t, fmt.Sprintf("k%d", k), n)
		}
		if n%5 == 0 {
			g.publish(t, "", n/5)
		}
	}
	for k := range keys {
		key := fmt.Sprintf("k%d", k)
		g.waitHandled(t, key, per)
		inOrder(t, key, g.handled(key), per)
	}
	g.waitHandled(t, "", per/5)
	inOrder(t, "", g.handled(""), per/5)
	if most.Load() < 2 {
		t.Fatalf("at most %d message in flight with 4 lanes and %d keys", most.Load(), keys)
	}
	if gaugeMost.Load() < 2 {
		t.Fatalf("switchboard_stage_in_hand reached %d, with up to %d in flight", gaugeMost.Load(), most.Load())
	}
	if n := barrierCompany.Load(); n > 0 {
		t.Fatalf("a message without a key was handled while %d others were", n)
	}
	if gaps := g.gaps(); gaps != 0 {
		t.Fatalf("%v delivery gaps in a run that lost nothing", gaps)
	}
	t.Logf("up to %d messages in flight", most.Load())
}

// A delivery that never reaches the runner (here another client pulls it from the
// partition's consumer, as a dying node's lost send would) must not be overtaken by its
// key's later messages: the runner notices the gap in the delivery sequence, starts over,
// and the lost message comes back first.
func TestLanesStartOverAfterALostDelivery(t *testing.T) {
	g := newLaneRig(t, 4, func(string, int) error { return nil })
	g.publish(t, "a", 1)
	g.waitHandled(t, "a", 1)

	ctx := context.Background()
	cons, err := g.js.Consumer(ctx, "T", "t-p0")
	if err != nil {
		t.Fatal(err)
	}
	stolen := make(chan string, 1)
	go func() {
		batch, err := cons.Fetch(1, jetstream.FetchMaxWait(20*time.Second))
		if err != nil {
			stolen <- "error: " + err.Error()
			return
		}
		for m := range batch.Messages() {
			stolen <- string(m.Data()) // never acknowledged: it comes back after AckWait or a reset
			return
		}
		stolen <- "nothing"
	}()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		info, err := cons.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.NumWaiting >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second pull never registered (%d waiting)", info.NumWaiting)
		}
	}
	n := 1
	var took string
	for took == "" {
		n++
		g.publish(t, "a", n)
		select {
		case took = <-stolen:
		case <-time.After(200 * time.Millisecond):
		}
		if n > 50 {
			t.Fatal("the other client never got a message")
		}
	}
	if !strings.HasPrefix(took, "a:") {
		t.Fatalf("the other pull: %s", took)
	}
	n++
	g.publish(t, "a", n) // a delivery after the stolen one: the runner sees the gap
	g.waitHandled(t, "a", n)
	time.Sleep(300 * time.Millisecond) // room for a wrong late redelivery to show
	inOrder(t, "a", g.handled("a"), n)
	if gaps := g.gaps(); gaps < 1 {
		t.Fatalf("no delivery gap noticed; the other client took %s", took)
	}
	t.Logf("the other client took %s; handled %v", took, g.handled("a"))
}

// A lane stuck on one message (longer than AckWait) holds up only its own keys: the others'
// messages go on, and the stuck key's later messages, waiting in its queue meanwhile, are
// kept alive rather than redelivered behind its back.
func TestLanesAStuckLaneHoldsUpOnlyItsKeys(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	g := newLaneRig(t, 4, func(key string, n int) error {
		if key == "slow" && n == 1 {
			<-release
		}
		return nil
	})
	t.Cleanup(free) // before the rig's own cleanup, which waits for the stuck lane
	const slow = 8  // more than a lane's depth
	for n := 1; n <= slow; n++ {
		g.publish(t, "slow", n)
	}
	var fast []string
	for i := 0; len(fast) < 4; i++ {
		if k := fmt.Sprintf("f%d", i); streams.LaneHash(k)%4 != streams.LaneHash("slow")%4 {
			fast = append(fast, k)
		}
	}
	for n := 1; n <= 5; n++ {
		for _, k := range fast {
			g.publish(t, k, n)
		}
	}
	for _, k := range fast {
		g.waitHandled(t, k, 5)
		inOrder(t, k, g.handled(k), 5)
	}
	time.Sleep(2*g.r.ackWait() + time.Second) // the stuck lane's backlog outlives AckWait
	if got := g.handled("slow"); len(got) != 0 {
		t.Fatalf("slow handled %v while its first message was stuck", got)
	}
	free()
	g.waitHandled(t, "slow", slow)
	time.Sleep(500 * time.Millisecond) // room for redeliveries to show
	got := g.handled("slow")
	inOrder(t, "slow", got, slow)
	if len(got) != slow {
		t.Fatalf("slow handled %v: its waiting messages were redelivered", got)
	}
}

// BenchmarkLanes: one partition whose handler waits 1 ms per message (standing in for its
// round trips to JetStream, as on a machine with cores to spare), 64 keys, 1 / 4 / 16 lanes.
// go test ./pipeline -run XXX -bench Lanes -benchtime 2000x
func BenchmarkLanes(b *testing.B) {
	for _, lanes := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("lanes=%d", lanes), func(b *testing.B) {
			var handled atomic.Int64
			g := newLaneRig(b, lanes, func(string, int) error {
				time.Sleep(time.Millisecond)
				handled.Add(1)
				return nil
			})
			b.ResetTimer()
			for i := range b.N {
				g.publish(b, fmt.Sprintf("k%d", i%64), i/64+1)
			}
			for handled.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
