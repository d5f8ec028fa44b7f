package app_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

// agentStatus is GET /v1/agents/{id}'s status code and agent.
func agentStatus(t *testing.T, g *apptest.Gateway, id string) (int, router.AgentInfo) {
	t.Helper()
	st, body := g.Do("GET", "/v1/agents/"+id, apptest.Token, nil)
	var info router.AgentInfo
	if st == 200 {
		if err := json.Unmarshal(body, &info); err != nil {
			t.Fatal(err)
		}
	}
	return st, info
}

// The roster through the API, on two instances of one deployment: an agent created on one is
// in force on the other within a second (measured, the bound is the issue's), takes
// conversations, is changed, and when removed their conversations go back to the queue. The
// config file's agents are the file's (409), bad definitions are refused whole (422), and
// the roster survives a restart.
func TestRosterThroughTheAPIOnTwoInstances(t *testing.T) {
	const rulesYAML = `
queues: {billing: {skills: [billing]}, general: {skills: [general]}}
rules:
  - {name: billing, when: {keywords: [invoice]}, targets: [{queue: billing}]}
  - {name: rest, targets: [{queue: general}]}
`
	cfg := routingConfig(t, `
router:
  agents: [{id: ann, skills: [general]}]
`, rulesYAML)
	g1 := apptest.Start(t, cfg)
	g2 := second(t, g1, cfg)

	// No agent has billing yet: the queue is accepted (the roster is open), with a warning.
	var rulesInfo struct{ Warnings []string }
	getJSON(t, g1, "/v1/rules", &rulesInfo)
	if len(rulesInfo.Warnings) != 1 || !strings.Contains(rulesInfo.Warnings[0], `queues.billing.skills[0]: unknown skill "billing": no agent in the roster has it`) {
		t.Fatalf("rules warnings at start: %q", rulesInfo.Warnings)
	}
	dana := map[string]any{"name": "Dana", "skills": []string{"billing"}, "capacity": map[string]int{"default": 2}}
	start := time.Now()
	st, body := g1.Do("PUT", "/v1/agents/dana", apptest.Token, dana)
	if st != 201 {
		t.Fatalf("PUT dana: %d %s", st, body)
	}
	var created struct {
		router.AgentInfo
		Warnings []string `json:"warnings"`
	}
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.ID != "dana" || created.Source != "api" || created.Capacity["default"] != 2 || len(created.Warnings) != 0 {
		t.Fatalf("created: %s", body)
	}
	apptest.Eventually(t, time.Second, func() error {
		if st, info := agentStatus(t, g2, "dana"); st != 200 || info.Source != "api" {
			return fmt.Errorf("dana on the second instance: %d %+v", st, info)
		}
		return nil
	})
	t.Logf("dana in force on the second instance %v after the PUT on the first", time.Since(start).Round(time.Millisecond))

	// She takes billing conversations (presence set through the other instance).
	setPresence(t, g2, "dana", rules.Available)
	g1.PostAPI("inv-1", "payer@example.com", "my invoice is wrong")
	evs := waitFor(t, g1, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventAssigned))
	if a := ofType(evs, schema.EventAssigned)[0]; a.Routing.AgentID != "dana" || a.Routing.Queue != "billing" {
		t.Fatalf("assigned: %+v", a.Routing)
	}

	// Replaced whole: 200, and the change is on both instances.
	dana["capacity"] = map[string]int{"default": 3, "webchat": 1}
	if st, body := g2.Do("PUT", "/v1/agents/dana", apptest.Token, dana); st != 200 {
		t.Fatalf("PUT dana again: %d %s", st, body)
	}
	apptest.Eventually(t, time.Second, func() error {
		if _, info := agentStatus(t, g1, "dana"); info.Capacity["webchat"] != 1 || info.Capacity["default"] != 3 {
			return fmt.Errorf("dana's capacity on the first instance: %v", info.Capacity)
		}
		return nil
	})

	// Refused: the config file's agent, a bad definition, an id that disagrees with the path.
	for _, c := range []struct {
		method, path string
		body         any
		status       int
		says         string
	}{
		{"PUT", "/v1/agents/ann", map[string]any{"skills": []string{"billing"}}, 409, "router.agents"},
		{"DELETE", "/v1/agents/ann", nil, 409, "router.agents"},
		{"PUT", "/v1/agents/eve", map[string]any{"capacity": map[string]int{"default": -1}, "max_load": -2}, 422, "capacity.default: must be between 0 and 10000; max_load: must not be negative"},
		{"PUT", "/v1/agents/eve", map[string]any{"id": "bob"}, 400, "path says"},
		{"PUT", "/v1/agents/eve", map[string]any{"skils": []string{"x"}}, 400, "skils"},
		{"PUT", "/v1/agents/bad%20id", map[string]any{}, 422, "letters, digits"},
		{"DELETE", "/v1/agents/nobody", nil, 404, "nobody"},
	} {
		st, body := g1.Do(c.method, c.path, apptest.Token, c.body)
		if st != c.status || !strings.Contains(string(body), c.says) {
			t.Errorf("%s %s: %d %s, want %d saying %q", c.method, c.path, st, body, c.status, c.says)
		}
	}
	if st, _ := agentStatus(t, g1, "eve"); st != 404 {
		t.Fatalf("a refused agent exists: %d", st)
	}

	// Removed on the second instance: gone from both at once, and her conversation goes back
	// to billing, with the reason.
	st, body = g2.Do("DELETE", "/v1/agents/dana", apptest.Token, nil)
	if st != 200 || !strings.Contains(string(body), `unknown skill \"billing\": no agent in the roster has it`) {
		t.Fatalf("DELETE dana: %d %s (want the billing queue's warning)", st, body)
	}
	apptest.Eventually(t, time.Second, func() error {
		if st, _ := agentStatus(t, g1, "dana"); st != 404 {
			return fmt.Errorf("dana still on the first instance: %d", st)
		}
		return nil
	})
	evs = waitFor(t, g1, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventUnassigned))
	if u := ofType(evs, schema.EventUnassigned)[0]; u.Routing.PreviousAgent != "dana" || !strings.Contains(u.Reason, "no longer in the roster") {
		t.Fatalf("unassigned: %+v %q", u.Routing, u.Reason)
	}
	waitFor(t, g1, "sb.conv.>", 10*time.Second, func(evs []*schema.Event) error {
		q := ofType(evs, schema.EventQueued)
		if len(q) == 0 || q[len(q)-1].Routing.Queue != "billing" {
			return fmt.Errorf("not re-queued to billing:\n%s", apptest.Sprint(evs))
		}
		return nil
	})

	// Stored in JetStream: a restarted instance has the API's agents.
	if st, body := g1.Do("PUT", "/v1/agents/eve", apptest.Token, map[string]any{"skills": []string{"general"}}); st != 201 {
		t.Fatalf("PUT eve: %d %s", st, body)
	}
	g2.Stop()
	g2 = second(t, g1, cfg)
	if st, info := agentStatus(t, g2, "eve"); st != 200 || info.Source != "api" {
		t.Fatalf("eve after a restart: %d %+v", st, info)
	}
	var list struct{ Agents []router.AgentInfo }
	getJSON(t, g2, "/v1/agents", &list)
	if len(list.Agents) != 2 || list.Agents[0].ID != "ann" || list.Agents[0].Source != "config" || list.Agents[1].ID != "eve" {
		t.Fatalf("roster after restart: %+v", list.Agents)
	}
}

// A config reload (POST /-/reload; SIGHUP does the same, tested on the binary) swaps the
// roster, the rules and the tokens; a bad file, or one whose roster the rules refuse, keeps
// the config in force and says why; a section that needs a restart is named.
func TestConfigReload(t *testing.T) {
	dir := t.TempDir()
	rulesPath := filepath.Join(dir, "rules.yaml")
	if err := os.WriteFile(rulesPath, []byte("queues: {general: {skills: [general]}}\ndefault_queue: general\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RELOAD_NEW_TOKEN", "reloaded-token-0123456789")
	base := apptest.DefaultConfig + `
router:
  rules_file: ` + rulesPath + `
  agents:
    - {id: ann, skills: [general]}
`
	path := filepath.Join(dir, "switchboard.yaml")
	g := apptest.Start(t, base, apptest.Options{ConfigFile: path})
	write := func(yaml string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	reload := func() (int, string) {
		t.Helper()
		st, body := g.Do("POST", "/-/reload", apptest.Token, nil)
		return st, string(body)
	}
	metric := func() string {
		t.Helper()
		_, body := g.Do("GET", "/metrics", "", nil)
		for _, line := range strings.Split(string(body), "\n") {
			if strings.HasPrefix(line, "switchboard_config_last_reload_successful ") {
				return strings.TrimPrefix(line, "switchboard_config_last_reload_successful ")
			}
		}
		return "missing"
	}

	// Nothing changed: 200, nothing reloaded.
	if st, body := reload(); st != 200 || !strings.Contains(body, `"reloaded":[]`) {
		t.Fatalf("reload of the same file: %d %s", st, body)
	}

	// A new agent, a queue only she serves and a second token: all in force at once.
	if err := os.WriteFile(rulesPath, []byte("queues: {general: {skills: [general]}, vip: {agents: [bob]}}\ndefault_queue: general\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	grown := strings.Replace(base, "    - {id: ann, skills: [general]}\n", "    - {id: ann, skills: [general]}\n    - {id: bob, skills: [general]}\n", 1)
	grown = strings.Replace(grown, "    - {name: test, token: {env: APPTEST_TOKEN}}\n",
		"    - {name: test, token: {env: APPTEST_TOKEN}}\n    - {name: ops, token: {env: RELOAD_NEW_TOKEN}, scopes: [read]}\n", 1)
	write(grown)
	st, body := reload()
	if st != 200 || !strings.Contains(body, `"reloaded":["router.agents","rest"]`) || !strings.Contains(body, `"restart_required":[]`) {
		t.Fatalf("reload: %d %s", st, body)
	}
	if st, info := agentStatus(t, g, "bob"); st != 200 || info.Source != "config" {
		t.Fatalf("bob after the reload: %d %+v", st, info)
	}
	var rulesInfo struct{ Queues []string }
	getJSON(t, g, "/v1/rules", &rulesInfo)
	if strings.Join(rulesInfo.Queues, ",") != "general,vip" {
		t.Fatalf("queues after the reload: %v", rulesInfo.Queues)
	}
	if st, _ := g.Do("GET", "/v1/agents", "reloaded-token-0123456789", nil); st != 200 {
		t.Fatalf("the reloaded token reads: %d", st)
	}
	if st, _ := g.Do("PUT", "/v1/agents/bob/presence", "reloaded-token-0123456789", map[string]string{"status": "available"}); st != 403 {
		t.Fatalf("the reloaded read token sets presence: %d", st)
	}
	if st, _ := g.Do("POST", "/-/reload", "reloaded-token-0123456789", nil); st != 403 {
		t.Fatalf("a read token reloads the config: %d", st)
	}

	// A broken file: 422 with the position, the old config stays, the metric says so.
	write(grown + "router_typo: {}\n")
	st, body = reload()
	if st != 422 || !strings.Contains(body, "switchboard.yaml:") || !strings.Contains(body, "router_typo") {
		t.Fatalf("broken file: %d %s", st, body)
	}
	if m := metric(); m != "0" {
		t.Fatalf("switchboard_config_last_reload_successful = %s after a bad file", m)
	}
	if st, _ := agentStatus(t, g, "bob"); st != 200 {
		t.Fatalf("bob after a failed reload: %d", st)
	}

	// A rules file the reload cannot compile: nothing changes (not even the tokens of the
	// same config file).
	if err := os.WriteFile(rulesPath, []byte("queues: {general: {strategy: fastest}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(strings.Replace(grown, "{name: ops, token: {env: RELOAD_NEW_TOKEN}, scopes: [read]}", "{name: ops, token: {env: RELOAD_NEW_TOKEN}}", 1))
	st, body = reload()
	if st != 422 || !strings.Contains(body, "rules.yaml:1:") || !strings.Contains(body, "strategy") {
		t.Fatalf("rules that do not compile: %d %s", st, body)
	}
	if st, _ := g.Do("PUT", "/v1/agents/bob/presence", "reloaded-token-0123456789", map[string]string{"status": "available"}); st != 403 {
		t.Fatalf("the refused file's tokens are in force: %d", st)
	}
	getJSON(t, g, "/v1/rules", &rulesInfo)
	if strings.Join(rulesInfo.Queues, ",") != "general,vip" {
		t.Fatalf("queues after a refused reload: %v", rulesInfo.Queues)
	}

	// Dropping bob while the vip queue names him: in force, with the warning.
	if err := os.WriteFile(rulesPath, []byte("queues: {general: {skills: [general]}, vip: {agents: [bob]}}\ndefault_queue: general\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	write(strings.Replace(grown, "    - {id: bob, skills: [general]}\n", "", 1))
	st, body = reload()
	if st != 200 || !strings.Contains(body, `"reloaded":["router.agents"]`) || !strings.Contains(body, `unknown agent \"bob\": not in the roster`) {
		t.Fatalf("dropping bob: %d %s", st, body)
	}
	if st, _ := agentStatus(t, g, "bob"); st != 404 {
		t.Fatalf("bob after he was dropped: %d", st)
	}

	// A section that needs a restart is named; the rest is reloaded; the metric is back to 1.
	write(strings.Replace(strings.Replace(grown, "    - {id: bob, skills: [general]}\n", "", 1), "pipeline: {partitions: 4}", "pipeline: {partitions: 8}", 1))
	st, body = reload()
	if st != 200 || !strings.Contains(body, `"restart_required":["pipeline"]`) {
		t.Fatalf("pipeline change: %d %s", st, body)
	}
	if m := metric(); m != "1" {
		t.Fatalf("switchboard_config_last_reload_successful = %s after a good reload", m)
	}
}
