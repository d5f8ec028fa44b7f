package insight

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// Reports answers report queries from the stored cells.
type Reports struct {
	kv  jetstream.KeyValue
	loc *time.Location
	tz  string
}

// OpenReports opens the cells for reading.
func OpenReports(ctx context.Context, js jetstream.JetStream, c Config) (*Reports, error) {
	c = c.WithDefaults()
	loc, err := c.Location()
	if err != nil {
		return nil, err
	}
	kv, err := js.KeyValue(ctx, streams.BucketInsight)
	if err != nil {
		return nil, fmt.Errorf("open bucket %s: %w", streams.BucketInsight, err)
	}
	return &Reports{kv: kv, loc: loc, tz: c.Timezone}, nil
}

// Location is the zone days and weeks align to.
func (r *Reports) Location() *time.Location { return r.loc }

// Query selects a report.
type Query struct {
	From, To time.Time
	Interval kpi.Interval
	GroupBy  []string
	// Teams maps an agent to their teams (the roster), for group_by team.
	Teams func(agent string) []string
}

// Report is a query's answer.
type Report struct {
	From     time.Time     `json:"from"`
	To       time.Time     `json:"to"`
	Interval string        `json:"interval"`
	GroupBy  []string      `json:"group_by"`
	Timezone string        `json:"timezone"`
	Through  Position      `json:"through"`
	Rows     []kpi.Summary `json:"rows"`
}

// QueryError is a report query that cannot be answered as asked: Field names the parameter.
type QueryError struct{ Field, Msg string }

func (e *QueryError) Error() string { return e.Field + ": " + e.Msg }

// cellReaders bounds the cell reads one report runs at once.
const cellReaders = 8

// Conversations answers q: every counter, duration metric and rate, per interval and group.
func (r *Reports) Conversations(ctx context.Context, q Query) (*Report, error) {
	groupBy, err := kpi.ParseGroupBy(q.GroupBy)
	if err != nil {
		return nil, &QueryError{Field: "group_by", Msg: err.Error()}
	}
	if !q.To.After(q.From) {
		return nil, &QueryError{Field: "to", Msg: "must be after from"}
	}
	acc, pos, err := r.accumulate(ctx, q.From, q.To, q.Interval, groupBy, "interval", nil)
	if err != nil {
		return nil, err
	}
	if slices.Contains(groupBy, kpi.DimTeam) {
		teams := q.Teams
		if teams == nil {
			teams = func(string) []string { return nil }
		}
		acc = acc.ByTeam(teams, slices.Contains(groupBy, kpi.DimAgent))
	}
	iv := string(q.Interval)
	if iv == "" {
		iv = "total"
	}
	if groupBy == nil {
		groupBy = []string{}
	}
	return &Report{From: q.From.UTC(), To: q.To.UTC(), Interval: iv, GroupBy: groupBy, Timezone: r.loc.String(),
		Through: pos, Rows: acc.Summaries()}, nil
}

// Distribution counts a duration metric's samples over [from, to) in buckets: counts[i] is the
// samples of at most edges[i] seconds (and more than edges[i-1]); the last count is the samples
// above the last edge. Values are the quantized seconds the percentiles use.
func (r *Reports) Distribution(ctx context.Context, from, to time.Time, metric string, edges []int64) ([]int64, error) {
	plan, err := kpi.Plan(from, to, kpi.IntervalNone, r.loc)
	if err != nil {
		return nil, &QueryError{Field: "interval", Msg: err.Error()}
	}
	pos, _, err := loadPosition(ctx, r.kv)
	if err != nil {
		return nil, err
	}
	counts := make([]int64, len(edges)+1)
	for _, ref := range plan {
		c, _, err := getCell(ctx, r.kv, pos.Generation, ref.Key+kpi.Mask(0).Suffix())
		if err != nil {
			return nil, err
		}
		if c == nil {
			continue
		}
		for _, row := range c.Rows {
			d := row.Dist(metric)
			if d == nil {
				continue
			}
			for _, b := range d.Hist {
				i, _ := slices.BinarySearch(edges, b.Q)
				counts[i] += b.N
			}
		}
	}
	return counts, nil
}
