package kb

import (
	"context"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"

	"github.com/switchboardhq/switchboard/router/flows"
)

// Holder keeps the knowledge base in force and indexes the folder again when it changes; a
// folder with a bad article keeps the previous index (and logs every problem).
type Holder struct {
	dir string
	log *zap.Logger
	cur atomic.Pointer[Base]
}

// Open loads the folder (a bad article is an error).
func Open(dir string, log *zap.Logger) (*Holder, error) {
	b, err := Load(dir)
	if err != nil {
		return nil, err
	}
	h := &Holder{dir: dir, log: log.Named("kb")}
	h.cur.Store(b)
	h.log.Info("knowledge base indexed", zap.String("dir", dir), zap.Int("articles", len(b.Articles)))
	return h, nil
}

// Current is the index in force.
func (h *Holder) Current() *Base { return h.cur.Load() }

// Search searches the index in force.
func (h *Holder) Search(q, language string, n int) ([]flows.Article, error) {
	return h.Current().Search(q, language, n)
}

// Reload indexes the folder again if it changed; it reports whether a new index is in force.
func (h *Holder) Reload() (bool, error) {
	v, err := Stamp(h.dir)
	if err != nil || v == h.Current().Version {
		return false, err
	}
	b, err := Load(h.dir)
	if err != nil {
		h.log.Error("knowledge base not reindexed; the previous index stays", zap.String("dir", h.dir), zap.Error(err))
		return false, err
	}
	h.cur.Store(b)
	h.log.Info("knowledge base reindexed", zap.String("dir", h.dir), zap.Int("articles", len(b.Articles)))
	return true, nil
}

// Watch reloads every interval until ctx ends.
func (h *Holder) Watch(ctx context.Context, interval time.Duration) {
	if h == nil {
		return
	}
	kernel.Every(ctx, interval, func() { _, _ = h.Reload() })
}
