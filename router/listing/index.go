// Package listing keeps an in-memory index of every conversation on SB_CONVERSATIONS, fed
// by the stream itself, so that GET /v1/conversations filters and pages without scanning a
// bucket (docs/rest-api.md#listing-conversations).
package listing

import (
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/btree"

	"github.com/switchboardhq/switchboard/schema"
)

// Entry is what the index knows of one conversation: what the listing filters and orders on,
// packed (about 300 bytes a conversation with its places in the order and the sets).
type Entry struct {
	ID       string
	Customer string
	Queue    string
	Agent    string
	Tags     []string
	updated  int64  // Unix nanoseconds of the last event
	chans    uint64 // bit i: the index's channel i
	resolved bool
	snoozed  bool
	opened   uint64 // the stream sequence of its opened event
}

// Summary is an entry as a page gives it.
type Summary struct {
	ID       string
	Customer string
	Status   schema.ConversationStatus
	Queue    string
	Agent    string
	Channels []schema.Channel
	Tags     []string
	Snoozed  bool
	Updated  time.Time
}

// less orders entries by last update, then id (the listing's order, oldest first).
func less(a, b *Entry) bool {
	if a.updated != b.updated {
		return a.updated < b.updated
	}
	return a.ID < b.ID
}

// Index is the listing index. It is safe for concurrent use.
type Index struct {
	mu     sync.RWMutex
	byID   map[string]*Entry
	order  *btree.BTreeG[*Entry]
	sets   [numDims]map[string]map[*Entry]struct{} // agent, tag → entries
	byCust map[string][]*Entry                     // customer → entries (a handful each)
	intern map[string]string                       // queue, agent and tag names
	chans  []schema.Channel                        // the channels seen, by bit
	pos    uint64                                  // the last stream sequence applied

	ready     chan struct{} // closed once the stream was read to its end
	readyOnce sync.Once
}

// The dimensions with a set of entries per value (the selective filters; customers have
// a slice each).
const (
	dimAgent = iota
	dimTag
	numDims
)

// New returns an empty index.
func New() *Index {
	ix := &Index{byID: map[string]*Entry{}, byCust: map[string][]*Entry{}, order: btree.NewG(32, less), intern: map[string]string{},
		ready: make(chan struct{})}
	for d := range ix.sets {
		ix.sets[d] = map[string]map[*Entry]struct{}{}
	}
	return ix
}

// Len is how many conversations the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Position is the last stream sequence applied.
func (ix *Index) Position() uint64 {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.pos
}

func (ix *Index) name(s string) string {
	if s == "" {
		return ""
	}
	if v, ok := ix.intern[s]; ok {
		return v
	}
	s = strings.Clone(s)
	ix.intern[s] = s
	return s
}

func (ix *Index) add(d int, key string, e *Entry) {
	if key == "" {
		return
	}
	set := ix.sets[d][key]
	if set == nil {
		set = map[*Entry]struct{}{}
		ix.sets[d][key] = set
	}
	set[e] = struct{}{}
}

func (ix *Index) remove(d int, key string, e *Entry) {
	if set := ix.sets[d][key]; set != nil {
		delete(set, e)
		if len(set) == 0 {
			delete(ix.sets[d], key)
		}
	}
}

// Apply folds one event (at stream sequence seq) into the index, as the router folds it
// into the snapshot: the conversation's customer, status, queue, agent, channels, tags,
// snooze and last update. Events without a conversation (customer, presence, system events)
// only advance the position.
func (ix *Index) Apply(seq uint64, ev *schema.Event) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if seq > ix.pos {
		ix.pos = seq
	}
	if ev == nil || ev.ConversationID == "" {
		return
	}
	e := ix.byID[ev.ConversationID]
	if e == nil {
		if ev.Type != schema.EventOpened {
			return // opened before the stream's first kept event
		}
		e = &Entry{ID: ev.ConversationID, updated: ev.At.UnixNano(), opened: seq}
		ix.byID[e.ID] = e
	} else {
		ix.order.Delete(e)
	}
	if ev.CustomerID != "" && ev.CustomerID != e.Customer {
		if e.Customer != "" {
			list := slices.DeleteFunc(ix.byCust[e.Customer], func(x *Entry) bool { return x == e })
			if len(list) == 0 {
				delete(ix.byCust, e.Customer)
			} else {
				ix.byCust[e.Customer] = list
			}
		}
		e.Customer = strings.Clone(ev.CustomerID)
		ix.byCust[e.Customer] = append(ix.byCust[e.Customer], e)
	}
	ix.fold(e, ev)
	if at := ev.At.UnixNano(); at > e.updated {
		e.updated = at
	}
	ix.order.ReplaceOrInsert(e)
}

// chanBit is a channel's bit (add: give a new channel one; at most 64 are told apart, the
// others are not found by the channel filter).
func (ix *Index) chanBit(ch schema.Channel, add bool) uint64 {
	if i := slices.Index(ix.chans, ch); i >= 0 {
		return 1 << i
	}
	if !add || len(ix.chans) == 64 {
		return 0
	}
	ix.chans = append(ix.chans, ch)
	return 1 << (len(ix.chans) - 1)
}

func (ix *Index) setAgent(e *Entry, agent string) {
	if agent == e.Agent {
		return
	}
	ix.remove(dimAgent, e.Agent, e)
	e.Agent = ix.name(agent)
	ix.add(dimAgent, e.Agent, e)
}

func (ix *Index) fold(e *Entry, ev *schema.Event) {
	switch ev.Type {
	case schema.EventMessage:
		if m := ev.Message; m != nil && m.Direction == schema.Inbound {
			e.chans |= ix.chanBit(m.Channel, true)
		}
	case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
		if r := ev.Routing; r != nil {
			e.Queue = ix.name(r.Queue)
			ix.setAgent(e, r.AgentID)
		}
	case schema.EventUnassigned:
		ix.setAgent(e, "")
	case schema.EventResolved:
		e.resolved, e.snoozed = true, false
	case schema.EventReopened:
		e.resolved, e.Queue = false, ""
		ix.setAgent(e, "")
	case schema.EventTagged:
		if t := ev.Triage; t != nil {
			for _, tag := range t.Tags {
				if !slices.Contains(e.Tags, tag) {
					e.Tags = append(e.Tags, ix.name(tag))
					ix.add(dimTag, tag, e)
				}
			}
		}
	case schema.EventUntagged:
		if t := ev.Triage; t != nil {
			e.Tags = slices.DeleteFunc(e.Tags, func(tag string) bool { return slices.Contains(t.Tags, tag) })
			for _, tag := range t.Tags {
				ix.remove(dimTag, tag, e)
			}
		}
	case schema.EventSnoozed:
		e.snoozed = true
	case schema.EventWoken:
		e.snoozed = false
	}
}

// Query selects conversations. Empty fields do not filter.
type Query struct {
	Status   schema.ConversationStatus
	Queue    string
	Agent    string
	Channel  schema.Channel
	Customer string
	Tag      string
	// Snoozed filters on the snooze: "true" (snoozed now) or "false".
	Snoozed string
	// UpdatedSince keeps conversations updated at or after it.
	UpdatedSince time.Time
	// Oldest lists the least recently updated first (default: newest first).
	Oldest bool
	// Limit is the page size (default 50).
	Limit int
	// Cursor continues after the last entry of the previous page ([Page.Next]).
	Cursor string
}

// Page is one page of a query: the conversations in order and the cursor of the next page
// ("" at the end).
type Page struct {
	Entries []Summary
	Next    string
}

// ErrBadCursor means the cursor was not made by the index.
var ErrBadCursor = fmt.Errorf("cursor: not a cursor of this listing (pass next_cursor back as given)")

// sortedSetMax is the largest candidate set sorted whole; beyond it the query walks the
// order and filters (the set is then dense enough to fill a page quickly).
const sortedSetMax = 20000

// Query answers q from the index.
func (ix *Index) Query(q Query) (Page, error) {
	if q.Limit <= 0 {
		q.Limit = 50
	}
	var after *Entry
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(q.Cursor); err != nil {
			return Page{}, err
		}
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	since := int64(math.MinInt64)
	if !q.UpdatedSince.IsZero() {
		since = q.UpdatedSince.UnixNano()
	}
	var chanBit uint64
	if q.Channel != "" {
		if chanBit = ix.chanBit(q.Channel, false); chanBit == 0 {
			return Page{Entries: []Summary{}}, nil
		}
	}
	match := func(e *Entry) bool {
		return (q.Status == "" || e.resolved == (q.Status == schema.ConversationResolved)) && (q.Queue == "" || e.Queue == q.Queue) &&
			(q.Agent == "" || e.Agent == q.Agent) && (q.Customer == "" || e.Customer == q.Customer) &&
			e.chans&chanBit == chanBit && (q.Tag == "" || slices.Contains(e.Tags, q.Tag)) &&
			(q.Snoozed == "" || e.snoozed == (q.Snoozed == "true")) && e.updated >= since
	}
	var out []*Entry
	if set, ok := ix.candidates(q); ok {
		for _, e := range set {
			if match(e) && (after == nil || (q.Oldest && less(after, e)) || (!q.Oldest && less(e, after))) {
				out = append(out, e)
			}
		}
		slices.SortFunc(out, func(a, b *Entry) int {
			if less(a, b) == q.Oldest {
				return -1
			}
			return 1
		})
		if len(out) > q.Limit+1 {
			out = out[:q.Limit+1]
		}
	} else {
		ix.walk(q, after, since, match, func(e *Entry) bool {
			out = append(out, e)
			return len(out) <= q.Limit
		})
	}
	return ix.page(out, q.Limit), nil
}

// candidates is the smallest set among the selective filters given (ok false: none given;
// an empty list with ok: a value nobody has).
func (ix *Index) candidates(q Query) ([]*Entry, bool) {
	var best map[*Entry]struct{}
	given := false
	for d, v := range map[int]string{dimAgent: q.Agent, dimTag: q.Tag} {
		if v == "" {
			continue
		}
		set := ix.sets[d][v]
		if set == nil {
			return nil, true
		}
		if !given || len(set) < len(best) {
			best = set
		}
		given = true
	}
	if q.Customer != "" {
		list := ix.byCust[q.Customer]
		if !given || len(list) <= len(best) {
			return list, true
		}
	}
	if !given || len(best) > sortedSetMax {
		return nil, false
	}
	list := make([]*Entry, 0, len(best))
	for e := range best {
		list = append(list, e)
	}
	return list, true
}

// walk visits matching entries in the query's order, after the cursor, until fn says stop.
func (ix *Index) walk(q Query, after *Entry, since int64, match func(*Entry) bool, fn func(*Entry) bool) {
	visit := func(e *Entry) bool {
		if after != nil && e.ID == after.ID && e.updated == after.updated {
			return true
		}
		if !q.Oldest && e.updated < since {
			return false // newest first: everything further is older
		}
		return !match(e) || fn(e)
	}
	switch {
	case q.Oldest && after != nil:
		ix.order.AscendGreaterOrEqual(after, visit)
	case q.Oldest:
		ix.order.AscendGreaterOrEqual(&Entry{updated: since}, visit)
	case after != nil:
		ix.order.DescendLessOrEqual(after, visit)
	default:
		ix.order.Descend(visit)
	}
}

// page copies up to limit entries out; one more than limit means a next page.
func (ix *Index) page(list []*Entry, limit int) Page {
	var p Page
	if len(list) > limit {
		list = list[:limit]
		p.Next = encodeCursor(list[limit-1])
	}
	p.Entries = make([]Summary, len(list))
	for i, e := range list {
		s := Summary{ID: e.ID, Customer: e.Customer, Status: schema.ConversationOpen, Queue: e.Queue, Agent: e.Agent,
			Tags: slices.Clone(e.Tags), Snoozed: e.snoozed, Updated: time.Unix(0, e.updated).UTC()}
		if e.resolved {
			s.Status = schema.ConversationResolved
		}
		for b, ch := range ix.chans {
			if e.chans&(1<<b) != 0 {
				s.Channels = append(s.Channels, ch)
			}
		}
		p.Entries[i] = s
	}
	return p
}

func encodeCursor(e *Entry) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(e.updated, 10) + "." + e.ID))
}

func decodeCursor(c string) (*Entry, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, ErrBadCursor
	}
	ns, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(ns, 10, 64)
	if !ok || err != nil || !schema.ValidToken(id) {
		return nil, ErrBadCursor
	}
	return &Entry{ID: id, updated: n}, nil
}
