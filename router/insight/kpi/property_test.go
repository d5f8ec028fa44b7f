package kpi

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

// gen builds random conversation histories the way the router writes them: opened, a
// customer message, then routing, replies, notes, resolutions and reopenings.
type gen struct {
	rng *rand.Rand
	now time.Time
}

func (g *gen) conversation(id string) []*schema.Event {
	var evs []*schema.Event
	at := g.now.Add(time.Duration(g.rng.IntN(5*24*3600)) * time.Second)
	emit := func(typ schema.EventType, f func(*schema.Event)) {
		at = at.Add(time.Duration(g.rng.IntN(4000)+1) * time.Millisecond * time.Duration(1+g.rng.IntN(400)))
		e := &schema.Event{ID: fmt.Sprintf("%s-%d", id, len(evs)+1), Type: typ, ConversationID: id, Seq: uint64(len(evs) + 1), At: at}
		if f != nil {
			f(e)
		}
		evs = append(evs, e)
	}
	channels := []schema.Channel{schema.ChannelEmail, schema.ChannelWebchat, schema.ChannelSMS}
	ch := channels[g.rng.IntN(len(channels))]
	inbound := func() {
		kinds := []schema.Kind{schema.KindMessage, schema.KindMessage, schema.KindAction, schema.KindAutoReply}
		k := kinds[g.rng.IntN(len(kinds))]
		if g.rng.IntN(5) == 0 {
			ch = channels[g.rng.IntN(len(channels))]
		}
		emit(schema.EventMessage, func(e *schema.Event) {
			e.Message = &schema.Message{Direction: schema.Inbound, Kind: k, Channel: ch, Account: "acct" + fmt.Sprint(g.rng.IntN(2))}
		})
	}
	agent := func() string { return fmt.Sprintf("a%d", g.rng.IntN(3)+1) }
	queue := func() string { return fmt.Sprintf("q%d", g.rng.IntN(2)+1) }
	emit(schema.EventOpened, nil)
	evs[0].At = evs[0].At.Add(-time.Millisecond) // opened comes just before its message
	emit(schema.EventMessage, func(e *schema.Event) {
		e.Message = &schema.Message{Direction: schema.Inbound, Kind: schema.KindMessage, Channel: ch, Account: "acct0"}
	})
	cycles := 1 + g.rng.IntN(3)
	for c := range cycles {
		for range g.rng.IntN(9) {
			switch g.rng.IntN(9) {
			case 0, 1:
				inbound()
			case 2, 3:
				emit(schema.EventMessage, func(e *schema.Event) {
					e.Message = &schema.Message{Direction: schema.Outbound, Kind: schema.KindMessage, AgentID: agent(), Channel: ch}
				})
			case 4:
				emit(schema.EventMessage, func(e *schema.Event) {
					m := &schema.Message{Direction: schema.Outbound, Kind: schema.KindMessage, Channel: ch}
					switch g.rng.IntN(3) {
					case 0:
						m.Kind = schema.KindNote
					case 1:
						m.Flags = []string{schema.FlagAutomated}
					default:
						m.Kind = schema.KindAutoReply
					}
					e.Message = m
				})
			case 5:
				emit(schema.EventQueued, func(e *schema.Event) {
					e.Routing = &schema.Routing{Queue: queue(), Priority: g.rng.IntN(2)}
				})
			case 6:
				emit(schema.EventAssigned, func(e *schema.Event) {
					e.Routing = &schema.Routing{Queue: queue(), AgentID: agent(), Priority: g.rng.IntN(2)}
				})
			case 7:
				emit(schema.EventTransferred, func(e *schema.Event) {
					e.Routing = &schema.Routing{Queue: queue()}
					if g.rng.IntN(2) == 0 {
						e.Routing.AgentID = agent()
					}
				})
			case 8:
				emit(schema.EventUnassigned, nil)
			}
		}
		if g.rng.IntN(4) == 0 {
			break // left open
		}
		emit(schema.EventResolved, nil)
		if c < cycles-1 {
			at = at.Add(time.Duration(g.rng.IntN(3*24)) * time.Hour)
			emit(schema.EventReopened, nil)
			inbound()
		}
	}
	return evs
}

// sample is one figure as the brute force sees it.
type sample struct {
	at   time.Time
	dims Dims
	name string
	ms   int64
}

// bruteForce computes a conversation's figures from its whole history, straight from the
// definitions in docs/insight.md, without the tracker.
func bruteForce(evs []*schema.Event, cal interface {
	Between(a, b time.Time) time.Duration
}, window time.Duration) []sample {
	var out []sample
	add := func(at time.Time, d Dims, name string, ms int64) { out = append(out, sample{at, d, name, ms}) }
	opened := evs[0].At
	// The dimensions in force after each event.
	state := make([]Dims, len(evs))
	var cur Dims
	for i, e := range evs {
		switch e.Type {
		case schema.EventMessage:
			if m := e.Message; m.Direction == schema.Inbound && m.Kind != schema.KindAutoReply && m.Kind != schema.KindBounce {
				cur.Channel, cur.Account = string(m.Channel), m.Account
			}
		case schema.EventQueued, schema.EventAssigned, schema.EventTransferred:
			cur.Queue, cur.Agent, cur.Priority = e.Routing.Queue, e.Routing.AgentID, e.Routing.Priority
		case schema.EventUnassigned:
			cur.Agent = ""
		case schema.EventReopened:
			cur.Queue, cur.Agent, cur.Priority = "", "", 0
		}
		state[i] = cur
	}
	isCustomer := func(e *schema.Event) bool {
		return e.Type == schema.EventMessage && e.Message.Direction == schema.Inbound &&
			e.Message.Kind != schema.KindAutoReply && e.Message.Kind != schema.KindBounce
	}
	isReply := func(e *schema.Event) bool {
		m := e.Message
		return e.Type == schema.EventMessage && m.Direction == schema.Outbound && m.Kind == schema.KindMessage && !slices.Contains(m.Flags, schema.FlagAutomated)
	}
	// opened: channel/account of the first customer message; queue, agent and priority as they
	// stand at the first assignment or first resolution, else at the end.
	first := slices.IndexFunc(evs, isCustomer)
	fix := slices.IndexFunc(evs, func(e *schema.Event) bool {
		return e.Type == schema.EventResolved || (e.Routing != nil && e.Routing.AgentID != "" && e.Type != schema.EventQueued)
	})
	if fix < 0 {
		fix = len(evs) - 1
	}
	od := Dims{Channel: state[first].Channel, Account: state[first].Account, Queue: state[fix].Queue, Agent: state[fix].Agent, Priority: state[fix].Priority}
	add(opened, od, Opened, 0)
	if state[first].Channel == string(schema.ChannelWebchat) {
		add(opened, od, WebchatOpened, 0)
	}
	// Cycles: from the opening or a reopening to the next reopening.
	var starts []int
	for i, e := range evs {
		if i == 0 || e.Type == schema.EventReopened {
			starts = append(starts, i)
		}
	}
	resolutions, replies := 0, 0
	for ci, s := range starts {
		end := len(evs)
		if ci+1 < len(starts) {
			end = starts[ci+1]
		}
		if evs[s].Type == schema.EventReopened {
			add(evs[s].At, state[s-1], Reopened, 0)
		}
		responded := false
		var waiting, queued, assigned time.Time
		everAssigned := false
		for i := s; i < end; i++ {
			e := evs[i]
			switch {
			case isCustomer(e):
				add(e.At, state[i], MessagesIn, 0)
				k := e.Message.Kind
				if waiting.IsZero() && (k == schema.KindMessage || k == schema.KindAction) {
					waiting = e.At
				}
			case e.Type == schema.EventMessage && e.Message.Direction == schema.Outbound && e.Message.Kind == schema.KindNote:
				add(e.At, state[i], Notes, 0)
			case isReply(e):
				d := state[i]
				d.Agent = e.Message.AgentID
				replies++
				add(e.At, d, MessagesOut, 0)
				add(e.At, d, Replies, 0)
				if !waiting.IsZero() {
					name := NextResponse
					if !responded {
						name = FirstResponse
						add(e.At, d, FirstResponseBusiness, cal.Between(waiting, e.At).Milliseconds())
					}
					add(e.At, d, name, e.At.Sub(waiting).Milliseconds())
					responded, waiting = true, time.Time{}
				}
			case e.Type == schema.EventMessage && e.Message.Direction == schema.Outbound:
				add(e.At, state[i], AutomatedOut, 0)
				add(e.At, state[i], MessagesOut, 0)
			case e.Type == schema.EventQueued || e.Type == schema.EventUnassigned ||
				(e.Type == schema.EventTransferred && e.Routing.AgentID == ""):
				if queued.IsZero() {
					queued = e.At
				}
			case e.Type == schema.EventAssigned || e.Type == schema.EventTransferred:
				from := queued
				if from.IsZero() {
					from = e.At
				}
				add(e.At, state[i], QueueWait, e.At.Sub(from).Milliseconds())
				queued = time.Time{}
				if assigned.IsZero() {
					assigned = e.At
				}
				everAssigned = true
			case e.Type == schema.EventResolved:
				d := state[i]
				add(e.At, d, Resolved, 0)
				if !assigned.IsZero() {
					add(e.At, d, HandleTime, e.At.Sub(assigned).Milliseconds())
				}
				if resolutions == 0 {
					add(e.At, d, ResolvedFirst, 0)
					add(e.At, d, ResolutionFirst, e.At.Sub(opened).Milliseconds())
					reopenedSoon := end < len(evs) && evs[end].At.Sub(e.At) <= window
					if !reopenedSoon {
						add(e.At, d, FCR, 0)
						if replies == 1 {
							add(e.At, d, FCROneReply, 0)
						}
					}
					if d.Channel == string(schema.ChannelWebchat) && !everAssigned && replies == 0 {
						add(e.At, d, Abandoned, 0)
					}
				}
				if end == len(evs) {
					add(e.At, d, ResolutionFinal, e.At.Sub(opened).Milliseconds())
				}
				resolutions++
				waiting, queued, assigned = time.Time{}, time.Time{}, time.Time{}
			}
		}
	}
	return out
}

type stepCalendar struct{ loc *time.Location }

// Between counts open time second by second: weekdays 09:00-17:00 in loc.
func (c stepCalendar) Between(a, b time.Time) time.Duration {
	var d time.Duration
	for t := a; t.Before(b); {
		lt := t.In(c.loc)
		next := t.Add(time.Second)
		if lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday && lt.Hour() >= 9 && lt.Hour() < 17 {
			d += next.Sub(t)
		} else if lt.Hour() >= 17 || lt.Hour() < 9 || lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday {
			// jump to the next whole hour to keep the walk short
			next = t.Truncate(time.Hour).Add(time.Hour)
		}
		if next.After(b) {
			if lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday && lt.Hour() >= 9 && lt.Hour() < 17 {
				d -= next.Sub(b)
			}
			break
		}
		t = next
	}
	return d
}

func TestFiguresEqualABruteForceRecomputation(t *testing.T) {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for seed := range uint64(12) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := &gen{rng: rand.New(rand.NewPCG(seed, 99)), now: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)} // DST ends in New York on 1 Nov
			cal := stepCalendar{loc}
			o := Options{Calendar: cal, ReopenWindow: 48 * time.Hour}
			var all []*schema.Event
			var want []sample
			for i := range 60 {
				evs := g.conversation(fmt.Sprintf("c%d", i))
				all = append(all, evs...)
				want = append(want, bruteForce(evs, cal, o.ReopenWindow)...)
			}
			// The projection sees the conversations interleaved, in time order.
			sort.SliceStable(all, func(i, j int) bool { return all[i].At.Before(all[j].At) })
			cells := map[string]*Cell{}
			trackers := map[string]*Tracker{}
			for _, e := range all {
				tr := trackers[e.ConversationID]
				if tr == nil {
					tr = &Tracker{}
					trackers[e.ConversationID] = tr
				}
				for _, op := range tr.Apply(e, o) {
					for _, k := range CellKeys(op.At, loc) {
						if cells[k] == nil {
							cells[k] = NewCell()
						}
						cells[k].Add(op)
					}
				}
				if again := tr.Apply(e, o); again != nil {
					t.Fatalf("an event applied twice gave ops again: %v", again)
				}
			}
			rng := rand.New(rand.NewPCG(seed, 7))
			for q := range 40 {
				from := g.now.Add(time.Duration(rng.IntN(6*24*4)) * 15 * time.Minute)
				to := from.Add(time.Duration(1+rng.IntN(8*24*4)) * 15 * time.Minute)
				if q%5 == 0 { // whole local days
					from = startOfDay(from.In(loc)).Add(24 * time.Hour)
					to = time.Date(from.Year(), from.Month(), from.Day()+1+rng.IntN(5), 0, 0, 0, 0, loc)
				}
				ivs := []Interval{IntervalNone, Interval15m, IntervalHour, IntervalDay, IntervalWeek}
				iv := ivs[rng.IntN(len(ivs))]
				var groupBy []string
				for _, d := range DimNames {
					if rng.IntN(3) == 0 {
						groupBy = append(groupBy, d)
					}
				}
				compare(t, fmt.Sprintf("query %d [%s, %s) %q by %v", q, from, to, iv, groupBy), cells, want, from, to, iv, groupBy, loc)
			}
		})
	}
}

func compare(t *testing.T, what string, cells map[string]*Cell, want []sample, from, to time.Time, iv Interval, groupBy []string, loc *time.Location) {
	t.Helper()
	plan, err := Plan(from, to, iv, loc)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	acc := NewAccumulator(groupBy)
	for _, ref := range plan {
		if c := cells[ref.Key]; c != nil {
			acc.Add(ref.Bucket, c)
		}
	}
	got := map[accKey]Summary{}
	for _, s := range acc.Summaries() {
		got[accKey{s.Start, s.Dims}] = s
	}
	keep := map[string]bool{}
	for _, g := range groupBy {
		keep[g] = true
	}
	type agg struct {
		counts map[string]int64
		vals   map[string][]int64
	}
	brute := map[accKey]*agg{}
	for _, s := range want {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		k := accKey{BucketOf(s.at, iv, loc, from), s.dims.Project(keep)}
		a := brute[k]
		if a == nil {
			a = &agg{counts: map[string]int64{}, vals: map[string][]int64{}}
			brute[k] = a
		}
		if IsMetric(s.name) {
			a.vals[s.name] = append(a.vals[s.name], s.ms)
		} else {
			a.counts[s.name]++
		}
	}
	for k, a := range brute {
		s, ok := got[k]
		if !ok {
			t.Fatalf("%s: group %v at %s missing from the report", what, k.dims, k.start)
		}
		delete(got, k)
		for _, c := range Counters {
			if s.Counts[c] != a.counts[c] {
				t.Fatalf("%s: group %v at %s: %s = %d, brute force %d", what, k.dims, k.start, c, s.Counts[c], a.counts[c])
			}
		}
		for _, m := range Metrics {
			vals := a.vals[m]
			ms := s.Metrics[m]
			if ms.Count != int64(len(vals)) {
				t.Fatalf("%s: %v: %s count %d, brute force %d", what, k.dims, m, ms.Count, len(vals))
			}
			if len(vals) == 0 {
				continue
			}
			var sum int64
			qs := make([]int64, len(vals))
			for i, v := range vals {
				sum += v
				qs[i] = Quantize(v)
			}
			slices.Sort(qs)
			avg := float64(sum) / float64(len(vals)) / 1000
			if math.Abs(ms.AvgSeconds-avg) > 1e-9 {
				t.Fatalf("%s: %v: %s avg %v, brute force %v", what, k.dims, m, ms.AvgSeconds, avg)
			}
			rank := func(p int) int64 { return qs[(p*len(qs)+99)/100-1] }
			if ms.P50Seconds != rank(50) || ms.P90Seconds != rank(90) {
				t.Fatalf("%s: %v: %s p50/p90 %d/%d, brute force %d/%d", what, k.dims, m, ms.P50Seconds, ms.P90Seconds, rank(50), rank(90))
			}
		}
		for _, r := range Rates {
			if a.counts[r.Den] == 0 {
				if s.Rates[r.Name] != nil {
					t.Fatalf("%s: %s should be undefined", what, r.Name)
				}
				continue
			}
			if v := float64(a.counts[r.Num]) / float64(a.counts[r.Den]); s.Rates[r.Name] == nil || *s.Rates[r.Name] != v {
				t.Fatalf("%s: %s = %v, brute force %v", what, r.Name, s.Rates[r.Name], v)
			}
		}
	}
	for k, s := range got {
		for _, c := range Counters {
			if s.Counts[c] != 0 {
				t.Fatalf("%s: the report has group %v at %s the brute force does not (%s = %d)", what, k.dims, k.start, c, s.Counts[c])
			}
		}
	}
}
