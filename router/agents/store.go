package agents

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/switchboardhq/switchboard/pipeline/kernel"
	"github.com/switchboardhq/switchboard/router/rules"
)

// Errors of agent operations.
var (
	// ErrNoRoom means the agent is at capacity (or not available) for the conversation.
	ErrNoRoom = errors.New("agent has no room")
	// ErrUnknownAgent means the id is not in the roster.
	ErrUnknownAgent = errors.New("unknown agent")
)

// Store changes agents' presence and load in sb_agents. Every change is a
// compare-and-set on the agent's record, so concurrent routers (partitions, instances, the
// REST API) never lose each other's writes and never take a slot twice.
type Store struct {
	kv    jetstream.KeyValue
	board *Board
	now   func() time.Time
	// Conflicts counts compare-and-set retries (switchboard_router_assign_conflicts_total).
	conflicts func()
}

// NewStore returns the store over bucket kv (sb_agents) for the board's roster; writes are
// applied to board at once. conflicts is called on every lost compare-and-set (nil: not
// counted).
func NewStore(kv jetstream.KeyValue, board *Board, now func() time.Time, conflicts func()) *Store {
	if conflicts == nil {
		conflicts = func() {}
	}
	return &Store{kv: kv, board: board, now: now, conflicts: conflicts}
}

// LoadKey and PresenceKey are an agent's keys in sb_agents.
func LoadKey(agent string) string     { return "load." + agent }
func PresenceKey(agent string) string { return "presence." + agent }

// Reserve counts conversation conv against the agent's capacity. Reserving a conversation
// the agent already holds succeeds without a change.
func (s *Store) Reserve(ctx context.Context, agent, conv string, h rules.Hold) error {
	a, ok := s.board.Roster().Lookup(agent)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownAgent, agent)
	}
	return s.changeLoad(ctx, agent, "reserve", func(rec *rules.LoadRecord, fresh bool) (bool, error) {
		if _, held := rec.Conversations[conv]; held {
			return false, nil
		}
		if !rec.HasRoom(a, h.Weight, h.Channel) {
			if !fresh { // the board may be a moment behind a release: look again
				return false, errLookAgain
			}
			return false, fmt.Errorf("%w: %s is at capacity on %s", ErrNoRoom, agent, h.Channel)
		}
		rec.Conversations[conv] = h
		rec.LastAssigned = h.At
		return true, nil
	})
}

// Release takes conv off the agent's load. With cause set, only a hold made by that cause
// is released (a reservation whose decision did not go through).
func (s *Store) Release(ctx context.Context, agent, conv, cause string) error {
	return s.changeLoad(ctx, agent, "release", func(rec *rules.LoadRecord, fresh bool) (bool, error) {
		h, held := rec.Conversations[conv]
		if !held || (cause != "" && h.Cause != cause) {
			if !fresh {
				return false, errLookAgain
			}
			return false, nil
		}
		delete(rec.Conversations, conv)
		if len(rec.Conversations) == 0 {
			rec.IdleSince = s.now().UTC()
		}
		return true, nil
	})
}

// errLookAgain asks changeLoad to read the record from KV rather than from the board.
var errLookAgain = errors.New("look again")

// changeLoad applies fn to a private copy of the agent's load record (from the board first,
// from KV when fresh) and writes it with compare-and-set when fn says so; a lost race reads
// again and retries.
func (s *Store) changeLoad(ctx context.Context, agent, what string, fn func(rec *rules.LoadRecord, fresh bool) (bool, error)) error {
	fresh := false
	for attempt := 0; attempt < kernel.MaxCASAttempts; attempt++ {
		rec, rev, err := s.load(ctx, agent, fresh)
		if err != nil {
			return err
		}
		write, err := fn(&rec, fresh)
		if errors.Is(err, errLookAgain) {
			fresh = true
			continue
		}
		if err != nil || !write {
			return err
		}
		err = s.writeLoad(ctx, rec, rev)
		if !errors.Is(err, kernel.ErrConflict) {
			return err
		}
		fresh = true
		s.conflicts()
	}
	return fmt.Errorf("%w: %s %s: too many concurrent changes", kernel.ErrUnavailable, what, agent)
}

// load returns a private copy of the agent's load record: from the board, or from KV when
// fresh is set.
func (s *Store) load(ctx context.Context, agent string, fresh bool) (rules.LoadRecord, uint64, error) {
	if !fresh {
		if st := s.board.State(agent); st != nil && st.LoadRev() > 0 {
			rec := st.Load
			rec.Conversations = maps.Clone(rec.Conversations)
			return rec, st.LoadRev(), nil
		}
	}
	rec := rules.LoadRecord{Agent: agent, Conversations: map[string]rules.Hold{}}
	rev, err := kernel.GetJSON(ctx, s.kv, LoadKey(agent), &rec)
	if errors.Is(err, kernel.ErrNotFound) {
		return rec, 0, nil
	}
	if rec.Conversations == nil {
		rec.Conversations = map[string]rules.Hold{}
	}
	return rec, rev, err
}

func (s *Store) writeLoad(ctx context.Context, rec rules.LoadRecord, rev uint64) error {
	newRev, err := kernel.PutJSON(ctx, s.kv, LoadKey(rec.Agent), rec, rev)
	if err != nil {
		return err
	}
	s.board.setLoad(rec, newRev)
	return nil
}

// SetPresence records an agent's presence. A heartbeat (status "") only refreshes LastSeen.
func (s *Store) SetPresence(ctx context.Context, agent string, status rules.Presence, reason string) (rules.PresenceRecord, error) {
	if _, ok := s.board.Roster().Lookup(agent); !ok {
		return rules.PresenceRecord{}, fmt.Errorf("%w %q", ErrUnknownAgent, agent)
	}
	for attempt := 0; attempt < kernel.MaxCASAttempts; attempt++ {
		rec := rules.PresenceRecord{Agent: agent, Status: rules.Offline}
		rev, err := kernel.GetJSON(ctx, s.kv, PresenceKey(agent), &rec)
		if err != nil && !errors.Is(err, kernel.ErrNotFound) {
			return rec, err
		}
		now := s.now().UTC()
		if status == "" {
			status = rec.Status
		}
		if status != rec.Status || rec.Since.IsZero() {
			rec.Status, rec.Since, rec.Reason = status, now, reason
		}
		rec.LastSeen = now
		newRev, err := kernel.PutJSON(ctx, s.kv, PresenceKey(agent), rec, rev)
		if errors.Is(err, kernel.ErrConflict) {
			continue
		}
		if err != nil {
			return rec, err
		}
		s.board.setPresence(rec, newRev)
		return rec, nil
	}
	return rules.PresenceRecord{}, fmt.Errorf("%w: presence of %s: too many concurrent changes", kernel.ErrUnavailable, agent)
}
