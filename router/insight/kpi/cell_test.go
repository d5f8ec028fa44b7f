package kpi

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

func sampleCell() *Cell {
	c := NewCell()
	c.Through = 4711
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, v := range []int64{1500, 61_000, 2_345_678, 999_999} {
		d := Dims{Channel: "email", Queue: "billing", Agent: "ana", Priority: i % 2}
		c.Add(Op{At: at, Dims: d, Name: FirstResponse, Value: v, Sign: 1})
		c.Add(Op{At: at, Dims: d, Name: Opened, Sign: 1})
	}
	c.Add(Op{At: at, Dims: Dims{Channel: "sms", Priority: -1}, Name: Replies, Sign: 1})
	return c
}

func TestCellEncodingRoundTrips(t *testing.T) {
	c := sampleCell()
	data := c.Encode()
	back, err := DecodeCell(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Rows, back.Rows) || c.Through != back.Through {
		t.Fatalf("decoded %+v, want %+v", back, c)
	}
	if !bytes.Equal(back.Encode(), data) {
		t.Fatal("re-encoding a decoded cell changed it")
	}
	for _, n := range []int{0, 1, 3, len(data) - 1} {
		if _, err := DecodeCell(data[:n]); !errors.Is(err, ErrBadCell) {
			t.Fatalf("a cell cut to %d bytes decoded: %v", n, err)
		}
	}
}

func TestTakingBackLeavesNothing(t *testing.T) {
	c := sampleCell()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	for i, v := range []int64{1500, 61_000, 2_345_678, 999_999} {
		d := Dims{Channel: "email", Queue: "billing", Agent: "ana", Priority: i % 2}
		c.Add(Op{At: at, Dims: d, Name: FirstResponse, Value: v, Sign: -1})
		c.Add(Op{At: at, Dims: d, Name: Opened, Sign: -1})
	}
	if len(c.Rows) != 1 {
		t.Fatalf("after taking back all but one op, %d rows are left: %+v", len(c.Rows), c.Rows)
	}
	c.Add(Op{At: at, Dims: Dims{Channel: "sms", Priority: -1}, Name: Replies, Sign: -1})
	if len(c.Rows) != 0 {
		t.Fatalf("rows left: %+v", c.Rows)
	}
}

func TestQuantizeAndPercentile(t *testing.T) {
	for ms, want := range map[int64]int64{0: 0, 999: 0, 1999: 1, 99_999: 99, 100_000: 100, 104_999: 100, 105_000: 110, 999_999: 1000, 1_234_567: 1200, 1_250_000: 1300, 98_765_432: 99_000} {
		if got := Quantize(ms); got != want {
			t.Errorf("Quantize(%d) = %d, want %d", ms, got, want)
		}
	}
	d := &Dist{N: 10}
	for s := int64(10); s >= 1; s-- {
		d.add(s, 1)
	}
	if p, _ := d.Percentile(50); p != 5 {
		t.Errorf("p50 of 1..10 = %d, want 5", p)
	}
	if p, _ := d.Percentile(90); p != 9 {
		t.Errorf("p90 of 1..10 = %d, want 9", p)
	}
	if _, ok := (&Dist{}).Percentile(50); ok {
		t.Error("a percentile of nothing")
	}
}

func FuzzDecodeCell(f *testing.F) {
	f.Add(sampleCell().Encode())
	f.Add([]byte{1, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCell(data)
		if err != nil {
			return
		}
		if _, err := DecodeCell(c.Encode()); err != nil {
			t.Fatalf("a decoded cell does not re-decode: %v", err)
		}
	})
}

func TestPlanAndBuckets(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, ny) // the day DST ends: 25 hours
	to := time.Date(2026, 11, 3, 6, 0, 0, 0, ny)
	plan, err := Plan(from, to, IntervalDay, ny)
	if err != nil {
		t.Fatal(err)
	}
	// Two whole days, then 6 hours of quarters.
	if len(plan) != 2+24 || plan[0].Key != "d.20261101" || plan[1].Key != "d.20261102" {
		t.Fatalf("plan %v", plan[:3])
	}
	if plan[2].Bucket != time.Date(2026, 11, 3, 0, 0, 0, 0, ny).UTC() {
		t.Fatalf("the third day's bucket is %s", plan[2].Bucket)
	}
	if got := BucketOf(time.Date(2026, 11, 5, 13, 0, 0, 0, ny), IntervalWeek, ny, from); !got.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, ny)) {
		t.Fatalf("the week of Thursday 5 November starts %s, want Monday 2 November", got.In(ny))
	}
	if _, err := Plan(from.Add(time.Minute), to, IntervalNone, ny); err == nil {
		t.Fatal("a range off the 15-minute grid was planned")
	}
	if _, err := Plan(to, from, IntervalNone, ny); err == nil {
		t.Fatal("a reversed range was planned")
	}
	if _, err := Plan(from, from.AddDate(1, 0, 0), Interval15m, ny); err == nil {
		t.Fatal("a year of 15-minute cells was planned")
	}
}

// TestByTeamCountsAnAgentInEachOfTheirTeams: grouped by team, an agent's figures count in
// every team of theirs, and figures of no agent (or of an agent in no team) under team "".
func TestByTeamCountsAnAgentInEachOfTheirTeams(t *testing.T) {
	teams := map[string][]string{"a1": {"x"}, "a2": {"x", "y"}}
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	c := NewCell()
	replies := map[string]int64{"a1": 2, "a2": 3, "a3": 5, "": 7}
	for agent, n := range replies {
		for i := range n {
			c.Add(Op{At: at, Dims: Dims{Agent: agent, Queue: "q"}, Name: Replies, Sign: 1})
			c.Add(Op{At: at, Dims: Dims{Agent: agent, Queue: "q"}, Name: FirstResponse, Value: 1000 * (i + 1), Sign: 1})
		}
	}
	acc := NewAccumulator(CellGroup([]string{DimTeam}))
	acc.Add(at, c)
	got := map[string]Summary{}
	for _, s := range acc.ByTeam(func(a string) []string { return teams[a] }, false).Summaries() {
		if s.Dims.Agent != "" {
			t.Fatalf("a team row keeps its agent: %+v", s.Dims)
		}
		got[s.Dims.Team] = s
	}
	want := map[string]int64{"x": 2 + 3, "y": 3, "": 5 + 7}
	for team, n := range want {
		if got[team].Counts[Replies] != n || got[team].Metrics[FirstResponse].Count != n {
			t.Errorf("team %q: %d replies, %d first responses; want %d", team, got[team].Counts[Replies], got[team].Metrics[FirstResponse].Count, n)
		}
	}
	if len(got) != len(want) {
		t.Errorf("teams %v", got)
	}
	if _, err := ParseGroupBy([]string{"team", "agent", "queue", "channel"}); err != nil {
		t.Errorf("team with agent counts once: %v", err)
	}
	if _, err := ParseGroupBy([]string{"team", "queue", "channel", "priority"}); err == nil {
		t.Error("four dimensions accepted")
	}
}
