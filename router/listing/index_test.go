package listing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// model is the test's own account of the conversations: the listing must agree with a
// plain filter and sort over it, page by page.
type model struct {
	id, customer, queue, agent string
	status                     schema.ConversationStatus
	channels, tags             []string
	snoozed                    bool
	updated                    time.Time
}

var (
	queues   = []string{"general", "billing", "vip"}
	agentIDs = []string{"", "ann", "ben", "cat", "dan"}
	channels = []schema.Channel{"email", "sms", "whatsapp", "webchat"}
	tagNames = []string{"vip", "refund", "bug", "churn-risk"}
)

// history makes n conversations with random events (in time order) and returns them with
// the model's state after each.
func history(rng *rand.Rand, n, events int) ([]*schema.Event, map[string]*model) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	state := map[string]*model{}
	var evs []*schema.Event
	ids := []string{}
	for i := 0; i < events; i++ {
		at := t0.Add(time.Duration(i) * time.Second)
		if len(ids) < n && (len(ids) == 0 || rng.IntN(3) == 0) {
			id := fmt.Sprintf("cnv_%05d", len(ids))
			ids = append(ids, id)
			cust := fmt.Sprintf("cus_%03d", rng.IntN(n/3+1))
			state[id] = &model{id: id, customer: cust, status: schema.ConversationOpen, updated: at}
			evs = append(evs, &schema.Event{Type: schema.EventOpened, ConversationID: id, CustomerID: cust, At: at})
			continue
		}
		id := ids[rng.IntN(len(ids))]
		m := state[id]
		ev := &schema.Event{ConversationID: id, CustomerID: m.customer, At: at}
		switch rng.IntN(8) {
		case 0, 1:
			ch := channels[rng.IntN(len(channels))]
			ev.Type, ev.Message = schema.EventMessage, &schema.Message{Direction: schema.Inbound, Channel: ch}
			if !slices.Contains(m.channels, string(ch)) {
				m.channels = append(m.channels, string(ch))
			}
		case 2:
			q, a := queues[rng.IntN(len(queues))], agentIDs[rng.IntN(len(agentIDs))]
			ev.Type, ev.Routing = schema.EventAssigned, &schema.Routing{Queue: q, AgentID: a}
			if a == "" {
				ev.Type = schema.EventQueued
			}
			m.queue, m.agent = q, a
		case 3:
			ev.Type = schema.EventResolved
			m.status, m.snoozed = schema.ConversationResolved, false
		case 4:
			ev.Type = schema.EventReopened
			m.status, m.queue, m.agent = schema.ConversationOpen, "", ""
		case 5:
			tag := tagNames[rng.IntN(len(tagNames))]
			if slices.Contains(m.tags, tag) {
				ev.Type, ev.Triage = schema.EventUntagged, &schema.Triage{Tags: []string{tag}}
				m.tags = slices.DeleteFunc(m.tags, func(s string) bool { return s == tag })
			} else {
				ev.Type, ev.Triage = schema.EventTagged, &schema.Triage{Tags: []string{tag}}
				m.tags = append(m.tags, tag)
			}
		case 6:
			ev.Type, m.snoozed = schema.EventSnoozed, true
		default:
			ev.Type, m.snoozed = schema.EventWoken, false
		}
		m.updated = at
		evs = append(evs, ev)
	}
	return evs, state
}

func (m *model) matches(q Query) bool {
	return (q.Status == "" || m.status == q.Status) && (q.Queue == "" || m.queue == q.Queue) &&
		(q.Agent == "" || m.agent == q.Agent) && (q.Customer == "" || m.customer == q.Customer) &&
		(q.Channel == "" || slices.Contains(m.channels, string(q.Channel))) && (q.Tag == "" || slices.Contains(m.tags, q.Tag)) &&
		(q.Snoozed == "" || m.snoozed == (q.Snoozed == "true")) && !m.updated.Before(q.UpdatedSince)
}

func expected(state map[string]*model, q Query) []string {
	var list []*model
	for _, m := range state {
		if m.matches(q) {
			list = append(list, m)
		}
	}
	sort.Slice(list, func(i, j int) bool {
		a, b := list[i], list[j]
		if !a.updated.Equal(b.updated) {
			return a.updated.After(b.updated) != q.Oldest
		}
		return (a.id > b.id) != q.Oldest
	})
	out := make([]string, len(list))
	for i, m := range list {
		out[i] = m.id
	}
	return out
}

// Every filter, both orders and paging agree with a plain filter and sort over the test's
// own model of the same history; following the pages yields each conversation once.
func TestQueryAgreesWithAPlainScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	evs, state := history(rng, 3000, 30000)
	ix := New()
	for i, ev := range evs {
		ix.Apply(uint64(i+1), ev)
	}
	if ix.Len() != len(state) {
		t.Fatalf("%d conversations indexed, %d made", ix.Len(), len(state))
	}
	checkQueries(t, ix, state, evs[len(evs)/2].At)
	if _, err := ix.Query(Query{Cursor: "not-a-cursor"}); err != ErrBadCursor {
		t.Fatalf("bad cursor: %v", err)
	}
}

// checkQueries runs every filter, both orders and three page sizes against ix and the model.
func checkQueries(t *testing.T, ix *Index, state map[string]*model, since time.Time) {
	t.Helper()
	queries := []Query{
		{}, {Oldest: true}, {Status: schema.ConversationOpen}, {Queue: "billing", Status: schema.ConversationOpen},
		{Agent: "ann"}, {Agent: "ann", Oldest: true}, {Agent: "nobody"}, {Channel: "sms"}, {Tag: "vip"}, {Tag: "vip", Agent: "ben"},
		{Customer: "cus_007"}, {Snoozed: "true"}, {Snoozed: "false", Status: schema.ConversationOpen},
		{UpdatedSince: since}, {UpdatedSince: since, Oldest: true}, {UpdatedSince: since, Tag: "bug"},
	}
	for _, q := range queries {
		for _, limit := range []int{7, 50, 5000} {
			q.Limit = limit
			want := expected(state, q)
			var got []string
			for pages := 0; ; pages++ {
				p, err := ix.Query(q)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Entries) > limit || pages > len(state) {
					t.Fatalf("%+v: a page of %d", q, len(p.Entries))
				}
				for _, e := range p.Entries {
					got = append(got, e.ID)
					m := state[e.ID]
					chs := make([]string, len(e.Channels))
					for i, c := range e.Channels {
						chs[i] = string(c)
					}
					slices.Sort(chs)
					want := slices.Sorted(slices.Values(m.channels))
					if e.Status != m.status || e.Queue != m.queue || e.Agent != m.agent || e.Customer != m.customer || e.Snoozed != m.snoozed ||
						!slices.Equal(e.Tags, m.tags) && len(e.Tags)+len(m.tags) > 0 || !slices.Equal(chs, want) || !e.Updated.Equal(m.updated) {
						t.Fatalf("%s: %+v, the model has %+v", e.ID, e, m)
					}
				}
				if p.Next == "" {
					break
				}
				q.Cursor = p.Next
			}
			q.Cursor = ""
			if !slices.Equal(got, want) {
				t.Fatalf("%+v: %d conversations, want %d\n got %v\nwant %v", q, len(got), len(want), head(got), head(want))
			}
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 8)] }

// Events of conversations opened before the stream's first kept event are ignored, and
// events without a conversation only move the position.
func TestApplyIgnoresWhatItCannotPlace(t *testing.T) {
	ix := New()
	ix.Apply(5, &schema.Event{Type: schema.EventMessage, ConversationID: "cnv_gone", At: time.Now()})
	ix.Apply(6, &schema.Event{Type: schema.EventAgentPresence, At: time.Now()})
	ix.Apply(7, nil) // undecodable
	if ix.Len() != 0 || ix.Position() != 7 {
		t.Fatalf("len %d position %d", ix.Len(), ix.Position())
	}
}

// A cursor made by the index decodes to where it was made; anything else is ErrBadCursor.
func FuzzCursor(f *testing.F) {
	f.Add("MTc2NDcwMDAwMDAwMDAwMDAwMC5jbnZfMQ", int64(1764700000000000000), "cnv_1")
	f.Add("", int64(0), "x")
	f.Fuzz(func(t *testing.T, raw string, ns int64, id string) {
		if e, err := decodeCursor(raw); err != nil && err != ErrBadCursor || err == nil && e == nil {
			t.Fatalf("%q: %v %v", raw, e, err)
		}
		if !schema.ValidToken(id) {
			return
		}
		e := &Entry{ID: id, updated: ns}
		back, err := decodeCursor(encodeCursor(e))
		if err != nil || back.ID != id || back.updated != ns {
			t.Fatalf("round trip of %+v: %+v %v", e, back, err)
		}
	})
}
