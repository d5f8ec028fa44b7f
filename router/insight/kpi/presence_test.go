package kpi

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/schema"
)

func TestPresenceSplitsTimeAtQuarters(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 10, 0, 0, time.UTC)
	ev := func(at time.Time, status string, load, max int) *schema.Event {
		return &schema.Event{Type: schema.EventAgentPresence, At: at, Presence: &schema.PresenceSample{Agent: "ann", Status: status, Load: load, MaxLoad: max}}
	}
	p := &Presence{}
	if ops := p.Apply(ev(t0, "available", 2, 4)); ops != nil {
		t.Fatalf("the first event closes nothing: %v", ops)
	}
	ops := p.Apply(ev(t0.Add(40*time.Minute), "away", 2, 4)) // 09:10 → 09:50
	got := map[string]map[time.Time]int64{}
	for _, op := range ops {
		if got[op.Name] == nil {
			got[op.Name] = map[time.Time]int64{}
		}
		got[op.Name][op.At] += op.Value
	}
	q := func(h, m int) time.Time { return time.Date(2026, 12, 1, h, m, 0, 0, time.UTC) }
	want := map[time.Time]int64{q(9, 10): 5 * 60000, q(9, 15): 15 * 60000, q(9, 30): 15 * 60000, q(9, 45): 5 * 60000}
	for at, ms := range want {
		if got[AvailableMs][at] != ms || got[LoadMs][at] != 2*ms || got[CapacityMs][at] != 4*ms {
			t.Errorf("%s: available %d, load %d, capacity %d; want %d, %d, %d", at.Format("15:04"), got[AvailableMs][at], got[LoadMs][at], got[CapacityMs][at], ms, 2*ms, 4*ms)
		}
	}
	if len(got[AvailableMs]) != 4 || len(got[AwayMs]) != 0 {
		t.Fatalf("ops %v", got)
	}
	ops = p.Apply(ev(t0.Add(50*time.Minute), "offline", 0, 4))
	if len(ops) != 1 || ops[0].Name != AwayMs || ops[0].Value != 10*60000 {
		t.Fatalf("away 09:50–10:00: %+v", ops)
	}
	// An event out of order (older than the last) closes nothing.
	if ops := p.Apply(ev(t0, "available", 0, 4)); ops != nil {
		t.Fatalf("an older event: %v", ops)
	}
}
