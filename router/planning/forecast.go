package planning

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Point is one interval of history: its start, what was measured, and whether to learn from
// it (Skip: a holiday, an outage).
type Point struct {
	Start time.Time
	Value float64
	Skip  bool
}

// Forecaster forecasts a series per interval from its slot-of-week profile (the same weekday
// and time of day in recent weeks, weighted toward the newest) times a trend factor fitted to
// the weekly totals. Weeks are calendar weeks in Loc, counted back from the day the history
// ends, so a daylight-saving change shifts nothing.
type Forecaster struct {
	Loc *time.Location
	// Weeks of history the profile and trend use (the newest); default 4.
	Weeks int
}

// ErrTooLittleHistory is a history shorter than a forecast (one week) or its backtest (two)
// needs.
var ErrTooLittleHistory = errors.New("too little history")

// week is the calendar week (1: the newest) of t, counted back in whole days from the last
// day before end.
func (f Forecaster) week(t, end time.Time) int {
	days := daysBetween(t.In(f.Loc), end.Add(-time.Nanosecond).In(f.Loc))
	return days/7 + 1
}

// daysBetween counts calendar days from a's date to b's (b after a): DST-proof.
func daysBetween(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 12, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 12, 0, 0, 0, time.UTC)
	return int(math.Round(db.Sub(da).Hours() / 24))
}

// slotKey names a point's place in the week: weekday and local time of day.
func (f Forecaster) slotKey(t time.Time) int {
	l := t.In(f.Loc)
	return int(l.Weekday())*24*60 + l.Hour()*60 + l.Minute()
}

// Forecast returns a value per start in future, from history (in time order, ending where
// future begins: end is the first instant after it). It needs one whole week.
func (f Forecaster) Forecast(history []Point, end time.Time, future []time.Time) ([]float64, error) {
	if f.Loc == nil {
		f.Loc = time.UTC
	}
	k := f.Weeks
	if k <= 0 {
		k = 4
	}
	weeks := f.wholeWeeks(history, end)
	if weeks < 1 {
		return nil, fmt.Errorf("%w: %s of history; a forecast needs at least one whole week", ErrTooLittleHistory, span(history, end))
	}
	k = min(k, weeks)
	profile, totals, common := f.profile(history, end, k)
	// Trend: least squares over those weekly totals, x = -w; the factor for a week ahead is
	// its fitted total over the weighted mean total (where the profile sits).
	var xs, ys []float64
	var base, wsum float64
	for w := 1; w <= k && common > 0; w++ {
		xs = append(xs, float64(-w))
		ys = append(ys, totals[w])
		base += float64(k+1-w) * totals[w]
		wsum += float64(k + 1 - w)
	}
	slope, intercept, ok := fitLine(xs, ys)
	if wsum > 0 {
		base /= wsum
	}
	out := make([]float64, len(future))
	for i, t := range future {
		v, found := profile[f.slotKey(t)]
		if !found {
			continue
		}
		if ok && base > 0 {
			ahead := float64(daysBetween(end.In(f.Loc), t.In(f.Loc)) / 7)
			v *= clamp((intercept+slope*ahead)/base, 0.5, 2)
		}
		out[i] = max(v, 0)
	}
	return out, nil
}

// profile is, per slot of the week, the weighted mean over weeks 1..k (weight k+1-w), holidays
// left out; and per week the total over the slots every week has (common of them).
func (f Forecaster) profile(history []Point, end time.Time, k int) (map[int]float64, []float64, int) {
	type slot struct {
		v    []float64
		seen []bool
	}
	slots := map[int]*slot{}
	for _, p := range history {
		w := f.week(p.Start, end)
		if w > k || !p.Start.Before(end) || p.Skip {
			continue
		}
		key := f.slotKey(p.Start)
		s := slots[key]
		if s == nil {
			s = &slot{v: make([]float64, k+1), seen: make([]bool, k+1)}
			slots[key] = s
		}
		s.v[w] += p.Value
		s.seen[w] = true
	}
	profile := map[int]float64{}
	totals := make([]float64, k+1) // per week, over the slots every week has (no holiday)
	common := 0
	for key, s := range slots {
		var sum, wsum float64
		all := true
		for w := 1; w <= k; w++ {
			if s.seen[w] {
				sum += float64(k+1-w) * s.v[w]
				wsum += float64(k + 1 - w)
			} else {
				all = false
			}
		}
		profile[key] = sum / wsum
		if all {
			common++
			for w := 1; w <= k; w++ {
				totals[w] += s.v[w]
			}
		}
	}
	return profile, totals, common
}

// wholeWeeks counts the whole calendar weeks the history covers before end.
func (f Forecaster) wholeWeeks(history []Point, end time.Time) int {
	if len(history) == 0 {
		return 0
	}
	return daysBetween(history[0].Start.In(f.Loc), end.In(f.Loc)) / 7
}

func span(history []Point, end time.Time) string {
	if len(history) == 0 {
		return "no days"
	}
	days := end.Sub(history[0].Start).Hours() / 24
	return fmt.Sprintf("%.1f days", days)
}

// fitLine fits y = intercept + slope·x by least squares; ok is false with fewer than two points.
func fitLine(xs, ys []float64) (slope, intercept float64, ok bool) {
	n := float64(len(xs))
	if len(xs) < 2 {
		return 0, 0, false
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0, 0, false
	}
	slope = (n*sxy - sx*sy) / d
	return slope, (sy - slope*sx) / n, true
}

func clamp(v, lo, hi float64) float64 { return math.Max(lo, math.Min(hi, v)) }

// Backtest is how a forecast of the history's last week, from the weeks before it, compares
// with what was measured.
type Backtest struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// WAPE is Σ|actual − forecast| ÷ Σ actual over the week's intervals (holidays left out).
	WAPE float64 `json:"wape"`
	// Bias is Σ(forecast − actual) ÷ Σ actual: above 0 the method over-forecasts.
	Bias float64 `json:"bias"`
	// The week's totals, measured and forecast.
	Actual float64 `json:"actual"`
	Fitted float64 `json:"fitted"`
}

// Backtest holds out the history's last seven days and forecasts them from the rest (at
// least one whole week before them).
func (f Forecaster) Backtest(history []Point, end time.Time) (Backtest, error) {
	if f.Loc == nil {
		f.Loc = time.UTC
	}
	le := end.In(f.Loc)
	cut := time.Date(le.Year(), le.Month(), le.Day()-7, le.Hour(), le.Minute(), 0, 0, f.Loc)
	var train, test []Point
	for _, p := range history {
		if p.Start.Before(cut) {
			train = append(train, p)
		} else if p.Start.Before(end) {
			test = append(test, p)
		}
	}
	if f.wholeWeeks(train, cut) < 1 {
		return Backtest{}, fmt.Errorf("%w: %s of history; a backtest needs two whole weeks", ErrTooLittleHistory, span(history, end))
	}
	starts := make([]time.Time, len(test))
	for i, p := range test {
		starts[i] = p.Start
	}
	fc, err := f.Forecast(train, cut, starts)
	if err != nil {
		return Backtest{}, err
	}
	b := Backtest{From: cut, To: end}
	var absErr, signed float64
	for i, p := range test {
		if p.Skip {
			continue
		}
		b.Actual += p.Value
		b.Fitted += fc[i]
		absErr += math.Abs(p.Value - fc[i])
		signed += fc[i] - p.Value
	}
	if b.Actual > 0 {
		b.WAPE, b.Bias = absErr/b.Actual, signed/b.Actual
	}
	return b, nil
}
