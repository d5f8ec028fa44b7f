package webchat

import (
	"context"
	"sync"
)

// hub indexes this instance's sockets: all of them (for Drain), by visitor (tabs, visitor
// signals) and by conversation (typing signals).
type hub struct {
	mu        sync.Mutex
	all       map[*conn]struct{}
	byVisitor map[string]map[*conn]struct{}
	byConv    map[string]map[*conn]struct{}
	empty     chan struct{} // closed when all becomes empty, while someone waits
}

func newHub() *hub {
	return &hub{all: map[*conn]struct{}{}, byVisitor: map[string]map[*conn]struct{}{},
		byConv: map[string]map[*conn]struct{}{}}
}

func (h *hub) add(s *conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all[s] = struct{}{}
}

func (h *hub) remove(s *conn, visitor, conv string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.all, s)
	unindex(h.byVisitor, visitor, s)
	unindex(h.byConv, conv, s)
	if len(h.all) == 0 && h.empty != nil {
		close(h.empty)
		h.empty = nil
	}
}

func (h *hub) setVisitor(s *conn, visitor string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	index(h.byVisitor, visitor, s)
}

func (h *hub) moveConv(s *conn, from, to string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	unindex(h.byConv, from, s)
	index(h.byConv, to, s)
}

func index(m map[string]map[*conn]struct{}, key string, s *conn) {
	if key == "" {
		return
	}
	if m[key] == nil {
		m[key] = map[*conn]struct{}{}
	}
	m[key][s] = struct{}{}
}

func unindex(m map[string]map[*conn]struct{}, key string, s *conn) {
	if set := m[key]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(m, key)
		}
	}
}

func (h *hub) visitorConns(visitor string) []*conn { return h.list(h.byVisitor, visitor) }
func (h *hub) convConns(conv string) []*conn       { return h.list(h.byConv, conv) }

func (h *hub) list(m map[string]map[*conn]struct{}, key string) []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(m[key]))
	for s := range m[key] {
		out = append(out, s)
	}
	return out
}

func (h *hub) snapshot() []*conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*conn, 0, len(h.all))
	for s := range h.all {
		out = append(out, s)
	}
	return out
}

// count is the number of open sockets.
func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.all)
}

// waitEmpty returns when no socket is left, or ctx's error.
func (h *hub) waitEmpty(ctx context.Context) error {
	h.mu.Lock()
	if len(h.all) == 0 {
		h.mu.Unlock()
		return nil
	}
	if h.empty == nil {
		h.empty = make(chan struct{})
	}
	ch := h.empty
	h.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
