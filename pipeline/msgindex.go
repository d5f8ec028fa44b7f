package pipeline

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/configs/cfg"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// MessageIndex finds an inbound message's conversation event by the message's id, without a
// key per message: JetStream keeps every key of a bucket in memory (about 140 bytes each), so
// a key per message would make memory grow with history. Ids hash into a fixed number of
// index keys in sb_messages ("ix.<bucket>"); each holds the newest few entries (id hash, the
// message event's SB_CONVERSATIONS sequence, its SB_INBOUND sequence, when), compactly.
// Memory is fixed by the bucket count; a message stays findable until enough newer ones
// land in its bucket (the capacity, buckets × entries, about 1.5 million messages by
// default) or retention.messages passes, whichever comes first.
type MessageIndex struct {
	kv      jetstream.KeyValue
	events  *streams.Reader
	buckets uint64
	entries int
	maxAge  time.Duration
	now     func() time.Time
	// Evicted, when set, is told the age of each entry pushed out of a full bucket: the
	// index's horizon in time at the current rate.
	Evicted func(age time.Duration)

	// seen keeps the last value and revision read or written per key, briefly: the router
	// looks a message up (is it a late duplicate?) and records it moments later, and the
	// record's compare-and-set can start from what the lookup read instead of reading again.
	mu   sync.Mutex
	seen map[string]seenKey
}

type seenKey struct {
	val []byte
	rev uint64
}

// seenMax bounds the hints kept: they only need to outlive one message's processing.
const seenMax = 1024

func (ix *MessageIndex) remember(key string, val []byte, rev uint64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.seen == nil || len(ix.seen) >= seenMax {
		ix.seen = map[string]seenKey{}
	}
	ix.seen[key] = seenKey{val, rev}
}

func (ix *MessageIndex) hint(key string) (seenKey, bool) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	s, ok := ix.seen[key]
	delete(ix.seen, key)
	return s, ok
}

// IndexEntry is where one message is.
type IndexEntry struct {
	StreamSeq  uint64    // the message event in SB_CONVERSATIONS
	InboundSeq uint64    // the message as the connector stored it in SB_INBOUND (0: none)
	At         time.Time // when it was indexed (second precision)
}

const indexEntrySize = 8 + 8 + 8 + 4 // id hash, stream seq, inbound seq, unix seconds

// NewMessageIndex returns the index over bucket kv (sb_messages).
func NewMessageIndex(js jetstream.JetStream, kv jetstream.KeyValue, c MessageIndexConfig, maxAge time.Duration) *MessageIndex {
	if err := cfg.SetDefaults(&c); err != nil {
		panic(err)
	}
	return &MessageIndex{kv: kv, events: streams.NewReader(js), buckets: uint64(max(c.Buckets, 1)), entries: max(c.Entries, 1),
		maxAge: maxAge, now: time.Now}
}

// OpenMessageIndex opens the index in sb_messages, sized by c.MessageIndex; m (optional)
// gets its horizon.
func OpenMessageIndex(ctx context.Context, js jetstream.JetStream, c Config, m *Metrics) (*MessageIndex, error) {
	c = c.WithDefaults()
	kv, err := js.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	ix := NewMessageIndex(js, kv, c.MessageIndex, c.Retention.Messages.D())
	if m != nil {
		ix.Evicted = func(age time.Duration) { m.IndexHorizon.Set(age.Seconds()) }
	}
	return ix, nil
}

// Locate returns the conversation event of inbound message id and its index entry
// ([kernel.ErrNotFound] when the index does not know the id or the event is gone).
func (ix *MessageIndex) Locate(ctx context.Context, id string) (*streams.Stored, IndexEntry, error) {
	ent, err := ix.Find(ctx, id)
	if err != nil {
		return nil, ent, err
	}
	st, err := ix.events.At(ctx, ent.StreamSeq)
	if err != nil {
		return nil, ent, err
	}
	if st.Err != nil || st.Event.Message == nil || st.Event.Message.ID != id {
		return nil, ent, kernel.ErrNotFound // another id with the same hash
	}
	return st, ent, nil
}

func (ix *MessageIndex) key(id string) (string, uint64) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	sum := h.Sum64()
	return fmt.Sprintf("ix.%05x", sum%ix.buckets), sum
}

// Find returns the entry for message id ([kernel.ErrNotFound] when the index has none). The
// entry is found by a 64-bit hash of the id: a caller that needs certainty checks the id in
// the event at StreamSeq.
func (ix *MessageIndex) Find(ctx context.Context, id string) (IndexEntry, error) {
	key, sum := ix.key(id)
	e, err := ix.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		ix.remember(key, nil, 0)
	}
	if err != nil {
		return IndexEntry{}, kernel.KVError(err)
	}
	ix.remember(key, e.Value(), e.Revision())
	if i := findEntry(e.Value(), sum); i >= 0 {
		return decodeEntry(e.Value()[i:]), nil
	}
	return IndexEntry{}, kernel.ErrNotFound
}

// Add records where message id is (again: an entry for the id is replaced), dropping the
// bucket's oldest entries past its capacity or retention.
func (ix *MessageIndex) Add(ctx context.Context, id string, ent IndexEntry) error {
	key, sum := ix.key(id)
	if ent.At.IsZero() {
		ent.At = ix.now()
	}
	h, hinted := ix.hint(key)
	for range kernel.MaxCASAttempts {
		var old []byte
		var rev uint64
		if hinted {
			old, rev, hinted = h.val, h.rev, false
		} else {
			e, err := ix.kv.Get(ctx, key)
			switch {
			case err == nil:
				old, rev = e.Value(), e.Revision()
			case !errors.Is(err, jetstream.ErrKeyNotFound):
				return kernel.KVError(err)
			}
		}
		if i := findEntry(old, sum); i >= 0 {
			if have := decodeEntry(old[i:]); have.StreamSeq == ent.StreamSeq && (ent.InboundSeq == 0 || have.InboundSeq == ent.InboundSeq) {
				return nil // recorded already: completing a cause again writes nothing
			}
		}
		val := ix.merge(old, sum, ent)
		var err error
		var newRev uint64
		if rev == 0 {
			newRev, err = ix.kv.Create(ctx, key, val)
		} else {
			newRev, err = ix.kv.Update(ctx, key, val, rev)
		}
		if err == nil {
			ix.remember(key, val, newRev)
			return nil
		}
		if !kernel.IsConflict(err) && !errors.Is(err, jetstream.ErrKeyExists) {
			return kernel.KVError(err)
		}
	}
	return fmt.Errorf("%w: message index key %s kept changing", kernel.ErrUnavailable, key)
}

// merge returns the bucket's value with ent for sum appended (oldest first), without an
// older entry for sum, entries past retention or, past capacity, the oldest.
func (ix *MessageIndex) merge(old []byte, sum uint64, ent IndexEntry) []byte {
	cutoff := ix.now().Add(-ix.maxAge)
	out := make([]byte, 0, min(len(old)+indexEntrySize, ix.entries*indexEntrySize))
	var kept [][]byte
	for i := 0; i+indexEntrySize <= len(old); i += indexEntrySize {
		rec := old[i : i+indexEntrySize]
		if binary.BigEndian.Uint64(rec) == sum {
			continue
		}
		if ix.maxAge > 0 && decodeEntry(rec).At.Before(cutoff) {
			continue
		}
		kept = append(kept, rec)
	}
	if drop := len(kept) + 1 - ix.entries; drop > 0 {
		for _, rec := range kept[:drop] {
			if ix.Evicted != nil {
				ix.Evicted(ix.now().Sub(decodeEntry(rec).At))
			}
		}
		kept = kept[drop:]
	}
	for _, rec := range kept {
		out = append(out, rec...)
	}
	var rec [indexEntrySize]byte
	binary.BigEndian.PutUint64(rec[0:], sum)
	binary.BigEndian.PutUint64(rec[8:], ent.StreamSeq)
	binary.BigEndian.PutUint64(rec[16:], ent.InboundSeq)
	binary.BigEndian.PutUint32(rec[24:], uint32(ent.At.Unix()))
	return append(out, rec[:]...)
}

func findEntry(val []byte, sum uint64) int {
	for i := len(val) - indexEntrySize; i >= 0; i -= indexEntrySize {
		if binary.BigEndian.Uint64(val[i:]) == sum {
			return i
		}
	}
	return -1
}

func decodeEntry(rec []byte) IndexEntry {
	return IndexEntry{StreamSeq: binary.BigEndian.Uint64(rec[8:]), InboundSeq: binary.BigEndian.Uint64(rec[16:]),
		At: time.Unix(int64(binary.BigEndian.Uint32(rec[24:])), 0)}
}

// MessageIndexConfig sizes the message index.
type MessageIndexConfig struct {
	// Index keys (fixed memory: about 140 bytes each in JetStream). Changing it forgets the
	// index: messages indexed before are no longer found by id (their events stay).
	Buckets int `yaml:"buckets" default:"65536"`
	// Entries kept per key (28 bytes each): a message stays findable by id, and a late
	// duplicate of it is recognized, until this many newer messages hashed to its key.
	Entries int `yaml:"entries" default:"24"`
}
