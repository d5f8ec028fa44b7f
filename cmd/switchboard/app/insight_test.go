package app_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/insight/kpi/kpitest"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

const insightAgents = `
insight: {business_hours: office, timezone: Europe/Berlin, flush_interval: 100ms, reopen_window: 1h}
router:
  threading:
    reopen: {email: {mode: reopen}}
  agents:
    - {id: ann, skills: [general, billing], capacity: {default: 5}, teams: [tier1]}
    - {id: ben, skills: [general], capacity: {default: 5}, teams: [tier1, tier2]}
    - {id: cat, skills: [billing], capacity: {default: 5}, teams: [tier2]}
`

const insightRules = `
queues: {general: {skills: [general]}, billing: {skills: [billing]}}
business_hours:
  office: {timezone: Europe/Berlin, weekly: {mon-fri: ["08:00-18:00"], sat: ["10:00-14:00"]}}
rules:
  - {name: money, when: {keywords: [invoice]}, targets: [{queue: billing}]}
  - {name: rest, targets: [{queue: general}]}
`

// TestInsightEndToEnd drives scripted conversations over three channels, two queues and
// three agents, then checks the reports (JSON and CSV) and /metrics against a brute-force
// computation over the events the stream holds.
func TestInsightEndToEnd(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, insightAgents, insightRules))
	for _, a := range []string{"ann", "ben", "cat"} {
		setPresence(t, g, a, rules.Available)
	}
	do := func(conv, action string, body map[string]any) {
		t.Helper()
		if st, b := g.Do("POST", "/v1/conversations/"+conv+"/"+action, apptest.Token, body); st != http.StatusAccepted {
			t.Fatalf("%s %s: %d %s", action, conv, st, b)
		}
	}
	// assignedTo waits for the conversation of message id to be assigned and returns both.
	assignedTo := func(filter string, n int) (string, string) {
		t.Helper()
		evs := waitFor(t, g, filter, 10*time.Second, atLeast(n, schema.EventAssigned))
		a := ofType(evs, schema.EventAssigned)[n-1]
		return a.ConversationID, a.Routing.AgentID
	}
	waitCount := func(conv string, n int, typ schema.EventType) {
		t.Helper()
		waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(n, typ))
	}

	// 1. SMS, billing: two replies (a first and a next response), resolved.
	publish(t, g, sms("s1", "+15550001001", "my invoice is wrong"))
	c1, a1 := assignedTo("sb.conv.>", 1)
	do(c1, "messages", map[string]any{"text": "let me look", "agent_id": a1})
	waitCount(c1, 2, schema.EventMessage)
	publish(t, g, sms("s2", "+15550001001", "any news?"))
	waitCount(c1, 3, schema.EventMessage)
	do(c1, "messages", map[string]any{"text": "fixed", "agent_id": a1})
	waitCount(c1, 4, schema.EventMessage)
	do(c1, "resolve", nil)
	waitCount(c1, 1, schema.EventResolved)

	// 2. Email, general: answered, resolved, reopened by the customer within the window
	// (no first-contact resolution), answered and resolved again.
	publish(t, g, email("e1", "dora@example.com", "hello", "<m1@example.com>"))
	c2, a2 := assignedTo("sb.conv.>", 2)
	do(c2, "messages", map[string]any{"text": "hi Dora", "agent_id": a2})
	waitCount(c2, 2, schema.EventMessage)
	do(c2, "resolve", nil)
	waitCount(c2, 1, schema.EventResolved)
	publish(t, g, email("e2", "dora@example.com", "one more thing", "<m2@example.com>", "<m1@example.com>"))
	waitCount(c2, 1, schema.EventReopened)
	_, a2b := assignedTo("sb.conv."+c2+".>", 2)
	do(c2, "messages", map[string]any{"text": "sure", "agent_id": a2b})
	waitCount(c2, 4, schema.EventMessage)
	do(c2, "resolve", nil)
	waitCount(c2, 2, schema.EventResolved)

	// 3. API, general: a note and an automated message, no agent reply, left open.
	g.PostAPI("p1", "erin@example.com", "need help")
	c3, _ := assignedTo("sb.conv.>", 4)
	do(c3, "messages", map[string]any{"text": "VIP", "note": true, "agent_id": "ben"})
	do(c3, "messages", map[string]any{"text": "We got your message", "automated": true})
	waitCount(c3, 3, schema.EventMessage)

	// 4. API, billing: answered once and resolved (first-contact resolution, one reply).
	g.PostAPI("p2", "fred@example.com", "invoice copy please")
	c4, a4 := assignedTo("sb.conv.>", 5)
	do(c4, "messages", map[string]any{"text": "attached", "agent_id": a4})
	waitCount(c4, 2, schema.EventMessage)
	do(c4, "resolve", nil)
	waitCount(c4, 1, schema.EventResolved)

	all := streamEvents(t, g, "sb.conv.>")
	byConv := map[string][]*schema.Event{}
	for _, e := range all {
		byConv[e.ConversationID] = append(byConv[e.ConversationID], e)
	}
	if len(byConv) != 4 {
		t.Fatalf("%d conversations, want 4:\n%s", len(byConv), apptest.Sprint(all))
	}
	rs, err := rules.ParseRules("rules.yaml", []byte(insightRules), rules.NewRoster(g.Config.Router.Agents, nil))
	if err != nil {
		t.Fatal(err)
	}
	var want []kpitest.Sample
	for _, evs := range byConv {
		want = append(want, kpitest.BruteForce(evs, rs.Calendar("office"), time.Hour)...)
	}
	from := all[0].At.Truncate(15 * time.Minute)
	to := all[len(all)-1].At.Truncate(15 * time.Minute).Add(15 * time.Minute)
	loc, _ := time.LoadLocation("Europe/Berlin")

	// The projection is at most a flush interval behind: wait until it holds every event.
	lastSeq := g.StreamCount("SB_CONVERSATIONS", "")
	// Several dimensions at once are kept for whole days only.
	dayFrom := kpitest.StartOfDay(from.In(loc))
	dayTo := kpitest.StartOfDay(to.In(loc)).AddDate(0, 0, 1)
	rangeFor := func(groupBy []string) (time.Time, time.Time) {
		if len(groupBy) > kpi.MaxQuarterGroupBy {
			return dayFrom, dayTo
		}
		return from, to
	}
	query := func(path string, groupBy []string, iv kpi.Interval) *insight.Report {
		t.Helper()
		from, to := rangeFor(groupBy)
		url := fmt.Sprintf("%s?from=%s&to=%s&interval=%s&group_by=%s", path, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), iv, strings.Join(groupBy, ","))
		var rep insight.Report
		apptest.Eventually(t, 10*time.Second, func() error {
			st, body := g.Do("GET", url, apptest.Token, nil)
			if st != 200 {
				t.Fatalf("GET %s: %d %s", url, st, body)
			}
			rep = insight.Report{}
			if err := json.Unmarshal(body, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Through.Seq < lastSeq {
				return fmt.Errorf("the projection is at %d of %d", rep.Through.Seq, lastSeq)
			}
			return nil
		})
		return &rep
	}
	for _, q := range []struct {
		by []string
		iv kpi.Interval
	}{{nil, kpi.IntervalNone}, {[]string{"channel", "queue"}, kpi.IntervalNone}, {[]string{"agent"}, kpi.IntervalHour}, {[]string{"channel", "account", "priority"}, kpi.IntervalDay}, {[]string{"queue"}, kpi.Interval15m}} {
		rep := query("/v1/reports/conversations", q.by, q.iv)
		from, to := rangeFor(q.by)
		kpitest.Compare(t, fmt.Sprintf("by %v %q", q.by, q.iv), rep.Rows, want, from, to, q.iv, q.by, loc)
	}
	// The figures a manager reads first, spelled out.
	total := query("/v1/reports/conversations", nil, kpi.IntervalNone).Rows[0]
	for name, n := range map[string]int64{kpi.Opened: 4, kpi.Resolved: 4, kpi.ResolvedFirst: 3, kpi.Reopened: 1, kpi.FCR: 2,
		kpi.FCROneReply: 1, kpi.Replies: 5, kpi.Notes: 1, kpi.AutomatedOut: 1, kpi.MessagesIn: 6} {
		if total.Counts[name] != n {
			t.Errorf("%s = %d, want %d", name, total.Counts[name], n)
		}
	}
	if m := total.Metrics[kpi.FirstResponse]; m.Count != 4 {
		t.Errorf("first responses: %d, want 4 (sms, email twice, api billing)", m.Count)
	}
	if m := total.Metrics[kpi.NextResponse]; m.Count != 1 {
		t.Errorf("next responses: %d, want 1", m.Count)
	}

	// CSV: the same figures, one line per row.
	url := fmt.Sprintf("/v1/reports/conversations?from=%s&to=%s&group_by=channel,queue", dayFrom.UTC().Format(time.RFC3339), dayTo.UTC().Format(time.RFC3339))
	st, body := g.Do("GET", url, apptest.Token, nil, "Accept", "text/csv")
	if st != 200 {
		t.Fatalf("CSV: %d %s", st, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v\n%s", err, body)
	}
	jsonRep := query("/v1/reports/conversations", []string{"channel", "queue"}, kpi.IntervalNone)
	if len(recs) != len(jsonRep.Rows)+1 || !slices.Equal(recs[0], jsonRep.Header()) {
		t.Fatalf("CSV has %d lines and header %v, want %d rows", len(recs), recs[0], len(jsonRep.Rows))
	}
	col := slices.Index(recs[0], kpi.Opened)
	for i, row := range jsonRep.Rows {
		if recs[i+1][col] != strconv.FormatInt(row.Counts[kpi.Opened], 10) || recs[i+1][1] != row.Dims.Channel {
			t.Fatalf("CSV line %d %v does not match %+v", i+1, recs[i+1], row)
		}
	}

	// Teams: every agent's replies count in each of their teams.
	teamOf := map[string][]string{"ann": {"tier1"}, "ben": {"tier1", "tier2"}, "cat": {"tier2"}}
	wantTeam := map[string]int64{}
	for _, smp := range want {
		if smp.Name == kpi.Replies {
			for _, tm := range teamOf[smp.Dims.Agent] {
				wantTeam[tm]++
			}
		}
	}
	gotTeam := map[string]int64{}
	for _, row := range query("/v1/reports/conversations", []string{"team"}, kpi.IntervalNone).Rows {
		if row.Counts[kpi.Replies] > 0 {
			gotTeam[row.Dims.Team] = row.Counts[kpi.Replies]
		}
	}
	if fmt.Sprint(gotTeam) != fmt.Sprint(wantTeam) {
		t.Errorf("replies by team %v, brute force %v", gotTeam, wantTeam)
	}

	// Presence: ann was available from her first presence event to her away one; her
	// occupancy is her load times that time over her limit times that time.
	setPresence(t, g, "ann", rules.Away)
	pres := map[string][]*schema.Event{}
	for _, e := range waitFor(t, g, "sb.presence.>", 10*time.Second, func(evs []*schema.Event) error {
		for _, e := range evs {
			if e.Presence.Agent == "ann" && e.Presence.Status == "away" {
				return nil
			}
		}
		return fmt.Errorf("no away event for ann")
	}) {
		pres[e.Presence.Agent] = append(pres[e.Presence.Agent], e)
	}
	annEvs := pres["ann"]
	if len(annEvs) != 2 || annEvs[0].Presence.Status != "available" || annEvs[0].Presence.MaxLoad != 5 {
		t.Fatalf("ann's presence events: %+v", annEvs)
	}
	availMs := annEvs[1].At.Sub(annEvs[0].At).Milliseconds()
	lastSeq = g.StreamCount("SB_CONVERSATIONS", "")
	var annRow *kpi.Summary
	for _, row := range query("/v1/reports/agents", nil, kpi.IntervalNone).Rows {
		if row.Dims.Agent == "ann" {
			annRow = &row
		}
	}
	if annRow == nil || annRow.Counts[kpi.AvailableMs] != availMs || annRow.Counts[kpi.CapacityMs] != 5*availMs ||
		annRow.Counts[kpi.LoadMs] != int64(annEvs[0].Presence.Load)*availMs {
		t.Fatalf("ann's presence figures %+v, want available %d ms at load %d of 5", annRow, availMs, annEvs[0].Presence.Load)
	}
	if occ := annRow.Rates["occupancy"]; occ == nil || *occ != float64(annEvs[0].Presence.Load)/5 {
		t.Fatalf("ann's occupancy %v", occ)
	}

	// Agents: only agents' rows.
	agents := query("/v1/reports/agents", nil, kpi.IntervalNone)
	var replies int64
	for _, row := range agents.Rows {
		if row.Dims.Agent == "" {
			t.Fatalf("an agent row without an agent: %+v", row)
		}
		replies += row.Counts[kpi.Replies]
	}
	if replies != 5 {
		t.Fatalf("agents' replies add up to %d, want 5", replies)
	}

	// /metrics: the first-response histogram counts what the brute force counts.
	wantFRT := map[string]int{}
	for _, s := range want {
		if s.Name == kpi.FirstResponse {
			wantFRT[fmt.Sprintf(`channel="%s",queue="%s"`, s.Dims.Channel, s.Dims.Queue)]++
		}
	}
	_, metrics := g.Do("GET", "/metrics", "", nil)
	got := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(metrics))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "switchboard_first_response_seconds_count{")
		if !ok {
			continue
		}
		labels, n, _ := strings.Cut(line, "} ")
		v, _ := strconv.Atoi(n)
		got[labels] = v
	}
	if fmt.Sprint(got) != fmt.Sprint(wantFRT) {
		t.Fatalf("switchboard_first_response_seconds_count %v, brute force %v", got, wantFRT)
	}

	// The Grafana dashboard in the repo queries only series this gateway exports.
	dash, err := os.ReadFile("../../../configs/grafana/switchboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var board struct {
		Inputs []struct{ Name string } `json:"__inputs"`
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(dash, &board); err != nil || len(board.Panels) == 0 || len(board.Inputs) != 1 {
		t.Fatalf("configs/grafana/switchboard.json: %v (%d panels)", err, len(board.Panels))
	}
	series := regexp.MustCompile(`switchboard_[a-z_]+`)
	for _, p := range board.Panels {
		for _, tg := range p.Targets {
			for _, name := range series.FindAllString(tg.Expr, -1) {
				base := strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_count")
				if !strings.Contains(string(metrics), "# TYPE "+base+" ") {
					t.Errorf("dashboard panel %q queries %s, which /metrics does not have", p.Title, name)
				}
			}
		}
	}

	// Bad input names the parameter.
	for path, field := range map[string]string{
		"/v1/reports/conversations?interval=fortnight":                         "interval",
		"/v1/reports/conversations?from=yesterday":                             "from",
		"/v1/reports/conversations?from=2026-12-01T10:07:00Z":                  "from",
		"/v1/reports/conversations?group_by=mood":                              "group_by",
		"/v1/reports/conversations?from=2026-12-02&to=2026-12-01":              "to",
		"/v1/reports/conversations?from=2020-01-01&to=2026-01-01&interval=15m": "interval",
		"/v1/reports/agents?from=2026-12-01T10:00:00Z&to=2026-12-01T09:00:00Z": "to",
	} {
		st, body := g.Do("GET", path, apptest.Token, nil)
		var e struct {
			Error struct {
				Field string `json:"field"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if st != http.StatusBadRequest || e.Error.Field != field {
			t.Errorf("GET %s: %d %s, want 400 naming %s", path, st, body, field)
		}
	}
	if st, _ := g.Do("GET", "/v1/reports/conversations", "", nil); st != http.StatusUnauthorized {
		t.Errorf("a report without a token: %d, want 401", st)
	}
}
