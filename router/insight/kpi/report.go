package kpi

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"
)

// Interval is a report's time grouping.
type Interval string

// Intervals. IntervalNone reports the whole range as one row per group.
const (
	IntervalNone    Interval = ""
	Interval15m     Interval = "15m"
	IntervalHour    Interval = "hour"
	IntervalDay     Interval = "day"
	IntervalWeek    Interval = "week"
	quarter                  = 15 * time.Minute
	maxCellsPerPlan          = 20000
)

// ParseInterval reads an interval name.
func ParseInterval(s string) (Interval, error) {
	switch Interval(s) {
	case IntervalNone, Interval15m, IntervalHour, IntervalDay, IntervalWeek:
		return Interval(s), nil
	case "total":
		return IntervalNone, nil
	}
	return "", fmt.Errorf("unknown interval %q (write 15m, hour, day, week, or leave it out for the whole range)", s)
}

// QuarterKey names the 15-minute cell holding t (UTC quarters since the epoch).
func QuarterKey(t time.Time) string { return "q." + strconv.FormatInt(t.Unix()/900, 10) }

// DayKey names the day cell holding t: its date in loc.
func DayKey(t time.Time, loc *time.Location) string {
	return "d." + t.In(loc).Format("20060102")
}

// CellRef is one stored cell a report reads (Key is its interval's; add the mask's
// Suffix), and the report interval it adds to.
type CellRef struct {
	Key    string
	Bucket time.Time
}

// Plan lists the cells that cover [from, to): whole days in loc from day cells when the
// interval is a day or longer (or none), 15-minute cells otherwise and at the ragged edges.
// from and to must lie on 15-minute boundaries.
func Plan(from, to time.Time, iv Interval, loc *time.Location) ([]CellRef, error) {
	return PlanFor(from, to, iv, loc, 0)
}

// ErrGroupNeedsDays is a grouping 15-minute cells do not keep (more than MaxQuarterGroupBy
// dimensions, other than channel and queue) over a plan that needs them.
var ErrGroupNeedsDays = fmt.Errorf("grouping by more than %d dimension (other than channel and queue) needs whole days: from and to at midnight in the report zone, interval day, week or none", MaxQuarterGroupBy)

// PlanFor is Plan for a report grouped by mask m.
func PlanFor(from, to time.Time, iv Interval, loc *time.Location, m Mask) ([]CellRef, error) {
	if !to.After(from) {
		return nil, fmt.Errorf("to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	if from.Unix()%900 != 0 || to.Unix()%900 != 0 {
		return nil, fmt.Errorf("from and to must lie on 15-minute boundaries (e.g. 10:00, 10:15)")
	}
	days := iv == IntervalNone || iv == IntervalDay || iv == IntervalWeek
	var out []CellRef
	for t := from; t.Before(to); {
		if days {
			lt := t.In(loc)
			next := time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
			if lt.Equal(startOfDay(lt)) && !next.After(to) {
				out = append(out, CellRef{Key: DayKey(t, loc), Bucket: BucketOf(t, iv, loc, from)})
				t = next
				continue
			}
		}
		if !m.InQuarters() {
			return nil, ErrGroupNeedsDays
		}
		out = append(out, CellRef{Key: QuarterKey(t), Bucket: BucketOf(t, iv, loc, from)})
		t = t.Add(quarter)
		if len(out) > maxCellsPerPlan {
			return nil, fmt.Errorf("the range is too long for interval %q: at most %d cells (choose a longer interval or a shorter range)", ivName(iv), maxCellsPerPlan)
		}
	}
	return out, nil
}

func ivName(iv Interval) string {
	if iv == IntervalNone {
		return "total"
	}
	return string(iv)
}

func startOfDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// BucketOf is the start of the report interval holding t (from, for the whole range).
func BucketOf(t time.Time, iv Interval, loc *time.Location, from time.Time) time.Time {
	lt := t.In(loc)
	switch iv {
	case Interval15m:
		return t.Truncate(quarter).UTC()
	case IntervalHour:
		h := time.Date(lt.Year(), lt.Month(), lt.Day(), lt.Hour(), 0, 0, 0, loc)
		return h.UTC()
	case IntervalDay:
		return startOfDay(lt).UTC()
	case IntervalWeek:
		d := startOfDay(lt)
		back := (int(d.Weekday()) + 6) % 7 // Monday starts the week
		return time.Date(d.Year(), d.Month(), d.Day()-back, 0, 0, 0, 0, loc).UTC()
	}
	return from.UTC()
}

// Summary is one report row: a group's figures over one interval.
type Summary struct {
	Start   time.Time                `json:"start"`
	Dims    Dims                     `json:"group"`
	Counts  map[string]int64         `json:"counts"`
	Metrics map[string]MetricSummary `json:"metrics"`
	Rates   map[string]*float64      `json:"rates"`
}

// MetricSummary is a duration metric over a group and interval.
type MetricSummary struct {
	Count      int64   `json:"count"`
	AvgSeconds float64 `json:"avg_seconds"`
	P50Seconds int64   `json:"p50_seconds"`
	P90Seconds int64   `json:"p90_seconds"`
}

// Rates: Num ÷ (Den + Plus).
var Rates = []struct{ Name, Num, Den, Plus string }{
	{"fcr_rate", FCR, ResolvedFirst, ""},
	{"fcr_one_reply_rate", FCROneReply, ResolvedFirst, ""},
	{"reopen_rate", Reopened, Resolved, ""},
	{"abandonment_rate", Abandoned, WebchatOpened, ""},
	{"sla_first_response_attainment", SLAFirstResponseMet, SLAFirstResponseMet, SLAFirstResponseBreached},
	{"sla_next_response_attainment", SLANextResponseMet, SLANextResponseMet, SLANextResponseBreached},
	{"sla_resolution_attainment", SLAResolutionMet, SLAResolutionMet, SLAResolutionBreached},
	{"occupancy", LoadMs, CapacityMs, ""},
	{"csat", CSATSatisfied, CSATAnswers, ""},
	{"csat_average", CSATScoreSum, CSATAnswers, ""},
	{"csat_response_rate", CSATAnswers, CSATSent, ""},
	{"nps_average", NPSScoreSum, NPSAnswers, ""},
	{"nps_response_rate", NPSAnswers, NPSSent, ""},
	{"nps_promoter_share", NPSPromoters, NPSAnswers, ""},
	{"nps_detractor_share", NPSDetractors, NPSAnswers, ""},
}

// NPS is the derived rate % promoters − % detractors (−100 to 100).
const NPS = "nps"

// RateNames lists every rate a summary has: the ratios of Rates, then NPS.
func RateNames() []string {
	out := make([]string, 0, len(Rates)+1)
	for _, rt := range Rates {
		out = append(out, rt.Name)
	}
	return append(out, NPS)
}

// Accumulator adds up cells into report rows.
type Accumulator struct {
	keep map[string]bool
	rows map[accKey]*Row
}

type accKey struct {
	start time.Time
	dims  Dims
}

// NewAccumulator groups by the named dimensions (none: one group).
func NewAccumulator(groupBy []string) *Accumulator {
	keep := map[string]bool{}
	for _, g := range groupBy {
		keep[g] = true
	}
	return &Accumulator{keep: keep, rows: map[accKey]*Row{}}
}

// ParseGroupBy checks dimension names.
func ParseGroupBy(names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		if n == "" {
			continue
		}
		if !slices.Contains(DimNames, n) && n != DimTeam {
			return nil, fmt.Errorf("unknown dimension %q (write channel, account, queue, agent, priority or team)", n)
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if n := len(CellGroup(out)); n > MaxGroupBy {
		return nil, fmt.Errorf("group by at most %d dimensions, not %d", MaxGroupBy, n)
	}
	return out, nil
}

// Add adds a cell's rows to the interval starting at bucket.
func (a *Accumulator) Add(bucket time.Time, c *Cell) {
	for d, r := range c.Rows {
		k := accKey{bucket, d.Project(a.keep)}
		acc := a.rows[k]
		if acc == nil {
			acc = newRow()
			a.rows[k] = acc
		}
		acc.Merge(r)
	}
}

// Summaries returns the rows ordered by interval, then group.
func (a *Accumulator) Summaries() []Summary {
	keys := slices.SortedFunc(maps.Keys(a.rows), func(x, y accKey) int {
		if c := x.start.Compare(y.start); c != 0 {
			return c
		}
		return compareDims(x.dims, y.dims)
	})
	out := make([]Summary, 0, len(keys))
	for _, k := range keys {
		out = append(out, Summarize(k.start, k.dims, a.rows[k]))
	}
	return out
}

// Summarize turns a row into its report figures: every counter (0 when absent), every
// metric, every rate (nil when its denominator is 0).
func Summarize(start time.Time, d Dims, r *Row) Summary {
	s := Summary{Start: start, Dims: d, Counts: map[string]int64{}, Metrics: map[string]MetricSummary{}, Rates: map[string]*float64{}}
	for i, c := range Counters {
		s.Counts[c] = r.Counts[i]
	}
	for i, m := range Metrics {
		dd := r.Dists[i]
		var ms MetricSummary
		if dd != nil && dd.N > 0 {
			ms.Count = dd.N
			ms.AvgSeconds = float64(dd.SumMs) / float64(dd.N) / 1000
			ms.P50Seconds, _ = dd.Percentile(50)
			ms.P90Seconds, _ = dd.Percentile(90)
		}
		s.Metrics[m] = ms
	}
	for _, rt := range Rates {
		if den := r.Count(rt.Den) + r.Count(rt.Plus); den > 0 {
			v := float64(r.Count(rt.Num)) / float64(den)
			s.Rates[rt.Name] = &v
		} else {
			s.Rates[rt.Name] = nil
		}
	}
	s.Rates[NPS] = nil
	if n := r.Count(NPSAnswers); n > 0 {
		v := 100 * float64(r.Count(NPSPromoters)-r.Count(NPSDetractors)) / float64(n)
		s.Rates[NPS] = &v
	}
	return s
}

// CellGroup is the grouping of the cells a report reads: team is read from the agents' rows.
func CellGroup(groupBy []string) []string {
	var out []string
	for _, g := range groupBy {
		if g == DimTeam {
			g = DimAgent
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// ByTeam regroups the accumulated rows by the agents' teams: a row of an agent in two teams
// counts in both, a row of no agent (or an agent in no team) under team "". keepAgent keeps
// the agent dimension too.
func (a *Accumulator) ByTeam(teams func(agent string) []string, keepAgent bool) *Accumulator {
	out := &Accumulator{keep: a.keep, rows: map[accKey]*Row{}}
	for k, r := range a.rows {
		ts := []string{""}
		if k.dims.Agent != "" {
			if got := teams(k.dims.Agent); len(got) > 0 {
				ts = got
			}
		}
		for _, t := range ts {
			d := k.dims
			d.Team = t
			if !keepAgent {
				d.Agent = ""
			}
			nk := accKey{k.start, d}
			acc := out.rows[nk]
			if acc == nil {
				acc = newRow()
				out.rows[nk] = acc
			}
			acc.Merge(r)
		}
	}
	return out
}

// Each calls f for every accumulated row, ordered by interval, then group.
func (a *Accumulator) Each(f func(start time.Time, d Dims, r *Row)) {
	keys := slices.SortedFunc(maps.Keys(a.rows), func(x, y accKey) int {
		if c := x.start.Compare(y.start); c != 0 {
			return c
		}
		return compareDims(x.dims, y.dims)
	})
	for _, k := range keys {
		f(k.start, k.dims, a.rows[k])
	}
}
