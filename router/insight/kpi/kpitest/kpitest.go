// Package kpitest holds the brute-force side of the insight tests: random conversation
// histories and the figures computed straight from the definitions in docs/insight.md.
package kpitest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/schema"
)

// Gen builds random conversation histories the way the router writes them: opened, a
// customer message, then routing, replies, notes, resolutions and reopenings.
type Gen struct {
	Rng *rand.Rand
	Now time.Time
}

// Conversation is one random conversation's events.
func (g *Gen) Conversation(id string) []*schema.Event {
	var evs []*schema.Event
	at := g.Now.Add(time.Duration(g.Rng.IntN(5*24*3600)) * time.Second)
	emit := func(typ schema.EventType, f func(*schema.Event)) {
		at = at.Add(time.Duration(g.Rng.IntN(4000)+1) * time.Millisecond * time.Duration(1+g.Rng.IntN(400)))
		e := &schema.Event{ID: fmt.Sprintf("%s-%d", id, len(evs)+1), Type: typ, ConversationID: id, Seq: uint64(len(evs) + 1), At: at}
		if f != nil {
			f(e)
		}
		evs = append(evs, e)
	}
	channels := []schema.Channel{schema.ChannelEmail, schema.ChannelWebchat, schema.ChannelSMS}
	ch := channels[g.Rng.IntN(len(channels))]
	inbound := func() {
		kinds := []schema.Kind{schema.KindMessage, schema.KindMessage, schema.KindAction, schema.KindAutoReply}
		k := kinds[g.Rng.IntN(len(kinds))]
		if g.Rng.IntN(5) == 0 {
			ch = channels[g.Rng.IntN(len(channels))]
		}
		emit(schema.EventMessage, func(e *schema.Event) {
			e.Message = &schema.Message{Direction: schema.Inbound, Kind: k, Channel: ch, Account: "acct" + fmt.Sprint(g.Rng.IntN(2))}
		})
	}
	agent := func() string { return fmt.Sprintf("a%d", g.Rng.IntN(3)+1) }
	slaEvent := func() {
		metrics := []string{schema.SLAFirstResponse, schema.SLANextResponse, schema.SLAResolution, "unknown"}
		typ := []schema.EventType{schema.EventSLABreached, schema.EventSLASatisfied, schema.EventSLAApplied, schema.EventSLAWarning}[g.Rng.IntN(4)]
		emit(typ, func(e *schema.Event) {
			e.SLA = &schema.SLAEvent{Policy: "p", Clock: schema.SLAClock{Metric: metrics[g.Rng.IntN(len(metrics))]}}
			if g.Rng.IntN(3) == 0 {
				at := e.At
				e.SLA.Clock.BreachedAt = &at
			}
		})
	}
	queue := func() string { return fmt.Sprintf("q%d", g.Rng.IntN(2)+1) }
	emit(schema.EventOpened, nil)
	evs[0].At = evs[0].At.Add(-time.Millisecond) // opened comes just before its message
	emit(schema.EventMessage, func(e *schema.Event) {
		e.Message = &schema.Message{Direction: schema.Inbound, Kind: schema.KindMessage, Channel: ch, Account: "acct0"}
	})
	cycles := 1 + g.Rng.IntN(3)
	for c := range cycles {
		for range g.Rng.IntN(10) {
			switch g.Rng.IntN(10) {
			case 9:
				slaEvent()
			case 0, 1:
				inbound()
			case 2, 3:
				emit(schema.EventMessage, func(e *schema.Event) {
					e.Message = &schema.Message{Direction: schema.Outbound, Kind: schema.KindMessage, AgentID: agent(), Channel: ch}
				})
			case 4:
				emit(schema.EventMessage, func(e *schema.Event) {
					m := &schema.Message{Direction: schema.Outbound, Kind: schema.KindMessage, Channel: ch}
					switch g.Rng.IntN(3) {
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
					e.Routing = &schema.Routing{Queue: queue(), Priority: g.Rng.IntN(2)}
				})
			case 6:
				emit(schema.EventAssigned, func(e *schema.Event) {
					e.Routing = &schema.Routing{Queue: queue(), AgentID: agent(), Priority: g.Rng.IntN(2)}
				})
			case 7:
				emit(schema.EventTransferred, func(e *schema.Event) {
					e.Routing = &schema.Routing{Queue: queue()}
					if g.Rng.IntN(2) == 0 {
						e.Routing.AgentID = agent()
					}
				})
			case 8:
				emit(schema.EventUnassigned, nil)
			}
		}
		if g.Rng.IntN(4) == 0 {
			break // left open
		}
		emit(schema.EventResolved, nil)
		if g.Rng.IntN(2) == 0 {
			g.survey(id, c, emit)
		}
		if c < cycles-1 {
			at = at.Add(time.Duration(g.Rng.IntN(3*24)) * time.Hour)
			emit(schema.EventReopened, nil)
			inbound()
		}
	}
	return evs
}

// survey adds a survey after a resolution: skipped, or sent (perhaps reminded), then
// answered up to three times (a changed answer) or expired.
func (g *Gen) survey(conv string, n int, emit func(schema.EventType, func(*schema.Event))) {
	kind := []string{schema.SurveyCSAT, schema.SurveyNPS}[g.Rng.IntN(2)]
	lo, hi := schema.SurveyScale(kind)
	chs := []schema.Channel{schema.ChannelSMS, schema.ChannelWhatsApp, schema.ChannelEmail}
	se := func() *schema.SurveyEvent {
		return &schema.SurveyEvent{ID: fmt.Sprintf("%s-s%d", conv, n+1), Kind: kind, Min: lo, Max: hi, Channel: chs[n%len(chs)], Account: "sa"}
	}
	emit(schema.EventSurveyScheduled, func(e *schema.Event) { e.Survey = se() })
	if g.Rng.IntN(6) == 0 {
		emit(schema.EventSurveySkipped, func(e *schema.Event) { e.Survey = se() })
		return
	}
	emit(schema.EventSurveySent, func(e *schema.Event) { e.Survey = se() })
	if g.Rng.IntN(3) == 0 {
		emit(schema.EventSurveySent, func(e *schema.Event) { e.Survey = se(); e.Survey.Reminder = true })
	}
	answers := g.Rng.IntN(4)
	if answers == 0 && g.Rng.IntN(2) == 0 {
		emit(schema.EventSurveyExpired, func(e *schema.Event) { e.Survey = se() })
	}
	for range answers {
		emit(schema.EventMessage, func(e *schema.Event) {
			e.Message = &schema.Message{Direction: schema.Inbound, Kind: schema.KindMessage, Channel: chs[n%len(chs)], Account: "sa",
				Flags: []string{schema.FlagSurveyAnswer}}
		})
		score := lo + g.Rng.IntN(hi-lo+1)
		emit(schema.EventSurveyAnswered, func(e *schema.Event) { e.Survey = se(); e.Survey.Score = &score })
	}
}

// surveySamples: per survey, its first sending; the latest answer (when it was given, under
// the dimensions then, with the survey's channel and account); expiries and skips.
func surveySamples(evs []*schema.Event, state []kpi.Dims) []Sample {
	var out []Sample
	last := map[string]int{}
	var order []string
	at := func(i int) kpi.Dims {
		d := state[i]
		d.Channel, d.Account = string(evs[i].Survey.Channel), evs[i].Survey.Account
		return d
	}
	for i, e := range evs {
		if e.Survey == nil {
			continue
		}
		switch e.Type {
		case schema.EventSurveySent:
			if !e.Survey.Reminder {
				out = append(out, Sample{e.At, at(i), e.Survey.Kind + "_sent", 0})
			}
		case schema.EventSurveyExpired:
			out = append(out, Sample{e.At, at(i), kpi.SurveysExpired, 0})
		case schema.EventSurveySkipped:
			out = append(out, Sample{e.At, at(i), kpi.SurveysSkipped, 0})
		case schema.EventSurveyAnswered:
			if _, ok := last[e.Survey.ID]; !ok {
				order = append(order, e.Survey.ID)
			}
			last[e.Survey.ID] = i
		}
	}
	for _, id := range order {
		i := last[id]
		e, d := evs[i], at(last[id])
		score := *e.Survey.Score
		if e.Survey.Kind == schema.SurveyNPS {
			out = append(out, Sample{e.At, d, kpi.NPSAnswers, 0}, Sample{e.At, d, kpi.NPSScoreSum, int64(score)})
			if score >= 9 {
				out = append(out, Sample{e.At, d, kpi.NPSPromoters, 0})
			}
			if score <= 6 {
				out = append(out, Sample{e.At, d, kpi.NPSDetractors, 0})
			}
			continue
		}
		out = append(out, Sample{e.At, d, kpi.CSATAnswers, 0}, Sample{e.At, d, kpi.CSATScoreSum, int64(score)})
		if score >= 4 {
			out = append(out, Sample{e.At, d, kpi.CSATSatisfied, 0})
		}
	}
	return out
}

// Sample is one figure as the brute force sees it.
type Sample struct {
	At   time.Time
	Dims kpi.Dims
	Name string
	Ms   int64
}

// dimsAfterEach is the dimensions in force after each event.
func dimsAfterEach(evs []*schema.Event) []kpi.Dims {
	state := make([]kpi.Dims, len(evs))
	var cur kpi.Dims
	for i, e := range evs {
		switch e.Type {
		case schema.EventMessage:
			if m := e.Message; m.Direction == schema.Inbound && m.Kind != schema.KindAutoReply && m.Kind != schema.KindBounce &&
				!slices.Contains(m.Flags, schema.FlagSurveyAnswer) {
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
	return state
}

func isCustomer(e *schema.Event) bool {
	return e.Type == schema.EventMessage && e.Message.Direction == schema.Inbound &&
		e.Message.Kind != schema.KindAutoReply && e.Message.Kind != schema.KindBounce && !slices.Contains(e.Message.Flags, schema.FlagSurveyAnswer)
}

func isReply(e *schema.Event) bool {
	m := e.Message
	return e.Type == schema.EventMessage && m.Direction == schema.Outbound && m.Kind == schema.KindMessage && !slices.Contains(m.Flags, schema.FlagAutomated)
}

// openedSamples: channel/account of the first customer message; queue, agent and priority as
// they stand at the first assignment or first resolution, else at the end.
func openedSamples(evs []*schema.Event, state []kpi.Dims) []Sample {
	first := slices.IndexFunc(evs, isCustomer)
	fix := slices.IndexFunc(evs, func(e *schema.Event) bool {
		return e.Type == schema.EventResolved || (e.Routing != nil && e.Routing.AgentID != "" && e.Type != schema.EventQueued)
	})
	if fix < 0 {
		fix = len(evs) - 1
	}
	od := kpi.Dims{Channel: state[first].Channel, Account: state[first].Account, Queue: state[fix].Queue, Agent: state[fix].Agent, Priority: state[fix].Priority}
	out := []Sample{{evs[0].At, od, kpi.Opened, 0}}
	if state[first].Channel == string(schema.ChannelWebchat) {
		out = append(out, Sample{evs[0].At, od, kpi.WebchatOpened, 0})
	}
	return out
}

// BruteForce computes a conversation's figures from its whole history, straight from the
// definitions in docs/insight.md, without the tracker.
func BruteForce(evs []*schema.Event, cal interface {
	Between(a, b time.Time) time.Duration
}, window time.Duration) []Sample {
	var out []Sample
	add := func(at time.Time, d kpi.Dims, name string, ms int64) { out = append(out, Sample{at, d, name, ms}) }
	opened := evs[0].At
	state := dimsAfterEach(evs)
	out = append(out, openedSamples(evs, state)...)
	out = append(out, surveySamples(evs, state)...)
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
			add(evs[s].At, state[s-1], kpi.Reopened, 0)
		}
		responded := false
		var waiting, queued, assigned time.Time
		everAssigned := false
		for i := s; i < end; i++ {
			e := evs[i]
			switch {
			case isCustomer(e):
				add(e.At, state[i], kpi.MessagesIn, 0)
				k := e.Message.Kind
				if waiting.IsZero() && (k == schema.KindMessage || k == schema.KindAction) {
					waiting = e.At
				}
			case e.Type == schema.EventMessage && e.Message.Direction == schema.Outbound && e.Message.Kind == schema.KindNote:
				add(e.At, state[i], kpi.Notes, 0)
			case isReply(e):
				d := state[i]
				d.Agent = e.Message.AgentID
				replies++
				add(e.At, d, kpi.MessagesOut, 0)
				add(e.At, d, kpi.Replies, 0)
				if !waiting.IsZero() {
					name := kpi.NextResponse
					if !responded {
						name = kpi.FirstResponse
						add(e.At, d, kpi.FirstResponseBusiness, cal.Between(waiting, e.At).Milliseconds())
					}
					add(e.At, d, name, e.At.Sub(waiting).Milliseconds())
					responded, waiting = true, time.Time{}
				}
			case e.Type == schema.EventMessage && e.Message.Direction == schema.Outbound:
				add(e.At, state[i], kpi.AutomatedOut, 0)
				add(e.At, state[i], kpi.MessagesOut, 0)
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
				add(e.At, state[i], kpi.QueueWait, e.At.Sub(from).Milliseconds())
				add(e.At, state[i], kpi.Assignments, 0)
				queued = time.Time{}
				if assigned.IsZero() {
					assigned = e.At
				}
				everAssigned = true
			case (e.Type == schema.EventSLABreached || e.Type == schema.EventSLASatisfied) && e.SLA != nil:
				m := e.SLA.Clock.Metric
				known := m == schema.SLAFirstResponse || m == schema.SLANextResponse || m == schema.SLAResolution
				switch {
				case !known:
				case e.Type == schema.EventSLABreached:
					add(e.At, state[i], "sla_"+m+"_breached", 0)
				case e.SLA.Clock.BreachedAt == nil:
					add(e.At, state[i], "sla_"+m+"_met", 0)
				}
			case e.Type == schema.EventResolved:
				d := state[i]
				add(e.At, d, kpi.Resolved, 0)
				if !assigned.IsZero() {
					add(e.At, d, kpi.HandleTime, e.At.Sub(assigned).Milliseconds())
				}
				if resolutions == 0 {
					add(e.At, d, kpi.ResolvedFirst, 0)
					add(e.At, d, kpi.ResolutionFirst, e.At.Sub(opened).Milliseconds())
					reopenedSoon := end < len(evs) && evs[end].At.Sub(e.At) <= window
					if !reopenedSoon && replies > 0 {
						add(e.At, d, kpi.FCR, 0)
						if replies == 1 {
							add(e.At, d, kpi.FCROneReply, 0)
						}
					}
					if d.Channel == string(schema.ChannelWebchat) && !everAssigned && replies == 0 {
						add(e.At, d, kpi.Abandoned, 0)
						add(e.At, d, kpi.AbandonWait, e.At.Sub(opened).Milliseconds())
					}
				}
				if end == len(evs) {
					add(e.At, d, kpi.ResolutionFinal, e.At.Sub(opened).Milliseconds())
				}
				resolutions++
				waiting, queued, assigned = time.Time{}, time.Time{}, time.Time{}
			}
		}
	}
	return out
}

// StepCalendar is weekdays 09:00-17:00 in Loc, counted step by step.
type StepCalendar struct{ Loc *time.Location }

// Between counts open time second by second: weekdays 09:00-17:00 in loc.
func (c StepCalendar) Between(a, b time.Time) time.Duration {
	var d time.Duration
	for t := a; t.Before(b); {
		lt := t.In(c.Loc)
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

// Compare checks a report's rows against the brute force's samples over [from, to).
func Compare(t testing.TB, what string, rows []kpi.Summary, want []Sample, from, to time.Time, iv kpi.Interval, groupBy []string, loc *time.Location) {
	t.Helper()
	type accKey struct {
		start time.Time
		dims  kpi.Dims
	}
	got := map[accKey]kpi.Summary{}
	for _, s := range rows {
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
		if s.At.Before(from) || !s.At.Before(to) {
			continue
		}
		k := accKey{kpi.BucketOf(s.At, iv, loc, from), s.Dims.Project(keep)}
		a := brute[k]
		if a == nil {
			a = &agg{counts: map[string]int64{}, vals: map[string][]int64{}}
			brute[k] = a
		}
		switch {
		case kpi.IsMetric(s.Name):
			a.vals[s.Name] = append(a.vals[s.Name], s.Ms)
		case s.Name == kpi.CSATScoreSum || s.Name == kpi.NPSScoreSum:
			a.counts[s.Name] += s.Ms // a sum of scores
		default:
			a.counts[s.Name]++
		}
	}
	for k, a := range brute {
		s, ok := got[k]
		if !ok {
			t.Fatalf("%s: group %v at %s missing from the report", what, k.dims, k.start)
		}
		delete(got, k)
		for _, c := range kpi.Counters {
			if s.Counts[c] != a.counts[c] {
				t.Fatalf("%s: group %v at %s: %s = %d, brute force %d", what, k.dims, k.start, c, s.Counts[c], a.counts[c])
			}
		}
		for _, m := range kpi.Metrics {
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
				qs[i] = kpi.Quantize(v)
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
		for _, r := range kpi.Rates {
			den := a.counts[r.Den] + a.counts[r.Plus]
			if den == 0 {
				if s.Rates[r.Name] != nil {
					t.Fatalf("%s: %s should be undefined", what, r.Name)
				}
				continue
			}
			if v := float64(a.counts[r.Num]) / float64(den); s.Rates[r.Name] == nil || *s.Rates[r.Name] != v {
				t.Fatalf("%s: %s = %v, brute force %v", what, r.Name, s.Rates[r.Name], v)
			}
		}
	}
	for k, s := range got {
		for _, c := range kpi.Counters {
			if s.Counts[c] != 0 {
				t.Fatalf("%s: the report has group %v at %s the brute force does not (%s = %d)", what, k.dims, k.start, c, s.Counts[c])
			}
		}
	}
}

// StartOfDay is t's local midnight.
func StartOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}
