package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/insight"
	"github.com/switchboardhq/switchboard/router/planning"
	"github.com/switchboardhq/switchboard/router/rules"
)

// erlangC is the probability of waiting at n agents for a Erlangs, from the textbook
// formula with factorials (small n only): the test's own computation, not the package's.
func erlangC(a float64, n int) float64 {
	term, sum := 1.0, 1.0 // a^k / k!
	for k := 1; k < n; k++ {
		term *= a / float64(k)
		sum += term
	}
	top := term * a / float64(n) * float64(n) / (float64(n) - a)
	return top / (sum + top)
}

// The calculator on Call Centre Helper's example (200 contacts an hour, AHT 3 minutes, 80% in
// 20 s): 14 agents, 20 to schedule with 30% shrinkage; every headcount's service level and
// ASA in the CSV agree with the factorial formula.
func TestStaffingWhatIf(t *testing.T) {
	in, err := whatIfInput("200/h", 3*time.Minute, 1, 0, "80/20s", "", "30%")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := writeWhatIf(&out, in, true); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 7 || strings.Join(recs[0], ",") != "agents,scheduled,service_level,asa_seconds,occupancy,p_wait,abandon,meets_target" {
		t.Fatalf("CSV: %v", recs)
	}
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[0])
		c := erlangC(10, n)
		sl, asa := 1-c*math.Exp(-float64(n-10)*20/180), c*180/float64(n-10)
		gotSL, _ := strconv.ParseFloat(r[2], 64)
		gotASA, _ := strconv.ParseFloat(r[3], 64)
		if math.Abs(gotSL-sl) > 5e-5 || math.Abs(gotASA-asa) > 0.05 {
			t.Errorf("%d agents: SL %s ASA %s, want %.4f %.1f", n, r[2], r[3], sl, asa)
		}
		if meets := sl >= 0.8; (r[7] == "yes") != meets {
			t.Errorf("%d agents: meets_target %s with SL %.4f", n, r[7], sl)
		}
		if n == 14 && r[1] != "20" {
			t.Errorf("14 agents with 30%% shrinkage: schedule %s, want 20", r[1])
		}
	}
	out.Reset()
	if err := writeWhatIf(&out, in, false); err != nil || !strings.Contains(out.String(), "required: 14 agents on the queue (service level 88.8%, ASA 7.8 s, occupancy 71.4%); 20 to schedule with 30% shrinkage") {
		t.Fatalf("table: %v\n%s", err, out.String())
	}
}

// Bad input names what is wrong and exits 2: the binary is run as an operator would.
func TestStaffingBadInput(t *testing.T) {
	bin := binary(t)
	for _, c := range []struct{ args, msg string }{
		{"--what-if --aht 3m", "--arrivals is needed"},
		{"--what-if --arrivals 12/fortnight --aht 3m", "the period must be"},
		{"--what-if --arrivals 100/h", "--aht must be a positive duration"},
		{"--what-if --arrivals 100/h --aht 3m --target 100/20s", "the share must be a percentage above 0 and below 100"},
		{"--what-if --arrivals 1e12/h --aht 3m", "unreachable target: 80% within 20s is not met by up to 100000 agents"},
		{"--what-if --arrivals 100/h --aht 3m --shrinkage 120%", "--shrinkage"},
		{"--target 80/20s", "name a queue (--queue)"},
		{"--queue general", "--config is needed with --queue"},
		{"--queue general --interval soon", "invalid value \"soon\" for flag -interval"},
		{"--queue general --chart plan.pdf", `--chart: write a file name ending in .svg or .png, not "plan.pdf"`},
		{"--what-if --arrivals 100/h --aht 3m --chart plan.svg", "--chart draws a queue's intervals: use it with --queue"},
	} {
		cmd := exec.CommandContext(context.Background(), bin, append([]string{"staffing"}, strings.Fields(c.args)...)...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 2 || !strings.Contains(stderr.String(), c.msg) {
			t.Errorf("staffing %s: exit %d, stderr %q; want 2 and %q", c.args, code, stderr.String(), c.msg)
		}
	}
}

// `switchboard staffing --queue` over a gateway's measured history: the conversations routed
// and resolved through it are the report's arrivals and handled ones (JSON), the table shows
// them, and an unknown queue is bad input (exit 2).
func TestStaffingFromHistory(t *testing.T) {
	g := apptest.Start(t, apptest.DefaultConfig+`insight: {flush_interval: 100ms}
router:
  agents: [{id: ann, skills: [general], capacity: {default: 3}}]
`)
	if st, b := g.Do("PUT", "/v1/agents/ann/presence", apptest.Token, map[string]any{"status": "available"}); st != 200 {
		t.Fatalf("presence: %d %s", st, b)
	}
	for i := range 3 {
		g.PostAPI(fmt.Sprintf("h%d", i), fmt.Sprintf("h%d@example.com", i), "hello")
	}
	for _, e := range g.Events("sb.conv.*.assigned", 3, 10*time.Second) {
		if st, b := g.Do("POST", "/v1/conversations/"+e.ConversationID+"/resolve", apptest.Token, nil); st != 202 {
			t.Fatalf("resolve: %d %s", st, b)
		}
	}
	g.Events("sb.conv.*.resolved", 3, 10*time.Second)
	rs := rules.DefaultRules(rules.NewRoster(g.Config.Router.Agents, nil))
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	hf := historyFlags{from: day.Format(time.RFC3339), to: day.Add(24 * time.Hour).Format(time.RFC3339)}
	q := insight.StaffingQuery{Queue: "default", Interval: time.Hour, Target: planning.Target{Share: 0.8, Within: 20 * time.Second}}
	var out bytes.Buffer
	apptest.Eventually(t, 10*time.Second, func() error {
		out.Reset()
		if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{json: true}, &out); err != nil {
			return err
		}
		var rep insight.StaffingReport
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v: %s", err, out.String())
		}
		if rep.Inputs.Arrivals != 3 || rep.Inputs.Handled != 3 || rep.Inputs.Concurrency != 3 || len(rep.Rows) != 24 {
			return fmt.Errorf("inputs %+v, %d rows", rep.Inputs, len(rep.Rows))
		}
		return nil
	})
	out.Reset()
	var progress bytes.Buffer
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{progress: &progress}, &out); err != nil {
		t.Fatal(err)
	}
	if table := out.String(); !strings.Contains(table, "queue default") || !strings.Contains(table, "measured: 3 arrivals") || !strings.Contains(table, "REQUIRED") {
		t.Fatalf("table:\n%s", table)
	}
	// A day of 15-minute cells read twice (queues, agents): 192 cells, a line per 10% off a terminal.
	if p := progress.String(); !strings.Contains(p, "reading default's history [") || !strings.Contains(p, "100%  192/192 cells") || strings.Count(p, "\n") != 11 {
		t.Errorf("progress:\n%s", p)
	}
	// A forecast from one day of history: a clear refusal, exit 2.
	q.Days = 7
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{}, &out); !errors.Is(err, errUsage) ||
		!strings.Contains(err.Error(), "a forecast needs at least one whole week (--days 0 reports the measured intervals alone)") {
		t.Fatalf("forecast from a day: %v", err)
	}
	q.Days = 0
	q.Queue = "nosuch"
	if err := writeStaffing(ctx, g.JS, g.Config.Insight, rs, q, hf, staffingOutput{}, &out); !errors.Is(err, errUsage) || !strings.Contains(err.Error(), `unknown queue "nosuch"`) {
		t.Fatalf("unknown queue: %v", err)
	}
}
