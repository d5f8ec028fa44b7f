package planning

import (
	"errors"
	"math"
	"testing"
	"time"
)

// weekly builds hourly history from start for weeks weeks: value(week index from 0, local
// weekday, local hour).
func weekly(loc *time.Location, start time.Time, weeks int, value func(w int, day time.Weekday, hour int) float64) ([]Point, time.Time) {
	var pts []Point
	for d := 0; d < 7*weeks; d++ {
		for h := 0; h < 24; h++ {
			t := time.Date(start.Year(), start.Month(), start.Day()+d, h, 0, 0, 0, loc)
			if t.Hour() != h {
				continue // the hour a spring-forward skips
			}
			pts = append(pts, Point{Start: t, Value: value(d/7, t.Weekday(), h)})
		}
	}
	return pts, time.Date(start.Year(), start.Month(), start.Day()+7*weeks, 0, 0, 0, 0, loc)
}

// office is a weekday profile: 0 at night, a morning and an afternoon peak.
func office(day time.Weekday, hour int) float64 {
	if day == time.Saturday || day == time.Sunday || hour < 8 || hour >= 18 {
		return 0
	}
	return map[int]float64{8: 4, 9: 10, 10: 14, 11: 12, 12: 6, 13: 8, 14: 12, 15: 11, 16: 8, 17: 5}[hour]
}

func nextWeek(loc *time.Location, end time.Time) []time.Time {
	var out []time.Time
	for d := 0; d < 7; d++ {
		for h := 0; h < 24; h++ {
			t := time.Date(end.Year(), end.Month(), end.Day()+d, h, 0, 0, 0, loc)
			if t.Hour() == h {
				out = append(out, t)
			}
		}
	}
	return out
}

// A pattern that repeats exactly is forecast exactly, and its backtest error is 0.
func TestForecastRepeatsAStablePattern(t *testing.T) {
	loc := time.UTC
	hist, end := weekly(loc, time.Date(2026, 11, 2, 0, 0, 0, 0, loc), 4, func(_ int, d time.Weekday, h int) float64 { return office(d, h) })
	f := Forecaster{Loc: loc}
	future := nextWeek(loc, end)
	fc, err := f.Forecast(hist, end, future)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range future {
		if want := office(ts.Weekday(), ts.Hour()); math.Abs(fc[i]-want) > 1e-9 {
			t.Fatalf("%s: forecast %.3f, want %.0f", ts, fc[i], want)
		}
	}
	bt, err := f.Backtest(hist, end)
	if err != nil {
		t.Fatal(err)
	}
	if bt.WAPE > 1e-12 || bt.Actual != 450 {
		t.Fatalf("backtest %+v: want WAPE 0 over the 450 contacts of a week", bt)
	}
}

// Volume growing by a constant step each week (10% of the first week's) is extrapolated
// exactly: the weighted profile sits at the weighted mean week, and the trend line carries it
// to the next one. Expected: the first week's pattern times (1 + 0.1·weeks).
func TestForecastFollowsALinearTrend(t *testing.T) {
	loc := time.UTC
	const weeks = 4
	hist, end := weekly(loc, time.Date(2026, 11, 2, 0, 0, 0, 0, loc), weeks, func(w int, d time.Weekday, h int) float64 {
		return office(d, h) * (1 + 0.1*float64(w))
	})
	future := nextWeek(loc, end)
	fc, err := Forecaster{Loc: loc}.Forecast(hist, end, future)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range future {
		want := office(ts.Weekday(), ts.Hour()) * (1 + 0.1*weeks)
		if math.Abs(fc[i]-want) > 1e-9 {
			t.Fatalf("%s: forecast %.4f, want %.4f", ts, fc[i], want)
		}
	}
}

// A holiday in the history (a Wednesday with nothing) is left out when marked, and drags the
// Wednesday forecast down by its weight when not: weights 4,3,2,1 over weeks newest first, the
// holiday in week 2, so the unmarked profile is (4+2+1)/10 of the pattern.
func TestForecastLeavesOutHolidays(t *testing.T) {
	loc := time.UTC
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, loc)
	holiday := time.Date(2026, 11, 18, 0, 0, 0, 0, loc) // Wednesday of the third week: week 2 counted back
	hist, end := weekly(loc, start, 4, func(_ int, d time.Weekday, h int) float64 { return office(d, h) })
	var marked, unmarked []Point
	for _, p := range hist {
		if sameDay(p.Start, holiday) {
			p.Value = 0
			unmarked = append(unmarked, p)
			p.Skip = true
			marked = append(marked, p)
			continue
		}
		marked, unmarked = append(marked, p), append(unmarked, p)
	}
	wed10 := time.Date(2026, 12, 2, 10, 0, 0, 0, loc)
	f := Forecaster{Loc: loc, Weeks: 4}
	got, err := f.Forecast(marked, end, []time.Time{wed10})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-14) > 1e-9 {
		t.Errorf("holiday marked: Wednesday 10:00 forecast %.3f, want 14", got[0])
	}
	// Unmarked, the lost day (90 contacts) also lowers week 2's total: the trend then fits
	// totals 450, 360, 450, 450 (newest first) by least squares, computed here by hand:
	// x̄ = −2.5, ȳ = 427.5, slope = Σ(x−x̄)(y−ȳ)/Σ(x−x̄)² = −45/5 = −9, so the line at
	// x = 0 is 427.5 − 9·2.5 = 405; the weighted total (4·450+3·360+2·450+450)/10 = 423.
	want := 14 * 0.7 * (405.0 / 423)
	got, err = f.Forecast(unmarked, end, []time.Time{wed10})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got[0]-want) > 1e-9 {
		t.Errorf("holiday unmarked: forecast %.4f, want %.4f", got[0], want)
	}
}

func sameDay(a, b time.Time) bool {
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}

// Weeks are calendar weeks in the zone: across Europe/Berlin's change to winter time (25
// October 2026) a wall-clock pattern stays on its hours.
func TestForecastAcrossDaylightSaving(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	hist, end := weekly(loc, time.Date(2026, 10, 12, 0, 0, 0, 0, loc), 3, func(_ int, d time.Weekday, h int) float64 { return office(d, h) })
	future := nextWeek(loc, end)
	fc, err := Forecaster{Loc: loc}.Forecast(hist, end, future)
	if err != nil {
		t.Fatal(err)
	}
	for i, ts := range future {
		if want := office(ts.Weekday(), ts.Hour()); math.Abs(fc[i]-want) > 1e-9 {
			t.Fatalf("%s: forecast %.3f, want %.0f", ts, fc[i], want)
		}
	}
}

// Too little history is an error that says how much there is and what is needed.
func TestForecastNeedsAWeek(t *testing.T) {
	loc := time.UTC
	hist, end := weekly(loc, time.Date(2026, 11, 2, 0, 0, 0, 0, loc), 1, func(_ int, d time.Weekday, h int) float64 { return office(d, h) })
	short := hist[24*3:] // four days
	_, err := Forecaster{Loc: loc}.Forecast(short, end, []time.Time{end})
	if !errors.Is(err, ErrTooLittleHistory) || err.Error() != "too little history: 4.0 days of history; a forecast needs at least one whole week" {
		t.Fatalf("four days: %v", err)
	}
	if _, err := (Forecaster{Loc: loc}).Forecast(hist, end, []time.Time{end}); err != nil {
		t.Fatalf("one week: %v", err)
	}
	if _, err := (Forecaster{Loc: loc}).Backtest(hist, end); !errors.Is(err, ErrTooLittleHistory) {
		t.Fatalf("backtest on one week: %v", err)
	}
}

// The backtest's WAPE is Σ|a−f| ÷ Σa over the held-out week: with weeks 1–3 at the pattern
// and the last at 1.2× it, the forecast of the last week (from three flat weeks) is the
// pattern, so WAPE is 0.2/1.2 and the bias −0.2/1.2 over 1.2 × 450 contacts.
func TestBacktestWAPE(t *testing.T) {
	loc := time.UTC
	hist, end := weekly(loc, time.Date(2026, 11, 2, 0, 0, 0, 0, loc), 4, func(w int, d time.Weekday, h int) float64 {
		if w == 3 {
			return 1.2 * office(d, h)
		}
		return office(d, h)
	})
	bt, err := Forecaster{Loc: loc}.Backtest(hist, end)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(bt.WAPE-0.2/1.2) > 1e-9 || math.Abs(bt.Bias+0.2/1.2) > 1e-9 || math.Abs(bt.Actual-540) > 1e-9 {
		t.Fatalf("backtest %+v: want WAPE %.4f, bias %.4f over 540", bt, 0.2/1.2, -0.2/1.2)
	}
}
