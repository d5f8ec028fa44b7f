package kpi_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/insight/kpi/kpitest"
	"github.com/switchboardhq/switchboard/schema"
)

// TestTrackerStateSurvivesEncoding: a tracker encoded after any event and decoded gives the
// same ops for the rest of the conversation as one that never stopped (surveys answered and
// replaced, reopenings within and past the window, routing moves included).
func TestTrackerStateSurvivesEncoding(t *testing.T) {
	o := kpi.Options{Calendar: kpitest.StepCalendar{Loc: time.UTC}, ReopenWindow: 48 * time.Hour}
	g := &kpitest.Gen{Rng: rand.New(rand.NewPCG(3, 4)), Now: time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)}
	opsJSON := func(ops []kpi.Op) string {
		data, err := json.Marshal(ops)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	cuts := 0
	for i := range 80 {
		evs := g.Conversation(fmt.Sprintf("c%d", i))
		whole := &kpi.Tracker{}
		var want []string
		for _, e := range evs {
			want = append(want, opsJSON(whole.Apply(e, o)))
		}
		for cut := range len(evs) {
			before := &kpi.Tracker{}
			for _, e := range evs[:cut] {
				before.Apply(e, o)
			}
			data, err := json.Marshal(before)
			if err != nil {
				t.Fatal(err)
			}
			after := &kpi.Tracker{}
			if err := json.Unmarshal(data, after); err != nil {
				t.Fatalf("%s: decode %s: %v", evs[0].ConversationID, data, err)
			}
			for k, e := range evs[cut:] {
				if got := opsJSON(after.Apply(e, o)); got != want[cut+k] {
					t.Fatalf("%s cut after %d events, event %d (%s): ops %s, want %s (state %s)", e.ConversationID, cut, cut+k+1, e.Type, got, want[cut+k], data)
				}
			}
			cuts++
		}
	}
	if cuts < 500 {
		t.Fatalf("only %d cuts tried", cuts)
	}
	if err := json.Unmarshal([]byte(`{"seq":"x"}`), &kpi.Tracker{}); err == nil {
		t.Fatal("a bad state decoded")
	}
}

// TestPresenceStateSurvivesEncoding: a presence decoded from its encoding closes the next
// interval as the original does.
func TestPresenceStateSurvivesEncoding(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC)
	ev := func(at time.Time, status string, load, max int) *schema.Event {
		return &schema.Event{Type: schema.EventAgentPresence, At: at, Presence: &schema.PresenceSample{Agent: "ann", Status: status, Load: load, MaxLoad: max}}
	}
	p := &kpi.Presence{}
	p.Apply(ev(t0, "available", 2, 4))
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	q := &kpi.Presence{}
	if err := json.Unmarshal(data, q); err != nil {
		t.Fatal(err)
	}
	next := ev(t0.Add(40*time.Minute), "away", 1, 4)
	want, got := p.Apply(next), q.Apply(next)
	if len(want) == 0 || fmt.Sprint(want) != fmt.Sprint(got) {
		t.Fatalf("decoded presence gave %v, want %v (state %s)", got, want, data)
	}
}
