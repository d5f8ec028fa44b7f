package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
)

// TestStateConflictOnAReplicatedBucket (and the kernel's one JetStream error mapper): a compare-and-set that loses on a replicated sb_state
// bucket (the server answers 10164 there, not 10071) is kernel.ErrConflict, so callers
// such as the Meta connector's recent-message list retry instead of giving up.
func TestStateConflictOnAReplicatedBucket(t *testing.T) {
	c := natstest.StartCluster(t, 3)
	nc, err := nats.Connect(c.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := pipeline.WaitJetStream(ctx, nc); err != nil {
		t.Fatal(err)
	}
	var kv jetstream.KeyValue
	for { // the meta leader may still be being elected
		actx, acancel := context.WithTimeout(ctx, 5*time.Second)
		kv, err = js.CreateKeyValue(actx, jetstream.KeyValueConfig{Bucket: "sb_state", Replicas: 3})
		acancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	st := pipeline.NewState(kv, "meta")
	rev, err := st.Create(ctx, "k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Create(ctx, "k", []byte("again")); !errors.Is(err, kernel.ErrExists) {
		t.Fatalf("create over an existing key: %v, want ErrExists", err)
	}
	if _, err := st.Update(ctx, "k", []byte("2"), rev); err != nil {
		t.Fatal(err)
	}
	_, err = st.Update(ctx, "k", []byte("stale"), rev)
	if !errors.Is(err, kernel.ErrConflict) || errors.Is(err, kernel.ErrUnavailable) {
		t.Fatalf("update over a stale revision: %v, want ErrConflict", err)
	}
	if raw := rawUpdate(ctx, kv, rev); !kernel.IsConflict(raw) || !errors.Is(kernel.KVError(raw), kernel.ErrConflict) {
		t.Fatalf("the replicated bucket's answer %v is not recognised as a lost compare-and-set", raw)
	}
	// A publish fenced by an expected last sequence on a replicated stream (what the router
	// does for every conversation event) loses the same way.
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "FENCED", Subjects: []string{"fenced.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, "fenced.a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	_, err = js.Publish(ctx, "fenced.a", []byte("2"), jetstream.WithExpectLastSequence(7))
	if !kernel.IsConflict(err) {
		t.Fatalf("fenced publish on a replicated stream: %v, want a conflict", err)
	}
	if _, _, err := st.Get(ctx, "missing"); !errors.Is(err, kernel.ErrNotFound) {
		t.Fatalf("get of a missing key: %v", err)
	}
}

func rawUpdate(ctx context.Context, kv jetstream.KeyValue, rev uint64) error {
	_, err := kv.Update(ctx, "meta.k", []byte("stale"), rev)
	return err
}
