package insight

import (
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// Header is the report's CSV header: start, the grouped dimensions, every counter, four
// columns per duration metric (count, avg, p50, p90 in seconds), every rate.
func (r *Report) Header() []string {
	h := append([]string{"start"}, r.GroupBy...)
	h = append(h, kpi.Counters...)
	for _, m := range kpi.Metrics {
		h = append(h, m+"_count", m+"_avg_seconds", m+"_p50_seconds", m+"_p90_seconds")
	}
	return append(h, kpi.RateNames()...)
}

// Record is one row's CSV fields, in Header's order. An undefined rate or a metric without
// samples is an empty field.
func (r *Report) Record(s kpi.Summary) []string {
	rec := []string{s.Start.UTC().Format(time.RFC3339)}
	for _, g := range r.GroupBy {
		rec = append(rec, DimValue(s.Dims, g))
	}
	for _, c := range kpi.Counters {
		rec = append(rec, strconv.FormatInt(s.Counts[c], 10))
	}
	for _, m := range kpi.Metrics {
		ms := s.Metrics[m]
		if ms.Count == 0 {
			rec = append(rec, "0", "", "", "")
			continue
		}
		rec = append(rec, strconv.FormatInt(ms.Count, 10), strconv.FormatFloat(ms.AvgSeconds, 'f', 3, 64),
			strconv.FormatInt(ms.P50Seconds, 10), strconv.FormatInt(ms.P90Seconds, 10))
	}
	for _, name := range kpi.RateNames() {
		if v := s.Rates[name]; v != nil {
			rec = append(rec, strconv.FormatFloat(*v, 'f', 4, 64))
		} else {
			rec = append(rec, "")
		}
	}
	return rec
}

// WriteCSV writes the report as CSV (RFC 4180).
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Header()); err != nil {
		return err
	}
	for _, s := range r.Rows {
		if err := cw.Write(r.Record(s)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// DimValue is one dimension of d as text.
func DimValue(d kpi.Dims, name string) string {
	switch name {
	case kpi.DimChannel:
		return d.Channel
	case kpi.DimAccount:
		return d.Account
	case kpi.DimQueue:
		return d.Queue
	case kpi.DimAgent:
		return d.Agent
	case kpi.DimPriority:
		return strconv.Itoa(d.Priority)
	case kpi.DimTeam:
		return d.Team
	}
	return ""
}

// ParseRange reads a report's from and to: RFC 3339 times, or dates (YYYY-MM-DD, midnight in
// loc; a date as to means the end of that day). Empty: the last 7 days up to the next
// 15-minute boundary. Both must lie on 15-minute boundaries.
func ParseRange(from, to string, now time.Time, loc *time.Location) (time.Time, time.Time, string, error) {
	end := now.Truncate(15 * time.Minute)
	if !end.Equal(now) {
		end = end.Add(15 * time.Minute)
	}
	t, err := parseTime(to, loc, true, end)
	if err != nil {
		return time.Time{}, time.Time{}, "to", err
	}
	f, err := parseTime(from, loc, false, t.AddDate(0, 0, -7))
	if err != nil {
		return time.Time{}, time.Time{}, "from", err
	}
	return f, t, "", nil
}

type rangeError string

func (e rangeError) Error() string { return string(e) }

func parseTime(s string, loc *time.Location, end bool, def time.Time) (time.Time, error) {
	if s == "" {
		return def, nil
	}
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		if end {
			d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
		}
		return d, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, rangeError("must be an RFC 3339 time (2026-12-01T09:00:00Z) or a date (2026-12-01)")
	}
	if t.Unix()%900 != 0 {
		return time.Time{}, rangeError("must lie on a 15-minute boundary (e.g. 09:00, 09:15)")
	}
	return t, nil
}
