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

// TestCalendarAddInvertsBetween: d of open time after from, measured back with Between, is d;
// and the moment found is the first such (a minute earlier falls short).
func TestCalendarAddInvertsBetween(t *testing.T) {
	o, err := compileHours(&HoursSpec{Timezone: "America/New_York", Weekly: map[string][]string{
		"mon-fri": {"13:30-17:00", "09:00-12:30"}}, Holidays: []string{"2026-11-26"}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 10, 28, 0, 0, 0, 0, time.UTC) // DST ends 1 Nov; Thanksgiving closed
	for range 300 {
		from := base.Add(time.Duration(rng.IntN(40*24*60)) * time.Minute)
		d := time.Duration(rng.IntN(50*60)) * time.Minute
		at := o.Add(from, d)
		if got := o.Between(from, at); got != d {
			t.Fatalf("Add(%s, %s) = %s, but Between gives %s", from, d, at, got)
		}
		if d > 0 && o.Between(from, at.Add(-time.Minute)) >= d {
			t.Fatalf("Add(%s, %s) = %s is not the first such moment", from, d, at)
		}
	}
	fri := time.Date(2026, 12, 4, 16, 0, 0, 0, o.loc)
	if got := o.Add(fri, 2*time.Hour); !got.Equal(time.Date(2026, 12, 7, 10, 0, 0, 0, o.loc)) {
		t.Fatalf("2 h from Friday 16:00 is %s, want Monday 10:00", got)
	}
}
