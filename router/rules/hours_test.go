package rules

import (
	"math/rand/v2"
	"testing"
	"time"
)

// TestCalendarBetweenCountsOpenMinutes checks Between against a minute-by-minute walk with
// Open, across weekends, a holiday and a daylight-saving change.
func TestCalendarBetweenCountsOpenMinutes(t *testing.T) {
	o, err := compileHours(&HoursSpec{Timezone: "Europe/Berlin", Weekly: map[string][]string{
		"mon-fri": {"09:00-12:30", "13:30-17:00"}, "sat": {"10:00-24:00"}}, Holidays: []string{"2026-10-26"}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 10, 22, 0, 0, 0, 0, time.UTC) // DST ends 2026-10-25 in Berlin
	for i := range 300 {
		from := base.Add(time.Duration(rng.IntN(10*24*60)) * time.Minute)
		to := from.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
		if i%7 == 0 {
			to = from
		}
		var want time.Duration
		for m := from; m.Before(to); m = m.Add(time.Minute) {
			if o.Open(m) {
				want += time.Minute
			}
		}
		if got := o.Between(from, to); got != want {
			t.Fatalf("Between(%s, %s) = %s, minute walk %s", from, to, got, want)
		}
	}
	if got := o.Between(base.Add(time.Hour), base); got != 0 {
		t.Fatalf("a reversed range is %s, want 0", got)
	}
}
