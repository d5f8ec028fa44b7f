package rest

import (
	"context"
	"embed"
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/connectors"
	"github.com/switchboardhq/switchboard/pipeline/streams"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// dashboardFiles is the live dashboard page (docs/insight.md#dashboard): the page, its script
// and uPlot (MIT, vendored from npm uplot 1.6.32).
//
//go:embed dashboard
var dashboardFiles embed.FS

// dashboardEndpoints serve the page and its data.
func (s *API) dashboardEndpoints(ep func(string, string, connectors.HandlerFunc) connectors.Endpoint) []connectors.Endpoint {
	page := func(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
		name := r.PathValue("file")
		if name == "" {
			name = "index.html"
		}
		data, err := fs.ReadFile(dashboardFiles, path.Join("dashboard", path.Clean("/" + name)[1:]))
		if err != nil {
			return nil, notFound("file", name)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		return &connectors.Response{Status: http.StatusOK, Body: data, Header: http.Header{"Content-Type": {ct},
			"Cache-Control": {"no-cache"}, "Content-Security-Policy": {"default-src 'self'; style-src 'self' 'unsafe-inline'"}}}, nil
	}
	open := func(h connectors.HandlerFunc) connectors.Endpoint {
		return connectors.Endpoint{Method: "GET", Channel: restChannel, Handle: h}
	}
	a, b := open(page), open(page)
	a.Path, b.Path = "/dashboard", "/dashboard/{file}"
	return []connectors.Endpoint{a, b, ep("GET", "/v1/dashboard", s.getDashboard)}
}

// Dashboard is what the dashboard page shows, as GET /v1/dashboard and the stream send it.
type Dashboard struct {
	GeneratedAt time.Time          `json:"generated_at"`
	Timezone    string             `json:"timezone"`
	From        time.Time          `json:"from"` // today's start in the report zone
	Through     insight.Position   `json:"through"`
	Today       kpi.Summary        `json:"today"`
	ByQueue     []kpi.Summary      `json:"by_queue"`
	Queues      []router.QueueInfo `json:"queues"`
	Agents      map[string]int     `json:"agents"` // by presence
	SLA         []dashboardSLA     `json:"sla"`
	// Heatmap is conversations opened over the last 4 weeks, by weekday (0: Monday) and hour.
	Heatmap [7][24]int64 `json:"heatmap"`
	// FirstResponse is today's first response times in buckets of at most Edges seconds (the
	// last: more).
	FirstResponse struct {
		Edges  []int64 `json:"edges_seconds"`
		Counts []int64 `json:"counts"`
	} `json:"first_response"`
	Breaches []dashboardBreach `json:"breaches"`
}

type dashboardSLA struct {
	Metric     string   `json:"metric"`
	Met        int64    `json:"met"`
	Breached   int64    `json:"breached"`
	Attainment *float64 `json:"attainment"`
}

type dashboardBreach struct {
	At           time.Time `json:"at"`
	Conversation string    `json:"conversation_id"`
	Metric       string    `json:"metric"`
	Policy       string    `json:"policy"`
	DueAt        time.Time `json:"due_at"`
}

var frtEdges = []int64{60, 300, 900, 3600, 4 * 3600, 24 * 3600}

// heatmapCache keeps the 4-week heatmap a minute (it reads 2,688 cells).
type heatmapCache struct {
	mu   sync.Mutex
	at   time.Time
	data [7][24]int64
}

func (s *API) getDashboard(ctx context.Context, r *connectors.Request) (*connectors.Response, error) {
	d, err := s.dashboard(ctx)
	if err != nil {
		return nil, err
	}
	return connectors.JSON(http.StatusOK, d), nil
}

// dashboard computes the page's figures: today's from the insight cells, queues and agents
// from the router's live state, breaches from the stream.
func (s *API) dashboard(ctx context.Context) (*Dashboard, error) {
	if s.reports == nil {
		return nil, &connectors.HTTPError{Status: http.StatusNotFound, Code: "insight_off", Message: "insight is off (insight.enabled: false)"}
	}
	loc := s.reports.Location()
	now := time.Now()
	lt := now.In(loc)
	from := time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc)
	to := now.Truncate(15 * time.Minute).Add(15 * time.Minute)
	d := &Dashboard{GeneratedAt: now.UTC(), Timezone: loc.String(), From: from.UTC(), Agents: map[string]int{}, ByQueue: []kpi.Summary{}, Breaches: []dashboardBreach{}}
	total, err := s.reports.Conversations(ctx, insight.Query{From: from, To: to})
	if err != nil {
		return nil, err
	}
	d.Through = total.Through
	d.Today = kpi.Summarize(from.UTC(), kpi.Dims{}, &kpi.Row{})
	if len(total.Rows) > 0 {
		d.Today = total.Rows[0]
	}
	byQueue, err := s.reports.Conversations(ctx, insight.Query{From: from, To: to, GroupBy: []string{kpi.DimQueue}})
	if err != nil {
		return nil, err
	}
	d.ByQueue = append(d.ByQueue, byQueue.Rows...)
	if s.router != nil {
		d.Queues = s.router.Queues()
		for _, p := range []rules.Presence{rules.Available, rules.Away, rules.Offline} {
			d.Agents[string(p)] = 0
		}
		for _, a := range s.router.Agents() {
			d.Agents[string(a.Presence)]++
		}
	}
	for _, m := range slaMetrics {
		d.SLA = append(d.SLA, dashboardSLA{Metric: m, Met: d.Today.Counts["sla_"+m+"_met"], Breached: d.Today.Counts["sla_"+m+"_breached"],
			Attainment: d.Today.Rates["sla_"+m+"_attainment"]})
	}
	if d.Heatmap, err = s.heatmap(ctx, to, loc); err != nil {
		return nil, err
	}
	d.FirstResponse.Edges = frtEdges
	if d.FirstResponse.Counts, err = s.reports.Distribution(ctx, from, to, kpi.FirstResponse, frtEdges); err != nil {
		return nil, err
	}
	if d.Breaches, err = s.recentBreaches(ctx, from, 10); err != nil {
		return nil, err
	}
	return d, nil
}

func (s *API) heatmap(ctx context.Context, to time.Time, loc *time.Location) ([7][24]int64, error) {
	heatmaps := &s.heatmaps
	heatmaps.mu.Lock()
	defer heatmaps.mu.Unlock()
	if time.Since(heatmaps.at) < time.Minute {
		return heatmaps.data, nil
	}
	rep, err := s.reports.Conversations(ctx, insight.Query{From: to.Add(-28 * 24 * time.Hour), To: to, Interval: kpi.IntervalHour})
	if err != nil {
		return heatmaps.data, err
	}
	var h [7][24]int64
	for _, row := range rep.Rows {
		lt := row.Start.In(loc)
		h[(int(lt.Weekday())+6)%7][lt.Hour()] += row.Counts[kpi.Opened]
	}
	heatmaps.data, heatmaps.at = h, time.Now()
	return h, nil
}

// recentBreaches are the newest n sla_breached events since from, newest first.
func (s *API) recentBreaches(ctx context.Context, from time.Time, n int) ([]dashboardBreach, error) {
	out := []dashboardBreach{}
	if s.events == nil {
		return out, nil
	}
	err := s.events.Read(ctx, streams.Query{Filter: streams.ConversationTypeFilter("*", schema.EventSLABreached), Since: from}, func(st *streams.Stored) error {
		if e := st.Event; e != nil && e.SLA != nil {
			out = append(out, dashboardBreach{At: e.At, Conversation: e.ConversationID, Metric: e.SLA.Clock.Metric, Policy: e.SLA.Policy, DueAt: e.SLA.Clock.DueAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out[:min(n, len(out))], nil
}

// DashboardStream is GET /v1/dashboard/stream: Server-Sent Events, one "dashboard" event with
// the figures at once and then whenever they change (checked every second). EventSource cannot
// send headers, so the token may come as ?access_token=. Streams end when stop is closed (the
// server shutting down).
func (s *API) DashboardStream(stop <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.tokenOK(r) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":{"code":"unauthorized","message":"missing or invalid bearer token"}}` + "\n"))
			return
		}
		flusher, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "streaming unsupported", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("X-Accel-Buffering", "no")
		var last []byte
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			d, err := s.dashboard(r.Context())
			if err == nil {
				d.GeneratedAt = time.Time{} // compare what changed, not when
				data, _ := json.Marshal(d)
				if string(data) != string(last) {
					last = data
					d.GeneratedAt = time.Now().UTC()
					data, _ = json.Marshal(d)
					if _, err := w.Write([]byte("event: dashboard\ndata: " + string(data) + "\n\n")); err != nil {
						return
					}
					flusher.Flush()
				}
			} else if r.Context().Err() == nil {
				s.log.Warn("dashboard figures failed: " + err.Error())
			}
			select {
			case <-r.Context().Done():
				return
			case <-stop:
				return
			case <-tick.C:
			}
		}
	})
}

// tokenOK checks the bearer token (header or access_token query) like auth does.
func (s *API) tokenOK(r *http.Request) bool {
	if s.creds.Load().open() {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got = r.URL.Query().Get("access_token")
	}
	t, found := s.token(got)
	return found && t.has(ScopeRead)
}
