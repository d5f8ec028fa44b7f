package agents

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
	roster atomic.Pointer[rules.Roster]
	hb     time.Duration
	now    func() time.Time
	waits  *Waitlist

	mu sync.RWMutex
	// states holds every agent seen in sb_agents or in a roster, by id: an agent added to the
	// roster through the API brings the presence and load stored for them.
	states  map[string]*rules.AgentState
	holders map[string][]string // conversation → agents holding it (normally one)
	notify  chan struct{}
	// OnRoster, when set before Watch, gets the roster.* entries of sb_agents (the agents
	// managed through the API) from the same watch.
	OnRoster func(jetstream.KeyValueEntry)
}

// Roster is the roster in force.
func (b *Board) Roster() *rules.Roster { return b.roster.Load() }

// SetRoster swaps in a new roster (agents added, changed or removed through the API or a
// config reload).
func (b *Board) SetRoster(r *rules.Roster) {
	b.roster.Store(r)
	b.signal()
}

// Heartbeat is how long an agent stays available without a heartbeat (0: forever).
func (b *Board) Heartbeat() time.Duration { return b.hb }

// NewBoard returns a board for the roster with every agent offline and idle.
func NewBoard(roster *rules.Roster, heartbeat time.Duration, waits *Waitlist, now func() time.Time) *Board {
	b := &Board{hb: heartbeat, now: now, waits: waits, notify: make(chan struct{}, 1),
		holders: map[string][]string{}, states: map[string]*rules.AgentState{}}
	b.roster.Store(roster)
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

// Read runs fn with a consistent view of the roster's agents at now (the view is indexed
// like roster, which is the roster of the rules deciding). self is a conversation that must
// not count as waiting ahead of itself.
func (b *Board) Read(roster *rules.Roster, now time.Time, self string, fn func(rules.AgentView)) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	fn(boardView{b: b, roster: roster, now: now, self: self})
}

// State returns an agent's state (nil for an agent not in the roster).
func (b *Board) State(id string) *rules.AgentState {
	if _, ok := b.Roster().Lookup(id); !ok {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.stateLocked(id)
}

// stateLocked is the agent's state, offline and idle when nothing is known of them.
func (b *Board) stateLocked(id string) *rules.AgentState {
	if s := b.states[id]; s != nil {
		return s
	}
	return rules.NewAgentState(id)
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
	b      *Board
	roster *rules.Roster
	now    time.Time
	self   string
}

func (v boardView) State(i int) *rules.AgentState { return v.b.stateLocked(v.roster.At(i).ID) }

func (v boardView) Presence(i int) rules.Presence {
	p, _ := v.State(i).Effective(v.now, v.b.hb)
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
	b.mu.Lock()
	if s := b.stateLocked(rec.Agent); rev > s.LoadRev() {
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
		b.states[rec.Agent] = s.WithLoad(rec, rev)
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
	b.mu.Lock()
	if s := b.stateLocked(rec.Agent); rev > s.PresenceRev() {
		b.states[rec.Agent] = s.WithPresence(rec, rev)
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
		case "roster":
			if b.OnRoster != nil {
				b.OnRoster(e)
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
	WatchKeys(ctx, kv, ">", log, func(e jetstream.KeyValueEntry) {
		if e == nil {
			done()
			return
		}
		apply(e)
	})
	done()
}

// WatchKeys calls apply for every current and future entry of kv whose key matches keys
// (deletions included), and with nil each time the current entries have been delivered,
// until ctx ends. After a failure it watches again (the current entries come again).
func WatchKeys(ctx context.Context, kv jetstream.KeyValue, keys string, log *zap.Logger, apply func(jetstream.KeyValueEntry)) {
	for ctx.Err() == nil {
		w, err := kv.Watch(ctx, keys)
		if err != nil {
			log.Warn("watch failed; retrying", zap.Error(err))
		} else {
			for e := range w.Updates() {
				apply(e)
			}
			_ = w.Stop()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}
