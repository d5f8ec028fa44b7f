package pipeline

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// A status about a message the outbox does not know (sent by another tool, or overtaking
// the sender's own record) waits for it; the statuses behind it in the same partition must
// not wait with it. (Customers' messages never queue behind statuses: the router reads them
// from their own consumers.)
func TestUnmatchedStatusDoesNotHoldUpOthers(t *testing.T) {
	conf := Config{Partitions: 1}.WithDefaults()
	js := startJS(t, conf)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	leases, _ := js.KeyValue(ctx, streams.BucketLeases)
	m := NewMetrics(nil)
	in, err := NewIngest(ctx, IngestOptions{JS: js, Config: conf,
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

	// A reply Switchboard sent, as the router records it.
	msgs, _ := js.KeyValue(ctx, streams.BucketMessages)
	sent, _ := json.Marshal(&schema.Message{ID: "msg_sent1", CustomerID: "cus_1", Channel: schema.ChannelWhatsApp, Account: "acme"})
	if _, err := msgs.Put(ctx, streams.OutboundRecordKey("msg_sent1"), sent); err != nil {
		t.Fatal(err)
	}
	pub := NewPublisher(js, nil, conf.Partitions, m)
	if err := pub.PublishStatus(ctx, &schema.StatusUpdate{Channel: schema.ChannelWhatsApp, Account: "acme",
		ExternalID: "wamid.not-ours", Status: schema.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := pub.PublishStatus(ctx, &schema.StatusUpdate{Channel: schema.ChannelWhatsApp, Account: "acme",
		MessageID: "msg_sent1", Status: schema.StatusDelivered}); err != nil {
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
			t.Fatalf("the matched status waited behind the unmatched one for %v", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	got, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != streams.RouteSubject(streams.Partition("cus_1", conf.Partitions)) || got.Header.Get(streams.HeaderKind) != streams.KindStatus {
		t.Fatalf("forwarded %s (%s), want the status on the customer's partition", got.Subject, got.Header.Get(streams.HeaderKind))
	}
}
