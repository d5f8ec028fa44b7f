package app_test

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// dur formats seconds the way the dashboard does (dashboard.js dur).
func dur(s float64) string {
	n := int64(math.Round(s))
	switch {
	case n < 60:
		return fmt.Sprintf("%ds", n)
	case n < 3600:
		return fmt.Sprintf("%dm %02ds", n/60, n%60)
	case n < 172800:
		return fmt.Sprintf("%dh %02dm", n/3600, (n/60)%60)
	}
	return fmt.Sprintf("%dd %dh", n/86400, (n/3600)%24)
}

func pctText(v *float64) string {
	if v == nil {
		return "–"
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + "%"
}

// TestDashboardInChromium: the dashboard page, in a real browser, shows the same figures as
// the REST report for the same data, updates live when a conversation changes, and asks for
// the token when none is given. The screenshot is kept as a test artifact.
func TestDashboardInChromium(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, `
insight: {flush_interval: 100ms}
router:
  agents:
    - {id: ann, skills: [general, billing], capacity: {default: 10}}
    - {id: ben, skills: [general], capacity: {default: 10}}
    - {id: cat, skills: [billing]}
`, `
queues: {general: {skills: [general]}, billing: {skills: [billing]}}
rules:
  - {name: money, when: {keywords: [invoice]}, targets: [{queue: billing}]}
  - {name: rest, targets: [{queue: general}]}
sla:
  - {name: standard, when: {regex: '^(hello|invoice|where)'}, warn: 50%, targets: {first_response: 2s, resolution: 1h}}
surveys:
  - {name: csat, kind: csat}
`))
	setPresence(t, g, "ann", rules.Available)
	setPresence(t, g, "ben", rules.Away)
	// Five conversations: three answered at once, one answered after its SLA breached, one
	// left waiting with nobody available for its queue (no SLA policy applies to it, so it
	// does not breach however slow the machine is).
	for i, text := range []string{"hello", "invoice please", "where is my order", "invoice wrong"} {
		g.PostAPI(fmt.Sprintf("d%d", i), fmt.Sprintf("dash%d@example.com", i), text)
	}
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(4, schema.EventAssigned))
	assigned := ofType(evs, schema.EventAssigned)
	for i, a := range assigned {
		if i == 3 {
			continue // breaches first
		}
		if st, b := g.Do("POST", "/v1/conversations/"+a.ConversationID+"/messages", apptest.Token, map[string]any{"text": "on it", "agent_id": a.Routing.AgentID}); st != http.StatusAccepted {
			t.Fatalf("reply: %d %s", st, b)
		}
		if i == 0 {
			if st, b := g.Do("POST", "/v1/conversations/"+a.ConversationID+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
				t.Fatalf("resolve: %d %s", st, b)
			}
		}
	}
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventSLABreached))
	late := assigned[3]
	if st, b := g.Do("POST", "/v1/conversations/"+late.ConversationID+"/messages", apptest.Token, map[string]any{"text": "sorry", "agent_id": late.Routing.AgentID}); st != http.StatusAccepted {
		t.Fatalf("reply: %d %s", st, b)
	}
	setPresence(t, g, "ann", rules.Away)
	g.PostAPI("d9", "waiting@example.com", "anyone there?")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventQueued))
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(4, schema.EventSLASatisfied))
	// The resolved one's customer answers its survey.
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventSurveySent))
	// (assignments come in any order: the resolved one is whichever was assigned first)
	resolvedBy := ""
	for _, e := range evs {
		if e.ConversationID == assigned[0].ConversationID && e.Type == schema.EventMessage && e.Message != nil && e.Message.Direction == schema.Inbound {
			resolvedBy = e.Message.From.Value
		}
	}
	g.PostAPI("d0-answer", resolvedBy, "4")
	waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventSurveyAnswered))
	lastSeq := g.StreamCount("SB_CONVERSATIONS", "")

	ctx := apptest.Browser(t, 1400, 1000)
	// Without a token the page asks for one.
	if err := chromedp.Do(ctx, chromedp.Navigate(g.URL+"/dashboard"), chromedp.WaitVisible("#login")); err != nil {
		t.Fatalf("the page did not ask for a token: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys("#token", apptest.Token), chromedp.Click("#login button")); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	apptest.Poll(t, ctx, `document.getElementById("main").hidden ? document.getElementById("status").textContent : "shown"`, func(v string) bool {
		if v != "shown" && v != "connecting…" && v != "sign in" {
			t.Fatalf("the dashboard does not show: %s", v)
		}
		return v == "shown"
	})
	apptest.Poll(t, ctx, `document.body.dataset.through || "0"`, func(v string) bool { n, _ := strconv.ParseUint(v, 10, 64); return n >= lastSeq })

	// The same figures from the REST report over the page's range.
	var d struct {
		From    time.Time        `json:"from"`
		Through insight.Position `json:"through"`
	}
	getJSON(t, g, "/v1/dashboard", &d)
	to := time.Now().Truncate(15 * time.Minute).Add(15 * time.Minute)
	var rep insight.Report
	getJSON(t, g, fmt.Sprintf("/v1/reports/conversations?from=%s&to=%s", d.From.Format(time.RFC3339), to.UTC().Format(time.RFC3339)), &rep)
	if len(rep.Rows) != 1 {
		t.Fatalf("report rows: %+v", rep.Rows)
	}
	tot := rep.Rows[0]
	frt := tot.Metrics[kpi.FirstResponse]
	want := map[string]string{
		"opened":           strconv.FormatInt(tot.Counts[kpi.Opened], 10),
		"frt-p50":          dur(float64(frt.P50Seconds)),
		"fcr":              pctText(tot.Rates["fcr_rate"]),
		"sla-frt":          pctText(tot.Rates["sla_first_response_attainment"]),
		"waiting":          "1",
		"csat":             pctText(tot.Rates["csat"]),
		"nps":              "NPS – · 1 answer",
		"agents-available": "0",
	}
	// Replies slower than 2 s on a loaded machine breach too: at least the one left late.
	if tot.Counts[kpi.Opened] != 5 || frt.Count != 4 || tot.Counts[kpi.SLAFirstResponseBreached] < 1 || tot.Counts[kpi.CSATAnswers] != 1 {
		t.Fatalf("the report itself: opened %d, first responses %d, breaches %d", tot.Counts[kpi.Opened], frt.Count, tot.Counts[kpi.SLAFirstResponseBreached])
	}
	for id, w := range want {
		got := apptest.Poll(t, ctx, `document.getElementById("`+id+`").textContent`, func(string) bool { return true })
		if got != w {
			t.Errorf("#%s shows %q, the report says %q", id, got, w)
		}
	}
	rows := apptest.Poll(t, ctx, `Array.from(document.querySelectorAll("#queues tbody tr")).map(r => r.innerText.replace(/\t/g, "|")).join("\n")`,
		func(v string) bool { return v != "" })
	var queueRep insight.Report
	getJSON(t, g, fmt.Sprintf("/v1/reports/conversations?from=%s&to=%s&group_by=queue", d.From.Format(time.RFC3339), to.UTC().Format(time.RFC3339)), &queueRep)
	for _, r := range queueRep.Rows {
		if r.Dims.Queue == "" {
			continue
		}
		if !strings.Contains(rows, r.Dims.Queue+"|") || !strings.Contains(rows, "|"+strconv.FormatInt(r.Counts[kpi.Opened], 10)+"|") {
			t.Errorf("queue %s (opened %d) is not on the page:\n%s", r.Dims.Queue, r.Counts[kpi.Opened], rows)
		}
	}
	breaches := apptest.Poll(t, ctx, `document.querySelectorAll("#breaches tbody tr").length + ""`, func(v string) bool { return v != "0" })
	if want := strconv.FormatInt(tot.Counts[kpi.SLAFirstResponseBreached], 10); breaches != want {
		t.Errorf("%s breaches listed, the report has %s", breaches, want)
	}
	bars := apptest.Poll(t, ctx, `document.querySelectorAll("#frt-chart canvas").length + ""`, func(v string) bool { return true })
	if bars != "1" {
		t.Errorf("no first-response chart (%s canvases)", bars)
	}
	opened := apptest.Poll(t, ctx, `Array.from(document.querySelectorAll("#heatmap td")).reduce((s, td) => s + Number(td.dataset.count), 0) + ""`, func(string) bool { return true })
	if opened != "5" {
		t.Errorf("the heatmap adds up to %s opened, want 5", opened)
	}
	apptest.Screenshot(t, ctx, "dashboard.png")

	// Live: a new conversation shows up without a reload.
	g.PostAPI("d10", "live@example.com", "one more")
	apptest.Poll(t, ctx, `document.getElementById("opened").textContent`, func(v string) bool { return v == "6" })
	apptest.Poll(t, ctx, `document.getElementById("waiting").textContent`, func(v string) bool { return v == "2" })

	// The stream refuses a wrong token.
	st, _ := g.Do("GET", "/v1/dashboard/stream?access_token=wrong", "", nil)
	if st != http.StatusUnauthorized {
		t.Errorf("stream with a wrong token: %d", st)
	}
}
