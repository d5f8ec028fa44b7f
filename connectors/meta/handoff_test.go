package meta

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// realHost is a connector host over an embedded JetStream, provisioned like the gateway's.
func realHost(t testing.TB) (connectors.Host, jetstream.JetStream) {
	t.Helper()
	srv, err := pipeline.StartEmbedded(pipeline.EmbeddedConfig{}, t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	nc, err := srv.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conf := pipeline.Config{Partitions: 4}
	if err := pipeline.Provision(ctx, js, conf, 1); err != nil {
		t.Fatal(err)
	}
	blobs, err := pipeline.NewBlobs(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, streams.BucketState)
	if err != nil {
		t.Fatal(err)
	}
	m := pipeline.NewMetrics(nil)
	return connectors.Host{Publisher: pipeline.NewPublisher(js, blobs, 4, m), Blobs: blobs, State: pipeline.NewState(kv, "meta")}, js
}

// batchItems is n messages from `customers` customers, interleaved, numbered per customer.
func batchItems(round, n, customers int) []item {
	var items []item
	seen := map[int]int{}
	for i := 0; i < n; i++ {
		cu := i % customers
		items = append(items, item{Message: &schema.Message{Channel: schema.ChannelWhatsApp, Account: "acme-wa",
			ExternalID: fmt.Sprintf("r%d-c%d-%03d", round, cu, seen[cu]),
			From:       schema.Address{Kind: "phone", Value: fmt.Sprintf("+1650555%04d", cu)}}})
		seen[cu]++
	}
	return items
}

func TestHandOffKeepsEachCustomersOrder(t *testing.T) {
	host, js := realHost(t)
	c := New(testConfig(""), host)
	rc, err := c.handOffAll(t.Context(), batchItems(0, 60, 7))
	if err != nil || rc.Messages != 60 {
		t.Fatalf("%+v %v", rc, err)
	}
	cons, err := js.OrderedConsumer(t.Context(), streams.StreamInbound, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	for i := 0; i < 60; i++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var m schema.Message
		_ = json.Unmarshal(msg.Data(), &m)
		if prev := last[m.From.Value]; prev >= m.ExternalID {
			t.Fatalf("customer %s: %s stored after %s", m.From.Value, m.ExternalID, prev)
		}
		last[m.From.Value] = m.ExternalID
	}
}

func TestHandOffFailsWholeWhenOneFails(t *testing.T) {
	host, _ := realHost(t)
	c := New(testConfig(""), host)
	items := batchItems(0, 20, 5)
	items[13].Message.Account = "not a token" // the publisher refuses it
	if _, err := c.handOffAll(t.Context(), items); err == nil {
		t.Fatal("a refused message did not fail the batch")
	}
}

// BenchmarkHandOff hands a 50-message, 12-customer batch off one message at a time and with
// customers in parallel, alternating within one run, and reports both and their ratio (the
// machine is shared: the ratio is what matters).
func BenchmarkHandOff(b *testing.B) {
	host, _ := realHost(b)
	seq, par := New(testConfig(""), host), New(testConfig(""), host)
	seq.workers = 1
	var tSeq, tPar time.Duration
	for i := 0; i < b.N; i++ {
		for _, run := range []struct {
			c *Connector
			t *time.Duration
			r int
		}{{seq, &tSeq, 2 * i}, {par, &tPar, 2*i + 1}} {
			start := time.Now()
			if _, err := run.c.handOffAll(context.Background(), batchItems(run.r, 50, 12)); err != nil {
				b.Fatal(err)
			}
			*run.t += time.Since(start)
		}
	}
	b.ReportMetric(float64(tSeq.Microseconds())/1000/float64(b.N), "sequential_ms/batch")
	b.ReportMetric(float64(tPar.Microseconds())/1000/float64(b.N), "parallel_ms/batch")
	b.ReportMetric(float64(tSeq)/float64(tPar), "speedup")
}
