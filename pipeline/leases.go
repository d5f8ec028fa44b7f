package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"go.uber.org/zap"
)

// Leases hands out exclusive leases stored in bucket sb_leases. A lease is a key holding the
// holder's id; the holder renews it every TTL/3 with a compare-and-set update. The bucket's
// TTL (pipeline.lease_ttl) expires every write, so a dead holder's lease frees itself TTL
// after its last renewal.
type Leases struct {
	kv       jetstream.KeyValue
	instance *Instance
	holder   string // instance id # this run's incarnation
	ttl      time.Duration
	log      *zap.Logger
}

var _ kernel.Leaser = (*Leases)(nil)

// NewLeases returns a leaser for this instance; ttl must be the bucket's TTL. A lease records
// the instance and this run ("<id>#<run>"); a stable instance takes back at once a lease an
// earlier run of its own still holds (that run is dead: the data directory's lock says so).
func NewLeases(kv jetstream.KeyValue, inst *Instance, ttl time.Duration, log *zap.Logger) *Leases {
	return &Leases{kv: kv, instance: inst, holder: inst.ID + "#" + randomSecret()[:8], ttl: ttl, log: log}
}

// releasedPrefix marks a lease its holder released after its work ended (see Release).
const releasedPrefix = "released:"

// reclaim takes over key when its holder released it, or when it is held by an earlier run
// of this stable instance.
func (l *Leases) reclaim(ctx context.Context, key string) (uint64, bool) {
	e, err := l.kv.Get(ctx, key)
	if err != nil {
		return 0, false
	}
	held := string(e.Value())
	if strings.HasPrefix(held, releasedPrefix) {
		rev, err := l.kv.Update(ctx, key, []byte(l.holder), e.Revision())
		return rev, err == nil
	}
	if !l.instance.Stable {
		return 0, false
	}
	if id, _, _ := strings.Cut(held, "#"); id != l.instance.ID || held == l.holder {
		return 0, false
	}
	rev, err := l.kv.Update(ctx, key, []byte(l.holder), e.Revision())
	if err != nil {
		return 0, false
	}
	l.log.Info("took back a lease of this instance's previous run", zap.String("lease", key), zap.String("previous", held))
	return rev, true
}

// Acquire blocks until the lease on key is held or ctx ends.
func (l *Leases) Acquire(ctx context.Context, key string) (kernel.Lease, error) {
	k := streams.Key(key)
	for {
		rev, err := l.kv.Create(ctx, k, []byte(l.holder))
		gone := false
		if errors.Is(err, jetstream.ErrKeyExists) {
			if r, ok := l.reclaim(ctx, k); ok {
				rev, err, gone = r, nil, true
			}
		}
		if err == nil {
			le := &lease{l: l, key: k, lost: make(chan struct{}), done: make(chan struct{}), gone: gone}
			le.rev.Store(rev)
			go le.renew()
			return le, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			l.log.Warn("lease acquire failed", zap.String("lease", key), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(l.ttl / 3):
		}
	}
}

type lease struct {
	l        *Leases
	key      string
	rev      atomic.Uint64 // written by renew, read by Release
	lost     chan struct{}
	done     chan struct{}
	once     sync.Once
	lostOnce sync.Once
	// gone: taken from a holder that released it after its work ended, or from an earlier
	// run of this instance, which is dead.
	gone bool
}

func (le *lease) Lost() <-chan struct{} { return le.lost }

// PreviousHolderGone says the lease was taken from a holder that released it, or back from
// this instance's dead earlier run (see [kernel.PreviousHolderGone]).
func (le *lease) PreviousHolderGone() bool { return le.gone }

func (le *lease) Release() {
	le.once.Do(func() {
		close(le.done)
		if kernel.IsClosed(le.lost) {
			// Lost, the work was abandoned mid-way: the next holder must wait it out.
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = le.l.kv.Delete(ctx, le.key, jetstream.LastRevision(le.rev.Load()))
			return
		}
		// A marker rather than a delete: the next holder knows the work under this lease
		// has ended (nothing it had in hand will be acknowledged now) and need not wait for
		// it. The bucket's TTL expires the marker like any lease. Tried again while the
		// bucket elects a leader, until the lease would have expired anyway.
		deadline := time.Now().Add(min(le.l.ttl, 5*time.Second))
		for {
			actx, acancel := context.WithTimeout(context.Background(), time.Second)
			_, err := le.l.kv.Update(actx, le.key, []byte(releasedPrefix+le.l.holder), le.rev.Load())
			acancel()
			if err == nil || errors.Is(kernel.KVError(err), kernel.ErrConflict) || time.Now().After(deadline) {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

func (le *lease) renew() {
	t := time.NewTicker(le.l.ttl / 3)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-le.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), le.l.ttl/3)
		rev, err := le.l.kv.Update(ctx, le.key, []byte(le.l.holder), le.rev.Load())
		cancel()
		switch {
		case err == nil:
			le.rev.Store(rev)
			lastOK = time.Now()
		case errors.Is(kernel.KVError(err), kernel.ErrConflict) || errors.Is(err, jetstream.ErrKeyNotFound) ||
			time.Since(lastOK) > le.l.ttl*2/3:
			le.l.log.Warn("lease lost", zap.String("lease", le.key), zap.Error(err))
			le.lostOnce.Do(func() { close(le.lost) })
			return
		default:
			le.l.log.Warn("lease renewal failed; retrying", zap.String("lease", le.key), zap.Error(err))
		}
	}
}
