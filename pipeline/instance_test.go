package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"go.uber.org/zap"
)

// TestRestartTakesBackItsOwnLeaseAtOnce: a run killed without releasing its lease leaves it
// in the bucket for lease_ttl; the next run on the same data directory (same stable id, the
// directory's lock proves the earlier run is gone) takes it back at once.
func TestRestartTakesBackItsOwnLeaseAtOnce(t *testing.T) {
	js := startJS(t, Config{LeaseTTL: 30e9})
	kv, _ := js.KeyValue(context.Background(), streams.BucketLeases)
	dir := t.TempDir()
	first, err := ClaimInstance(dir, "fallback-1")
	if err != nil || !first.Stable {
		t.Fatalf("claim: %+v %v", first, err)
	}
	if _, err := NewLeases(kv, first, 30*time.Second, zap.NewNop()).Acquire(context.Background(), "partition/3"); err != nil {
		t.Fatal(err)
	}
	// A stranger (another instance) must wait; so must another live process that shares the
	// directory: it cannot take the lock, so it gets a different id and no right to reclaim.
	sharing, err := ClaimInstance(dir, "fallback-2")
	if err != nil || sharing.Stable || sharing.ID != "fallback-2" {
		t.Fatalf("a second live process on the directory: %+v %v", sharing, err)
	}
	for _, other := range []*Instance{{ID: "stranger", Stable: true}, sharing, {ID: first.ID}} {
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		_, err := NewLeases(kv, other, 30*time.Second, zap.NewNop()).Acquire(ctx, "partition/3")
		cancel()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%+v got a lease held by a live run: %v", other, err)
		}
	}

	first.Release() // the process died: the kernel drops its lock
	again, err := ClaimInstance(dir, "fallback-3")
	if err != nil || !again.Stable || again.ID != first.ID {
		t.Fatalf("restart: %+v %v, want the stable id %s", again, err, first.ID)
	}
	defer again.Release()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l, err := NewLeases(kv, again, 30*time.Second, zap.NewNop()).Acquire(ctx, "partition/3")
	if err != nil {
		t.Fatalf("restart did not take its lease back: %v", err)
	}
	defer l.Release()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("took its lease back after %v, want at once", took)
	}
}
