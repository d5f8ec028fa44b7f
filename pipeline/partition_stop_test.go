package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// A partition runner whose connection is failing over (the server it was on is gone, the
// client keeps reconnecting) still stops within its grace: the iterator's drain ends with a
// round trip the server cannot answer, which the client waits out (10 s here, 30 s and more in
// a cluster test whose shutdown ran out of time on it).
func TestPartitionsStopWhileTheConnectionIsDown(t *testing.T) {
	srv := natstest.StartServer(t)
	direct, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	djs, _ := jetstream.New(direct)
	ctx := context.Background()
	if err := Provision(ctx, djs, Config{Partitions: 2}, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := djs.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}}); err != nil {
		t.Fatal(err)
	}
	kv, _ := djs.KeyValue(ctx, streams.BucketLeases)
	leases := NewLeases(kv, &Instance{ID: "a"}, 10*time.Second, zap.NewNop())

	proxy := natstest.StartProxy(t, srv.Addr().String())
	nc, err := nats.Connect(proxy.URL(), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	handled := make(chan int, 16)
	r := &Partitioned{JS: js, Stream: "T", Stage: "t", Partitions: 2,
		Filters: func(p int) []string { return []string{fmt.Sprintf("t.%d", p)} },
		Handle: func(_ context.Context, p int, _ jetstream.Msg) error {
			handled <- p
			return nil
		},
		Leases: leases, Metrics: NewMetrics(prometheus.NewRegistry()), Logger: zap.NewNop()}
	if err := r.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()
	for p := range 2 {
		if _, err := djs.Publish(ctx, fmt.Sprintf("t.%d", p), []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[int]bool{}
	for len(seen) < 2 {
		select {
		case p := <-handled:
			seen[p] = true
		case <-time.After(20 * time.Second):
			t.Fatalf("partitions handled: %v, want both", seen)
		}
	}

	proxy.Cut()
	for nc.Status() == nats.CONNECTED {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	stop()
	select {
	case err := <-done:
		t.Logf("stopped %v after the cancel (%v)", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(drainGrace + 3*time.Second):
		t.Fatalf("the partition runner did not stop within %v of its cancel while the connection was down", drainGrace+3*time.Second)
	}
}
