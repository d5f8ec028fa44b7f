package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// startJS runs an embedded server on a temp dir with everything provisioned.
func startJS(t *testing.T, c Config) jetstream.JetStream {
	t.Helper()
	e, err := StartEmbedded(EmbeddedConfig{Listen: "none"}, t.TempDir(), zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := e.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if err := Provision(context.Background(), js, c, 1); err != nil {
		t.Fatal(err)
	}
	return js
}

func TestProvisionIsIdempotentAndGuardsPartitions(t *testing.T) {
	js := startJS(t, Config{Partitions: 4})
	ctx := context.Background()
	if err := Provision(ctx, js, Config{Partitions: 4}, 1); err != nil {
		t.Fatalf("second provision: %v", err)
	}
	err := Provision(ctx, js, Config{Partitions: 8}, 1)
	if !errors.Is(err, ErrPartitionsChanged) || !strings.Contains(err.Error(), "pipeline.partitions is 8") {
		t.Fatalf("changed partitions: %v", err)
	}
}

func TestLeaseIsExclusiveAndFreesOnRelease(t *testing.T) {
	js := startJS(t, Config{LeaseTTL: 3e9})
	kv, _ := js.KeyValue(context.Background(), streams.BucketLeases)
	a := NewLeases(kv, &Instance{ID: "a"}, 3*time.Second, zap.NewNop())
	b := NewLeases(kv, &Instance{ID: "b"}, 3*time.Second, zap.NewNop())
	la, err := a.Acquire(context.Background(), "mailbox/support@example.com")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if _, err := b.Acquire(ctx, "mailbox/support@example.com"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second holder got the lease: %v", err)
	}
	la.Release()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	lb, err := b.Acquire(ctx2, "mailbox/support@example.com")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	// A lease released by its holder says so to the next one (which need not wait for what
	// the first had in hand); a lease nobody held does not.
	gone := func(l kernel.Lease) bool { return l.(interface{ PreviousHolderGone() bool }).PreviousHolderGone() }
	if gone(la) || !gone(lb) {
		t.Fatalf("previous holder gone: first lease %v, second %v", gone(la), gone(lb))
	}
	lb.Release()
}

func TestLeaseExpiresWhenTheHolderStopsRenewing(t *testing.T) {
	js := startJS(t, Config{LeaseTTL: 3e9})
	kv, _ := js.KeyValue(context.Background(), streams.BucketLeases)
	// A holder that died: it wrote the lease once and never renews it.
	if _, err := kv.Create(context.Background(), streams.Key("inbox"), []byte("dead")); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := NewLeases(kv, &Instance{ID: "b"}, 3*time.Second, zap.NewNop()).Acquire(ctx, "inbox")
	if err != nil {
		t.Fatalf("takeover: %v", err)
	}
	defer l.Release()
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("took over after %v, before the TTL", took)
	}
}

func TestPublisherMovesOversizedRawToTheObjectStore(t *testing.T) {
	js := startJS(t, Config{})
	blobs, err := NewBlobs(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(js, blobs, 4, NewMetrics(nil))
	raw, _ := json.Marshal(map[string]string{"body": strings.Repeat("x", 2<<20)})
	m := &schema.Message{Channel: schema.ChannelEmail, Account: "support", ExternalID: "big@example.com",
		From: schema.Address{Kind: "email", Value: "a@example.com"}, Text: "hi", Raw: raw}
	rc, err := p.Publish(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if m.Raw != nil || m.RawRef == nil || m.RawRef.Size != int64(len(raw)) || rc.ID != m.ID {
		t.Fatalf("raw not moved: ref %+v", m.RawRef)
	}
	r, _, err := blobs.Open(context.Background(), m.RawRef.Key)
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
}

func TestPublisherRefusesIncompleteMessages(t *testing.T) {
	js := startJS(t, Config{})
	p := NewPublisher(js, nil, 4, NewMetrics(nil))
	for _, m := range []*schema.Message{
		{Channel: "sms", Account: "a", From: schema.Address{Kind: "phone", Value: "+1"}},                    // no external id
		{Channel: "sms", Account: "a.b", ExternalID: "x", From: schema.Address{Kind: "phone", Value: "+1"}}, // bad account token
		{Channel: "sms", Account: "a", ExternalID: "x"},                                                     // no sender
	} {
		if _, err := p.Publish(context.Background(), m); !errors.Is(err, kernel.ErrInvalidMessage) {
			t.Fatalf("%+v: %v", m, err)
		}
	}
}

func TestBlobsEnforceTheSizeCap(t *testing.T) {
	js := startJS(t, Config{})
	blobs, _ := NewBlobs(context.Background(), js)
	_, err := blobs.Put(context.Background(), "att/x/0", "text/plain", strings.NewReader(strings.Repeat("a", 1001)), 1000)
	if !errors.Is(err, kernel.ErrTooLarge) {
		t.Fatalf("over the cap: %v", err)
	}
	if _, _, err := blobs.Open(context.Background(), "att/x/0"); !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("an oversized blob was kept: %v", err)
	}
	if _, err := blobs.Put(context.Background(), "att/x/1", "text/plain", strings.NewReader(strings.Repeat("a", 1000)), 1000); err != nil {
		t.Fatalf("at the cap: %v", err)
	}
}

func TestKeyEncodingNeverCollides(t *testing.T) {
	for _, s := range []string{"plain-key_1", "a.b", "a@b.c", "=x", "with space", "ü"} {
		k := streams.Key(s)
		if strings.ContainsAny(k, " @*>") || (s != k && !strings.HasPrefix(k, "=")) {
			t.Fatalf("Key(%q) = %q", s, k)
		}
	}
	if streams.Key("=x") == "=x" {
		t.Fatal("a literal = must be encoded")
	}
}

// Message and send records expire by pipeline.retention, and a changed retention reaches
// buckets that already exist (an upgrade from records kept forever included).
func TestRecordRetentionIsAppliedToExistingBuckets(t *testing.T) {
	js := startJS(t, Config{Partitions: 4})
	ctx := context.Background()
	check := func(messages, outbox time.Duration) {
		t.Helper()
		for b, want := range map[string]time.Duration{streams.BucketMessages: messages, streams.BucketOutbox: outbox} {
			kv, err := js.KeyValue(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			st, err := kv.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.TTL() != want {
				t.Fatalf("%s keeps records %v, want %v", b, st.TTL(), want)
			}
		}
	}
	check(30*24*time.Hour, 365*24*time.Hour)
	c := Config{Partitions: 4}
	c.Retention.Messages, c.Retention.Outbox = cfg.Duration(800*time.Hour), cfg.Duration(800*time.Hour)
	if err := Provision(ctx, js, c, 1); err != nil {
		t.Fatal(err)
	}
	check(800*time.Hour, 800*time.Hour)
}

// TestProvisionUpgradesTheRouteStreamForSLATimers: a deployment whose SB_ROUTE predates the
// SLA timers gets their subjects and message schedules on the next start.
func TestProvisionUpgradesTheRouteStreamForSLATimers(t *testing.T) {
	js := startJS(t, Config{Partitions: 4})
	ctx := context.Background()
	st, _ := js.Stream(ctx, streams.StreamRoute)
	info, _ := st.Info(ctx)
	old := info.Config
	old.Subjects, old.AllowMsgSchedules = []string{streams.FilterRoute}, false
	if err := js.DeleteStream(ctx, streams.StreamRoute); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := Provision(ctx, js, Config{Partitions: 4}, 1); err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	st, _ = js.Stream(ctx, streams.StreamRoute)
	info, _ = st.Info(ctx)
	if !info.Config.AllowMsgSchedules || !slices.Contains(info.Config.Subjects, streams.FilterSchedule) {
		t.Fatalf("SB_ROUTE after the upgrade: schedules %v, subjects %v", info.Config.AllowMsgSchedules, info.Config.Subjects)
	}
}
