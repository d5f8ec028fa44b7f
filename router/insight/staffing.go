package insight

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/router/rules"
)

// StaffingQuery asks for a queue's measured staffing inputs over [From, To) and, with
// Days > 0, a forecast of the Days after To.
type StaffingQuery struct {
	From, To time.Time
	Interval time.Duration // 15m, 30m or 60m
	Queue    string
	// Channel, when set, keeps the queue's conversations on that channel only (its arrivals,
	// handle and wait times); staffed agents are the queue's, whatever channel they serve.
	Channel string
	Target  planning.Target
	// Concurrency is contacts an agent of the queue handles at once.
	Concurrency int
	Shrinkage   float64
	// Eligible says whether an agent takes the queue's conversations: their available time
	// counts as the queue's staffed time.
	Eligible func(agent string) bool
	Days     int
	// Holiday says whether a date (local) is a holiday: left out of the forecast's learning.
	Holiday func(day time.Time) bool
	// Progress, when set, is told how many of the cells to read have been read.
	Progress Progress
}

// StaffingInputs is what was measured over the whole range.
type StaffingInputs struct {
	Arrivals    int64         `json:"arrivals"`
	AHT         time.Duration `json:"-"`
	AHTSeconds  float64       `json:"aht_seconds"`
	Handled     int64         `json:"handled"`
	Answered    int64         `json:"answered"`
	Abandoned   int64         `json:"abandoned"`
	Patience    time.Duration `json:"-"`
	PatienceSec *float64      `json:"patience_seconds,omitempty"`
	Concurrency int           `json:"concurrency"`
}

// StaffingReport is the answer: the inputs, the backtest (when there are two weeks), and a
// row per interval, past then forecast.
type StaffingReport struct {
	Queue    string             `json:"queue"`
	Channel  string             `json:"channel,omitempty"`
	From     time.Time          `json:"from"`
	To       time.Time          `json:"to"`
	Interval string             `json:"interval"`
	Timezone string             `json:"timezone"`
	Target   string             `json:"target"`
	Inputs   StaffingInputs     `json:"inputs"`
	Backtest *planning.Backtest `json:"backtest,omitempty"`
	// ForecastNote says why there is no forecast or backtest.
	ForecastNote string         `json:"forecast_note,omitempty"`
	Rows         []planning.Row `json:"rows"`
	Through      Position       `json:"through"`
}

// interval is one planning interval's measured sums.
type measured struct {
	arrivals, handled, handleMs, answered, within, abandoned, abandonMs, waitMs, availableMs int64
}

// Staffing reads a queue's measured inputs per interval and staffs them.
func (r *Reports) Staffing(ctx context.Context, q StaffingQuery) (*StaffingReport, error) {
	switch q.Interval {
	case 15 * time.Minute, 30 * time.Minute, time.Hour:
	default:
		return nil, &QueryError{Field: "interval", Msg: fmt.Sprintf("write 15m, 30m or 60m, not %s", q.Interval)}
	}
	if q.Queue == "" {
		return nil, &QueryError{Field: "queue", Msg: "name the queue to staff"}
	}
	if !q.To.After(q.From) {
		return nil, &QueryError{Field: "to", Msg: "must be after from"}
	}
	if q.Concurrency < 1 {
		q.Concurrency = 1
	}
	per, pos, err := r.measure(ctx, q)
	if err != nil {
		return nil, err
	}
	rep := &StaffingReport{Queue: q.Queue, Channel: q.Channel, From: q.From.UTC(), To: q.To.UTC(), Interval: q.Interval.String(),
		Timezone: r.loc.String(), Target: q.Target.String(), Through: pos}
	var total measured
	for _, m := range per {
		total.arrivals += m.arrivals
		total.handled += m.handled
		total.handleMs += m.handleMs
		total.answered += m.answered
		total.abandoned += m.abandoned
		total.abandonMs += m.abandonMs
		total.waitMs += m.waitMs
	}
	in := StaffingInputs{Arrivals: total.arrivals, Handled: total.handled, Answered: total.answered, Abandoned: total.abandoned, Concurrency: q.Concurrency}
	if total.handled > 0 {
		in.AHT = time.Duration(total.handleMs/total.handled) * time.Millisecond
		in.AHTSeconds = in.AHT.Seconds()
	}
	if p, ok := planning.Patience(time.Duration(total.waitMs)*time.Millisecond, time.Duration(total.abandonMs)*time.Millisecond, total.abandoned); ok {
		in.Patience = p
		s := p.Seconds()
		in.PatienceSec = &s
	}
	rep.Inputs = in
	if in.AHT <= 0 {
		what := fmt.Sprintf("queue %q", q.Queue)
		if q.Channel != "" {
			what += " on " + q.Channel
		}
		return nil, &QueryError{Field: "queue", Msg: fmt.Sprintf("%s has no handled conversations between %s and %s: nothing to measure a handle time from", what, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}
	}
	ivs, history := r.pastIntervals(q, per, in)
	if q.Days > 0 {
		future, ferr := r.forecastIntervals(q, history, in, rep)
		if ferr != nil && !errors.Is(ferr, planning.ErrTooLittleHistory) {
			return nil, ferr
		}
		ivs = append(ivs, future...)
	}
	rep.Rows, _ = planning.Plan(ivs, q.Target, q.Shrinkage)
	return rep, nil
}

// measure adds up the queue's cells per planning interval.
func (r *Reports) measure(ctx context.Context, q StaffingQuery) (map[time.Time]*measured, Position, error) {
	// Two reads of the same cell count: queues, then agents.
	half := func(offset uint64) Progress {
		if q.Progress == nil {
			return nil
		}
		return func(done, total uint64) { q.Progress(offset*total+done, 2*total) }
	}
	groupBy := []string{kpi.DimQueue}
	if q.Channel != "" {
		groupBy = []string{kpi.DimChannel, kpi.DimQueue} // quarters keep this pair
	}
	conv, pos, err := r.accumulate(ctx, q.From, q.To, kpi.Interval15m, groupBy, "from", half(0))
	if err != nil {
		return nil, pos, err
	}
	agents, _, err := r.accumulate(ctx, q.From, q.To, kpi.Interval15m, []string{kpi.DimAgent}, "from", half(1))
	if err != nil {
		return nil, pos, err
	}
	within := int64(q.Target.Within / time.Second)
	per := map[time.Time]*measured{}
	at := func(t time.Time) *measured {
		b := r.bucket(t, q.Interval)
		m := per[b]
		if m == nil {
			m = &measured{}
			per[b] = m
		}
		return m
	}
	conv.Each(func(start time.Time, d kpi.Dims, row *kpi.Row) {
		if d.Queue != q.Queue || (q.Channel != "" && string(d.Channel) != q.Channel) {
			return
		}
		m := at(start)
		m.arrivals += row.Count(kpi.Opened)
		if h := row.Dist(kpi.HandleTime); h != nil {
			m.handled += h.N
			m.handleMs += h.SumMs
		}
		if w := row.Dist(kpi.QueueWait); w != nil {
			m.answered += w.N
			m.within += w.AtMost(within)
			m.waitMs += w.SumMs
		}
		m.abandoned += row.Count(kpi.Abandoned)
		if a := row.Dist(kpi.AbandonWait); a != nil {
			m.abandonMs += a.SumMs
		}
	})
	agents.Each(func(start time.Time, d kpi.Dims, row *kpi.Row) {
		if d.Agent != "" && q.Eligible != nil && q.Eligible(d.Agent) {
			at(start).availableMs += row.Count(kpi.AvailableMs)
		}
	})
	return per, pos, nil
}

// pastIntervals builds the measured intervals and the arrivals history for the forecast.
func (r *Reports) pastIntervals(q StaffingQuery, per map[time.Time]*measured, in StaffingInputs) ([]planning.Interval, []planning.Point) {
	var ivs []planning.Interval
	var history []planning.Point
	for t := r.bucket(q.From, q.Interval); t.Before(q.To); t = r.next(t, q.Interval) {
		m := per[t]
		if m == nil {
			m = &measured{}
		}
		length := r.next(t, q.Interval).Sub(t)
		iv := planning.Interval{Start: t.UTC(), Length: length, Arrivals: float64(m.arrivals), AHT: in.AHT,
			Concurrency: q.Concurrency, Patience: in.Patience, Staffed: float64(m.availableMs) / float64(length.Milliseconds())}
		if m.handled > 0 {
			iv.AHT = time.Duration(m.handleMs/m.handled) * time.Millisecond
		}
		if q.Target.ASA == 0 && m.answered+m.abandoned > 0 {
			a := float64(m.within) / float64(m.answered+m.abandoned)
			iv.Achieved = &a
		}
		ivs = append(ivs, iv)
		history = append(history, planning.Point{Start: t, Value: float64(m.arrivals), Skip: q.Holiday != nil && q.Holiday(t.In(r.loc))})
	}
	return ivs, history
}

// forecastIntervals forecasts q.Days after To, and backtests the method on the last week.
func (r *Reports) forecastIntervals(q StaffingQuery, history []planning.Point, in StaffingInputs, rep *StaffingReport) ([]planning.Interval, error) {
	f := planning.Forecaster{Loc: r.loc}
	end := q.To.In(r.loc)
	stop := time.Date(end.Year(), end.Month(), end.Day()+q.Days, end.Hour(), end.Minute(), 0, 0, r.loc)
	var starts []time.Time
	for t := r.bucket(q.To, q.Interval); t.Before(stop); t = r.next(t, q.Interval) {
		starts = append(starts, t)
	}
	fc, err := f.Forecast(history, q.To, starts)
	if err != nil {
		rep.ForecastNote = err.Error()
		return nil, err
	}
	if bt, err := f.Backtest(history, q.To); err == nil {
		rep.Backtest = &bt
	} else {
		rep.ForecastNote = err.Error()
	}
	out := make([]planning.Interval, len(starts))
	for i, t := range starts {
		out[i] = planning.Interval{Start: t.UTC(), Length: r.next(t, q.Interval).Sub(t), Arrivals: fc[i], Forecast: true,
			AHT: in.AHT, Concurrency: q.Concurrency, Patience: in.Patience, Staffed: -1}
	}
	return out, nil
}

// bucket is the start of t's planning interval: local wall clock, aligned to the interval.
func (r *Reports) bucket(t time.Time, iv time.Duration) time.Time {
	l := t.In(r.loc)
	mins := (l.Hour()*60 + l.Minute()) / int(iv.Minutes()) * int(iv.Minutes())
	return time.Date(l.Year(), l.Month(), l.Day(), mins/60, mins%60, 0, 0, r.loc)
}

// next is the start of the interval after the one starting at t.
func (r *Reports) next(t time.Time, iv time.Duration) time.Time {
	n := t.Add(iv)
	if b := r.bucket(n, iv); b.After(t) {
		return b
	}
	return r.bucket(n.Add(iv), iv) // a repeated wall-clock hour (autumn)
}

// accumulate reads the cells over [from, to) for interval iv, grouped by groupBy, telling
// progress (when set) as cells come in. A range the cells cannot answer is a QueryError on
// field (group_by for a grouping that needs days).
func (r *Reports) accumulate(ctx context.Context, from, to time.Time, iv kpi.Interval, groupBy []string, field string, progress Progress) (*kpi.Accumulator, Position, error) {
	cells := kpi.CellGroup(groupBy)
	mask := kpi.MaskOf(cells)
	plan, err := kpi.PlanFor(from, to, iv, r.loc, mask)
	if errors.Is(err, kpi.ErrGroupNeedsDays) {
		return nil, Position{}, &QueryError{Field: "group_by", Msg: err.Error()}
	}
	if err != nil {
		return nil, Position{}, &QueryError{Field: field, Msg: err.Error()}
	}
	pos, _, err := loadPosition(ctx, r.kv)
	if err != nil {
		return nil, pos, err
	}
	got := make([]*kpi.Cell, len(plan))
	errs := make([]error, len(plan))
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := uint64(0)
	sem := make(chan struct{}, cellReaders)
	for i, ref := range plan {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got[i], _, errs[i] = getCell(ctx, r.kv, pos.Generation, ref.Key+mask.Suffix())
			if progress != nil {
				mu.Lock()
				done++
				progress(done, uint64(len(plan)))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	acc := kpi.NewAccumulator(cells)
	for i, ref := range plan {
		if errs[i] != nil {
			return nil, pos, errs[i]
		}
		if got[i] != nil {
			acc.Add(ref.Bucket, got[i])
		}
	}
	return acc, pos, nil
}

// StaffingHeader is the staffing CSV's header.
var StaffingHeader = []string{"start", "forecast", "arrivals", "aht_seconds", "concurrency", "patience_seconds", "required", "scheduled",
	"predicted_service_level", "predicted_asa_seconds", "staffed", "predicted_at_staffed", "achieved", "status", "error"}

// WriteCSV writes a row per interval (empty cells: not measured).
func (rep *StaffingReport) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(StaffingHeader)
	f := func(v float64, prec int) string {
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return "" // an unstable queue's ASA
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	opt := func(v *float64) string {
		if v == nil {
			return ""
		}
		return f(*v, 4)
	}
	for _, r := range rep.Rows {
		staffed := ""
		if r.Staffed >= 0 {
			staffed = f(r.Staffed, 2)
		}
		patience := ""
		if r.Patience > 0 {
			patience = f(r.Patience.Seconds(), 1)
		}
		_ = cw.Write([]string{r.Start.Format(time.RFC3339), strconv.FormatBool(r.Forecast), f(r.Arrivals, 2), f(r.AHT.Seconds(), 1),
			strconv.Itoa(r.Concurrency), patience, strconv.Itoa(r.Required), strconv.Itoa(r.Scheduled),
			f(r.Predicted.ServiceLevel, 4), f(r.Predicted.ASA, 1), staffed, opt(r.PredictedAtStaffed), opt(r.Achieved), string(r.Status), r.Error})
	}
	cw.Flush()
	return cw.Error()
}

// FromRules fills what the rules know about q.Queue: the agents who may serve it (their
// available time is its staffed time), their most common capacity (for q.Channel when set) as
// the concurrency (unless set), and the holidays of the business-hours calendars. An unknown
// queue or channel is a QueryError.
func (q *StaffingQuery) FromRules(rs *rules.Rules) error {
	if q.Queue == "" {
		return &QueryError{Field: "queue", Msg: fmt.Sprintf("name the queue to staff (one of %v)", rs.QueueNames())}
	}
	if !rs.Queue(q.Queue) {
		return &QueryError{Field: "queue", Msg: fmt.Sprintf("unknown queue %q (the rules have %v)", q.Queue, rs.QueueNames())}
	}
	if strings.ContainsFunc(q.Channel, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') }) {
		return &QueryError{Field: "channel", Msg: fmt.Sprintf("%q is not a channel name (such as whatsapp, email, webchat)", q.Channel)}
	}
	eligible := map[string]bool{}
	counts := map[int]int{}
	for _, a := range rs.QueueAgents(q.Queue) {
		eligible[a.ID] = true
		caps := a.Capacities()
		c, ok := caps[q.Channel]
		if !ok {
			c = caps["default"]
		}
		counts[c]++
	}
	q.Eligible = func(agent string) bool { return eligible[agent] }
	if q.Concurrency == 0 {
		q.Concurrency = mostCommon(counts)
	}
	q.Holiday = rs.Holiday
	return nil
}

// mostCommon is the capacity most agents have (the smallest on a tie; 1 without agents).
func mostCommon(counts map[int]int) int {
	best, n := 1, 0
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		if counts[k] > n && k > 0 {
			best, n = k, counts[k]
		}
	}
	return best
}
