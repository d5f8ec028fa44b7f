package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// ErrUnknown is a subscription or delivery that does not exist.
var ErrUnknown = errors.New("unknown")

// Replay moves a subscription back (or forward) so that it delivers again from the stream
// sequence fromSeq, or (fromSeq 0) from the first event stored at or after since. The holder
// notices within a second and follows the new position; events before it are not sent again.
// It returns the new position (the last sequence considered handled).
func (d *Deliverer) Replay(ctx context.Context, id string, fromSeq uint64, since time.Time) (uint64, error) {
	if _, err := d.sub(ctx, id); err != nil {
		return 0, err
	}
	if fromSeq == 0 {
		seq, err := d.firstAt(ctx, since)
		if err != nil {
			return 0, err
		}
		fromSeq = seq
	}
	for range kernel.MaxCASAttempts {
		var st State
		rev, err := kernel.GetJSON(ctx, d.state, stateKey(id), &st)
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return 0, err
		}
		st.Position = fromSeq - 1
		st.Failing, st.FailingSince, st.LastError = false, nil, ""
		if _, err = kernel.PutJSON(ctx, d.state, stateKey(id), st, rev); errors.Is(err, kernel.ErrConflict) {
			continue
		}
		if err == nil {
			d.o.Metrics.Failing.WithLabelValues(id).Set(0)
		}
		return st.Position, err
	}
	return 0, fmt.Errorf("%w: webhook %s is changing too fast", kernel.ErrUnavailable, id)
}

// firstAt is the sequence of the first event stored at or after t (the next sequence when
// none is).
func (d *Deliverer) firstAt(ctx context.Context, t time.Time) (uint64, error) {
	cons, err := d.o.JS.OrderedConsumer(ctx, streams.StreamConversations, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &t})
	if err != nil {
		return 0, kernel.Unavailable(err)
	}
	batch, err := cons.FetchNoWait(1)
	if err != nil {
		return 0, kernel.Unavailable(err)
	}
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			return 0, err
		}
		return md.Sequence.Stream, nil
	}
	stream, err := d.o.JS.Stream(ctx, streams.StreamConversations)
	if err != nil {
		return 0, kernel.Unavailable(err)
	}
	return stream.CachedInfo().State.LastSeq + 1, nil
}

// Redeliver posts the event of one delivery again now, once, out of band (it may arrive
// after later events; its webhook-id is the same), and records the attempt.
func (d *Deliverer) Redeliver(ctx context.Context, id string, seq uint64) (Delivery, error) {
	s, err := d.sub(ctx, id)
	if err != nil {
		return Delivery{}, err
	}
	var rec Delivery
	e, err := d.log.Get(ctx, logKey(id, seq))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return rec, fmt.Errorf("%w delivery %d of webhook %s (only events the subscription delivered or tried are kept, for log_retention)", ErrUnknown, seq, id)
	}
	if err != nil {
		return rec, kernel.Unavailable(err)
	}
	if err := json.Unmarshal(e.Value(), &rec); err != nil {
		return rec, err
	}
	stream, err := d.o.JS.Stream(ctx, streams.StreamConversations)
	if err != nil {
		return rec, kernel.Unavailable(err)
	}
	msg, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return rec, fmt.Errorf("%w event at stream sequence %d (no longer kept?): %v", ErrUnknown, seq, err)
	}
	f := &follower{d: d, s: s}
	rec.Status = StatusRetrying
	f.attempt(ctx, &rec, msg.Data)
	rec.Redelivered = true
	if rec.Status != StatusDelivered {
		rec.Status = StatusFailed
	}
	return rec, f.record(ctx, &rec)
}
