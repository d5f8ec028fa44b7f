package insight

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/schema"
)

// officeHour is the generated arrivals: conversations per hour on weekdays 08–18, none else.
func officeHour(t time.Time) int {
	if t.Weekday() == time.Saturday || t.Weekday() == time.Sunday || t.Hour() < 8 || t.Hour() >= 18 {
		return 0
	}
	return []int{4, 10, 14, 12, 6, 8, 12, 11, 8, 5}[t.Hour()-8]
}

// requiredByFormula is the smallest headcount whose Erlang C service level (factorial
// formula, computed here) reaches share within t.
func requiredByFormula(perHour float64, aht, within time.Duration, share float64) int {
	a := perHour / 3600 * aht.Seconds()
	if a == 0 {
		return 0
	}
	for n := int(a) + 1; ; n++ {
		term, sum := 1.0, 1.0
		for k := 1; k < n; k++ {
			term *= a / float64(k)
			sum += term
		}
		top := term * a / float64(n) * float64(n) / (float64(n) - a)
		c := top / (sum + top)
		if 1-c*math.Exp(-(float64(n)-a)*within.Seconds()/aht.Seconds()) >= share {
			return n
		}
	}
}

// TestStaffingFromAGeneratedHistory: three weeks of email conversations with a known hourly
// pattern, a 6-minute handle time, queue waits alternating 10 s and 30 s, two eligible agents
// on duty weekdays 08–18 (and one who is not eligible, always on). The report measures each
// hour's arrivals, handle time, achieved share within 20 s and staffed agents as generated,
// its backtest of a repeating pattern is exact (WAPE 0), the forecast day repeats the
// pattern, and each hour's requirement is the factorial formula's.
func TestStaffingFromAGeneratedHistory(t *testing.T) {
	e := newEnv(t, Config{Timezone: "UTC"})
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC) // a Monday
	end := start.AddDate(0, 0, 21)
	var evs []*schema.Event
	presence := func(agent, status string, at time.Time) {
		evs = append(evs, &schema.Event{ID: fmt.Sprintf("p-%s-%d", agent, at.Unix()), Type: schema.EventAgentPresence, Seq: 1, At: at,
			Presence: &schema.PresenceSample{Agent: agent, Status: status}})
	}
	presence("outsider", "available", start)
	n := 0
	chats := map[time.Time]int{} // per hour: every third conversation is a live chat
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		if h.Weekday() != time.Saturday && h.Weekday() != time.Sunday && h.Hour() == 8 {
			presence("a1", "available", h)
			presence("a2", "available", h)
		}
		if h.Weekday() != time.Saturday && h.Weekday() != time.Sunday && h.Hour() == 18 {
			presence("a1", "offline", h)
			presence("a2", "offline", h)
		}
		k := officeHour(h)
		for i := range k {
			n++
			id := fmt.Sprintf("c%d", n)
			at := h.Add(time.Duration(i) * time.Hour / time.Duration(k))
			wait := 10 * time.Second
			if n%2 == 0 {
				wait = 30 * time.Second
			}
			seq := uint64(0)
			ev := func(typ schema.EventType, at time.Time, f func(*schema.Event)) {
				seq++
				e := &schema.Event{ID: fmt.Sprintf("%s-%d", id, seq), Type: typ, ConversationID: id, Seq: seq, At: at}
				if f != nil {
					f(e)
				}
				evs = append(evs, e)
			}
			ch := schema.ChannelEmail
			if n%3 == 0 {
				ch = schema.ChannelWebchat
				chats[h]++
			}
			ev(schema.EventOpened, at, nil)
			ev(schema.EventMessage, at, func(e *schema.Event) {
				e.Message = &schema.Message{Direction: schema.Inbound, Kind: schema.KindMessage, Channel: ch, Account: "support"}
			})
			ev(schema.EventQueued, at.Add(time.Millisecond), func(e *schema.Event) { e.Routing = &schema.Routing{Queue: "general"} })
			ev(schema.EventAssigned, at.Add(time.Millisecond+wait), func(e *schema.Event) {
				e.Routing = &schema.Routing{Queue: "general", AgentID: "a1"}
			})
			ev(schema.EventResolved, at.Add(time.Millisecond+wait+6*time.Minute), nil)
		}
	}
	presence("outsider", "offline", end)
	last := e.publishAll(evs)
	e.run(last)
	reports, err := OpenReports(context.Background(), e.js, e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	target := planning.Target{Share: 0.8, Within: 20 * time.Second}
	rep, err := reports.Staffing(context.Background(), StaffingQuery{From: start, To: end, Interval: time.Hour, Queue: "general",
		Target: target, Eligible: func(a string) bool { return a == "a1" || a == "a2" }, Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Inputs.Arrivals != int64(n) || rep.Inputs.AHT != 6*time.Minute || rep.Inputs.Handled != int64(n) {
		t.Fatalf("inputs %+v, want %d arrivals, AHT 6m", rep.Inputs, n)
	}
	if rep.Backtest == nil || rep.Backtest.WAPE != 0 {
		t.Fatalf("backtest %+v (%s), want WAPE 0", rep.Backtest, rep.ForecastNote)
	}
	if len(rep.Rows) != 21*24+24 {
		t.Fatalf("%d rows, want %d", len(rep.Rows), 21*24+24)
	}
	served := map[bool]int{} // per hour: conversations, odd ones waiting 10 s
	for i, row := range rep.Rows {
		want := officeHour(row.Start)
		if math.Abs(row.Arrivals-float64(want)) > 1e-9 {
			t.Fatalf("%s: arrivals %.2f, want %d", row.Start, row.Arrivals, want)
		}
		if req := requiredByFormula(float64(want), 6*time.Minute, 20*time.Second, 0.8); row.Required != req {
			t.Fatalf("%s: required %d, want %d", row.Start, row.Required, req)
		}
		if row.Forecast != (i >= 21*24) {
			t.Fatalf("%s: forecast %v", row.Start, row.Forecast)
		}
		if row.Forecast {
			continue
		}
		staffed := 0.0
		if want > 0 || (row.Start.Weekday() != time.Saturday && row.Start.Weekday() != time.Sunday && row.Start.Hour() >= 8 && row.Start.Hour() < 18) {
			staffed = 2
		}
		if math.Abs(row.Staffed-staffed) > 1e-9 {
			t.Fatalf("%s: staffed %.3f, want %.0f", row.Start, row.Staffed, staffed)
		}
		if want > 0 {
			served[true]++
			if row.Achieved == nil {
				t.Fatalf("%s: no achieved service level", row.Start)
			}
		}
	}
	// The share within 20 s over the whole range: the odd-numbered conversations (10 s).
	var within, all float64
	for _, row := range rep.Rows {
		if row.Achieved != nil {
			within += *row.Achieved * row.Arrivals
			all += row.Arrivals
		}
	}
	if got, want := within/all, float64((n+1)/2)/float64(n); math.Abs(got-want) > 1e-9 {
		t.Errorf("achieved within 20 s: %.4f, want %.4f", got, want)
	}
	if served[true] == 0 {
		t.Fatal("no hour had arrivals")
	}
	// Per channel: the live chats alone, hour by hour; the agents on duty are the queue's.
	chat, err := reports.Staffing(context.Background(), StaffingQuery{From: start, To: end, Interval: time.Hour, Queue: "general",
		Channel: "webchat", Target: target, Eligible: func(a string) bool { return a == "a1" || a == "a2" }})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, k := range chats {
		total += k
	}
	if chat.Channel != "webchat" || chat.Inputs.Arrivals != int64(total) || chat.Inputs.AHT != 6*time.Minute || len(chat.Rows) != 21*24 {
		t.Fatalf("webchat: %s %+v, %d rows; want %d arrivals", chat.Channel, chat.Inputs, len(chat.Rows), total)
	}
	for i, row := range chat.Rows {
		if want := chats[row.Start]; math.Abs(row.Arrivals-float64(want)) > 1e-9 || row.Staffed != rep.Rows[i].Staffed {
			t.Fatalf("webchat %s: arrivals %.2f staffed %.2f, want %d and the queue's %.2f", row.Start, row.Arrivals, row.Staffed, want, rep.Rows[i].Staffed)
		}
		if req := requiredByFormula(float64(chats[row.Start]), 6*time.Minute, 20*time.Second, 0.8); row.Required != req {
			t.Fatalf("webchat %s: required %d, want %d", row.Start, row.Required, req)
		}
	}
	// Bad queries name the parameter.
	for _, q := range []StaffingQuery{
		{From: start, To: end, Interval: time.Hour, Queue: "general", Channel: "sms"}, // none on SMS
		{From: start, To: end, Interval: 20 * time.Minute, Queue: "general"},
		{From: start, To: end, Interval: time.Hour},
		{From: start, To: end, Interval: time.Hour, Queue: "nosuch"},
	} {
		if _, err := reports.Staffing(context.Background(), q); err == nil {
			t.Errorf("%+v: no error", q)
		} else if _, ok := err.(*QueryError); !ok {
			t.Errorf("%+v: %T %v, want a QueryError", q, err, err)
		}
	}
}

// publishAll stores conversation and presence events in time order.
func (e *env) publishAll(evs []*schema.Event) uint64 {
	e.t.Helper()
	sortByTime(evs)
	var last uint64
	for _, ev := range evs {
		ev.Schema = schema.EventSchema
		data, _ := json.Marshal(ev)
		subj := streams.EventSubject(ev)
		if ev.Type == schema.EventAgentPresence {
			subj = streams.PresenceEventSubject(ev.Presence.Agent)
		}
		ack, err := e.js.Publish(context.Background(), subj, data, jetstream.WithMsgID(ev.ID))
		if err != nil {
			e.t.Fatal(err)
		}
		last = ack.Sequence
	}
	return last
}

func sortByTime(evs []*schema.Event) {
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].At.Before(evs[j].At) })
}
