package pipeline

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// The index holds the newest entries of each key and nothing older than retention; its
// memory (the number of keys) does not grow with the messages indexed.
func TestMessageIndexKeepsTheNewestEntriesPerKey(t *testing.T) {
	js := startJS(t, Config{Partitions: 1})
	ctx := context.Background()
	kv, err := js.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		t.Fatal(err)
	}
	ix := NewMessageIndex(js, kv, MessageIndexConfig{Buckets: 4, Entries: 3}, time.Hour)
	now := time.Unix(1_800_000_000, 0)
	ix.now = func() time.Time { return now }
	var evicted []time.Duration
	ix.Evicted = func(age time.Duration) { evicted = append(evicted, age) }

	// Independent model: per key, the ids in order of their last Add, at most 3.
	model := map[string][]string{}
	at := map[string]time.Time{}
	add := func(id string, seq uint64) {
		t.Helper()
		if err := ix.Add(ctx, id, IndexEntry{StreamSeq: seq, InboundSeq: seq + 1000}); err != nil {
			t.Fatal(err)
		}
		key, _ := ix.key(id)
		var kept []string
		for _, x := range model[key] {
			if x != id {
				kept = append(kept, x)
			}
		}
		model[key] = append(kept, id)
		if len(model[key]) > 3 {
			model[key] = model[key][len(model[key])-3:]
		}
		at[id] = now
	}
	for i := range 40 {
		add(fmt.Sprintf("msg_%d", i), uint64(i+1))
		now = now.Add(time.Second)
	}
	add("msg_7", 99) // indexed again: the new place wins, the key holds it once
	for i := range 40 {
		id := fmt.Sprintf("msg_%d", i)
		key, _ := ix.key(id)
		want := false
		for _, x := range model[key] {
			want = want || x == id
		}
		ent, err := ix.Find(ctx, id)
		switch {
		case want && err != nil:
			t.Fatalf("%s should be found: %v", id, err)
		case !want && !errors.Is(err, kernel.ErrNotFound):
			t.Fatalf("%s should have been dropped for room, got %+v, %v", id, ent, err)
		case want && id == "msg_7" && ent.StreamSeq != 99:
			t.Fatalf("msg_7 at %d, want its newer place 99", ent.StreamSeq)
		case want && id != "msg_7" && (ent.StreamSeq != uint64(i+1) || ent.InboundSeq != uint64(i+1001) || !ent.At.Equal(at[id])):
			t.Fatalf("%s: %+v", id, ent)
		}
	}
	if len(evicted) != 40+1-len(model["ix.00000"])-len(model["ix.00001"])-len(model["ix.00002"])-len(model["ix.00003"]) || evicted[0] <= 0 {
		t.Fatalf("evictions %v", evicted)
	}
	keys, err := kv.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range keys.Keys() {
		n++
	}
	if n != 4 {
		t.Fatalf("%d keys for 40 messages, want the 4 index keys", n)
	}

	// Past retention an entry is dropped at the key's next write.
	old := "msg_39"
	key, _ := ix.key(old)
	now = now.Add(2 * time.Hour)
	for i := 100; ; i++ {
		id := fmt.Sprintf("msg_%d", i)
		if k, _ := ix.key(id); k == key {
			add(id, uint64(i))
			break
		}
	}
	if _, err := ix.Find(ctx, old); !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("an entry past retention is still found: %v", err)
	}
}
