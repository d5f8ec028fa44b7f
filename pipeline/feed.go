package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/schema"
)

// maxReplays bounds the stream reads running at once (a reconnect storm queues behind it).
const maxReplays = 8

// Feed follows conversations on SB_CONVERSATIONS for the whole instance: one core NATS
// subscription on the republished live events, fanned out in process to every watcher by
// conversation id. The stream is read only to catch a watcher up (on resume, after a gap,
// after a NATS reconnect), and a watcher that is already up to date costs one direct get.
type Feed struct {
	js  jetstream.JetStream
	nc  *nats.Conn
	log *zap.Logger

	mu       sync.Mutex
	sub      *nats.Subscription
	convs    map[string]map[*watcher]struct{}
	routed   map[string]map[*routedWait]struct{}
	sweeping bool

	replays  chan struct{}
	lookupMu sync.Mutex
	events   *streams.Reader
	messages jetstream.KeyValue
	index    *MessageIndex
}

// UseIndex makes Routed's fallback find messages through the message index.
func (f *Feed) UseIndex(ix *MessageIndex) {
	f.lookupMu.Lock()
	f.index = ix
	f.lookupMu.Unlock()
}

var _ connectors.Feed = (*Feed)(nil)

// NewFeed returns a feed over js. It subscribes on first use.
func NewFeed(js jetstream.JetStream, log *zap.Logger) *Feed {
	if log == nil {
		log = zap.NewNop()
	}
	return &Feed{js: js, nc: js.Conn(), events: streams.NewReader(js), log: log.Named("feed"), convs: map[string]map[*watcher]struct{}{},
		routed: map[string]map[*routedWait]struct{}{}, replays: make(chan struct{}, maxReplays)}
}

// start subscribes to the live events once. Called with f.mu held.
func (f *Feed) start() error {
	if f.sub != nil {
		return nil
	}
	sub, err := f.nc.Subscribe(streams.LiveConvPrefix+">", f.onLive)
	if err != nil {
		return kernel.Unavailable(err)
	}
	_ = sub.SetPendingLimits(1<<20, 256<<20)
	f.sub = sub
	status := f.nc.StatusChanged(nats.CONNECTED, nats.CLOSED)
	go f.watchConnection(status)
	return nil
}

// watchConnection catches every watcher up after a reconnect (core NATS may have lost live
// events meanwhile) and ends when the connection closes.
func (f *Feed) watchConnection(status chan nats.Status) {
	for s := range status {
		if s == nats.CLOSED {
			f.nc.RemoveStatusListener(status)
			return
		}
		f.mu.Lock()
		var all []*watcher
		for _, ws := range f.convs {
			for w := range ws {
				all = append(all, w)
			}
		}
		f.mu.Unlock()
		for _, w := range all {
			w.resync(f)
		}
	}
}

// onLive dispatches one republished event. Events of conversations nobody here watches are
// dropped without being decoded.
func (f *Feed) onLive(m *nats.Msg) {
	conv, typ, ok := streams.LiveConversation(m.Subject)
	if !ok {
		return
	}
	f.mu.Lock()
	ws := make([]*watcher, 0, len(f.convs[conv]))
	for w := range f.convs[conv] {
		ws = append(ws, w)
	}
	wantRouted := typ == string(schema.EventMessage) && len(f.routed) > 0
	f.mu.Unlock()
	if len(ws) == 0 && !wantRouted {
		return
	}
	var ev schema.Event
	if err := json.Unmarshal(m.Data, &ev); err != nil {
		f.log.Warn("undecodable live event", zap.String("subject", m.Subject), zap.Error(err))
		return
	}
	streamSeq := parseSeq(m.Header.Get(jetstream.SequenceHeader))
	for _, w := range ws {
		w.live(f, &ev, streamSeq)
	}
	if wantRouted && ev.Message != nil && ev.Message.Direction == schema.Inbound {
		f.fireRouted(ev.Message.ID, ev.ConversationID)
	}
}

func parseSeq(s string) uint64 {
	var n uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + uint64(c-'0')
	}
	return n
}

// Watch implements [connectors.Feed].
func (f *Feed) Watch(conversationID string, after uint64, fn func(*schema.Event)) (func(), error) {
	if !schema.ValidToken(conversationID) {
		return nil, fmt.Errorf("%w: conversation id %q", kernel.ErrNotFound, conversationID)
	}
	w := &watcher{conv: conversationID, fn: fn, log: f.log, last: after, syncing: true}
	f.mu.Lock()
	if err := f.start(); err != nil {
		f.mu.Unlock()
		return nil, err
	}
	if f.convs[conversationID] == nil {
		f.convs[conversationID] = map[*watcher]struct{}{}
	}
	f.convs[conversationID][w] = struct{}{}
	f.mu.Unlock()
	go f.replay(w) // registered first: whatever is stored later arrives live
	return func() { f.unwatch(w) }, nil
}

func (f *Feed) unwatch(w *watcher) {
	f.mu.Lock()
	if ws := f.convs[w.conv]; ws != nil {
		delete(ws, w)
		if len(ws) == 0 {
			delete(f.convs, w.conv)
		}
	}
	f.mu.Unlock()
	w.stopped.Store(true)
}

// Watchers is how many watches are open (for metrics and tests).
func (f *Feed) Watchers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, ws := range f.convs {
		n += len(ws)
	}
	return n
}

// Follow implements [connectors.Feed] on top of Watch: a slow fn never holds up other
// watchers; when it falls behind by more than a buffer, the watch restarts from the last
// event fn got, catching up from the stream.
func (f *Feed) Follow(ctx context.Context, conversationID string, after uint64, fn func(*schema.Event) error) error {
	for {
		events := make(chan *schema.Event, 256)
		overflow := make(chan struct{})
		var once sync.Once
		stop, err := f.Watch(conversationID, after, func(ev *schema.Event) {
			select {
			case events <- ev:
			default:
				once.Do(func() { close(overflow) })
			}
		})
		if err != nil {
			return err
		}
		err = drainEvents(ctx, events, overflow, &after, fn)
		stop()
		if err != nil {
			return err
		}
	}
}

// drainEvents hands events to fn until ctx ends (its error), fn fails (that error) or the
// buffer overflowed (nil: restart the watch).
func drainEvents(ctx context.Context, events chan *schema.Event, overflow chan struct{}, after *uint64, fn func(*schema.Event) error) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev := <-events:
			if err := fn(ev); err != nil {
				return err
			}
			*after = ev.Seq
		case <-overflow:
			for {
				select {
				case ev := <-events:
					if err := fn(ev); err != nil {
						return err
					}
					*after = ev.Seq
				default:
					return nil
				}
			}
		}
	}
}

func (f *Feed) messageRecords(ctx context.Context) (jetstream.KeyValue, error) {
	f.lookupMu.Lock()
	defer f.lookupMu.Unlock()
	if f.messages != nil {
		return f.messages, nil
	}
	kv, err := f.js.KeyValue(ctx, streams.BucketMessages)
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	f.messages = kv
	return kv, nil
}

// retryDelay spaces out catch-up attempts while the stream is unavailable.
var retryDelay = kernel.Backoff{Min: 100 * time.Millisecond, Max: 5 * time.Second}
