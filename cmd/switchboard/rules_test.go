package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router/rules"
)

const exampleConfig = "../../configs/switchboard.yaml"

// The shipped example rules pass their shipped cases (CI runs this and the CLI).
func TestExampleRulesPassTheirCases(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "example-token")
	if code := run(context.Background(), []string{"check", "--config", exampleConfig}); code != 0 {
		t.Fatalf("check exited %d", code)
	}
	var out bytes.Buffer
	if err := runRulesTest([]string{"--config", exampleConfig, "../../configs/rules.cases.yaml"}, &out); err != nil {
		t.Fatalf("rules test: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "0 failed") {
		t.Fatalf("output:\n%s", out.String())
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// A broken rules file fails check; a case that does not hold fails rules test.
func TestRulesCommandsFailLoudly(t *testing.T) {
	t.Setenv("SWITCHBOARD_API_TOKEN", "example-token")
	bad := writeFile(t, "bad.yaml", "queues: {general: {skills: [genral]}}\nrules: [{name: a, targets: [{queue: general}]}]\n")
	if code := run(context.Background(), []string{"check", "--config", exampleConfig, "--rules", bad}); code != 1 {
		t.Fatalf("check of a broken rules file exited %d", code)
	}
	cases := writeFile(t, "cases.yaml", `cases:
  - name: wrong on purpose
    message: {channel: email, text: "refund"}
    agents: {alice: {}}
    expect: {queue: vip}
`)
	var out bytes.Buffer
	if err := runRulesTest([]string{"--config", exampleConfig, cases}, &out); err != errFailed {
		t.Fatalf("a failing case returned %v", err)
	}
	if !strings.Contains(out.String(), `FAIL  wrong on purpose (`+cases+`:2)`) || !strings.Contains(out.String(), `queue is "billing", want "vip"`) {
		t.Fatalf("output:\n%s", out.String())
	}
	if code := run(context.Background(), []string{"rules", "test", "--config", exampleConfig, cases}); code != 1 {
		t.Fatalf("rules test exited %d", code)
	}
}

// Replay reads recorded traffic and reports what candidate rules would change, without
// touching the running system.
func TestRulesReplayShowsWhatWouldChange(t *testing.T) {
	current := "queues: {general: {skills: [general]}, billing: {skills: [billing]}}\n" +
		"rules: [{name: all, targets: [{queue: general}]}]\n"
	rulesPath := writeFile(t, "rules.yaml", current)
	cfg := apptest.DefaultConfig + `
router:
  rules_file: ` + rulesPath + `
  agents:
    - {id: ann, skills: [general, billing]}
    - {id: ben, skills: [general]}
`
	g := apptest.Start(t, cfg)
	for i, text := range []string{"refund please", "hello", "my invoice", "thanks"} {
		g.PostAPI(fmt.Sprint("rp", i), fmt.Sprintf("replay%d@example.com", i), text)
	}
	g.Events("sb.conv.*.queued", 4, 10*time.Second)
	before := g.StreamCount("SB_CONVERSATIONS", "")

	candidate := writeFile(t, "new.yaml", "queues: {general: {skills: [general]}, billing: {skills: [billing]}}\n"+
		"rules:\n  - {name: money, when: {keywords: [refund, invoice]}, targets: [{queue: billing}]}\n"+
		"  - {name: all, targets: [{queue: general}]}\n")
	configPath := writeFile(t, "switchboard.yaml", cfg+"data_dir: "+g.DataDir+"\n") // the tool reads the generated NATS login there
	var out bytes.Buffer
	err := runRulesReplay(context.Background(), []string{"--config", configPath, "--rules", candidate,
		"--nats", g.App.NATSURL(), "--agents", "none", "--json"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	var rep rules.ReplayReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if rep.Routed != 4 || len(rep.Changes) != 2 || rep.Queues["billing"].Candidate != 2 || rep.Queues["general"].Current != 4 ||
		rep.Recorded != 4 || rep.Faithful != 4 {
		t.Fatalf("report: %s", out.String())
	}
	for _, c := range rep.Changes {
		if c.Current.Queue != "general" || c.Candidate.Queue != "billing" || c.Candidate.Rule != "money" {
			t.Fatalf("change %+v", c)
		}
	}
	out.Reset()
	if err := runRulesReplay(context.Background(), []string{"--config", configPath, "--rules", candidate, "--nats", g.App.NATSURL(), "--agents", "none"}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "2 conversation(s) would be routed differently") || !strings.Contains(out.String(), "4 of 4 recorded") {
		t.Fatalf("text report:\n%s", out.String())
	}
	if after := g.StreamCount("SB_CONVERSATIONS", ""); after != before {
		t.Fatalf("replay published %d events", after-before)
	}
}
