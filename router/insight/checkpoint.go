package insight

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// On a clean stop the projection stores the state of the conversations (and agents) it
// follows next to its position, so that the next holder does not read every conversation's
// events back from SB_CONVERSATIONS (one pass over the stream per conversation). The state is
// stored in chunks (ckptKey + ".<n>"), then a head naming the generation and the stream
// sequence it belongs to. The next run uses it only when both match its stored position;
// otherwise (a crash, a rebuild) it reads conversations back as before. A chunk from another
// checkpoint (a stop cut short) is skipped the same way.
const (
	ckptKey   = "ckpt"
	ckptChunk = 256 << 10 // bytes of state per chunk (the server's max payload is 1 MiB)
)

type ckptHead struct {
	ID         string    `json:"id"`
	Generation uint64    `json:"generation"`
	Seq        uint64    `json:"seq"`
	Chunks     int       `json:"chunks"`
	Trackers   int       `json:"trackers"`
	At         time.Time `json:"at"`
}

type ckptPart struct {
	ID       string                     `json:"id"`
	Trackers map[string]json.RawMessage `json:"trackers,omitempty"`
	Presence map[string]*kpi.Presence   `json:"presence,omitempty"`
}

type trackedState struct {
	T        *kpi.Tracker `json:"t"`
	Resolved bool         `json:"r,omitempty"`
}

func ckptChunkKey(n int) string { return ckptKey + "." + strconv.Itoa(n) }

// saveCheckpoint stores the followed state as of the stored position (call it right after a
// flush). The count of conversations stored.
func (b *builder) saveCheckpoint(ctx context.Context) (int, error) {
	kv := b.p.kv
	var prev ckptHead
	if _, err := kernel.GetJSON(ctx, kv, ckptKey, &prev); err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return 0, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	head := ckptHead{ID: hex.EncodeToString(rnd[:]), Generation: b.gen, Seq: b.pos.Seq, At: time.Now().UTC()}
	part := ckptPart{ID: head.ID, Trackers: map[string]json.RawMessage{}, Presence: b.presence}
	size := 0
	put := func() error {
		data, err := json.Marshal(part)
		if err != nil {
			return err
		}
		if _, err := kv.Put(ctx, ckptChunkKey(head.Chunks), data); err != nil {
			return kernel.KVError(err)
		}
		head.Chunks++
		part = ckptPart{ID: head.ID, Trackers: map[string]json.RawMessage{}}
		size = 0
		return nil
	}
	for id, tr := range b.trackers {
		data, err := json.Marshal(trackedState{T: tr.t, Resolved: tr.resolved})
		if err != nil {
			return 0, err
		}
		part.Trackers[id] = data
		size += len(data) + len(id) + 4
		head.Trackers++
		if size >= ckptChunk {
			if err := put(); err != nil {
				return 0, err
			}
		}
	}
	if size > 0 || head.Chunks == 0 {
		if err := put(); err != nil {
			return 0, err
		}
	}
	data, _ := json.Marshal(head)
	if _, err := kv.Put(ctx, ckptKey, data); err != nil {
		return 0, kernel.KVError(err)
	}
	for n := head.Chunks; n < prev.Chunks; n++ { // the previous checkpoint's extra chunks
		_ = kv.Delete(ctx, ckptChunkKey(n))
	}
	return head.Trackers, nil
}

// loadCheckpoint fills the builder with the state a clean stop stored at its position: the
// conversations restored (0 when there is no usable checkpoint).
func (b *builder) loadCheckpoint(ctx context.Context) (int, error) {
	kv := b.p.kv
	var head ckptHead
	if _, err := kernel.GetJSON(ctx, kv, ckptKey, &head); err != nil {
		if errors.Is(err, kernel.ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	if head.Generation != b.gen || head.Seq != b.pos.Seq || b.pos.Seq == 0 {
		return 0, nil // a crash or a rebuild since: conversations are read back as needed
	}
	restored := 0
	limit := b.p.o.Config.MaxTrackers
	for n := range head.Chunks {
		e, err := kv.Get(ctx, ckptChunkKey(n))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return restored, kernel.KVError(err)
		}
		var part ckptPart
		if err := json.Unmarshal(e.Value(), &part); err != nil {
			return restored, fmt.Errorf("checkpoint chunk %d: %w", n, err)
		}
		if part.ID != head.ID {
			continue // left from an earlier stop that was cut short
		}
		for agent, p := range part.Presence {
			b.presence[agent] = p
		}
		for id, raw := range part.Trackers {
			if limit > 0 && len(b.trackers) >= limit {
				break
			}
			st := trackedState{T: &kpi.Tracker{}}
			if err := json.Unmarshal(raw, &st); err != nil {
				return restored, fmt.Errorf("checkpoint chunk %d, conversation %s: %w", n, id, err)
			}
			b.trackers[id] = &tracked{t: st.T, resolved: st.Resolved}
			restored++
		}
	}
	return restored, nil
}
