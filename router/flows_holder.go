package router

import (
	"bytes"
	"context"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/switchboardhq/switchboard/pipeline/kernel"

	"github.com/switchboardhq/switchboard/router/flows"
)

// FlowsHolder holds the flows in force and reloads them from their file like the rules: a
// new file is checked fully, then swapped in; a bad file keeps the old flows running, logs
// why and sets switchboard_flows_last_reload_successful to 0. Conversations in a flow go on
// in the new version from the step they are at (a step that no longer exists hands off).
type FlowsHolder struct {
	path string
	env  *flows.Env
	log  *zap.Logger
	cur  atomic.Pointer[flows.File]

	mu       sync.Mutex
	lastData []byte
	lastErr  error
	onReload func(ok bool)
	// also are reloaded with the file (the knowledge base).
	also []func() (bool, error)
}

// AlsoReload adds something to reload with the flows file, on its schedule.
func (h *FlowsHolder) AlsoReload(f func() (bool, error)) { h.also = append(h.also, f) }

// NewFlowsHolder loads the flows file; a bad file is an error. env is bound to every
// version.
func NewFlowsHolder(path string, env *flows.Env, log *zap.Logger) (*FlowsHolder, error) {
	h := &FlowsHolder{path: path, env: env, log: log.Named("flows")}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := flows.Parse(path, data)
	if err != nil {
		return nil, err
	}
	f.Bind(env)
	h.cur.Store(f)
	h.lastData = data
	return h, nil
}

// Current returns the flows in force (nil on a nil holder).
func (h *FlowsHolder) Current() *flows.File {
	if h == nil {
		return nil
	}
	return h.cur.Load()
}

// Path is the flows file.
func (h *FlowsHolder) Path() string { return h.path }

// Reload reads the file again; if it changed, it is checked and swapped in. It returns
// whether new flows are in force, and the problems of a bad file (the old flows stay).
func (h *FlowsHolder) Reload() (bool, error) {
	if h == nil {
		return false, nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	data, err := os.ReadFile(h.path)
	if err == nil && bytes.Equal(data, h.lastData) {
		return false, h.lastErr
	}
	var f *flows.File
	if err == nil {
		f, err = flows.Parse(h.path, data)
	}
	h.lastData, h.lastErr = data, err
	if err != nil {
		h.log.Error("flows file not reloaded; the previous flows stay in force", zap.String("file", h.path),
			zap.String("version", h.Current().Version), zap.Error(err))
		h.notify(false)
		return false, err
	}
	f.Bind(h.env)
	old := h.cur.Swap(f)
	h.log.Info("flows reloaded", zap.String("file", h.path), zap.String("version", f.Version), zap.String("previous", old.Version))
	h.notify(true)
	return true, nil
}

// Status reports the last reload: whether it succeeded and, if not, why.
func (h *FlowsHolder) Status() (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lastErr == nil, h.lastErr
}

func (h *FlowsHolder) notify(ok bool) {
	if h.onReload != nil {
		h.onReload(ok)
	}
}

// Watch reloads the file every interval until ctx ends.
func (h *FlowsHolder) Watch(ctx context.Context, interval time.Duration) {
	if h == nil {
		return
	}
	kernel.Every(ctx, interval, func() {
		_, _ = h.Reload()
		for _, f := range h.also {
			_, _ = f()
		}
	})
}
