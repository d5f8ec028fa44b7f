package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/flows"
)

const exampleFlows = "../../router/flows/testdata/triage.yaml"

// The example flow checks and passes its dialogues; a broken flow is located; a failing
// dialogue exits 1 naming the turn.
func TestFlowsCommands(t *testing.T) {
	var out bytes.Buffer
	if err := runFlowsCheck([]string{exampleFlows}, &out); err != nil || !strings.Contains(out.String(), "flow triage ok") {
		t.Fatalf("check: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runFlowsTest([]string{"--flows", exampleFlows, "../../router/flows/testdata/triage.cases.yaml"}, &out); err != nil ||
		!strings.Contains(out.String(), "5 dialogue(s), 0 failed") {
		t.Fatalf("test: %v\n%s", err, out.String())
	}
	broken := writeFile(t, "broken.yaml", "flows:\n  f:\n    start: a\n    steps:\n      a: {say: hi, next: a}\n")
	if code := run(context.Background(), []string{"flows", "check", broken}); code != 1 {
		t.Fatalf("a looping flow: exit %d", code)
	}
	cases := writeFile(t, "cases.yaml", "cases:\n  - name: wrong\n    flow: triage\n    dialogue:\n      - step: menu\n      - customer: \"3\"\n        resolved: true\n")
	out.Reset()
	if err := runFlowsTest([]string{"--flows", exampleFlows, cases}, &out); err != errFailed ||
		!strings.Contains(out.String(), "FAIL  wrong") || !strings.Contains(out.String(), `turn 1: resolved: false (outcome ""), want true`) {
		t.Fatalf("failing dialogue: %v\n%s", err, out.String())
	}
}

// The shipped flows pass their dialogues, with the shipped rules' business hours and the
// shipped knowledge base; `check` checks the flows with the config.
func TestShippedFlows(t *testing.T) {
	var out bytes.Buffer
	if err := runFlowsTest([]string{"--config", exampleConfig, "--flows", "../../configs/flows.yaml", "--kb", "../../configs/kb",
		"../../configs/flows.cases.yaml"}, &out); err != nil || !strings.Contains(out.String(), "10 dialogue(s), 0 failed") {
		t.Fatalf("flows test: %v\n%s", err, out.String())
	}
	cfg := writeFile(t, "switchboard.yaml", "router:\n  rules_file: "+abs(t, "../../configs/rules.yaml")+"\n  flows_file: "+abs(t, "../../configs/flows.yaml")+
		"\n  knowledge_base: "+abs(t, "../../configs/kb")+"\n")
	out.Reset()
	if err := runFlowsCheck([]string{"--config", cfg}, &out); err != nil || !strings.Contains(out.String(), "flow after_hours ok") {
		t.Fatalf("flows check: %v\n%s", err, out.String())
	}
	if code := run(context.Background(), []string{"check", "--config", cfg}); code != 0 {
		t.Fatalf("check: exit %d", code)
	}
	// A rule naming a flow the file lacks, and hours the rules lack, fail the check.
	rulesPath := writeFile(t, "rules.yaml", "queues: {general: {}}\ndefault_queue: general\nrules:\n  - {name: r, flow: nope, targets: [{queue: general}]}\n")
	bad := writeFile(t, "bad.yaml", "router:\n  rules_file: "+rulesPath+"\n  flows_file: "+abs(t, "../../configs/flows.yaml")+"\n")
	if code := run(context.Background(), []string{"check", "--config", bad}); code != 1 {
		t.Fatalf("check with a missing flow: exit %d", code)
	}
	if code := run(context.Background(), []string{"kb", "search", "--kb", "../../configs/kb", "where", "is", "my", "refund"}); code != 0 {
		t.Fatalf("kb search: exit %d", code)
	}
	if code := run(context.Background(), []string{"kb", "search", "--kb", "../../configs/kb", "zebra"}); code != 1 {
		t.Fatalf("kb search without a match: exit %d", code)
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

const replayFlows = `
defaults: {api: menu}
flows:
  menu:
    start: q
    steps:
      q:
        ask: "One or two?"
        options: [{label: One, value: one, next: h1}, {label: Two, value: two, next: h2}]
      h1: {handoff: {queue: general}}
      h2: {handoff: {queue: billing}}
`

// Replay runs recorded conversations through the flows in force and a candidate: the
// counts are the ones this test's conversations must give (worked out by hand below).
func TestFlowsReplay(t *testing.T) {
	flowsPath := writeFile(t, "flows.yaml", replayFlows)
	rulesPath := writeFile(t, "rules.yaml", "queues: {general: {skills: [general]}, billing: {skills: [general]}}\ndefault_queue: general\n")
	cfg := apptest.DefaultConfig + `
router:
  rules_file: ` + rulesPath + `
  flows_file: ` + flowsPath + `
  agents:
    - {id: ann, skills: [general]}
`
	g := apptest.Start(t, cfg)
	// a: "1" → general; b, c: "two" → billing; d never answers.
	for i, c := range []struct{ from, answer string }{{"a@example.com", "1"}, {"b@example.com", "two"}, {"c@example.com", "Two"}, {"d@example.com", ""}} {
		g.PostAPI(fmt.Sprint("fr", i), c.from, "hello")
		g.Events("sb.conv.*.flow_step", i+1, 10*time.Second)
		if c.answer != "" {
			g.PostAPI(fmt.Sprint("fa", i), c.from, c.answer)
		}
	}
	g.Events("sb.conv.*.flow_handoff", 3, 10*time.Second)
	// The candidate resolves "two" itself.
	candidate := writeFile(t, "new.yaml", strings.Replace(replayFlows, "h2: {handoff: {queue: billing}}", `h2: {resolve: "Done!"}`, 1))
	configPath := writeFile(t, "switchboard.yaml", cfg+"data_dir: "+g.DataDir+"\n")
	before := g.StreamCount("SB_CONVERSATIONS", "")
	for settled := time.Now(); time.Since(settled) < time.Second; time.Sleep(100 * time.Millisecond) { // the bot messages' failed deliveries
		if n := g.StreamCount("SB_CONVERSATIONS", ""); n != before {
			before, settled = n, time.Now()
		}
	}
	var out bytes.Buffer
	if err := runFlowsReplay(context.Background(), []string{"--config", configPath, "--flows", candidate, "--nats", g.App.NATSURL(), "--json"}, &out); err != nil {
		t.Fatal(err)
	}
	var rep flows.ReplayReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	cur, cand := rep.Current, rep.Candidate
	if rep.Conversations != 4 || rep.Recorded != 4 || rep.Faithful != 4 ||
		cur.Entered != 4 || cur.Results["handoff"] != 3 || cur.Results["dropped"] != 1 || cur.Handoffs["general"] != 1 || cur.Handoffs["billing"] != 2 ||
		cand.Entered != 4 || cand.Results["contained"] != 2 || cand.Results["handoff"] != 1 || cand.Results["dropped"] != 1 || cand.DropSteps["menu.q"] != 1 ||
		len(rep.Changes) != 2 {
		t.Fatalf("report: %s", out.String())
	}
	for _, c := range rep.Changes {
		if c.Current.Queue != "billing" || c.Candidate.Result != "contained" || c.Candidate.Step != "h2" {
			t.Fatalf("change %+v", c)
		}
	}
	out.Reset()
	if err := runFlowsReplay(context.Background(), []string{"--config", configPath, "--flows", candidate, "--nats", g.App.NATSURL()}, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 conversations replayed", "ends 4 of the 4 recorded", "containment                  0.0%      50.0%", "2 conversations end differently", "menu: handoff to billing → menu: contained at h2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, out.String())
		}
	}
	if after := g.StreamCount("SB_CONVERSATIONS", ""); after != before {
		t.Fatalf("replay published %d events", after-before)
	}
}
