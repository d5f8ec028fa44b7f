package listing

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/natstest"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

type stored struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	stream jetstream.Stream
}

func storeWithEvents(t *testing.T) *stored {
	t.Helper()
	js := natstest.StartJetStream(t)
	ctx := context.Background()
	st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: streams.StreamConversations,
		Subjects: []string{streams.FilterConversations, streams.FilterCustomers}, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: streams.BucketState})
	if err != nil {
		t.Fatal(err)
	}
	return &stored{js: js, kv: kv, stream: st}
}

func (s *stored) publish(t *testing.T, evs []*schema.Event) {
	t.Helper()
	for _, ev := range evs {
		data, _ := json.Marshal(ev)
		if _, err := s.js.Publish(context.Background(), streams.EventSubject(ev), data); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *stored) info(t *testing.T) *jetstream.StreamInfo {
	t.Helper()
	info, err := s.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// follow runs ix.Follow until it has applied through seq, and returns its stop.
func follow(t *testing.T, ix *Index, js jetstream.JetStream, seq uint64) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = ix.Follow(ctx, js, zap.NewNop()) }()
	deadline := time.Now().Add(20 * time.Second)
	for ix.Position() < seq {
		if time.Now().After(deadline) {
			t.Fatalf("the index reached %d of %d", ix.Position(), seq)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return func() { cancel(); <-done }
}

// A clean stop stores the index next to its position; the next start loads it, reads only
// the events stored since, and then answers every query as the test's model of the whole
// history does. A checkpoint of another stream is not used, and conversations whose events
// all aged out are left out as a read from the start would leave them.
func TestListingRestartsFromItsCheckpoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	evs, state := history(rng, 400, 4000)
	defer func(size int) { ckptChunk = size }(ckptChunk)
	ckptChunk = 4 << 10 // several chunks per checkpoint
	s := storeWithEvents(t)
	s.publish(t, evs[:2500])

	first := New()
	stop := follow(t, first, s.js, 2500)
	stop() // a clean stop: the checkpoint is written
	var head ckptHead
	e, err := s.kv.Get(context.Background(), ckptHeadKey)
	if err != nil {
		t.Fatalf("no checkpoint after a clean stop: %v", err)
	}
	if err := json.Unmarshal(e.Value(), &head); err != nil || head.Pos != 2500 || head.Entries != first.Len() || head.Chunks < 1 {
		t.Fatalf("checkpoint head %+v (%v), the index held %d at 2500", head, err, first.Len())
	}

	s.publish(t, evs[2500:])
	info := s.info(t)
	restored := New()
	n, err := restored.LoadCheckpoint(context.Background(), s.kv, info.Created, info.State.FirstSeq, info.State.LastSeq)
	if err != nil || n != first.Len() || restored.Position() != 2500 {
		t.Fatalf("loaded %d conversations at %d (%v), want %d at 2500", n, restored.Position(), err, first.Len())
	}
	stop = follow(t, restored, s.js, uint64(len(evs)))
	stop()
	if restored.Len() != len(state) {
		t.Fatalf("%d conversations after the restart, the history made %d", restored.Len(), len(state))
	}
	checkQueries(t, restored, state, evs[len(evs)/2].At)

	// The checkpoint now in the bucket is the second run's; a stream created at another
	// time (deleted and made again) does not use it.
	other := New()
	if n, err := other.LoadCheckpoint(context.Background(), s.kv, info.Created.Add(time.Second), 1, info.State.LastSeq); n != 0 || err != nil || other.Position() != 0 {
		t.Fatalf("a checkpoint of another stream was used: %d, position %d, %v", n, other.Position(), err)
	}

	// Checkpoints alternate between two slots of keys: however many stops, the bucket holds
	// the head and two slots' chunks, and a chunk another stop wrote over is not used.
	if head.Chunks < 3 {
		t.Fatalf("the first checkpoint took %d chunks: the test means several", head.Chunks)
	}
	ckptChunk = 256 << 10 // one chunk each from now on: the earlier ones must go
	for range 3 {
		if _, err := restored.SaveCheckpoint(context.Background(), s.kv, info.Created); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.kv.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e, _ = s.kv.Get(context.Background(), ckptHeadKey)
	_ = json.Unmarshal(e.Value(), &head)
	if len(keys) != 3 || head.Chunks != 1 || head.Other != 1 {
		t.Fatalf("after five checkpoints: keys %v, head %+v", keys, head)
	}
	saved, _ := s.kv.Get(context.Background(), ckptChunkKey(head.Slot, 0))
	forged, _ := json.Marshal(ckptPart{ID: "another-stop", Entries: []ckptEntry{{ID: "cnv_other", Opened: 1}}})
	if _, err := s.kv.Put(context.Background(), ckptChunkKey(head.Slot, 0), forged); err != nil {
		t.Fatal(err)
	}
	if n, err := New().LoadCheckpoint(context.Background(), s.kv, info.Created, 1, info.State.LastSeq); n != 0 || err != nil {
		t.Fatalf("a chunk of another checkpoint was used: %d, %v", n, err)
	}
	// A chunk that is not a checkpoint at all is an error, and the index stays empty (the
	// start then reads the stream).
	if _, err := s.kv.Put(context.Background(), ckptChunkKey(head.Slot, 0), []byte(`{"id": 7, "entries": "no"}`)); err != nil {
		t.Fatal(err)
	}
	broken := New()
	if n, err := broken.LoadCheckpoint(context.Background(), s.kv, info.Created, 1, info.State.LastSeq); err == nil || n != 0 || broken.Len() != 0 || broken.Position() != 0 {
		t.Fatalf("a garbled chunk: %d restored, %d listed, position %d, error %v", n, broken.Len(), broken.Position(), err)
	}
	if _, err := s.kv.Put(context.Background(), ckptChunkKey(head.Slot, 0), saved.Value()); err != nil {
		t.Fatal(err)
	}

	// As if the first 1,000 events had aged out: the checkpoint keeps only conversations a
	// read from sequence 1,001 would list, each as that read leaves it.
	aged, replay := New(), New()
	if _, err := aged.LoadCheckpoint(context.Background(), s.kv, info.Created, 1001, info.State.LastSeq); err != nil {
		t.Fatal(err)
	}
	for i := 1000; i < len(evs); i++ {
		replay.Apply(uint64(i+1), evs[i])
	}
	if aged.Len() != replay.Len() || aged.Len() == restored.Len() {
		t.Fatalf("after aging: %d conversations from the checkpoint, %d from reading the kept events (%d in all)", aged.Len(), replay.Len(), restored.Len())
	}
	for _, q := range []Query{{Limit: 5000}, {Status: schema.ConversationOpen, Limit: 5000}, {Tag: "vip", Limit: 5000}} {
		a, _ := aged.Query(q)
		b, _ := replay.Query(q)
		if len(a.Entries) != len(b.Entries) {
			t.Fatalf("%+v: %d from the checkpoint, %d from the kept events", q, len(a.Entries), len(b.Entries))
		}
		for i := range a.Entries {
			x, y := a.Entries[i], b.Entries[i]
			if x.ID != y.ID || x.Status != y.Status || x.Agent != y.Agent || x.Queue != y.Queue || !x.Updated.Equal(y.Updated) || len(x.Tags) != len(y.Tags) {
				t.Fatalf("%+v: entry %d: %+v from the checkpoint, %+v from the kept events", q, i, x, y)
			}
		}
	}
}

// Any bytes decode to an entry or an error, never a panic, and an entry survives encoding.
func FuzzCheckpointEntry(f *testing.F) {
	f.Add([]byte(`["cnv_1","cus_1","general","ann",["vip"],1764700000000000000,5,1,42]`), "cnv_2", "vip", int64(7), uint64(3))
	f.Add([]byte(`[1,2,3]`), "", "", int64(0), uint64(0))
	f.Add([]byte(`{"id":"x"}`), "x", "", int64(-1), uint64(1))
	f.Fuzz(func(t *testing.T, raw []byte, id, tag string, updated int64, opened uint64) {
		var c ckptEntry
		_ = json.Unmarshal(raw, &c)
		if !utf8.ValidString(id) || !utf8.ValidString(tag) {
			return // ids and tags come from JSON events: always UTF-8
		}
		in := ckptEntry{ID: id, Customer: "cus_" + id, Queue: "q", Tags: []string{tag}, Updated: updated, Chans: opened >> 3, Flags: uint8(opened), Opened: opened}
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var out ckptEntry
		if err := json.Unmarshal(data, &out); err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		if out.ID != in.ID || out.Customer != in.Customer || out.Queue != in.Queue || len(out.Tags) != 1 || out.Tags[0] != tag ||
			out.Updated != in.Updated || out.Chans != in.Chans || out.Flags != in.Flags || out.Opened != in.Opened {
			t.Fatalf("round trip of %+v gave %+v", in, out)
		}
	})
}
