package app_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/switchboardhq/switchboard/cmd/switchboard/app/apptest"
	"github.com/switchboardhq/switchboard/router"
	"github.com/switchboardhq/switchboard/router/rules"
	"github.com/switchboardhq/switchboard/schema"
)

const twoAgents = `
router:
  reload_interval: 100ms
  agents:
    - {id: ann, skills: [general, billing]}
    - {id: ben, skills: [general], capacity: {default: 1}}
`

const oneQueue = `
queues: {general: {skills: [general]}, billing: {skills: [billing]}}
rules: [{name: all, targets: [{queue: general}]}]
`

// Helpdesks assign and transfer through the REST API; a full agent is refused at once.
func TestAssignAndTransferThroughREST(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, twoAgents, oneQueue))
	setPresence(t, g, "ann", rules.Away) // away: no automatic assignments, manual ones are fine
	setPresence(t, g, "ben", rules.Away)
	g.PostAPI("a1", "one@example.com", "first")
	g.PostAPI("a2", "two@example.com", "second")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventQueued))
	c1, c2 := ofType(evs, schema.EventQueued)[0].ConversationID, ofType(evs, schema.EventQueued)[1].ConversationID
	// Both wait: the queue's depth and its oldest wait are on /metrics.
	apptest.Eventually(t, 5*time.Second, func() error {
		_, m := g.Do("GET", "/metrics", "", nil)
		if !strings.Contains(string(m), `switchboard_waiting_conversations{queue="general"} 2`) {
			return fmt.Errorf("no depth of 2 in /metrics")
		}
		for _, line := range strings.Split(string(m), "\n") {
			if v, ok := strings.CutPrefix(line, `switchboard_oldest_waiting_seconds{queue="general"} `); ok {
				if f, err := strconv.ParseFloat(v, 64); err != nil || f <= 0 || f > 60 {
					return fmt.Errorf("oldest wait %q", v)
				}
				return nil
			}
		}
		return fmt.Errorf("no switchboard_oldest_waiting_seconds for general")
	})

	do := func(conv, action string, body map[string]string) (int, string) {
		st, b := g.Do("POST", "/v1/conversations/"+conv+"/"+action, apptest.Token, body)
		return st, string(b)
	}
	if st, b := do(c1, "assign", map[string]string{"agent_id": "ben", "reason": "knows them"}); st != http.StatusAccepted {
		t.Fatalf("assign: %d %s", st, b)
	}
	if st, b := do(c2, "assign", map[string]string{"agent_id": "ben"}); st != http.StatusConflict || !strings.Contains(b, "no_capacity") {
		t.Fatalf("ben is full: %d %s", st, b)
	}
	for _, bad := range []map[string]string{{"agent_id": "zed"}, {}, {"queue": "nope"}, {"agent_id": "ann", "queue": "general"}} {
		if st, b := do(c2, "transfer", bad); st != http.StatusBadRequest {
			t.Fatalf("transfer %v: %d %s", bad, st, b)
		}
	}
	if st, b := do(c1, "transfer", map[string]string{"agent_id": "ann", "reason": "escalating"}); st != http.StatusAccepted {
		t.Fatalf("transfer: %d %s", st, b)
	}
	if st, b := do(c2, "transfer", map[string]string{"queue": "billing"}); st != http.StatusAccepted {
		t.Fatalf("transfer to queue: %d %s", st, b)
	}
	evs = waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventTransferred))
	a := ofType(evs, schema.EventAssigned)[0]
	tr := ofType(evs, schema.EventTransferred)
	if a.ConversationID != c1 || a.Routing.AgentID != "ben" || a.Reason != "knows them" || a.Routing.Strategy != "manual" {
		t.Fatalf("assigned %+v", a.Routing)
	}
	if tr[0].Routing.AgentID != "ann" || tr[0].Routing.PreviousAgent != "ben" {
		t.Fatalf("transferred %+v", tr[0].Routing)
	}
	if tr[1].ConversationID != c2 || tr[1].Routing.Queue != "billing" || tr[1].Routing.PreviousQueue != "general" {
		t.Fatalf("transferred to queue %+v", tr[1].Routing)
	}
	agentEventually(t, g, "ben", func(ben router.AgentInfo) error {
		if len(ben.Conversations) != 0 {
			return fmt.Errorf("ben still holds %v after the transfer", ben.Conversations)
		}
		return nil
	})
	apptest.Eventually(t, 5*time.Second, func() error {
		var list struct{ Agents []router.AgentInfo }
		getJSON(t, g, "/v1/agents", &list)
		if len(list.Agents) != 2 || list.Agents[0].ID != "ann" || len(list.Agents[0].Conversations) != 1 {
			return fmt.Errorf("agents: %+v", list.Agents)
		}
		return nil
	})
	if st, _ := g.Do("PUT", "/v1/agents/ann/presence", apptest.Token, map[string]string{"status": "busy"}); st != 400 {
		t.Fatalf("unknown presence: %d", st)
	}
	if st, _ := g.Do("PUT", "/v1/agents/nobody/presence", apptest.Token, map[string]string{"status": "away"}); st != 404 {
		t.Fatalf("unknown agent: %d", st)
	}
}

// Presence can also be set over NATS (request/reply).
func TestPresenceOverNATS(t *testing.T) {
	g := apptest.Start(t, routingConfig(t, twoAgents, oneQueue))
	var reply *nats.Msg
	apptest.Eventually(t, 5*time.Second, func() (err error) { // the router subscribes as it starts
		reply, err = g.NC.Request("sb.agent.ann.presence", []byte(`{"status": "available"}`), 5*time.Second)
		return err
	})
	var rec rules.PresenceRecord
	if err := json.Unmarshal(reply.Data, &rec); err != nil || rec.Status != rules.Available {
		t.Fatalf("reply %s", reply.Data)
	}
	if reply, _ = g.NC.Request("sb.agent.ann.presence", []byte(`{"status": "gone"}`), 5*time.Second); !strings.Contains(string(reply.Data), "error") {
		t.Fatalf("bad status: %s", reply.Data)
	}
	if _, err := g.NC.Request("sb.agent.ann.heartbeat", nil, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	var ann router.AgentInfo
	getJSON(t, g, "/v1/agents/ann", &ann)
	if ann.Presence != rules.Available || ann.LastSeen == nil {
		t.Fatalf("ann: %+v", ann)
	}
}

// A changed rules file is picked up while running; a bad one keeps the old rules, says why
// and sets switchboard_rules_last_reload_successful to 0.
func TestRulesHotReload(t *testing.T) {
	cfg := routingConfig(t, twoAgents, oneQueue)
	path := strings.TrimSpace(cfg[strings.LastIndex(cfg, "rules_file:")+len("rules_file:"):])
	g := apptest.Start(t, cfg)
	var before struct{ Version string }
	getJSON(t, g, "/v1/rules", &before)

	if err := os.WriteFile(path, []byte(strings.Replace(oneQueue, "{queue: general}", "{queue: general}, {queue: nowhere}", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, func() error {
		if m := metric(g, "switchboard_rules_last_reload_successful"); m != "0" {
			return fmt.Errorf("reload gauge %s", m)
		}
		return nil
	})
	var bad struct {
		Version              string
		LastReloadSuccessful bool   `json:"last_reload_successful"`
		LastError            string `json:"last_error"`
	}
	getJSON(t, g, "/v1/rules", &bad)
	if bad.Version != before.Version || bad.LastReloadSuccessful || !strings.Contains(bad.LastError, `rules[0].targets[1].queue: unknown queue "nowhere"`) {
		t.Fatalf("after a bad reload: %+v", bad)
	}
	g.PostAPI("h1", "hot@example.com", "still routed")
	q := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(1, schema.EventQueued))
	if ofType(q, schema.EventQueued)[0].Routing.RulesVersion != before.Version {
		t.Fatal("the old rules must stay in force")
	}

	if err := os.WriteFile(path, []byte("queues: {billing: {skills: [billing]}}\nrules: [{name: money, targets: [{queue: billing}]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, body := g.Do("POST", "/v1/rules/reload", apptest.Token, nil); st != 200 {
		t.Fatalf("reload: %d %s", st, body)
	}
	if m := metric(g, "switchboard_rules_last_reload_successful"); m != "1" {
		t.Fatalf("reload gauge %s", m)
	}
	g.PostAPI("h2", "hot2@example.com", "new rules")
	evs := waitFor(t, g, "sb.conv.>", 10*time.Second, atLeast(2, schema.EventQueued))
	d := ofType(evs, schema.EventQueued)[1].Routing
	if d.Rule != "money" || d.Queue != "billing" || d.RulesVersion == before.Version {
		t.Fatalf("decision after reload: %+v", d)
	}
}

// metric returns the value of an unlabelled series on /metrics.
func metric(g *apptest.Gateway, name string) string {
	_, body := g.Do("GET", "/metrics", "", nil)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}
