package rest

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// reportEndpoints are the reports (docs/insight.md), when insight is on.
func (s *API) reportEndpoints(ep func(string, string, connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	return []connectors.Endpoint{
		ep("GET", "/v1/reports/conversations", s.reportConversations),
		ep("GET", "/v1/reports/agents", s.reportAgents),
		ep("GET", "/v1/reports/sla", s.reportSLA),
		ep("GET", "/v1/reports/surveys", s.reportSurveys),
		ep("GET", "/v1/reports/staffing", s.reportStaffing),
	}
}

// reportQuery reads from, to, interval and group_by.
func (s *API) reportQuery(r *connectors.Request) (insight.Query, error) {
	if s.reports == nil {
		return insight.Query{}, &connectors.HTTPError{Status: http.StatusNotFound, Code: "insight_off", Message: "insight is off (insight.enabled: false)"}
	}
	q := r.HTTP.URL.Query()
	from, to, field, err := insight.ParseRange(q.Get("from"), q.Get("to"), time.Now(), s.reports.Location())
	if err != nil {
		return insight.Query{}, connectors.BadField(field, "%s", err.Error())
	}
	iv, err := kpi.ParseInterval(q.Get("interval"))
	if err != nil {
		return insight.Query{}, connectors.BadField("interval", "%s", err.Error())
	}
	var groupBy []string
	for _, v := range q["group_by"] {
		groupBy = append(groupBy, strings.Split(v, ",")...)
	}
	return insight.Query{From: from, To: to, Interval: iv, GroupBy: groupBy, Teams: s.teams}, nil
}

func (s *API) reportConversations(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := s.reportQuery(r)
	if err != nil {
		return nil, err
	}
	rep, err := s.reports.Conversations(ctx, q)
	if err != nil {
		return nil, reportError(err)
	}
	return answerReport(r, rep)
}

// reportAgents is the conversations report grouped by agent (and whatever else group_by
// names), without the rows of no agent.
func (s *API) reportAgents(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := s.reportQuery(r)
	if err != nil {
		return nil, err
	}
	q.GroupBy = append([]string{kpi.DimAgent}, q.GroupBy...)
	rep, err := s.reports.Conversations(ctx, q)
	if err != nil {
		return nil, reportError(err)
	}
	rows := rep.Rows[:0]
	for _, row := range rep.Rows {
		if row.Dims.Agent != "" {
			rows = append(rows, row)
		}
	}
	rep.Rows = rows
	return answerReport(r, rep)
}

func reportError(err error) error {
	var qe *insight.QueryError
	if errors.As(err, &qe) {
		return connectors.BadField(qe.Field, "%s", qe.Msg)
	}
	return err
}

// answerReport answers JSON, or CSV when the client asks for text/csv (Accept, or
// ?format=csv).
func answerReport(r *connectors.Request, rep *insight.Report) (*connectors.Response, error) {
	return answerJSONOrCSV(r, rep, rep.WriteCSV)
}

// answerJSONOrCSV answers v as JSON, or what writeCSV writes when the client asks for CSV.
func answerJSONOrCSV(r *connectors.Request, v any, writeCSV func(io.Writer) error) (*connectors.Response, error) {
	if wantsCSV(r) {
		var buf bytes.Buffer
		if err := writeCSV(&buf); err != nil {
			return nil, err
		}
		return &connectors.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/csv; charset=utf-8"}}, Body: buf.Bytes()}, nil
	}
	return connectors.JSON(http.StatusOK, v), nil
}

// slaReport is GET /v1/reports/sla: per interval and group, each metric's clocks met in time
// and breached, and the attainment (met ÷ (met + breached); null without either).
type slaReport struct {
	reportHead
	Rows []slaReportRow `json:"rows"`
}

// reportHead is what every report answer starts with: its range, interval, grouping, zone
// and how far into the stream its figures reach.
type reportHead struct {
	From     time.Time        `json:"from"`
	To       time.Time        `json:"to"`
	Interval string           `json:"interval"`
	GroupBy  []string         `json:"group_by"`
	Timezone string           `json:"timezone"`
	Through  insight.Position `json:"through"`
}

func headOf(rep *insight.Report) reportHead {
	return reportHead{From: rep.From, To: rep.To, Interval: rep.Interval, GroupBy: rep.GroupBy, Timezone: rep.Timezone, Through: rep.Through}
}

type slaReportRow struct {
	Start   time.Time            `json:"start"`
	Group   kpi.Dims             `json:"group"`
	Metrics map[string]slaFigure `json:"metrics"`
}

type slaFigure struct {
	Met        int64    `json:"met"`
	Breached   int64    `json:"breached"`
	Attainment *float64 `json:"attainment"`
}

var slaMetrics = []string{"first_response", "next_response", "resolution"}

func (s *API) reportSLA(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := s.reportQuery(r)
	if err != nil {
		return nil, err
	}
	rep, err := s.reports.Conversations(ctx, q)
	if err != nil {
		return nil, reportError(err)
	}
	out := slaReport{reportHead: headOf(rep), Rows: []slaReportRow{}}
	for _, row := range rep.Rows {
		sr := slaReportRow{Start: row.Start, Group: row.Dims, Metrics: map[string]slaFigure{}}
		seen := false
		for _, m := range slaMetrics {
			f := slaFigure{Met: row.Counts["sla_"+m+"_met"], Breached: row.Counts["sla_"+m+"_breached"], Attainment: row.Rates["sla_"+m+"_attainment"]}
			seen = seen || f.Met+f.Breached != 0
			sr.Metrics[m] = f
		}
		if seen {
			out.Rows = append(out.Rows, sr)
		}
	}
	if wantsCSV(r) {
		return csvAnswer(func(w *csv.Writer) { writeSLACSV(w, &out) }), nil
	}
	return connectors.JSON(http.StatusOK, out), nil
}

// wantsCSV reports whether a report is asked for as CSV (format=csv or Accept: text/csv).
func wantsCSV(r *connectors.Request) bool {
	return r.HTTP.URL.Query().Get("format") == "csv" || strings.Contains(r.Header("Accept"), "text/csv")
}

// csvAnswer is the CSV that write writes, as an answer.
func csvAnswer(write func(w *csv.Writer)) *connectors.Response {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	write(w)
	w.Flush()
	return &connectors.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/csv; charset=utf-8"}}, Body: buf.Bytes()}
}

// writeSLACSV writes the SLA report as CSV.
func writeSLACSV(w *csv.Writer, out *slaReport) {
	head := append([]string{"start"}, out.GroupBy...)
	for _, m := range slaMetrics {
		head = append(head, m+"_met", m+"_breached", m+"_attainment")
	}
	_ = w.Write(head)
	for _, row := range out.Rows {
		rec := []string{row.Start.UTC().Format(time.RFC3339)}
		for _, g := range out.GroupBy {
			rec = append(rec, insight.DimValue(row.Group, g))
		}
		for _, m := range slaMetrics {
			f := row.Metrics[m]
			att := ""
			if f.Attainment != nil {
				att = strconv.FormatFloat(*f.Attainment, 'f', 4, 64)
			}
			rec = append(rec, strconv.FormatInt(f.Met, 10), strconv.FormatInt(f.Breached, 10), att)
		}
		_ = w.Write(rec)
	}
}

// teams are an agent's teams in the roster in force.
func (s *API) teams(agent string) []string {
	if s.router == nil {
		return nil
	}
	rs := s.router.Rules()
	if rs == nil {
		return nil
	}
	if a, ok := rs.Roster().Lookup(agent); ok {
		return a.Teams
	}
	return nil
}
