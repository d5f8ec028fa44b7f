package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// feedEnv is an embedded JetStream with the streams provisioned.
type feedEnv struct {
	t  *testing.T
	nc *nats.Conn
	js jetstream.JetStream
}

func newFeedEnv(t *testing.T) *feedEnv {
	t.Helper()
	js := startJS(t, Config{Partitions: 1})
	return &feedEnv{t: t, nc: js.Conn(), js: js}
}

// publish stores an event the way the router does (deduplicated by event id).
func (e *feedEnv) publish(conv string, seq uint64, typ schema.EventType, msgID string) {
	e.t.Helper()
	ev := schema.Event{Schema: schema.EventSchema, ID: fmt.Sprintf("evt_%s_%d", conv, seq), Type: typ,
		ConversationID: conv, Seq: seq, At: time.Now().UTC()}
	if msgID != "" {
		ev.Message = &schema.Message{ID: msgID, Direction: schema.Inbound}
	}
	data, _ := json.Marshal(ev)
	if _, err := e.js.PublishMsg(context.Background(), &nats.Msg{Subject: streams.EventSubject(&ev), Data: data}, jetstream.WithMsgID(ev.ID)); err != nil {
		e.t.Fatal(err)
	}
}

// recorder collects the seqs a watcher got.
type recorder struct {
	mu   sync.Mutex
	seqs []uint64
}

func (r *recorder) add(ev *schema.Event) { r.mu.Lock(); r.seqs = append(r.seqs, ev.Seq); r.mu.Unlock() }

func (r *recorder) waitFor(t *testing.T, want ...uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		got := fmt.Sprint(r.seqs)
		r.mu.Unlock()
		if got == fmt.Sprint(want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("watcher got %s, want %v", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWatchReplaysThenFollowsWithoutRepeats(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	for s := uint64(1); s <= 3; s++ {
		e.publish("cnv_a", s, schema.EventMessage, "")
	}
	var a, b recorder
	stopA, err := f.Watch("cnv_a", 1, a.add)
	if err != nil {
		t.Fatal(err)
	}
	stopB, _ := f.Watch("cnv_b", 0, b.add)
	a.waitFor(t, 2, 3)
	e.publish("cnv_a", 4, schema.EventMessage, "")
	e.publish("cnv_a", 4, schema.EventMessage, "") // the router's retry: deduplicated, not repeated
	e.publish("cnv_a", 5, schema.EventResolved, "")
	a.waitFor(t, 2, 3, 4, 5)
	b.waitFor(t)
	e.publish("cnv_b", 1, schema.EventOpened, "")
	b.waitFor(t, 1)
	stopA()
	e.publish("cnv_a", 6, schema.EventReopened, "")
	time.Sleep(200 * time.Millisecond)
	a.waitFor(t, 2, 3, 4, 5)
	stopB()
	if n := f.Watchers(); n != 0 {
		t.Fatalf("%d watchers left", n)
	}
}

// TestWatchFillsGapsFromTheStream: live events lost by core NATS (here: while the live
// subscription is away) are read from the stream when the next live event shows the gap.
func TestWatchFillsGapsFromTheStream(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	var r recorder
	stop, _ := f.Watch("cnv_g", 0, r.add)
	defer stop()
	e.publish("cnv_g", 1, schema.EventOpened, "")
	r.waitFor(t, 1)
	f.mu.Lock()
	_ = f.sub.Unsubscribe()
	f.mu.Unlock()
	e.publish("cnv_g", 2, schema.EventMessage, "") // stored, never seen live
	e.publish("cnv_g", 3, schema.EventMessage, "")
	sub, err := e.nc.Subscribe(streams.LiveConvPrefix+">", f.onLive)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.sub = sub
	f.mu.Unlock()
	e.publish("cnv_g", 4, schema.EventMessage, "")
	r.waitFor(t, 1, 2, 3, 4)
}

// TestManyWatchersShareOneSubscription: a thousand watchers cost one subscription.
func TestManyWatchersShareOneSubscription(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	before := e.nc.NumSubscriptions()
	recs := make([]recorder, 1000)
	for i := range recs {
		stop, err := f.Watch(fmt.Sprintf("cnv_%d", i%100), 0, recs[i].add)
		if err != nil {
			t.Fatal(err)
		}
		defer stop()
	}
	if n := e.nc.NumSubscriptions() - before; n != 1 {
		t.Fatalf("%d subscriptions for 1000 watchers", n)
	}
	for c := 0; c < 100; c++ {
		e.publish(fmt.Sprintf("cnv_%d", c), 1, schema.EventOpened, "")
	}
	for i := range recs {
		recs[i].waitFor(t, 1)
	}
}

func TestRoutedByEventAndByRecord(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	got := make(chan string, 2)
	stop := f.Routed("msg_live", func(c string) { got <- c })
	defer stop()
	e.publish("cnv_r", 1, schema.EventMessage, "msg_live")
	if c := waitString(t, got); c != "cnv_r" {
		t.Fatalf("routed to %q", c)
	}
	// Routed before anyone asked: the message record answers.
	kv, _ := e.js.KeyValue(context.Background(), streams.BucketMessages)
	_, _ = kv.Put(context.Background(), "msg_old", []byte(`{"id":"msg_old","conversation_id":"cnv_old"}`))
	stop2 := f.Routed("msg_old", func(c string) { got <- c })
	defer stop2()
	if c := waitString(t, got); c != "cnv_old" {
		t.Fatalf("routed to %q", c)
	}
}

func waitString(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		return ""
	}
}

func TestFollowOnWatch(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	for s := uint64(1); s <= 600; s++ { // more than Follow's buffer: it must catch up, not lose
		e.publish("cnv_f", s, schema.EventMessage, "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last uint64
	err := f.Follow(ctx, "cnv_f", 0, func(ev *schema.Event) error {
		if ev.Seq != last+1 {
			return fmt.Errorf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		if last == 600 {
			return errDone
		}
		return nil
	})
	if err != errDone {
		t.Fatalf("follow: %v (last %d)", err, last)
	}
}

var errDone = fmt.Errorf("done")

func TestSignals(t *testing.T) {
	e := newFeedEnv(t)
	s := NewSignals(e.nc, nil)
	got := make(chan string, 4)
	stop, err := s.Listen("webchat.", func(topic string, data []byte) { got <- topic + "=" + string(data) })
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if _, err := s.Listen("bad prefix", nil); err == nil {
		t.Fatal("a bad prefix was accepted")
	}
	if err := s.Signal("webchat.shop.v1.read", []byte("x")); err != nil {
		t.Fatal(err)
	}
	_ = s.Signal("conv.c1.typing", []byte("y")) // another prefix: not delivered here
	if err := s.Signal("bad topic!", nil); err == nil {
		t.Fatal("a bad topic was accepted")
	}
	if v := waitString(t, got); v != "webchat.shop.v1.read=x" {
		t.Fatalf("got %q", v)
	}
	select {
	case v := <-got:
		t.Fatalf("unexpected %q", v)
	case <-time.After(200 * time.Millisecond):
	}
}

// TestWatcherPanicIsContained: a watcher's bug does not take the feed (or the gateway) down.
func TestWatcherPanicIsContained(t *testing.T) {
	e := newFeedEnv(t)
	f := NewFeed(e.js, nil)
	stopBad, _ := f.Watch("cnv_p", 0, func(*schema.Event) { panic("connector bug") })
	defer stopBad()
	var good recorder
	stop, _ := f.Watch("cnv_p", 0, good.add)
	defer stop()
	e.publish("cnv_p", 1, schema.EventOpened, "")
	e.publish("cnv_p", 2, schema.EventMessage, "")
	good.waitFor(t, 1, 2)
}
