package kpi

import (
	"encoding/json"
	"time"
)

// A tracker's and a presence's state encode as JSON, so the projection can keep them with its
// checkpoint (docs/insight.md, "Restarts") instead of reading every conversation's events back
// after a restart. The encoding holds exactly what the next event needs: a decoded tracker
// gives the same ops as the one it was encoded from.

type trackerState struct {
	Seq       uint64                `json:"seq"`
	Dims      Dims                  `json:"dims,omitzero"`
	OpenedAt  time.Time             `json:"opened_at,omitzero"`
	Opened    *markState            `json:"opened,omitempty"`
	OpenDue   bool                  `json:"open_due,omitempty"`
	Awaiting  time.Time             `json:"awaiting,omitzero"`
	Responded bool                  `json:"responded,omitempty"`
	QueuedAt  time.Time             `json:"queued_at,omitzero"`
	AssignAt  time.Time             `json:"assign_at,omitzero"`
	Assigned  bool                  `json:"assigned,omitempty"`
	Replies   int                   `json:"replies,omitempty"`
	Resolved  int                   `json:"resolved,omitempty"`
	Reopened  bool                  `json:"reopened,omitempty"`
	Last      *markState            `json:"last,omitempty"`
	Answers   map[string]*markState `json:"answers,omitempty"`
}

type markState struct {
	At    time.Time `json:"at"`
	Dims  Dims      `json:"dims,omitzero"`
	Fixed bool      `json:"fixed,omitempty"`
	Ops   []opState `json:"ops,omitempty"`
}

type opState struct {
	At    time.Time `json:"at"`
	Dims  Dims      `json:"dims,omitzero"`
	Name  string    `json:"name"`
	Value int64     `json:"value,omitempty"`
	Sign  int64     `json:"sign"`
}

func (m *mark) state() *markState {
	if m == nil {
		return nil
	}
	s := &markState{At: m.at, Dims: m.dims, Fixed: m.fixed}
	for _, op := range m.ops {
		s.Ops = append(s.Ops, opState{At: op.At, Dims: op.Dims, Name: op.Name, Value: op.Value, Sign: op.Sign})
	}
	return s
}

func (s *markState) mark() *mark {
	if s == nil {
		return nil
	}
	m := &mark{at: s.At, dims: s.Dims, fixed: s.Fixed}
	for _, op := range s.Ops {
		m.ops = append(m.ops, Op{At: op.At, Dims: op.Dims, Name: op.Name, Value: op.Value, Sign: op.Sign})
	}
	return m
}

// MarshalJSON encodes the tracker's state.
func (t *Tracker) MarshalJSON() ([]byte, error) {
	s := trackerState{Seq: t.Seq, Dims: t.dims, OpenedAt: t.openedAt, Opened: t.opened.state(), OpenDue: t.openDue,
		Awaiting: t.awaiting, Responded: t.responded, QueuedAt: t.queuedAt, AssignAt: t.assignAt, Assigned: t.assigned,
		Replies: t.replies, Resolved: t.resolved, Reopened: t.reopened, Last: t.last.state()}
	if len(t.answers) > 0 {
		s.Answers = make(map[string]*markState, len(t.answers))
		for id, m := range t.answers {
			s.Answers[id] = m.state()
		}
	}
	return json.Marshal(s)
}

// UnmarshalJSON restores a state MarshalJSON encoded.
func (t *Tracker) UnmarshalJSON(data []byte) error {
	var s trackerState
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*t = Tracker{Seq: s.Seq, dims: s.Dims, openedAt: s.OpenedAt, opened: s.Opened.mark(), openDue: s.OpenDue,
		awaiting: s.Awaiting, responded: s.Responded, queuedAt: s.QueuedAt, assignAt: s.AssignAt, assigned: s.Assigned,
		replies: s.Replies, resolved: s.Resolved, reopened: s.Reopened, last: s.Last.mark()}
	if len(s.Answers) > 0 {
		t.answers = make(map[string]*mark, len(s.Answers))
		for id, m := range s.Answers {
			t.answers[id] = m.mark()
		}
	}
	return nil
}

type presenceState struct {
	Since   time.Time `json:"since,omitzero"`
	Status  string    `json:"status,omitempty"`
	Load    int       `json:"load,omitempty"`
	MaxLoad int       `json:"max_load,omitempty"`
}

// MarshalJSON encodes the presence's state.
func (p *Presence) MarshalJSON() ([]byte, error) {
	return json.Marshal(presenceState{Since: p.since, Status: p.status, Load: p.load, MaxLoad: p.maxLoad})
}

// UnmarshalJSON restores a state MarshalJSON encoded.
func (p *Presence) UnmarshalJSON(data []byte) error {
	var s presenceState
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	*p = Presence{since: s.Since, status: s.Status, load: s.Load, maxLoad: s.MaxLoad}
	return nil
}
