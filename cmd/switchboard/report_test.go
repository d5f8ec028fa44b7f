package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/insight/kpi"
)

// TestReportAndRebuildCommands: `switchboard report` prints the stored figures as a table,
// CSV and JSON; `switchboard insight rebuild` recomputes them (with progress) to the same
// figures, and the running gateway goes on from there.
func TestReportAndRebuildCommands(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+"insight: {flush_interval: 100ms}\n")
	for i := range 3 {
		g.PostAPI(fmt.Sprintf("r%d", i), fmt.Sprintf("c%d@example.com", i), "hello")
	}
	evs := g.Events("sb.conv.*.opened", 3, 10*time.Second)
	for _, e := range evs[:2] {
		if st, b := g.Do("POST", "/v1/conversations/"+e.ConversationID+"/messages", apptest.Token, map[string]any{"text": "hi", "agent_id": "ann"}); st != 202 {
			t.Fatalf("reply: %d %s", st, b)
		}
	}
	if st, b := g.Do("POST", "/v1/conversations/"+evs[0].ConversationID+"/resolve", apptest.Token, nil); st != 202 {
		t.Fatalf("resolve: %d %s", st, b)
	}
	g.Events("sb.conv.*.resolved", 1, 10*time.Second)
	ctx := context.Background()
	last := g.StreamCount("SB_CONVERSATIONS", "")
	report := func(fl reportFlags) string {
		t.Helper()
		var out bytes.Buffer
		apptest.Eventually(t, 10*time.Second, func() error {
			out.Reset()
			j := fl
			j.json, j.csv = true, false
			if err := writeReport(ctx, g.JS, g.Config.Insight, j, &out); err != nil {
				return err
			}
			var rep insight.Report
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("%v: %s", err, out.String())
			}
			if rep.Through.Seq < last {
				return fmt.Errorf("through %d of %d", rep.Through.Seq, last)
			}
			if fl.json {
				return nil
			}
			out.Reset()
			return writeReport(ctx, g.JS, g.Config.Insight, fl, &out)
		})
		return out.String()
	}
	table := report(reportFlags{since: "1d", by: "channel"})
	if !strings.Contains(table, "CHANNEL") || !strings.Contains(table, "FRT P50") {
		t.Fatalf("no table header:\n%s", table)
	}
	var line string
	for _, l := range strings.Split(table, "\n") {
		if strings.Contains(l, " api ") {
			line = l
		}
	}
	f := strings.Fields(line)
	// CHANNEL OPENED RESOLVED REPLIES ...
	if len(f) < 4 || f[0] != "api" || f[1] != "3" || f[2] != "1" || f[3] != "2" {
		t.Fatalf("the api row reads %q, want 3 opened, 1 resolved, 2 replies:\n%s", line, table)
	}
	recs, err := csv.NewReader(strings.NewReader(report(reportFlags{since: "1d", csv: true}))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("CSV: %v %v", err, recs)
	}
	var before insight.Report
	if err := json.Unmarshal([]byte(report(reportFlags{since: "1d", json: true})), &before); err != nil {
		t.Fatal(err)
	}
	if before.Rows[0].Counts[kpi.Opened] != 3 || before.Rows[0].Metrics[kpi.FirstResponse].Count != 2 {
		t.Fatalf("JSON figures: %+v", before.Rows[0])
	}

	var progress bytes.Buffer
	if err := rebuildWith(ctx, g.JS, g.Config, nil, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "100%") || !strings.Contains(progress.String(), "rebuilt generation 2") {
		t.Fatalf("rebuild output:\n%s", progress.String())
	}
	var after insight.Report
	if err := json.Unmarshal([]byte(report(reportFlags{since: "1d", json: true})), &after); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(after.Rows)
	b, _ := json.Marshal(before.Rows)
	if after.Through.Generation != 2 || string(a) != string(b) {
		t.Fatalf("after the rebuild (generation %d):\n%+v\nbefore:\n%+v", after.Through.Generation, after.Rows, before.Rows)
	}
	// The gateway's projection continues in the new generation.
	g.PostAPI("r9", "c9@example.com", "again")
	g.Events("sb.conv.*.opened", 4, 10*time.Second)
	last = g.StreamCount("SB_CONVERSATIONS", "")
	var later insight.Report
	if err := json.Unmarshal([]byte(report(reportFlags{since: "1d", json: true})), &later); err != nil {
		t.Fatal(err)
	}
	if later.Through.Generation != 2 || later.Rows[0].Counts[kpi.Opened] != 4 {
		t.Fatalf("after a new conversation: generation %d, %+v", later.Through.Generation, later.Rows[0].Counts)
	}
}
