package pipeline

import (
	"context"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// A status about a message the outbox does not know (sent by another tool, or overtaking
// the sender's own record) waits for it; the customer messages behind it in the same
// partition must not wait with it.
func TestUnmatchedStatusDoesNotHoldUpMessages(t *testing.T) {
	conf := Config{Partitions: 1}.WithDefaults()
	js := startJS(t, conf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leases, _ := js.KeyValue(ctx, streams.BucketLeases)
	customers, _ := js.KeyValue(ctx, streams.BucketCustomers)
	m := NewMetrics(nil)
	in, err := NewIngest(ctx, IngestOptions{JS: js, Config: conf, Stages: []Stage{NewSenderIdentity(customers)},
		Leases: NewLeases(leases, &Instance{ID: "test"}, 3*time.Second, zap.NewNop()), DLQ: NewDeadLetters(js, m), Metrics: m, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	defer func() { cancel(); <-done }()

	pub := NewPublisher(js, nil, conf.Partitions, m)
	if err := pub.PublishStatus(ctx, &schema.StatusUpdate{Channel: schema.ChannelWhatsApp, Account: "acme",
		ExternalID: "wamid.not-ours", Status: schema.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := pub.Publish(ctx, &schema.Message{Channel: schema.ChannelWhatsApp, Account: "acme", ExternalID: "wamid.in1",
		From: schema.Address{Kind: "phone", Value: "+15550001111"}, Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	st, _ := js.Stream(ctx, streams.StreamRoute)
	for {
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 1 {
			break
		}
		if time.Since(start) > 5*time.Second {
			t.Fatalf("the message waited behind the unmatched status for %v", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
