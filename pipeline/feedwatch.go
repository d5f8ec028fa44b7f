package pipeline

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// maxBuffered bounds the live events a watcher keeps while it catches up; past it, it
// catches up once more instead of growing.
const maxBuffered = 1024

// maxGapRetries is how often a catch-up is repeated for a gap the stream does not fill
// before the watcher moves on past it.
const maxGapRetries = 3

// watcher is one Watch: its position in the conversation and the live events that arrived
// while it was catching up. Events reach fn in Seq order without repeats.
type watcher struct {
	conv    string
	fn      func(*schema.Event)
	log     *zap.Logger
	stopped atomic.Bool

	mu        sync.Mutex
	last      uint64 // highest Seq handed to fn
	streamSeq uint64 // SB_CONVERSATIONS sequence of that event (0: unknown)
	syncing   bool   // a catch-up runs; live events wait in buf
	again     bool   // catch up once more when this one ends
	gapTries  int
	buf       []liveEvent
}

type liveEvent struct {
	ev        *schema.Event
	streamSeq uint64
}

// deliver hands ev to fn. Called with w.mu held.
func (w *watcher) deliver(ev *schema.Event, streamSeq uint64) {
	w.last = ev.Seq
	if streamSeq > 0 {
		w.streamSeq = streamSeq
	}
	if !w.stopped.Load() {
		w.call(ev)
	}
}

// call runs fn; a panic in it is the watcher's bug, logged and contained.
func (w *watcher) call(ev *schema.Event) {
	defer func() {
		if p := recover(); p != nil && w.log != nil {
			w.log.Error("feed watcher panicked", zap.String("conversation", w.conv), zap.Any("panic", p), zap.Stack("stack"))
		}
	}()
	w.fn(ev)
}

// live takes an event from the live subscription.
func (w *watcher) live(f *Feed, ev *schema.Event, streamSeq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped.Load() {
		return
	}
	if w.syncing {
		if len(w.buf) < maxBuffered {
			w.buf = append(w.buf, liveEvent{ev, streamSeq})
		} else {
			w.again = true
		}
		return
	}
	switch {
	case ev.Seq <= w.last:
	case ev.Seq == w.last+1:
		w.deliver(ev, streamSeq)
	default: // core NATS lost something in between: read it from the stream
		w.syncing = true
		w.buf = append(w.buf[:0], liveEvent{ev, streamSeq})
		go f.replay(w)
	}
}

// resync starts a catch-up unless one runs.
func (w *watcher) resync(f *Feed) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.syncing || w.stopped.Load() {
		return
	}
	w.syncing = true
	go f.replay(w)
}

// replayed takes an event read from the stream.
func (w *watcher) replayed(ev *schema.Event, streamSeq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev.Seq > w.last {
		w.deliver(ev, streamSeq)
	}
}

// finish ends a catch-up: buffered live events follow in order. It reports false when
// another catch-up is needed (a gap remains, or events were dropped from the buffer).
func (w *watcher) finish() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	slices.SortFunc(w.buf, func(a, b liveEvent) int { return int(a.ev.Seq) - int(b.ev.Seq) })
	for i, le := range w.buf {
		if le.ev.Seq <= w.last {
			continue
		}
		if le.ev.Seq > w.last+1 && w.gapTries < maxGapRetries {
			w.buf = append(w.buf[:0], w.buf[i:]...)
			w.gapTries++
			return false
		}
		w.deliver(le.ev, le.streamSeq)
	}
	w.buf = w.buf[:0]
	if w.again {
		w.again = false
		return false
	}
	w.gapTries = 0
	w.syncing = false
	w.buf = nil
	return true
}

func (w *watcher) position() (uint64, uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last, w.streamSeq
}

// replay catches w up from the stream, retrying while the stream is unavailable.
func (f *Feed) replay(w *watcher) {
	for attempt := 0; !w.stopped.Load(); {
		f.replays <- struct{}{}
		err := f.catchUp(w)
		<-f.replays
		if err == nil {
			if w.finish() {
				return
			}
			attempt = 0
			continue
		}
		f.log.Warn("catching up a conversation watcher failed; retrying", zap.String("conversation", w.conv), zap.Error(err))
		time.Sleep(retryDelay.Delay(attempt))
		attempt++
	}
}

// catchUp hands w every stored event after its position. A watcher that has everything
// costs one direct get of the conversation's last event. An event that does not decode is
// skipped with a warning naming its stream sequence (the watcher cannot use it; REST and
// `switchboard tail` show it).
func (f *Feed) catchUp(w *watcher) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	filter := streams.ConversationFilter(w.conv)
	last, streamSeq := w.position()
	newest, err := f.events.Last(ctx, filter)
	if errors.Is(err, kernel.ErrNotFound) {
		return nil // nothing stored yet
	}
	if err != nil {
		return err
	}
	if newest.Event != nil && newest.Event.Seq <= last {
		return nil
	}
	return f.events.Read(ctx, streams.Query{Filter: filter, After: streamSeq, Until: newest.Seq}, func(s *streams.Stored) error {
		if s.Err != nil {
			f.log.Warn("skipped an undecodable event", zap.String("conversation", w.conv), zap.Uint64("stream_seq", s.Seq), zap.Error(s.Err))
			return nil
		}
		w.replayed(s.Event, s.Seq)
		return nil
	})
}
