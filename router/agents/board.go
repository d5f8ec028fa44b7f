package agents

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/router/rules"
	"go.uber.org/zap"
)

// Board is this instance's view of every agent's presence and load, kept current by a
// watch on sb_agents (and by this instance's own writes, applied at once). Decisions read
// it; the compare-and-set writes in [Store] are what keep capacity exact when the view
// is a moment behind.
type Board struct {
	roster *rules.Roster
	hb     time.Duration
	now    func() time.Time
	waits  *Waitlist

	mu      sync.RWMutex
	states  []*rules.AgentState
	holders map[string][]string // conversation → agents holding it (normally one)
	notify  chan struct{}
}

// Roster is the roster the board was made for.
func (b *Board) Roster() *rules.Roster { return b.roster }

// Heartbeat is how long an agent stays available without a heartbeat (0: forever).
func (b *Board) Heartbeat() time.Duration { return b.hb }

// NewBoard returns a board for the roster with every agent offline and idle.
func NewBoard(roster *rules.Roster, heartbeat time.Duration, waits *Waitlist, now func() time.Time) *Board {
	b := &Board{roster: roster, hb: heartbeat, now: now, waits: waits, notify: make(chan struct{}, 1),
		holders: map[string][]string{}}
	b.states = make([]*rules.AgentState, roster.Len())
	for i := range b.states {
		b.states[i] = rules.NewAgentState(roster.At(i).ID)
	}
	return b
}

// Changed is signalled (coalesced) when an agent's presence or load changes.
func (b *Board) Changed() <-chan struct{} { return b.notify }

func (b *Board) signal() {
	select {
	case b.notify <- struct{}{}:
	default:
	}
}

// Read runs fn with a consistent view of the agents at now. self is a conversation that
// must not count as waiting ahead of itself.
func (b *Board) Read(now time.Time, self string, fn func(rules.AgentView)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fn(boardView{b: b, now: now, self: self})
}

// State returns an agent's state (nil for an agent not in the roster).
func (b *Board) State(id string) *rules.AgentState {
	a, ok := b.roster.Lookup(id)
	if !ok {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.states[a.Index()]
}

// Effective is an agent's effective presence at now.
func (b *Board) Effective(id string, now time.Time) (rules.Presence, time.Time) {
	s := b.State(id)
	if s == nil {
		return rules.Offline, time.Time{}
	}
	return s.Effective(now, b.hb)
}

type boardView struct {
	b    *Board
	now  time.Time
	self string
}

func (v boardView) State(i int) *rules.AgentState { return v.b.states[i] }

func (v boardView) Presence(i int) rules.Presence {
	p, _ := v.b.states[i].Effective(v.now, v.b.hb)
	return p
}

func (v boardView) WaitingAhead(queue string, priority int) int {
	if v.b.waits == nil {
		return 0
	}
	return v.b.waits.ahead(queue, priority, v.self)
}

// setLoad applies a load record read or written at rev, unless a newer one is known.
func (b *Board) setLoad(rec rules.LoadRecord, rev uint64) {
	a, ok := b.roster.Lookup(rec.Agent)
	if !ok {
		return
	}
	b.mu.Lock()
	if s := b.states[a.Index()]; rev > s.LoadRev() {
		for conv := range s.Load.Conversations {
			if _, still := rec.Conversations[conv]; !still {
				b.holders[conv] = slices.DeleteFunc(b.holders[conv], func(id string) bool { return id == rec.Agent })
				if len(b.holders[conv]) == 0 {
					delete(b.holders, conv)
				}
			}
		}
		for conv := range rec.Conversations {
			if !slices.Contains(b.holders[conv], rec.Agent) {
				b.holders[conv] = append(b.holders[conv], rec.Agent)
			}
		}
		b.states[a.Index()] = s.WithLoad(rec, rev)
	}
	b.mu.Unlock()
	b.signal()
}

// Holders lists the agents whose load holds the conversation.
func (b *Board) Holders(conv string) []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return slices.Clone(b.holders[conv])
}

// SetPresence applies a presence record read or written at rev, unless a newer one is known.
func (b *Board) setPresence(rec rules.PresenceRecord, rev uint64) {
	a, ok := b.roster.Lookup(rec.Agent)
	if !ok {
		return
	}
	b.mu.Lock()
	if s := b.states[a.Index()]; rev > s.PresenceRev() {
		b.states[a.Index()] = s.WithPresence(rec, rev)
	}
	b.mu.Unlock()
	b.signal()
}

// Watch keeps the board current from sb_agents until ctx ends. ready is closed once the
// stored state has been read.
func (b *Board) Watch(ctx context.Context, kv jetstream.KeyValue, log *zap.Logger, ready chan<- struct{}) {
	watchKV(ctx, kv, log.With(zap.String("watch", "agents")), ready, func(e jetstream.KeyValueEntry) {
		kind, _, _ := strings.Cut(e.Key(), ".")
		switch kind {
		case "load":
			var rec rules.LoadRecord
			if json.Unmarshal(e.Value(), &rec) == nil {
				b.setLoad(rec, e.Revision())
			}
		case "presence":
			var rec rules.PresenceRecord
			if json.Unmarshal(e.Value(), &rec) == nil {
				b.setPresence(rec, e.Revision())
			}
		}
	})
}

// watchKV calls apply for every current and future entry of kv until ctx ends, re-watching
// after failures. ready (if not nil) is closed once the current entries were applied.
func watchKV(ctx context.Context, kv jetstream.KeyValue, log *zap.Logger, ready chan<- struct{}, apply func(jetstream.KeyValueEntry)) {
	var once sync.Once
	done := func() {
		if ready != nil {
			once.Do(func() { close(ready) })
		}
	}
	for ctx.Err() == nil {
		w, err := kv.WatchAll(ctx)
		if err != nil {
			log.Warn("watch failed; retrying", zap.Error(err))
		} else {
			for e := range w.Updates() {
				if e == nil {
					done()
					continue
				}
				apply(e)
			}
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	done()
}
