package rest

import (
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// surveyReport is GET /v1/reports/surveys (docs/surveys.md#reports): per interval and group,
// CSAT and NPS sent, answered, the response rate, CSAT % (4–5 among answers), averages and
// NPS; rates are null without a base.
type surveyReport struct {
	reportHead
	Rows []surveyReportRow `json:"rows"`
}

type surveyReportRow struct {
	Start   time.Time  `json:"start"`
	Group   kpi.Dims   `json:"group"`
	CSAT    csatFigure `json:"csat"`
	NPS     npsFigure  `json:"nps"`
	Expired int64      `json:"expired"`
	Skipped int64      `json:"skipped"`
}

type csatFigure struct {
	Sent         int64    `json:"sent"`
	Answers      int64    `json:"answers"`
	Satisfied    int64    `json:"satisfied"`
	ResponseRate *float64 `json:"response_rate"`
	Percent      *float64 `json:"csat_percent"`
	Average      *float64 `json:"average"`
}

type npsFigure struct {
	Sent         int64    `json:"sent"`
	Answers      int64    `json:"answers"`
	Promoters    int64    `json:"promoters"`
	Detractors   int64    `json:"detractors"`
	ResponseRate *float64 `json:"response_rate"`
	Average      *float64 `json:"average"`
	Score        *float64 `json:"nps"`
}

func surveyRow(row kpi.Summary) (surveyReportRow, bool) {
	c, rt := row.Counts, row.Rates
	pct := func(v *float64) *float64 {
		if v == nil {
			return nil
		}
		p := *v * 100
		return &p
	}
	sr := surveyReportRow{Start: row.Start, Group: row.Dims, Expired: c[kpi.SurveysExpired], Skipped: c[kpi.SurveysSkipped],
		CSAT: csatFigure{Sent: c[kpi.CSATSent], Answers: c[kpi.CSATAnswers], Satisfied: c[kpi.CSATSatisfied],
			ResponseRate: rt["csat_response_rate"], Percent: pct(rt["csat"]), Average: rt["csat_average"]},
		NPS: npsFigure{Sent: c[kpi.NPSSent], Answers: c[kpi.NPSAnswers], Promoters: c[kpi.NPSPromoters], Detractors: c[kpi.NPSDetractors],
			ResponseRate: rt["nps_response_rate"], Average: rt["nps_average"], Score: rt[kpi.NPS]}}
	seen := sr.CSAT.Sent+sr.CSAT.Answers+sr.NPS.Sent+sr.NPS.Answers+sr.Expired+sr.Skipped != 0
	return sr, seen
}

func (s *API) reportSurveys(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := s.reportQuery(r)
	if err != nil {
		return nil, err
	}
	rep, err := s.reports.Conversations(ctx, q)
	if err != nil {
		return nil, reportError(err)
	}
	out := surveyReport{reportHead: headOf(rep), Rows: []surveyReportRow{}}
	for _, row := range rep.Rows {
		if sr, ok := surveyRow(row); ok {
			out.Rows = append(out.Rows, sr)
		}
	}
	if wantsCSV(r) {
		return csvAnswer(func(w *csv.Writer) { writeSurveyCSV(w, &out) }), nil
	}
	return connectors.JSON(http.StatusOK, out), nil
}

func writeSurveyCSV(w *csv.Writer, out *surveyReport) {
	head := append([]string{"start"}, out.GroupBy...)
	head = append(head, "csat_sent", "csat_answers", "csat_satisfied", "csat_response_rate", "csat_percent", "csat_average",
		"nps_sent", "nps_answers", "nps_promoters", "nps_detractors", "nps_response_rate", "nps_average", "nps", "expired", "skipped")
	_ = w.Write(head)
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', 4, 64)
	}
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	for _, row := range out.Rows {
		rec := []string{row.Start.UTC().Format(time.RFC3339)}
		for _, g := range out.GroupBy {
			rec = append(rec, insight.DimValue(row.Group, g))
		}
		c, p := row.CSAT, row.NPS
		rec = append(rec, n(c.Sent), n(c.Answers), n(c.Satisfied), f(c.ResponseRate), f(c.Percent), f(c.Average),
			n(p.Sent), n(p.Answers), n(p.Promoters), n(p.Detractors), f(p.ResponseRate), f(p.Average), f(p.Score), n(row.Expired), n(row.Skipped))
		_ = w.Write(rec)
	}
}
