package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// routedWait is one Routed call.
type routedWait struct {
	id    string
	fn    func(conversationID string)
	once  sync.Once
	next  time.Time // when the sweep looks the record up
	tries int
}

// Routed implements [connectors.Feed]: the message event (seen on the live subscription)
// answers it; a sweep reads the message record for waiters the live events did not answer
// within a second (a message routed before, live events lost).
func (f *Feed) Routed(messageID string, fn func(conversationID string)) func() {
	w := &routedWait{id: messageID, fn: fn, next: time.Now().Add(500 * time.Millisecond)}
	f.mu.Lock()
	_ = f.start() // without live events the sweep still answers
	if f.routed[messageID] == nil {
		f.routed[messageID] = map[*routedWait]struct{}{}
	}
	f.routed[messageID][w] = struct{}{}
	if !f.sweeping {
		f.sweeping = true
		go f.sweep()
	}
	f.mu.Unlock()
	return func() { f.removeRouted(w) }
}

func (f *Feed) removeRouted(w *routedWait) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if ws := f.routed[w.id]; ws != nil {
		delete(ws, w)
		if len(ws) == 0 {
			delete(f.routed, w.id)
		}
	}
}

func (f *Feed) fireRouted(messageID, conversationID string) {
	f.mu.Lock()
	ws := f.routed[messageID]
	delete(f.routed, messageID)
	f.mu.Unlock()
	for w := range ws {
		w.once.Do(func() {
			defer func() {
				if p := recover(); p != nil {
					f.log.Error("routed callback panicked", zap.String("message", messageID), zap.Any("panic", p))
				}
			}()
			w.fn(conversationID)
		})
	}
}

// sweep runs while waiters exist, looking up the records of those that are due.
func (f *Feed) sweep() {
	for {
		time.Sleep(250 * time.Millisecond)
		now := time.Now()
		f.mu.Lock()
		if len(f.routed) == 0 {
			f.sweeping = false
			f.mu.Unlock()
			return
		}
		due := map[string]struct{}{}
		for id, ws := range f.routed {
			for w := range ws {
				if !w.next.After(now) {
					due[id] = struct{}{}
					w.tries++
					w.next = now.Add(min(time.Duration(w.tries)*time.Second, 5*time.Second))
				}
			}
		}
		f.mu.Unlock()
		for id := range due {
			if conv := f.lookupRouted(id); conv != "" {
				f.fireRouted(id, conv)
			}
		}
	}
}

// lookupRouted returns the conversation recorded for a message ("" when not routed yet).
func (f *Feed) lookupRouted(id string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f.lookupMu.Lock()
	ix := f.index
	f.lookupMu.Unlock()
	if ix != nil {
		if st, _, err := ix.Locate(ctx, id); err == nil {
			return st.Event.ConversationID
		}
	}
	kv, err := f.messageRecords(ctx)
	if err != nil {
		return ""
	}
	e, err := kv.Get(ctx, id) // a record from before the index
	if err != nil {
		if !errors.Is(err, jetstream.ErrKeyNotFound) {
			f.log.Debug("message record lookup failed", zap.String("message", id), zap.Error(err))
		}
		return ""
	}
	var rec struct {
		ConversationID string `json:"conversation_id"`
	}
	_ = json.Unmarshal(e.Value(), &rec)
	return rec.ConversationID
}
