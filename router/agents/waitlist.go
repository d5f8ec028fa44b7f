package agents

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/schema"
)

// WaitEntry is a conversation waiting for an agent, stored in sb_waiting under its id. The
// conversation's partition writes and deletes it; the dispatcher reads it.
type WaitEntry struct {
	Conversation string         `json:"conversation_id"`
	Customer     string         `json:"customer_id"`
	Queue        string         `json:"queue"`
	Priority     int            `json:"priority"`
	Channel      schema.Channel `json:"channel"`
	Language     string         `json:"language,omitempty"`
	Rule         string         `json:"rule,omitempty"`
	Target       int            `json:"target"`
	QueuedAt     time.Time      `json:"queued_at"`
	TargetAt     time.Time      `json:"target_at"`
	TimeoutAt    *time.Time     `json:"timeout_at,omitempty"`
	OverflowAt   *time.Time     `json:"overflow_at,omitempty"`
	// Seq is the conversation's LastSeq when it was queued: it tells stale entries apart.
	Seq uint64 `json:"seq"`
}

// Waitlist is this instance's view of the waiting conversations.
type Waitlist struct {
	mu      sync.RWMutex
	entries map[string]*WaitEntry
	counts  map[string]map[int]int // queue → priority → waiting
	notify  chan struct{}
}

// NewWaitlist returns an empty waitlist.
func NewWaitlist() *Waitlist {
	return &Waitlist{entries: map[string]*WaitEntry{}, counts: map[string]map[int]int{}, notify: make(chan struct{}, 1)}
}

// Changed is signalled (coalesced) when an entry is added or removed.
func (w *Waitlist) Changed() <-chan struct{} { return w.notify }

func (w *Waitlist) set(id string, e *WaitEntry) {
	w.mu.Lock()
	if old := w.entries[id]; old != nil {
		w.counts[old.Queue][old.Priority]--
		delete(w.entries, id)
	}
	if e != nil {
		w.entries[id] = e
		if w.counts[e.Queue] == nil {
			w.counts[e.Queue] = map[int]int{}
		}
		w.counts[e.Queue][e.Priority]++
	}
	w.mu.Unlock()
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

// ahead counts conversations waiting in queue with priority at least p, self excluded.
func (w *Waitlist) ahead(queue string, p int, self string) int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	n := 0
	for prio, c := range w.counts[queue] {
		if prio >= p {
			n += c
		}
	}
	if e := w.entries[self]; e != nil && e.Queue == queue && e.Priority >= p {
		n--
	}
	return n
}

// Ordered returns the waiting conversations by queue, each queue by priority (highest
// first), then age (oldest first).
func (w *Waitlist) Ordered() map[string][]*WaitEntry {
	w.mu.RLock()
	out := map[string][]*WaitEntry{}
	for _, e := range w.entries {
		out[e.Queue] = append(out[e.Queue], e)
	}
	w.mu.RUnlock()
	for _, list := range out {
		sort.Slice(list, func(i, j int) bool { return waitsBefore(list[i], list[j]) })
	}
	return out
}

func waitsBefore(a, b *WaitEntry) bool {
	if a.Priority != b.Priority {
		return a.Priority > b.Priority
	}
	if !a.QueuedAt.Equal(b.QueuedAt) {
		return a.QueuedAt.Before(b.QueuedAt)
	}
	return a.Conversation < b.Conversation
}

// Len is the number of waiting conversations.
func (w *Waitlist) Len() int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return len(w.entries)
}

// Watch keeps the waitlist current from sb_waiting until ctx ends.
func (w *Waitlist) Watch(ctx context.Context, kv jetstream.KeyValue, log *zap.Logger, ready chan<- struct{}) {
	watchKV(ctx, kv, log.With(zap.String("watch", "waiting")), ready, func(e jetstream.KeyValueEntry) {
		if e.Operation() != jetstream.KeyValuePut {
			w.set(e.Key(), nil)
			return
		}
		var we WaitEntry
		if json.Unmarshal(e.Value(), &we) == nil {
			w.set(e.Key(), &we)
		}
	})
}
