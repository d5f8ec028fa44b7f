package app_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// TestStaffingReport: conversations routed and resolved through a gateway show up in GET
// /v1/reports/staffing as the events say (arrivals of the queue, handle time from assignment
// to resolution), in JSON and CSV; a bad query names its parameter.
func TestStaffingReport(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, insightAgents, insightRules))
	for _, a := range []string{"ann", "ben", "cat"} {
		setPresence(t, g, a, rules.Available)
	}
	for i, from := range []string{"gia@example.com", "hal@example.com", "ivy@example.com"} {
		g.PostAPI("st"+string(rune('a'+i)), from, "hello, a question")
		evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(i+1, schema.EventAssigned))
		conv := ofType(evs, schema.EventAssigned)[i].ConversationID
		time.Sleep(200 * time.Millisecond) // some handle time
		if st, b := g.Do("POST", "/v1/conversations/"+conv+"/resolve", apptest.Token, nil); st != http.StatusAccepted {
			t.Fatalf("resolve: %d %s", st, b)
		}
		waitFor(t, g, "sb.conv."+conv+".>", 10*time.Second, atLeast(1, schema.EventResolved))
	}
	// The handle time the events give: first assignment to resolution, per conversation.
	evs := streamEvents(t, g, "sb.conv.>")
	assigned := map[string]time.Time{}
	var totalMs int64
	for _, e := range evs {
		switch e.Type {
		case schema.EventAssigned:
			if _, ok := assigned[e.ConversationID]; !ok {
				assigned[e.ConversationID] = e.At
			}
		case schema.EventResolved:
			totalMs += e.At.Sub(assigned[e.ConversationID]).Milliseconds()
		}
	}
	wantAHT := float64(totalMs/3) / 1000
	day := time.Now().UTC().Truncate(24 * time.Hour)
	q := url.Values{"queue": {"general"}, "from": {day.Format(time.RFC3339)}, "to": {day.Add(24 * time.Hour).Format(time.RFC3339)},
		"interval": {"15m"}, "days": {"0"}}
	var rep insight.StaffingReport
	apptest.Eventually(t, 10*time.Second, func() error {
		st, body := g.Do("GET", "/v1/reports/staffing?"+q.Encode(), apptest.Token, nil)
		if st != http.StatusOK {
			t.Fatalf("staffing: %d %s", st, body)
		}
		rep = insight.StaffingReport{}
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.Inputs.Arrivals != 3 || rep.Inputs.Handled != 3 {
			return fmt.Errorf("inputs %+v, want 3 arrivals handled", rep.Inputs)
		}
		return nil
	})
	if math.Abs(rep.Inputs.AHTSeconds-wantAHT) > 0.0015 || len(rep.Rows) != 96 || rep.Inputs.Concurrency != 5 {
		t.Fatalf("AHT %.3f s (events: %.3f), %d rows, concurrency %d; want 96 rows, the agents' capacity 5",
			rep.Inputs.AHTSeconds, wantAHT, len(rep.Rows), rep.Inputs.Concurrency)
	}
	var arrivals float64
	for _, r := range rep.Rows {
		arrivals += r.Arrivals
		if r.Arrivals > 0 && r.Required < 1 {
			t.Errorf("%s: %v arrivals need nobody", r.Start, r.Arrivals)
		}
	}
	if arrivals != 3 {
		t.Errorf("rows add up to %v arrivals, want 3", arrivals)
	}
	q.Set("format", "csv")
	st, body := g.Do("GET", "/v1/reports/staffing?"+q.Encode(), apptest.Token, nil)
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if st != http.StatusOK || err != nil || len(recs) != 97 || strings.Join(recs[0], ",") != strings.Join(insight.StaffingHeader, ",") {
		t.Fatalf("CSV: %d %v, %d records: %.300s", st, err, len(recs), body)
	}
	for param, bad := range map[string]string{"queue": "nosuch", "target": "80", "interval": "20m", "shrinkage": "120%", "days": "x", "since": "2w", "channel": "Whats App"} {
		q2 := url.Values{}
		for k, v := range q {
			q2[k] = v
		}
		q2.Set(param, bad)
		q2.Del("format")
		st, body := g.Do("GET", "/v1/reports/staffing?"+q2.Encode(), apptest.Token, nil)
		if st != http.StatusBadRequest || !strings.Contains(string(body), param) {
			t.Errorf("%s=%s: %d %s, want 400 naming %s", param, bad, st, body, param)
		}
	}
}
