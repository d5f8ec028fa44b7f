package listing

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
	"github.com/switchboardhq/switchboard/schema"
)

// A clean stop stores the index next to its stream position (sb_state, "listing.*" keys), so
// that the next start reads only the events stored since instead of the whole history of
// SB_CONVERSATIONS. The entries go in chunks, in one of two slots of keys (listing.a.<n>,
// listing.b.<n>: the one the current checkpoint does not use, so the set of keys stays
// bounded), then the head naming the slot and the checkpoint's id, which every chunk carries.
// Several instances may stop at once and write the same slot: a chunk of another checkpoint
// than the head's makes the start read the stream instead. A start uses the checkpoint only
// when it belongs to the same stream (its creation time) and its position is not past the
// stream's end; otherwise it reads the stream from the start as before.
const ckptHeadKey = "listing.head"

// ckptChunk is the bytes of entries per chunk (the server's max payload is 1 MiB; tests make
// it smaller).
var ckptChunk = 256 << 10

type ckptHead struct {
	ID      string           `json:"id"`
	Slot    string           `json:"slot"`
	Stream  time.Time        `json:"stream_created"`
	Pos     uint64           `json:"position"`
	Chunks  int              `json:"chunks"`
	Other   int              `json:"other_slot_chunks"` // chunks left in the other slot
	Entries int              `json:"entries"`
	Chans   []schema.Channel `json:"channels"`
	At      time.Time        `json:"at"`
}

type ckptPart struct {
	ID      string      `json:"id"`
	Entries []ckptEntry `json:"entries"`
}

// ckptEntry is an entry as stored: id, customer, queue, agent, tags, update time, channel
// bits, flags (1 resolved, 2 snoozed), opened at stream sequence.
type ckptEntry struct {
	ID, Customer, Queue, Agent string
	Tags                       []string
	Updated                    int64
	Chans                      uint64
	Flags                      uint8
	Opened                     uint64
}

func (c ckptEntry) MarshalJSON() ([]byte, error) {
	return json.Marshal([]any{c.ID, c.Customer, c.Queue, c.Agent, c.Tags, c.Updated, c.Chans, c.Flags, c.Opened})
}

func (c *ckptEntry) UnmarshalJSON(data []byte) error {
	return json.Unmarshal(data, &[]any{&c.ID, &c.Customer, &c.Queue, &c.Agent, &c.Tags, &c.Updated, &c.Chans, &c.Flags, &c.Opened})
}

func ckptChunkKey(slot string, n int) string { return "listing." + slot + "." + strconv.Itoa(n) }

// SaveCheckpoint stores the index as of its position in kv, for a stream created at
// created. It returns the entries stored.
func (ix *Index) SaveCheckpoint(ctx context.Context, kv jetstream.KeyValue, created time.Time) (int, error) {
	var prev ckptHead
	if _, err := kernel.GetJSON(ctx, kv, ckptHeadKey, &prev); err != nil && !errors.Is(err, kernel.ErrNotFound) {
		return 0, err
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	slot := "a"
	if prev.Slot == "a" {
		slot = "b"
	}
	ix.mu.RLock()
	head := ckptHead{ID: hex.EncodeToString(rnd[:]), Slot: slot, Stream: created.UTC(), Pos: ix.pos, Entries: len(ix.byID),
		Other: prev.Chunks, Chans: append([]schema.Channel(nil), ix.chans...), At: time.Now().UTC()}
	chunks, err := ix.encodeChunks(head.ID)
	ix.mu.RUnlock()
	if err != nil {
		return 0, err
	}
	for n, data := range chunks {
		if _, err := kv.Put(ctx, ckptChunkKey(slot, n), data); err != nil {
			return 0, kernel.KVError(err)
		}
	}
	head.Chunks = len(chunks)
	data, _ := json.Marshal(head)
	if _, err := kv.Put(ctx, ckptHeadKey, data); err != nil {
		return 0, kernel.KVError(err)
	}
	for n := head.Chunks; n < prev.Other; n++ { // this slot's chunks from two checkpoints ago
		_ = kv.Delete(ctx, ckptChunkKey(slot, n))
	}
	return head.Entries, nil
}

// encodeChunks encodes the entries in chunks of about ckptChunk bytes, each marked with the
// checkpoint's id (read lock held).
func (ix *Index) encodeChunks(id string) ([][]byte, error) {
	var chunks [][]byte
	part := ckptPart{ID: id, Entries: make([]ckptEntry, 0, 1024)}
	size := 0
	flush := func() error {
		data, err := json.Marshal(part)
		if err != nil {
			return err
		}
		chunks = append(chunks, data)
		part.Entries, size = part.Entries[:0], 0
		return nil
	}
	for _, e := range ix.byID {
		c := ckptEntry{ID: e.ID, Customer: e.Customer, Queue: e.Queue, Agent: e.Agent, Tags: e.Tags, Updated: e.updated,
			Chans: e.chans, Opened: e.opened}
		if e.resolved {
			c.Flags |= 1
		}
		if e.snoozed {
			c.Flags |= 2
		}
		part.Entries = append(part.Entries, c)
		size += len(c.ID) + len(c.Customer) + len(c.Queue) + len(c.Agent) + 60
		for _, t := range c.Tags {
			size += len(t) + 3
		}
		if size >= ckptChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if size > 0 {
		if err := flush(); err != nil {
			return nil, err
		}
	}
	return chunks, nil
}

// LoadCheckpoint fills an empty index from the checkpoint in kv when it belongs to the stream
// (created at created, first kept event at first, last at last): the entries restored, 0 when
// there is no usable checkpoint (the index is then still empty).
func (ix *Index) LoadCheckpoint(ctx context.Context, kv jetstream.KeyValue, created time.Time, first, last uint64) (int, error) {
	var head ckptHead
	if _, err := kernel.GetJSON(ctx, kv, ckptHeadKey, &head); err != nil {
		if errors.Is(err, kernel.ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	if !head.Stream.Equal(created.UTC()) || head.Pos > last || head.Pos == 0 {
		return 0, nil // another stream, or a checkpoint from ahead of it
	}
	var entries []ckptEntry
	for n := range head.Chunks {
		e, err := kv.Get(ctx, ckptChunkKey(head.Slot, n))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return 0, nil // cut short by another instance's stop: read the stream
		}
		if err != nil {
			return 0, kernel.KVError(err)
		}
		var part ckptPart
		if err := json.Unmarshal(e.Value(), &part); err != nil {
			return 0, fmt.Errorf("listing checkpoint chunk %d: %w", n, err)
		}
		if part.ID != head.ID {
			return 0, nil // another instance's stop wrote this slot meanwhile: read the stream
		}
		entries = append(entries, part.Entries...)
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.pos != 0 || len(ix.byID) != 0 {
		return 0, nil
	}
	ix.chans = head.Chans
	restored := 0
	for _, c := range entries {
		if c.Opened < first {
			continue // its opened event has aged out: a read from the start would not list it
		}
		e := &Entry{ID: c.ID, Customer: c.Customer, Queue: ix.name(c.Queue), updated: c.Updated, chans: c.Chans,
			resolved: c.Flags&1 != 0, snoozed: c.Flags&2 != 0, opened: c.Opened}
		ix.byID[e.ID] = e
		ix.setAgent(e, c.Agent)
		for _, t := range c.Tags {
			e.Tags = append(e.Tags, ix.name(t))
			ix.add(dimTag, e.Tags[len(e.Tags)-1], e)
		}
		if e.Customer != "" {
			ix.byCust[e.Customer] = append(ix.byCust[e.Customer], e)
		}
		ix.order.ReplaceOrInsert(e)
		restored++
	}
	ix.pos = head.Pos
	return restored, nil
}
