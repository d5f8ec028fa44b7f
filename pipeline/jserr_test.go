package pipeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline"
	"github.com/switchboardhq/switchboard/pipeline/natstest"
)

// TestStateConflictOnAReplicatedBucket: a compare-and-set that loses on a replicated sb_state
// bucket (the server answers 10164 there, not 10071) is connectors.ErrConflict, so callers
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
	if _, err := st.Create(ctx, "k", []byte("again")); !errors.Is(err, connectors.ErrExists) {
		t.Fatalf("create over an existing key: %v, want ErrExists", err)
	}
	if _, err := st.Update(ctx, "k", []byte("2"), rev); err != nil {
		t.Fatal(err)
	}
	_, err = st.Update(ctx, "k", []byte("stale"), rev)
	if !errors.Is(err, connectors.ErrConflict) || errors.Is(err, connectors.ErrUnavailable) {
		t.Fatalf("update over a stale revision: %v, want ErrConflict", err)
	}
	if !pipeline.IsConflict(rawUpdate(ctx, kv, rev)) {
		t.Fatal("IsConflict does not recognise the replicated bucket's answer")
	}
	if _, _, err := st.Get(ctx, "missing"); !errors.Is(err, connectors.ErrNotFound) {
		t.Fatalf("get of a missing key: %v", err)
	}
}

func rawUpdate(ctx context.Context, kv jetstream.KeyValue, rev uint64) error {
	_, err := kv.Update(ctx, "meta.k", []byte("stale"), rev)
	return err
}
