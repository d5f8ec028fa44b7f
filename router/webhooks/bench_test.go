package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// BenchmarkDeliver is one subscription's delivery rate: 5,000 stored events posted one at a
// time, signed with two secrets, to a loopback receiver that answers 204 at once; beside it,
// the same run's rate of synchronous JetStream publishes of those events (the ceiling of
// anything that writes once per event) and the ratio.
//
//	go test ./router/webhooks -run '^$' -bench Deliver -benchtime 3x
func BenchmarkDeliver(b *testing.B) {
	const n = 5000
	srv := natstest.StartServer(b)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := pipeline.Provision(ctx, js, pipeline.Config{}, 1); err != nil {
		b.Fatal(err)
	}
	if err := Provision(ctx, js, Config{}, 1); err != nil {
		b.Fatal(err)
	}
	pubStart := time.Now()
	for i := range n {
		ev := schema.Event{Schema: schema.EventSchema, ID: fmt.Sprintf("evt_%d", i), Type: schema.EventOpened, ConversationID: fmt.Sprintf("c%d", i%100),
			Seq: uint64(i/100 + 1), At: time.Now().UTC()}
		data, _ := json.Marshal(ev)
		if _, err := js.Publish(ctx, streams.EventSubject(&ev), data); err != nil {
			b.Fatal(err)
		}
	}
	// The same run's ceiling: synchronous JetStream publishes of the same events, one at a time.
	publishRate := float64(n) / time.Since(pubStart).Seconds()
	var got atomic.Int64
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	kv, _ := js.KeyValue(ctx, streams.BucketLeases)
	leases := pipeline.NewLeases(kv, &pipeline.Instance{ID: "bench"}, 3*time.Second, zap.NewNop())
	for i := 0; b.Loop(); i++ {
		got.Store(0)
		sub := Subscription{ID: fmt.Sprintf("bench%d", i), URL: recv.URL, Start: "all",
			Secrets: []cfg.Secret{cfg.NewSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), cfg.NewSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSx")}}
		d, err := New(ctx, Options{JS: js, Config: Config{Subscriptions: []Subscription{sub}}, Leases: leases})
		if err != nil {
			b.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		start := time.Now()
		go func() { _ = d.Run(rctx); close(done) }()
		for got.Load() < n {
			time.Sleep(5 * time.Millisecond)
		}
		el := time.Since(start)
		cancel()
		<-done
		b.ReportMetric(float64(n)/el.Seconds(), "events/s")
		b.ReportMetric(publishRate, "publish/s")
		b.ReportMetric(float64(n)/el.Seconds()/publishRate, "ratio")
	}
}
