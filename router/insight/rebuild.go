package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/pipeline/streams"
)

// rebuildLease keeps two rebuilds from running at once.
const rebuildLease = "insight-rebuild"

// Progress reports work done of the total: events read in a rebuild, cells read in a
// staffing report.
type Progress func(done, total uint64)

// Rebuild recomputes every cell from SB_CONVERSATIONS into the next generation, then makes
// it the current one; the old generation is purged. A running projection notices at its
// next write and continues from where the rebuild ended. It returns the new position.
func (p *Projection) Rebuild(ctx context.Context, progress Progress) (Position, error) {
	var out Position
	err := kernel.RunLeased(ctx, p.o.Leases, rebuildLease, func(ctx context.Context, _ <-chan struct{}) error {
		var err error
		out, err = p.rebuild(ctx, progress)
		return err
	})
	return out, err
}

func (p *Projection) rebuild(ctx context.Context, progress Progress) (Position, error) {
	start, _, err := loadPosition(ctx, p.kv)
	if err != nil {
		return Position{}, err
	}
	gen := start.Generation + 1
	if err := p.purge(ctx, gen); err != nil { // the leftovers of an interrupted rebuild
		return Position{}, err
	}
	b, err := p.rebuildInto(ctx, Position{Generation: gen}, progress)
	if err != nil {
		return Position{}, err
	}
	now := time.Now().UTC()
	pos := Position{Generation: gen, Seq: b.last, At: now, RebuiltAt: &now}
	if err := p.switchTo(ctx, start.Generation, pos); err != nil {
		return Position{}, err
	}
	return pos, p.purge(ctx, start.Generation)
}

// rebuildInto folds the whole stream into the cells of generation pos.Generation.
func (p *Projection) rebuildInto(ctx context.Context, pos Position, progress Progress) (*builder, error) {
	reader := streams.NewReader(p.o.JS)
	var total uint64
	for _, f := range projected {
		if last, err := reader.Last(ctx, f); err == nil {
			total = max(total, last.Seq)
		}
	}
	b := p.builder(pos, 0, true)
	var done uint64
	read := reader.Read
	if total == 0 { // nothing to read
		read = func(context.Context, streams.Query, func(*streams.Stored) error) error { return nil }
	}
	err := read(ctx, streams.Query{Filters: projected, Until: total}, func(s *streams.Stored) error {
		if err := b.apply(ctx, s); err != nil {
			return err
		}
		if done++; done%4096 == 0 {
			if progress != nil {
				progress(s.Seq, total)
			}
			if b.ncells > maxCells {
				if err := b.flushCells(ctx); err != nil {
					return err
				}
				b.evict()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := b.flushCells(ctx); err != nil {
		return nil, err
	}
	if progress != nil {
		progress(total, total)
	}
	return b, nil
}

// switchTo makes pos current, unless another rebuild switched generations meanwhile.
func (p *Projection) switchTo(ctx context.Context, from uint64, pos Position) error {
	data, _ := json.Marshal(pos)
	for range 100 {
		cur, rev, err := loadPosition(ctx, p.kv)
		if err != nil {
			return err
		}
		if cur.Generation != from {
			return fmt.Errorf("insight: another rebuild switched to generation %d meanwhile", cur.Generation)
		}
		if rev == 0 {
			_, err = p.kv.Create(ctx, posKey, data)
		} else {
			_, err = p.kv.Update(ctx, posKey, data, rev)
		}
		if err == nil {
			return nil
		}
		if !kernel.IsConflict(err) {
			return kernel.KVError(err)
		}
		// The live projection stored its position meanwhile: read it again.
	}
	return fmt.Errorf("insight: could not switch generations (the position kept changing)")
}

// purge removes every cell of generation gen.
func (p *Projection) purge(ctx context.Context, gen uint64) error {
	s, err := p.o.JS.Stream(ctx, "KV_"+streams.BucketInsight)
	if err != nil {
		return kernel.Unavailable(err)
	}
	if err := s.Purge(ctx, jetstream.WithPurgeSubject("$KV."+streams.BucketInsight+".g"+strconv.FormatUint(gen, 10)+".>")); err != nil {
		return kernel.Unavailable(err)
	}
	return nil
}
