package rest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/planning"
)

// reportStaffing is GET /v1/reports/staffing (docs/planning.md): a queue's measured inputs
// per interval, the agents its target needs and had, and a forecast of the next days.
func (s *API) reportStaffing(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	q, err := s.staffingQuery(r)
	if err != nil {
		return nil, err
	}
	rep, err := s.reports.Staffing(ctx, q)
	if err != nil {
		return nil, reportError(err)
	}
	return answerJSONOrCSV(r, rep, rep.WriteCSV)
}

// staffingQuery reads queue, channel (default: all of the queue's), from, to (default: the last 28 days; since=Nd: the N days before
// to), interval (30m), target
// (80/20s), shrinkage, max_occupancy, concurrency (default: the queue's agents' most common
// capacity) and days (forecast, default 7).
func (s *API) staffingQuery(r *connectors.Request) (insight.StaffingQuery, error) {
	var q insight.StaffingQuery
	if s.reports == nil {
		return q, &connectors.HTTPError{Status: http.StatusNotFound, Code: "insight_off", Message: "insight is off (insight.enabled: false)"}
	}
	v := r.HTTP.URL.Query()
	q.Queue, q.Channel = v.Get("queue"), v.Get("channel")
	rs := s.router.Rules()
	if rs == nil {
		return q, conflict("routing_off", "staffing is planned per queue: "+router.ErrRoutingOff.Error())
	}
	if err := q.FromRules(rs); err != nil {
		return q, reportError(err)
	}
	loc := s.reports.Location()
	now := time.Now().In(loc)
	to := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	defFrom := to.AddDate(0, 0, -28).Format(time.DateOnly)
	from, end, field, err := insight.ParseRange(or(v.Get("from"), defFrom), or(v.Get("to"), to.Format(time.RFC3339)), now, loc)
	if err != nil {
		return q, connectors.BadField(field, "%s", err.Error())
	}
	if since := v.Get("since"); since != "" {
		if v.Get("from") != "" {
			return q, connectors.BadField("since", "give from or since, not both")
		}
		days, err := strconv.Atoi(strings.TrimSuffix(since, "d"))
		if err != nil || !strings.HasSuffix(since, "d") || days < 1 || days > 366 {
			return q, connectors.BadField("since", "write a number of days from 1d to 366d, such as 28d")
		}
		e := end.In(loc)
		from = time.Date(e.Year(), e.Month(), e.Day()-days, e.Hour(), e.Minute(), 0, 0, loc)
	}
	q.From, q.To = from, end
	if q.Interval, err = time.ParseDuration(or(v.Get("interval"), "30m")); err != nil {
		return q, connectors.BadField("interval", "write 15m, 30m or 60m")
	}
	if q.Target, err = planning.ParseTarget(or(v.Get("target"), "80/20s")); err != nil {
		return q, connectors.BadField("target", "%s", err.Error())
	}
	if o := v.Get("max_occupancy"); o != "" {
		if q.Target.MaxOccupancy, err = planning.ParseShare(o); err != nil {
			return q, connectors.BadField("max_occupancy", "%s", err.Error())
		}
	}
	if q.Shrinkage, err = planning.ParseShare(or(v.Get("shrinkage"), "0")); err != nil {
		return q, connectors.BadField("shrinkage", "%s", err.Error())
	}
	if q.Days, err = strconv.Atoi(or(v.Get("days"), "7")); err != nil || q.Days < 0 || q.Days > 31 {
		return q, connectors.BadField("days", "write a number of days from 0 to 31")
	}
	if c := v.Get("concurrency"); c != "" {
		if q.Concurrency, err = strconv.Atoi(c); err != nil || q.Concurrency < 1 {
			return q, connectors.BadField("concurrency", "write the contacts an agent handles at once, 1 or more")
		}
	}
	return q, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
