package planning

import (
	"errors"
	"math"
	"testing"
	"time"
)

// slByDefinition is Erlang C's service level computed from the factorial definition.
func slByDefinition(a float64, n int, aht, t time.Duration) float64 {
	return 1 - erlangCByFactorials(a, n)*math.Exp(-(float64(n)-a)*t.Seconds()/aht.Seconds())
}

// Call Centre Helper's example as a past interval (100 contacts in 30 minutes, AHT 3 minutes,
// 80% in 20 s: 14 agents) staffed four ways: 13 agents are under, 14.4 are enough, 16 are
// over (15 would do). The service level predicted for 14.4 agents lies 0.4 of the way from
// 14's to 15's, both from the factorial definition.
func TestPlanComparesWithStaffed(t *testing.T) {
	target := Target{Share: 0.8, Within: 20 * time.Second}
	base := Interval{Start: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC), Length: 30 * time.Minute,
		Arrivals: 100, AHT: 3 * time.Minute, Concurrency: 1}
	var ivs []Interval
	for _, staffed := range []float64{13, 14.4, 16, -1} {
		iv := base
		iv.Staffed = staffed
		ivs = append(ivs, iv)
	}
	rows, err := Plan(ivs, target, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Status{StatusUnder, StatusOK, StatusOver, StatusFuture} {
		r := rows[i]
		if r.Required != 14 || r.Scheduled != 20 || r.Status != want {
			t.Errorf("staffed %.1f: required %d, scheduled %d, %q; want 14, 20, %q", ivs[i].Staffed, r.Required, r.Scheduled, r.Status, want)
		}
	}
	a := 10.0
	if got, want := *rows[0].PredictedAtStaffed, slByDefinition(a, 13, 3*time.Minute, 20*time.Second); math.Abs(got-want) > 1e-9 {
		t.Errorf("13 agents: predicted %.6f, want %.6f", got, want)
	}
	sl14, sl15 := slByDefinition(a, 14, 3*time.Minute, 20*time.Second), slByDefinition(a, 15, 3*time.Minute, 20*time.Second)
	if got, want := *rows[1].PredictedAtStaffed, sl14+0.4*(sl15-sl14); math.Abs(got-want) > 1e-9 {
		t.Errorf("14.4 agents: predicted %.6f, want %.6f", got, want)
	}
	if rows[3].AtStaffed != nil || rows[3].PredictedAtStaffed != nil {
		t.Errorf("a future interval has a staffed prediction: %+v", rows[3])
	}
}

// An empty interval needs nobody; anyone on duty in it is over. A load no headcount up to
// MaxAgents carries (a billion contacts an hour) is that interval's error, and the others are
// planned.
func TestPlanEmptyAndUnreachable(t *testing.T) {
	ivs := []Interval{
		{Length: time.Hour, Arrivals: 0, AHT: time.Minute, Staffed: 2},
		{Length: time.Hour, Arrivals: 30, AHT: 4 * time.Minute, Staffed: -1},
	}
	rows, err := Plan(ivs, Target{Share: 0.8, Within: 20 * time.Second}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if rows[0].Required != 0 || rows[0].Status != StatusOver {
		t.Errorf("empty interval: %+v", rows[0])
	}
	ivs[1].Arrivals = 1e9
	rows, err = Plan(ivs, Target{Share: 0.8, Within: 20 * time.Second}, 0)
	if !errors.Is(err, ErrUnreachable) || rows[1].Error == "" || rows[0].Required != 0 {
		t.Fatalf("unreachable: %v, rows %+v", err, rows)
	}
}

// Patience is all waiting over those who left: 8 served chats waited 40 s in all, 2 left
// after 30 s and 50 s: (40+80)/2 = 60 s.
func TestPatienceEstimate(t *testing.T) {
	p, ok := Patience(40*time.Second, 80*time.Second, 2)
	if !ok || p != 60*time.Second {
		t.Fatalf("patience %s %v, want 60s", p, ok)
	}
	if _, ok := Patience(time.Minute, 0, 0); ok {
		t.Fatal("patience measured with nobody leaving")
	}
}

// BenchmarkForecastAndPlanWeek is the budget case end to end: for 20 queues, a
// forecast of 7 days × 96 quarter hours from 4 weeks of history, and the plan of the measured
// week (required, scheduled, and the service level at the staffed headcount).
//
//	go test ./router/planning -run x -bench ForecastAndPlanWeek -count 5
func BenchmarkForecastAndPlanWeek(b *testing.B) {
	loc := time.UTC
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, loc)
	var history []Point
	for t := end.AddDate(0, 0, -28); t.Before(end); t = t.Add(15 * time.Minute) {
		h := float64(t.Hour())
		history = append(history, Point{Start: t, Value: math.Max(0, 40-math.Abs(h-13)*5)})
	}
	var future []time.Time
	for t := end; t.Before(end.AddDate(0, 0, 7)); t = t.Add(15 * time.Minute) {
		future = append(future, t)
	}
	target := Target{Share: 0.8, Within: 20 * time.Second}
	f := Forecaster{Loc: loc}
	for b.Loop() {
		for q := range 20 {
			fc, err := f.Forecast(history, end, future)
			if err != nil {
				b.Fatal(err)
			}
			ivs := make([]Interval, len(fc))
			for i, v := range fc {
				ivs[i] = Interval{Start: future[i], Length: 15 * time.Minute, Arrivals: v * float64(q+1) / 4,
					AHT: time.Duration(180+q*10) * time.Second, Concurrency: 1 + q%3, Staffed: float64(i%12) + 0.5}
			}
			if _, err := Plan(ivs, target, 0.3); err != nil {
				b.Fatal(err)
			}
		}
	}
}
