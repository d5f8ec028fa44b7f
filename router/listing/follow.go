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
//
// A clean stop (ctx ended) stores the index next to its position in sb_state, and a start
// with an empty index loads it back when it belongs to the stream, then reads only what was
// stored since (checkpoint.go): without it every start reads the whole history.
func (ix *Index) Follow(ctx context.Context, js jetstream.JetStream, log *zap.Logger) error {
	backoff := kernel.Backoff{Min: 200 * time.Millisecond, Max: 10 * time.Second}
	ix.restore(ctx, js, log)
	for n := 0; ctx.Err() == nil; n++ {
		err := ix.follow(ctx, js)
		if ctx.Err() != nil {
			ix.checkpoint(js, log)
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

// restore loads the checkpoint into an empty index (a failure only costs the read from the
// start).
func (ix *Index) restore(ctx context.Context, js jetstream.JetStream, log *zap.Logger) {
	if ix.Position() != 0 {
		return
	}
	start := time.Now()
	kv, err := js.KeyValue(ctx, streams.BucketState)
	if err != nil {
		log.Warn("no listing checkpoint: reading the stream from the start", zap.Error(err))
		return
	}
	st, err := js.Stream(ctx, streams.StreamConversations)
	if err != nil {
		log.Warn("no listing checkpoint: reading the stream from the start", zap.Error(err))
		return
	}
	info := st.CachedInfo()
	n, err := ix.LoadCheckpoint(ctx, kv, info.Created, info.State.FirstSeq, info.State.LastSeq)
	switch {
	case err != nil:
		log.Warn("the listing checkpoint could not be read: reading the stream from the start", zap.Error(err))
	case ix.Position() > 0:
		log.Info("listing restored from its checkpoint", zap.Int("conversations", n), zap.Uint64("position", ix.Position()),
			zap.Duration("took", time.Since(start)))
	}
}

// checkpoint stores the index after a clean stop.
func (ix *Index) checkpoint(js jetstream.JetStream, log *zap.Logger) {
	if ix.Position() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	st, err := js.Stream(ctx, streams.StreamConversations)
	var kv jetstream.KeyValue
	if err == nil {
		kv, err = js.KeyValue(ctx, streams.BucketState)
	}
	n := 0
	if err == nil {
		n, err = ix.SaveCheckpoint(ctx, kv, st.CachedInfo().Created)
	}
	if err != nil {
		log.Warn("the listing was not checkpointed: the next start reads the stream from the start", zap.Error(err))
		return
	}
	log.Info("listing checkpointed", zap.Int("conversations", n), zap.Uint64("position", ix.Position()), zap.Duration("took", time.Since(start)))
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
