package listing

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// Follow keeps the index current from SB_CONVERSATIONS until ctx ends: every event from the
// first kept one, then new ones as they are stored; after an error it continues from its
// position. Ready is closed once it has read to the end the first time.
func (ix *Index) Follow(ctx context.Context, js jetstream.JetStream, log *zap.Logger) error {
	backoff := kernel.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	for n := 0; ctx.Err() == nil; n++ {
		err := ix.follow(ctx, js)
		if ctx.Err() != nil {
			return nil
		}
		log.Warn("the listing index stopped following the stream; continuing", zap.Uint64("position", ix.Position()), zap.Error(err))
		select {
		case <-ctx.Done():
		case <-time.After(backoff.Delay(n)):
		}
	}
	return nil
}

func (ix *Index) follow(ctx context.Context, js jetstream.JetStream) error {
	oc := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy}
	if pos := ix.Position(); pos > 0 {
		oc.DeliverPolicy, oc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, pos+1
	}
	if info, err := js.Stream(ctx, streams.StreamConversations); err == nil && info.CachedInfo().State.LastSeq <= ix.Position() {
		ix.markReady() // nothing stored past the position (an empty stream)
	}
	it, stop, err := streams.Messages(ctx, js, oc)
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
		md, err := m.Metadata()
		if err != nil {
			return kernel.Unavailable(err)
		}
		st, err := streams.Decode(m)
		if err != nil {
			return err
		}
		ix.Apply(md.Sequence.Stream, st.Event) // an undecodable event only advances the position
		if md.NumPending == 0 {
			ix.markReady()
		}
	}
}

func (ix *Index) markReady() { ix.readyOnce.Do(func() { close(ix.ready) }) }

// ErrNotReady means the index is still reading the stream (a start with a long history).
var ErrNotReady = errors.New("the conversation listing is still reading the stream")

// Wait waits up to d for the index to have read the stream to its end.
func (ix *Index) Wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ix.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ErrNotReady
	}
}
