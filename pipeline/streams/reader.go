package streams

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/schema"
)

// Stored is one event as SB_CONVERSATIONS holds it.
type Stored struct {
	Event   *schema.Event // nil when the payload does not decode
	Seq     uint64        // the stream sequence
	Subject string
	Cause   string // the Sb-Cause header: the message or command that caused it
	Data    []byte // the payload as stored
	// Err says why the payload does not decode (Event is then nil). Such an event is never
	// dropped in silence: the reader counts it, and every caller either fails on it (the
	// router), lists it (REST answers it under "undecodable"), or reports it (the feed's
	// log, `switchboard tail`, `rules replay`).
	Err error
}

// Undecodable is what callers show of an event that does not decode.
type Undecodable struct {
	StreamSeq uint64 `json:"stream_seq"`
	Subject   string `json:"subject"`
	Error     string `json:"error"`
}

// Undecodable describes s for a report (s.Err must be set).
func (s *Stored) Undecodable() Undecodable {
	return Undecodable{StreamSeq: s.Seq, Subject: s.Subject, Error: s.Err.Error()}
}

// Query selects the events a [Reader] reads.
type Query struct {
	// Filter is the subject filter: ConversationFilter(id), or FilterConversations.
	Filter string
	// Filters, when set, are several filters read together (Until is then required).
	Filters []string
	// After reads only events after this stream sequence (0: from the start).
	After uint64
	// Since reads only events stored at or after this time (zero: no bound); ignored when
	// After is set.
	Since time.Time
	// Until is the stream sequence to read up to, when the caller already knows it (0: the
	// last event matching Filter now).
	Until uint64
}

// ErrStop, returned by a [Reader.Read] callback, ends the read early without an error.
var ErrStop = errors.New("stop reading")

// Reader reads conversation events from SB_CONVERSATIONS: catch-up from a sequence or a
// time, up to the stream's end as it is when the read starts, and the last event of a
// conversation. REST, the live feed, the router's recovery, `switchboard tail` and
// `switchboard rules replay` all read through it, so an undecodable event is treated the same
// everywhere (see [Stored.Err]).
type Reader struct {
	js jetstream.JetStream

	mu     sync.Mutex
	stream jetstream.Stream // cached: a direct get then costs one round trip
}

// undecodable counts the undecodable events handed out by every reader of the process
// (switchboard_stream_undecodable_events_total).
var undecodable atomic.Uint64

// NewReader returns a reader over js.
func NewReader(js jetstream.JetStream) *Reader { return &Reader{js: js} }

// UndecodableTotal is how many undecodable events the readers of this process have handed out.
func UndecodableTotal() uint64 { return undecodable.Load() }

// Last returns the newest stored event matching filter, or [kernel.ErrNotFound] when there
// is none.
func (r *Reader) Last(ctx context.Context, filter string) (*Stored, error) {
	raw, err := r.last(ctx, filter)
	if err != nil {
		return nil, err
	}
	return r.decode(raw.Data, raw.Header, raw.Sequence, raw.Subject), nil
}

func (r *Reader) conversations(ctx context.Context) (jetstream.Stream, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stream != nil {
		return r.stream, nil
	}
	st, err := r.js.Stream(ctx, StreamConversations)
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	r.stream = st
	return st, nil
}

// At returns the event stored at stream sequence seq ([kernel.ErrNotFound] when there is none).
func (r *Reader) At(ctx context.Context, seq uint64) (*Stored, error) {
	raw, err := r.get(ctx, func(st jetstream.Stream) (*jetstream.RawStreamMsg, error) { return st.GetMsg(ctx, seq) })
	if err != nil {
		return nil, err
	}
	return r.decode(raw.Data, raw.Header, raw.Sequence, raw.Subject), nil
}

// Next returns the first event matching filter stored after stream sequence after
// ([kernel.ErrNotFound] when there is none): one direct get, no consumer. For reading a few
// events (a snapshot's catch-up) it is far cheaper than [Reader.Read], which creates a
// consumer, and JetStream computes a consumer's pending count over the whole stream.
func (r *Reader) Next(ctx context.Context, filter string, after uint64) (*Stored, error) {
	raw, err := r.get(ctx, func(st jetstream.Stream) (*jetstream.RawStreamMsg, error) {
		return st.GetMsg(ctx, after+1, jetstream.WithGetMsgSubject(filter))
	})
	if err != nil {
		return nil, err
	}
	return r.decode(raw.Data, raw.Header, raw.Sequence, raw.Subject), nil
}

func (r *Reader) last(ctx context.Context, filter string) (*jetstream.RawStreamMsg, error) {
	return r.get(ctx, func(st jetstream.Stream) (*jetstream.RawStreamMsg, error) {
		return st.GetLastMsgForSubject(ctx, filter)
	})
}

// get runs one direct get on the conversation stream, mapping its errors onto the catalog.
func (r *Reader) get(ctx context.Context, fn func(jetstream.Stream) (*jetstream.RawStreamMsg, error)) (*jetstream.RawStreamMsg, error) {
	st, err := r.conversations(ctx)
	if err != nil {
		return nil, err
	}
	raw, err := fn(st)
	if NotFound(err) {
		return nil, kernel.ErrNotFound
	}
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	return raw, nil
}

// Read calls fn with every stored event the query selects, in stream order, up to the last
// one stored when the read started (or q.Until). Undecodable events reach fn too, with Err
// set. fn returning ErrStop ends the read without an error; any other error ends it with
// that error.
func (r *Reader) Read(ctx context.Context, q Query, fn func(*Stored) error) error {
	until := q.Until
	if until == 0 {
		last, err := r.last(ctx, q.Filter)
		if errors.Is(err, kernel.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		until = last.Sequence
	}
	if until <= q.After {
		return nil
	}
	filters := q.Filters
	if len(filters) == 0 {
		filters = []string{q.Filter}
	}
	// The consumer is deleted when the read ends (readConsumerIdle cleans up after a read
	// whose delete did not get through): left to the client's default of 5 minutes, every
	// read would stay on the server, which evaluates each one against every new message.
	// The insight projection reads a conversation's history for each conversation it meets
	// after a restart, so a thousand conversations left a thousand consumers behind.
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: filters, InactiveThreshold: readConsumerIdle}
	switch {
	case q.After > 0:
		oc.DeliverPolicy, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, q.After+1
	case !q.Since.IsZero():
		since := q.Since
		oc.DeliverPolicy, oc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := r.js.OrderedConsumer(ctx, StreamConversations, oc)
	if err != nil {
		return kernel.Unavailable(err)
	}
	defer r.deleteConsumer(cons)
	for {
		batch, err := cons.Fetch(256, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return kernel.Unavailable(err)
		}
		n, done := 0, false
		for m := range batch.Messages() {
			n++
			md, err := r.deliver(m, fn)
			if err != nil {
				return endRead(err)
			}
			if md.Sequence.Stream >= until || md.NumPending == 0 {
				done = true
				break // the fetch would otherwise wait out its expiry for a full batch
			}
		}
		if done {
			return nil
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			return kernel.Unavailable(err)
		}
		if n == 0 { // the rest expired from the stream meanwhile
			return nil
		}
	}
}

// readConsumerIdle is how long the server keeps a read's consumer nobody fetches from.
const readConsumerIdle = 10 * time.Second

// deleteConsumer deletes the server's consumer of an ordered consumer a read used (best
// effort: readConsumerIdle removes it otherwise).
func (r *Reader) deleteConsumer(cons jetstream.Consumer) {
	info := cons.CachedInfo()
	if info == nil {
		return
	}
	for range 2 { // a busy server can miss one attempt's deadline
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err := r.js.DeleteConsumer(ctx, StreamConversations, info.Name)
		cancel()
		if err == nil || errors.Is(err, jetstream.ErrConsumerNotFound) {
			return
		}
	}
}

// Start is where [Reader.Follow] begins: the zero value follows new events only.
type Start struct {
	All   bool      // from the first event kept
	Since time.Time // from this time (when All is not set)
}

// Follow calls fn with every event matching any of filters from start on, then with new
// ones as they are stored, until ctx ends (it then returns nil) or fn returns an error.
// Undecodable events reach fn like in [Reader.Read].
func (r *Reader) Follow(ctx context.Context, filters []string, start Start, fn func(*Stored) error) error {
	oc := jetstream.OrderedConsumerConfig{FilterSubjects: filters, DeliverPolicy: jetstream.DeliverNewPolicy}
	switch {
	case start.All:
		oc.DeliverPolicy = jetstream.DeliverAllPolicy
	case !start.Since.IsZero():
		since := start.Since
		oc.DeliverPolicy, oc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	it, stop, err := Messages(ctx, r.js, oc)
	if err != nil {
		return err
	}
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return kernel.Unavailable(err)
		}
		if _, err := r.deliver(m, fn); err != nil {
			return endRead(err)
		}
	}
}

// deliver hands one consumed message to fn and returns its metadata.
func (r *Reader) deliver(m jetstream.Msg, fn func(*Stored) error) (*jetstream.MsgMetadata, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	return md, fn(r.decode(m.Data(), m.Headers(), md.Sequence.Stream, m.Subject()))
}

// endRead is a read's result once fn returned err: ErrStop ends it without an error.
func endRead(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

func (r *Reader) decode(data []byte, h nats.Header, seq uint64, subject string) *Stored {
	s := &Stored{Seq: seq, Subject: subject, Cause: h.Get(HeaderCause), Data: data}
	var ev schema.Event
	if err := kernel.Unmarshal(data, &ev); err != nil {
		s.Err = fmt.Errorf("undecodable event at stream sequence %d on %s: %w", seq, subject, err)
		undecodable.Add(1)
		return s
	}
	s.Event = &ev
	return s
}

// NotFound reports a get of a message that does not exist (a direct get answers with the API
// error rather than ErrMsgNotFound).
func NotFound(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrMsgNotFound) ||
		(errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeMessageNotFound)
}

// Decode turns a message consumed from SB_CONVERSATIONS by the caller's own consumer into a
// [Stored] (with Err set when it does not decode, counted like the reader's own reads).
func Decode(m jetstream.Msg) (*Stored, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, kernel.Unavailable(err)
	}
	return (&Reader{}).decode(m.Data(), m.Headers(), md.Sequence.Stream, m.Subject()), nil
}

// Messages opens an ordered consumer of SB_CONVERSATIONS and its message iterator, which ctx's
// end stops (so a blocked Next returns); stop releases both.
func Messages(ctx context.Context, js jetstream.JetStream, oc jetstream.OrderedConsumerConfig) (jetstream.MessagesContext, func(), error) {
	cons, err := js.OrderedConsumer(ctx, StreamConversations, oc)
	if err != nil {
		return nil, nil, kernel.Unavailable(err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, nil, kernel.Unavailable(err)
	}
	after := context.AfterFunc(ctx, it.Stop)
	return it, func() { after(); it.Stop() }, nil
}
